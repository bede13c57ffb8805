// The mailvet widget: help under an email field while people type, and a bad address stopped
// before the form is sent.
//
// Every keystroke runs the local checks (syntax, disposable and role lists, typo hints:
// mailvet-core in Wasm, no network). When typing pauses, or the field loses focus, the edge
// Worker answers for the whole address (`GET {api}/v1/verify`); a newer keystroke aborts that
// request, and answers are kept per address. The form's submit waits briefly for a pending
// check, then lets the address through unless it is blocked: an edge that cannot be reached
// never locks a customer out unless `failOpen` is false.

import init, { check } from "mailvet-wasm";
import css from "./mailvet.css";
import { sentences, syntaxKey } from "./messages.js";

const DEFAULTS = {
  api: "",
  key: "",
  lang: "",
  debounce: 600,
  submitWait: 1500,
  blockInvalid: true,
  blockDisposable: true,
  warnRisky: true,
  failOpen: true,
};

/** An edge check that did not answer. */
const FAILED = {};

let wasm;
let count = 0;
const controllers = new WeakMap();
const answers = new Map();
// Forms whose next submit event is ours, sent after the checks settled.
const passing = new WeakSet();

/** Starts loading the Wasm core from `url`; fields work without it (edge checks only). */
export function load(url) {
  wasm ??= init({ module_or_path: url }).then(
    () => true,
    () => false,
  );
  return wasm;
}

/** The local checks: a Report-shaped object, or null until the Wasm core is loaded. */
export function localReport(value) {
  try {
    return JSON.parse(check(value));
  } catch {
    return null;
  }
}

/**
 * Attaches the widget to an `<input type=email>`; a second call returns the same controller.
 * Options: see DEFAULTS (api is the edge's base URL, key a public key `pk_…`).
 */
