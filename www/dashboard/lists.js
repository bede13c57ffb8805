// "Saved lists": every list with its schedule (`GET /v1/lists`), and one list's history
// (`GET /v1/lists/{id}`): verdict shares over its runs as a line chart, the runs as a table, the
// latest run's changes with their download (`/v1/lists/{id}/changes`), and "clean again now".

import { call, download, key } from "./api.js";
import { VERDICTS, lines, stacked } from "./charts.js";
import { date, dateTime, num, pct, t } from "./i18n.js";
import { alertError, esc } from "./ui.js";

const POLL_MS = 1000;
const root = () => document.getElementById("lists");

let all = null;
let list = null;
let timer = null;

export async function show({ arg }) {
  leave();
  list = null;
  if (arg) {
    list = await call(`/v1/lists/${encodeURIComponent(arg)}`);
    render();
    poll();
  } else {
    all = (await call("/v1/lists?limit=100")).lists;
    render();
  }
}

export function leave() {
  clearTimeout(timer);
  timer = null;
}

/** While a run is going, the list is read again until it ends. */
function poll() {
  if (list.status !== "running") return;
  timer = setTimeout(async () => {
    try {
      const id = list.id;
      const next = await call(`/v1/lists/${id}`);
      if (!timer || list?.id !== id) return;
      list = next;
      render();
      poll();
    } catch (e) {
      alertError(e);
    }
  }, POLL_MS);
}

export function render() {
  root().innerHTML = list ? detailView() : overview();
  wire();
}

const days = (every) => parseInt(every, 10);
const total = (c) => VERDICTS.reduce((s, v) => s + c[v], 0);

function overview() {
  if (!all) return "";
  if (!all.length) return `<p class="card">${t("lists.none")}</p>`;
  const rows = all
    .map((l) => {
      const c = l.latest_run?.counts;
      const split = c
        ? `${stacked(c)} <span class="n">${VERDICTS.map((v) => `${t(v)} ${pct(c[v], total(c))}`).join(" · ")}</span>`
        : "";
      return `<tr data-list="${l.id}"><th scope="row"><a href="#lists/${l.id}">${esc(l.name || l.id.slice(0, 8))}</a></th>
<td>${t("lists.every", { n: days(l.every) })}</td><td>${dateTime(l.next_run_at)}</td><td class="n">${num(l.runs)}</td>
<td class="n">${num(l.total_rows)}</td><td class="chart wide-cell">${split}</td></tr>`;
    })
    .join("");
  return `<div class="card"><div class="scroll"><table class="bars"><thead><tr><th scope="col">${t("col.name")}</th>
<th scope="col">${t("col.schedule")}</th><th scope="col">${t("col.next")}</th><th scope="col" class="n">${t("col.runs")}</th>
<th scope="col" class="n">${t("col.rows")}</th><th scope="col">${t("col.split")}</th></tr></thead><tbody>${rows}</tbody></table></div></div>`;
}

