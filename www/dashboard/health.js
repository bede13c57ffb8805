// "Sender health": a domain (and a sending IP) checked with `GET /v1/domains/{name}?ip=`, its
// grade and findings in their severity's colour with the fix and the record to copy; "watch"
// (`PUT /v1/monitors/{domain}`), and the watched domains with their grade history
// (`GET /v1/monitors`, `GET /v1/monitors/{domain}`).

import { call } from "./api.js";
import { lines } from "./charts.js";
import { date, dateTime, language, num, t } from "./i18n.js";
import { alertError, copy, esc } from "./ui.js";

const GRADES = ["A", "B", "C", "D", "E", "F"];

let report = null;
let ip = "";
let watched = null;
let history = null;

const form = () => document.getElementById("health-form");

export function init() {
  form().addEventListener("submit", (e) => {
    e.preventDefault();
    const domain = form().domain.value.trim();
    ip = form().ip.value.trim();
    const hash = `#health/${encodeURIComponent(domain)}`;
    if (location.hash === hash) check(domain).catch(alertError);
    else location.hash = hash;
  });
}

export async function show({ arg }) {
  const loading = loadWatched();
  if (arg) {
    form().domain.value = arg;
    await check(arg);
  } else render();
  await loading;
}

async function loadWatched() {
  watched = (await call("/v1/monitors")).monitors;
  render();
}

async function check(domain) {
  const button = form().querySelector("button");
  button.disabled = true;
  button.textContent = t("health.checking");
  try {
    const query = ip ? `?ip=${encodeURIComponent(ip)}` : "";
    report = await call(`/v1/domains/${encodeURIComponent(domain)}${query}`);
    history = watched?.some((m) => m.domain === report.domain) ? await call(`/v1/monitors/${report.domain}`) : history;
  } finally {
    button.disabled = false;
    button.textContent = t("health.check");
  }
  render();
}

export function render() {
  document.getElementById("health-report").innerHTML = report ? reportView() : "";
  document.getElementById("health-watched").innerHTML = watchedView() + historyView();
  wire();
}

function reportView() {
  const r = report;
  const isWatched = watched?.some((m) => m.domain === r.domain);
  const reach = r.to_reach_a.length
    ? t("health.toReachA", { codes: r.to_reach_a.map((c) => `${esc(t("f." + c))} (<code>${esc(c)}</code>)`).join(", ") })
    : t("health.perfect");
  // The API's own sentences (what was found, how to fix it) are English; each code has a title
  // in the page's language, and the sentences say what language they are in.
  const apiLang = language() === "en" ? "" : ' lang="en"';
  const findings = r.findings
    .map((f) => {
      const record = f.record
        ? `<div class="record"><strong>${t("health.record")}</strong>
<dl><dt>name</dt><dd><code>${esc(f.record.name)}</code></dd><dt>type</dt><dd><code>${esc(f.record.type)}</code></dd>
<dt>value</dt><dd><code class="value">${esc(f.record.value)}</code></dd></dl>
<button type="button" class="copy" data-copy="${esc(f.record.value)}">${t("health.copy")}</button></div>`
        : "";
      return `<li class="finding sev-${f.severity}" data-code="${esc(f.code)}" data-severity="${f.severity}">
<p><span class="sev">${t("sev." + f.severity)}</span> <strong class="title">${esc(t("f." + f.code))}</strong> <code>${esc(f.code)}</code></p>
<p class="message"${apiLang}>${esc(f.message)}</p><p class="fix"><strong>${t("health.fix")}:</strong> <span${apiLang}>${esc(f.fix)}</span></p>${record}</li>`;
    })
    .join("");
  return `<div class="card report" id="report" data-domain="${esc(r.domain)}" data-grade="${r.grade}">
  <div class="grade g-${r.grade}" role="img" aria-label="${t("health.grade")} ${r.grade}">${r.grade}</div>
  <div><h3>${esc(r.domain)}</h3><p>${reach}</p>
  <p>${
    isWatched
      ? `<span class="note" id="watching">${t("health.watching")}</span>`
      : `<button id="watch" class="primary">${t("health.watch")}</button>`
  }</p></div>
</div>
${r.findings.length ? `<div class="card"><h4>${t("health.findings")} (${num(r.findings.length)})</h4><ul class="findings" id="findings">${findings}</ul></div>` : ""}`;
}

