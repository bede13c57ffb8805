// The dashboard's entry: the language, the views behind the location's hash (`#clean`,
// `#job/ID`, `#lists`, `#lists/ID`, `#health`, `#health/DOMAIN`), and the alert line.

import { language, pickLanguage, setLanguage, t } from "./i18n.js";
import * as clean from "./clean.js";
import * as lists from "./lists.js";
import * as health from "./health.js";
import { alertError, clearAlert } from "./ui.js";

const LANG_STORE = "mailvet.lang";
const views = { clean, job: clean, lists, health };

function translateStatic() {
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-aria]")) el.setAttribute("aria-label", t(el.dataset.tAria));
  document.getElementById("lang").value = language();
}

let current = null;

function route() {
  const [name, ...rest] = location.hash.slice(1).split("/");
  const view = views[name] ? name : "clean";
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  const section = view === "job" ? "clean" : view;
  for (const el of document.querySelectorAll(".view")) el.hidden = el.id !== `view-${section}`;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current && current !== views[view]) current.leave?.();
  current = views[view];
  clearAlert();
  current.show(view === "job" ? { job: arg } : { arg }).catch(alertError);
}

function start() {
  const stored = localStorage.getItem(LANG_STORE);
  setLanguage(stored || pickLanguage(navigator.languages?.length ? navigator.languages : [navigator.language]));
  translateStatic();
  document.getElementById("lang").addEventListener("change", (e) => {
    setLanguage(e.target.value);
    localStorage.setItem(LANG_STORE, language());
    translateStatic();
    current?.render?.();
  });
  health.init();
  window.addEventListener("hashchange", route);
  route();
}

start();
