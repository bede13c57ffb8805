// Small helpers the views share: escaping, the alert line, copying.

import { t } from "./i18n.js";

export const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** Shows `error` (an `ApiError` or any Error) in the page's alert line. */
export function alertError(error) {
  const box = document.getElementById("alert");
  box.textContent = t("error.generic", { message: error.message || String(error) });
  box.hidden = false;
}

export function clearAlert() {
  document.getElementById("alert").hidden = true;
}

/** Copies `text`; the button says so for a moment. */
export async function copy(button, text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without clipboard permission (plain http, an old browser): select it for Ctrl+C.
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = t("health.copied");
  setTimeout(() => (button.textContent = t("health.copy")), 1500);
}