const listed = (check) => check?.dnsbl.filter((d) => d.status === "listed").length ?? 0;

function watchedView() {
  if (!watched) return "";
  const head = `<h3>${t("health.watched")}</h3>`;
  if (!watched.length) return `<div class="card">${head}<p>${t("health.noWatched")}</p></div>`;
  const rows = watched
    .map((m) => {
      const l = m.latest;
      return `<tr data-monitor="${esc(m.domain)}"><th scope="row"><a href="#health/${esc(m.domain)}">${esc(m.domain)}</a></th>
<td>${l ? `<span class="grade-s g-${l.grade}">${l.grade}</span>` : ""}</td><td>${l ? dateTime(l.checked_at) : ""}</td>
<td class="n">${l ? num(l.findings.length) : ""}</td><td class="n">${l ? t("health.listed", { n: num(listed(l)) }) : ""}</td>
<td><button type="button" class="show-history" data-domain="${esc(m.domain)}">${t("health.showHistory")}<span class="sr-only"> ${esc(m.domain)}</span></button></td></tr>`;
    })
    .join("");
  return `<div class="card">${head}<div class="scroll"><table id="watched"><thead><tr><th scope="col">${t("col.domain")}</th>
<th scope="col">${t("col.grade")}</th><th scope="col">${t("col.checked")}</th><th scope="col" class="n">${t("col.findings")}</th>
<th scope="col" class="n">${t("col.listed")}</th><th scope="col"><span class="sr-only">${t("health.history", { domain: "" })}</span></th></tr></thead>
<tbody>${rows}</tbody></table></div></div>`;
}

function historyView() {
  if (!history) return "";
  const checks = [...history.history].reverse();
  const chart = lines({
    labels: checks.map((c) => date(c.checked_at)),
    series: [{ name: "grade", cls: "grade-line", values: checks.map((c) => GRADES.indexOf(c.grade)) }],
    max: GRADES.length - 1,
    ticks: GRADES.map((g, i) => ({ value: i, label: g })),
    down: true,
  });
  const rows = history.history
    .map(
      (c) => `<tr><td>${dateTime(c.checked_at)}</td><td><span class="grade-s g-${c.grade}">${c.grade}</span></td>
<td class="n">${num(listed(c))}</td><td>${c.changes.map(esc).join("<br>")}</td></tr>`,
    )
    .join("");
  return `<figure class="card" id="history" data-domain="${esc(history.domain)}"><figcaption>${t("health.history", { domain: esc(history.domain) })}</figcaption>
${chart}<div class="scroll"><table><thead><tr><th scope="col">${t("col.date")}</th><th scope="col">${t("col.grade")}</th>
<th scope="col" class="n">${t("col.listed")}</th><th scope="col">${t("col.changes")}</th></tr></thead><tbody>${rows}</tbody></table></div></figure>`;
}

function wire() {
  for (const b of document.querySelectorAll("#findings .copy")) b.addEventListener("click", () => copy(b, b.dataset.copy));
  document.getElementById("watch")?.addEventListener("click", async (e) => {
    e.target.disabled = true;
    try {
      history = await call(`/v1/monitors/${encodeURIComponent(report.domain)}`, {
        method: "PUT",
        json: ip ? { ips: [ip] } : {},
      });
      await loadWatched();
    } catch (err) {
      e.target.disabled = false;
      alertError(err);
    }
  });
  for (const b of document.querySelectorAll(".show-history")) {
    b.addEventListener("click", async () => {
      try {
        history = await call(`/v1/monitors/${encodeURIComponent(b.dataset.domain)}`);
        render();
        document.getElementById("history").scrollIntoView({ block: "nearest" });
      } catch (e) {
        alertError(e);
      }
    });
  }
}