function detailView() {
  const runs = list.history || [];
  const done = runs.filter((r) => r.counts);
  const series = VERDICTS.map((v) => ({
    name: v,
    cls: `v-${v}`,
    values: done.map((r) => Math.round((r.counts[v] / (total(r.counts) || 1)) * 1000) / 10),
  }));
  const chart = lines({
    labels: done.map((r) => `#${r.run}`),
    series,
    max: 100,
    ticks: [0, 50, 100].map((value) => ({ value, label: `${value}%` })),
  });
  const legend = VERDICTS.map((v) => `<span class="key"><span class="swatch v-${v}"></span>${t(v)}</span>`).join(" ");
  const runRows = runs
    .map(
      (r) => `<tr data-run="${r.run}"><th scope="row">#${r.run}</th><td class="date">${dateTime(r.started_at)}</td>${VERDICTS.map((v) =>
        r.counts ? `<td class="n" data-verdict="${v}" data-value="${r.counts[v]}">${num(r.counts[v])} (${pct(r.counts[v], total(r.counts))})</td>` : "<td></td>",
      ).join("")}<td class="n">${num(r.transitions.reduce((s, x) => s + x.rows, 0))}</td></tr>`,
    )
    .join("");
  const running = list.status === "running" ? `<p class="note" id="list-running">${t("lists.running")}</p>` : "";
  return `<div class="card" id="list" data-id="${list.id}">
  <h3>${esc(list.name || list.id.slice(0, 8))}</h3>
  <p>${t("lists.every", { n: days(list.every) })} · ${t("col.next")}: ${dateTime(list.next_run_at)} · ${t("results.total", { n: num(list.total_rows) })}</p>
  <p><button id="run-now"${list.status === "running" ? " disabled" : ""}>${t("lists.runNow")}</button></p>${running}
</div>
<div class="grid">
<figure class="card" id="trend"><figcaption>${t("lists.trend")}</figcaption>${chart}<p class="keys">${legend}</p></figure>
<div class="card" id="changes">${changesView(runs)}</div>
<div class="card wide"><h4>${t("lists.history")}</h4><div class="scroll"><table id="runs"><thead><tr><th scope="col">${t("col.run")}</th>
<th scope="col">${t("col.date")}</th>${VERDICTS.map((v) => `<th scope="col" class="n">${t(v)}</th>`).join("")}
<th scope="col" class="n">${t("col.changes")}</th></tr></thead><tbody>${runRows}</tbody></table></div></div>
</div>`;
}

function changesView(runs) {
  const head = `<h4>${t("lists.changes")}</h4>`;
  const done = runs.filter((r) => r.status === "completed");
  const latest = done[done.length - 1];
  if (!latest || latest.run === 1) return `${head}<p>${t("lists.firstRun")}</p>`;
  const before = runs.find((r) => r.run === latest.run - 1);
  const changed = latest.transitions.reduce((s, x) => s + x.rows, 0);
  if (!changed) return `${head}<p id="changes-count" data-value="0">${t("lists.noChanges", { run: latest.run })}</p>`;
  const to = {};
  for (const x of latest.transitions) to[x.to] = (to[x.to] || 0) + x.rows;
  const since = date(before?.started_at || list.created_at);
  const sentences = VERDICTS.filter((v) => to[v])
    .map((v) => `<li data-to="${v}">${t(to[v] === 1 ? "lists.went1" : "lists.went", { n: num(to[v]), verdict: t(v).toLowerCase(), date: since })}</li>`)
    .join("");
  const rows = latest.transitions
    .map(
      (x) => `<tr><td><span class="swatch v-${x.from}"></span>${t(x.from)} → <span class="swatch v-${x.to}"></span>${t(x.to)}</td><td class="n">${num(x.rows)}</td></tr>`,
    )
    .join("");
  const href = `/v1/lists/${list.id}/changes?run=${latest.run}&format=csv`;
  const name = `${(list.name || list.id).replace(/[^\p{L}\p{N}_.-]+/gu, "_")}-run${latest.run}-changes.csv`;
  return `${head}<p id="changes-count" data-value="${changed}" class="big">${num(changed)}</p>
<ul class="went">${sentences}</ul>
<table><tbody>${rows}</tbody></table>
<p><a class="button download" id="changes-download" href="${href}" download="${esc(name)}">${t("lists.downloadChanges")}</a></p>`;
}

function wire() {
  document.getElementById("run-now")?.addEventListener("click", async () => {
    try {
      await call(`/v1/lists/${list.id}/runs`, { method: "POST" });
      list = await call(`/v1/lists/${list.id}`);
      render();
      poll();
    } catch (e) {
      alertError(e);
    }
  });
  const a = document.getElementById("changes-download");
  a?.addEventListener("click", (e) => {
    if (!key()) return;
    e.preventDefault();
    download(a.getAttribute("href"), a.getAttribute("download")).catch(alertError);
  });
}
