// The ES module entry (www/mailvet.mjs):
//   import { attach } from "https://edge.example/mailvet.mjs";
//   const field = attach(document.querySelector("#email"), { key: "pk_…", lang: "zh-Hant" });
//   const report = await check("jane@gmial.com"); // local checks only: report.suggestion
// The edge's base URL (`api`) defaults to the module's origin. Options: see widget.js.

import { attach as attachField, load, localReport } from "./widget.js";

const origin = new URL(import.meta.url).origin;
const ready = () => load(new URL("mailvet_bg.wasm", import.meta.url));

/** Attaches the widget to an `<input type=email>` (see widget.js for the options). */
export function attach(input, options) {
  ready();
  return attachField(input, { api: origin, ...options });
}

/** The local checks of one address, without the network: a promise of the Report-shaped
 * object the widget works from (null when the Wasm core cannot load). */
export async function check(address) {
  await ready();
  return localReport(address);
}