export function attach(input, options) {
  if (controllers.has(input)) return controllers.get(input);
  const o = { ...DEFAULTS, ...options };
  if (!document.getElementById("mailvet-style")) {
    const style = document.createElement("style");
    style.id = "mailvet-style";
    style.textContent = css;
    document.head.append(style);
  }
  const message = document.createElement("div");
  message.id = `mailvet-${++count}`;
  message.className = "mailvet-message";
  message.setAttribute("aria-live", "polite");
  input.after(message);
  const describedBy = input.getAttribute("aria-describedby");
  input.setAttribute("aria-describedby", describedBy ? `${describedBy} ${message.id}` : message.id);

  let value = "";
  let local = null;
  let edge = null;
  let timer = 0;
  let request = null;
  let pending = null;
  let shown = "";
  let shownState = "";

  const t = () => sentences(o.lang || input.closest("[lang]")?.lang);

  /** What the field says now: a state, a sentence key and a suggestion. */
  function decide() {
    const report = edge && edge !== FAILED ? edge : local;
    if (!value) return {};
    if (edge === FAILED && !o.failOpen) return { state: "error", key: "offline", block: true };
    if (!report) return {};
    const { verdict, reasons = [], suggestion } = report;
    // While typing goes on (the pause timer runs), a suggestion that only completes what is
    // typed (gmail.co → gmail.com) waits, and so does a syntax error, unless one is showing.
    const fix =
      suggestion && suggestion !== value && (!timer || !suggestion.startsWith(value)) ? suggestion : "";
    const codes = reasons.map((r) => r.code);
    if (verdict === "invalid") {
      const key =
        codes[0] === "invalid_syntax"
          ? syntaxKey(report.checks?.syntax?.error?.code || "")
          : { null_mx: "no_mail", no_mail_server: "no_mail", mailbox_disabled: "mailbox_not_found" }[codes[0]] ||
            codes[0];
      const state = o.blockInvalid ? "error" : "warning";
      return !timer || fix || shownState === state ? { state, key, fix, block: o.blockInvalid } : {};
    }
    if (codes.includes("disposable")) {
      return o.blockDisposable
        ? { state: "error", key: "disposable", fix, block: true }
        : { state: "warning", key: "disposable_warn", fix };
    }
    if (verdict === "risky" && o.warnRisky) {
      const key = codes.find((c) => c === "role_account" || c === "mailbox_full") || (fix ? "" : "risky");
      return { state: "warning", key, fix };
    }
    return fix ? { state: "warning", fix } : {};
  }

  // The message: a sentence, then "Did you mean <button>?". Renders change the text around
  // the button, never the button itself, so that it keeps the focus while answers arrive.
  const sentence = document.createTextNode("");
  const before = document.createTextNode("");
  const after = document.createTextNode("");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "mailvet-fix";
  button.onclick = () => {
    input.value = button.textContent;
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const offer = document.createElement("span");
  offer.append(before, button, after);
  message.append(sentence, offer);

  function render() {
    const { state = "", key = "", fix = "", block } = decide();
    // A blocked address always says why, in general words if there are none more precise.
    const text = t()[key] || (block && !fix ? t().syntax : "");
    if (block) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    const signature = `${state}\n${text}\n${fix}\n${t().typo}`;
    if (signature === shown) return;
    shown = signature;
    shownState = state;
    message.dataset.state = state;
    sentence.data = text;
    const [start, end] = fix ? t().typo.split("{}") : ["", ""];
    before.data = (text && fix ? " " : "") + start;
    after.data = end;
    if (button.textContent !== fix) button.textContent = fix;
    offer.hidden = !fix;
  }

  function onInput() {
    const next = input.value.trim();
    if (next === value) return;
    value = next;
    request?.abort();
    request = pending = null;
    edge = answers.get(answerKey()) || null;
    local = value ? localReport(value) : null;
    clearTimeout(timer);
    timer = value && !edge ? setTimeout(askEdge, o.debounce) : 0;
    render();
  }

  const answerKey = () => `${o.api}\n${o.key}\n${value}`;

  /** Asks the edge about the current address, unless the local checks already rule it out. */
  function askEdge() {
    clearTimeout(timer);
    timer = 0;
    if (!value || (edge && edge !== FAILED) || pending || local?.verdict === "invalid") return render();
    const asked = value;
    const params = new URLSearchParams({ email: asked });
    if (o.key) params.set("key", o.key);
    const abort = (request = new AbortController());
    pending = fetch(`${o.api}/v1/verify?${params}`, { signal: abort.signal })
      .then((response) => (response.ok ? response.json() : FAILED))
      .then(
        (report) => {
          if (report !== FAILED) answers.set(`${o.api}\n${o.key}\n${asked}`, report);
          return report;
        },
        () => FAILED,
      )
      .then((report) => {
        if (request !== abort) return;
        request = pending = null;
        edge = report;
        render();
      });
    render();
  }

  const controller = {
    input,
    /** Whether the field holds an address that must not be sent. */
    blocked: () => !!decide().block,
    /** Finishes the checks of the current address: the edge's answer, or what is known after
     * `submitWait` milliseconds. */
    settle() {
      if (timer || (edge === FAILED && !o.failOpen) || (!edge && !pending)) askEdge();
      const wait = new Promise((resolve) => setTimeout(resolve, o.submitWait));
      return Promise.race([pending, wait]).then(() => {
        if (pending && !o.failOpen) edge = FAILED;
      });
    },
    /** Shows why the field is blocked and moves focus to it. */
    reveal() {
      render();
      input.focus();
    },
    detach() {
      clearTimeout(timer);
      request?.abort();
      input.removeEventListener("input", onInput);
      input.removeEventListener("blur", onBlur);
      message.remove();
      input.setAttribute("aria-describedby", describedBy || "");
      if (!describedBy) input.removeAttribute("aria-describedby");
      input.removeAttribute("aria-invalid");
      controllers.delete(input);
    },
  };

  function onBlur() {
    if (input.value !== value && value) input.value = value;
    if (value) askEdge();
  }

  input.addEventListener("input", onInput);
  input.addEventListener("blur", onBlur);
  controllers.set(input, controller);
  document.addEventListener("submit", onSubmit, true);
  wasm?.then(() => {
    value = "";
    onInput();
  });
  if (input.value) onInput();
  return controller;
}

/** Holds a form back while a field's check is pending, and stops it for a blocked field. */
async function onSubmit(event) {
  const form = event.target;
  if (passing.delete(form)) return;
  const fields = [...form.elements].map((e) => controllers.get(e)).filter(Boolean);
  if (!fields.length) return;
  event.preventDefault();
  event.stopPropagation();
  await Promise.all(fields.map((f) => f.settle()));
  const blocked = fields.find((f) => f.blocked());
  if (blocked) return blocked.reveal();
  // A form ignores requestSubmit() while its submit event is still being dispatched.
  await new Promise((resolve) => setTimeout(resolve));
  passing.add(form);
  form.requestSubmit(event.submitter);
}
