// The script-tag entry (www/mailvet.js):
//   <script src="https://edge.example/mailvet.js" data-key="pk_…" defer></script>
// attaches the widget to every <input type=email> of the page, now and later, except those
// marked data-mailvet="off" and those taking several addresses (`multiple`). Attributes: data-key, data-api (the edge's base URL; default: the
// script's origin), data-lang, and "false" to turn off data-block-invalid,
// data-block-disposable, data-warn-risky or data-fail-open. window.mailvet.attach(input,
// options) attaches by hand; window.mailvet.ready settles when the Wasm core has loaded.

import { attach, load } from "./widget.js";

const script = document.currentScript;
const data = script.dataset;
const flag = (name) => data[name] !== "false";
const options = {
  key: data.key || "",
  api: (data.api || new URL(script.src).origin).replace(/\/$/, ""),
  lang: data.lang || "",
  blockInvalid: flag("blockInvalid"),
  blockDisposable: flag("blockDisposable"),
  warnRisky: flag("warnRisky"),
  failOpen: flag("failOpen"),
};
const ready = load(new URL("mailvet_bg.wasm", script.src));

function scan() {
  for (const input of document.querySelectorAll('input[type="email"]:not([multiple], [data-mailvet="off"])')) {
    attach(input, options);
  }
}

window.mailvet = { ready, attach: (input, more) => attach(input, { ...options, ...more }) };
new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
else scan();
