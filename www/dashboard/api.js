// Calls to the Worker's API on this origin. A 401 asks for a secret key once (one dialog for
// all the calls that met it), keeps it in this tab's sessionStorage only, and sends it as
// `Authorization: Bearer`: never in a URL, which would land in logs and history.

import { t } from "./i18n.js";

const STORE = "mailvet.secretKey";

/** An error answer of the API: `code` and `message` from its JSON body. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const key = () => sessionStorage.getItem(STORE);

let asking = null;

/** Shows the key dialog; resolves when a key was given, rejects when the user cancelled. */
function askKey(again) {
  asking ??= new Promise((resolve, reject) => {
    const dialog = document.getElementById("key-dialog");
    const input = dialog.querySelector("input");
    dialog.querySelector("[data-t='key.text']").textContent = t(again ? "key.again" : "key.text");
    input.value = "";
    dialog.onclose = () => {
      asking = null;
      const value = dialog.returnValue === "ok" ? input.value.trim() : "";
      input.value = "";
      if (value) {
        sessionStorage.setItem(STORE, value);
        resolve();
      } else reject(new ApiError(401, "unauthorized", t("key.text")));
    };
    dialog.showModal();
  });
  return asking;
}

/** `fetch(path)` with the key; on 401 asks for one and tries again. */
export async function request(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(options.headers);
    const k = key();
    if (k) headers.set("Authorization", `Bearer ${k}`);
    const response = await fetch(path, { ...options, headers });
    if (response.status !== 401 || attempt === 3) return response;
    if (k) sessionStorage.removeItem(STORE);
    await askKey(Boolean(k));
  }
}

/** The JSON of a successful answer (null for 204), else throws its `ApiError`. */
export async function call(path, options = {}) {
  if (options.json !== undefined) {
    options = { ...options, body: JSON.stringify(options.json), headers: { "Content-Type": "application/json" } };
  }
  const response = await request(path, options);
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const e = body?.error || {};
    throw new ApiError(response.status, e.code || "http_" + response.status, e.message || response.statusText);
  }
  return body;
}

/**
 * Saves what `path` answers as a file. Without a key a plain link does it (the browser
 * streams it to disk); with one, the answer is fetched with the header and saved from a Blob.
 */
export async function download(path, filename) {
  const a = document.createElement("a");
  a.download = filename;
  let url = path;
  if (key()) {
    const response = await request(path);
    if (!response.ok) throw new ApiError(response.status, "download_failed", response.statusText);
    url = URL.createObjectURL(await response.blob());
  }
  a.href = url;
  document.body.append(a);
  a.click();
  a.remove();
  if (url !== path) setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** Each JSON line of `path`'s answer, read as it streams, to `each`. */
export async function jsonLines(path, each) {
  const response = await request(path);
  if (!response.ok) throw new ApiError(response.status, "http_" + response.status, response.statusText);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = (rest + value).split("\n");
    rest = lines.pop();
    for (const line of lines) if (line.trim()) each(JSON.parse(line));
  }
  if (rest.trim()) each(JSON.parse(rest));
}
