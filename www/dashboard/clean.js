// "Clean a list": a file dropped or picked, its first rows previewed with the address column
// chosen, the job started (`POST /v1/jobs`), its progress polled (`GET /v1/jobs/{id}`), and its
// results drawn from the job object, with typo suggestions from its JSON lines, downloads, and
// "keep as list" (`POST /v1/lists`).

import { call, download, jsonLines, key } from "./api.js";
import { VERDICTS, bar, donut, stacked } from "./charts.js";
import { dateTime, duration, num, pct, t } from "./i18n.js";
import { ENCODINGS, PREVIEW_BYTES, decodeStart, detectLayout, preview, uploadBody } from "./table.js";
import { alertError, esc } from "./ui.js";

const POLL_MS = 500;
const PREVIEW_ROWS = 10;
const SHOWN_SUGGESTIONS = 50;
/** Above this many rows, typos are looked for among risky and invalid rows only. */
const SCAN_ALL_UP_TO = 50000;
const ENCODING_NAMES = {
  "utf-8": "UTF-8", big5: "Big5", gbk: "GBK", shift_jis: "Shift_JIS",
  "utf-16le": "UTF-16LE", "utf-16be": "UTF-16BE", "windows-1252": "Windows-1252",
};

const root = () => document.getElementById("clean");

/** The picked file: `{ file, bytes, complete, chosen, encoding, text, view, column, header, checks, name }`. */
let upload = null;
/** The job shown, and whether it is polled. */
let job = null;
let timer = null;
/** Typo suggestions of the shown job: `{ id, items, total, partial, done }`. */
let typos = null;
let recent = null;

export async function show({ job: id }) {
  leave();
  if (!id) {
    job = null;
    render();
    recent = null;
    recent = (await call("/v1/jobs?limit=10")).jobs;
    if (!job) render();
    return;
  }
  job = await call(`/v1/jobs/${encodeURIComponent(id)}`);
  render();
  poll();
}

export function leave() {
  clearTimeout(timer);
  timer = null;
}

const running = (j) => j.status === "queued" || j.status === "running";

function poll() {
  if (!running(job)) return finished();
  timer = setTimeout(async () => {
    try {
      const id = job.id;
      const next = await call(`/v1/jobs/${id}`);
      if (!job || job.id !== id || !timer) return;
      const statusChanged = next.status !== job.status;
      job = next;
      if (statusChanged) render();
      else updateProgress();
      poll();
    } catch (e) {
      alertError(e);
    }
  }, POLL_MS);
}

function finished() {
  if (job.status === "completed" && typos?.id !== job.id) findTypos(job);
}

export function render() {
  root().innerHTML = job ? jobView() : uploadView() + recentView();
  wire();
}

// ---- upload and preview ----

function uploadView() {
  return `<div class="card drop" id="drop">
  <h3>${t("drop.title")}</h3>
  <p>${t("drop.hint")} <label class="button">${t("drop.pick")}<input type="file" id="file"
    accept=".csv,.tsv,.txt,text/csv,text/plain,text/tab-separated-values" class="sr-only"></label></p>
</div>${upload ? previewView() : ""}`;
}

function previewView() {
  const { view, column, header } = upload;
  const heads = Array.from({ length: view.width }, (_, c) =>
    header && view.rows[0][c] !== undefined && view.rows[0][c] !== "" ? view.rows[0][c] : t("preview.columnN", { n: c + 1 }),
  );
  const body = view.rows.slice(header ? 1 : 0, (header ? 1 : 0) + PREVIEW_ROWS);
  const cell = (c, text, tag) => `<${tag}${c === column ? ' class="sel"' : ""}>${esc(text)}</${tag}>`;
  const encodings = ENCODINGS.map((e) => {
    const label = e === "auto" ? `Auto (${t("preview.detected", { enc: ENCODING_NAMES[upload.encoding] })})` : ENCODING_NAMES[e];
    return `<option value="${e}"${e === upload.chosen ? " selected" : ""}>${esc(label)}</option>`;
  }).join("");
  const columns = heads
    .map((h, c) => `<option value="${c}"${c === column ? " selected" : ""}>${esc(h)}</option>`)
    .join("");
  const checks = ["syntax", "dns", "smtp"]
    .map(
      (c) => `<label class="choice"><input type="radio" name="checks" value="${c}"${c === upload.checks ? " checked" : ""}> ${t("checks." + c)}</label>`,
    )
    .join("");
  return `<form class="card" id="start-form">
  <h3>${t("preview.title")}</h3>
  <div class="controls">
    <label>${t("preview.encoding")} <select id="encoding">${encodings}</select></label>
    <label>${t("preview.column")} <select id="column">${columns}</select></label>
  </div>
  <div class="scroll"><table class="preview" id="preview">
    <caption>${t("preview.caption", { name: esc(upload.file.name) })}</caption>
    <thead><tr><th scope="col">${t("preview.rowN")}</th>${heads.map((h, c) => cell(c, h, "th")).join("")}</tr></thead>
    <tbody>${body
      .map(
        (r, i) =>
          `<tr><th scope="row">${i + 1}</th>${Array.from({ length: view.width }, (_, c) => cell(c, r[c] ?? "", "td")).join("")}</tr>`,
      )
      .join("")}</tbody>
  </table></div>
  <fieldset class="checks"><legend>${t("checks")}</legend>${checks}</fieldset>
  <label>${t("job.name")} <input id="job-name" value="${esc(upload.name)}"></label>
  <p><button class="primary" id="start">${t("start")}</button></p>
</form>`;
}

async function pick(file) {
  if (!file) return;
  const bytes = new Uint8Array(await file.slice(0, PREVIEW_BYTES).arrayBuffer());
  upload = { file, bytes, complete: file.size <= PREVIEW_BYTES, chosen: "auto", checks: upload?.checks || "smtp", name: file.name };
  decode();
  render();
}

/** Decodes the sample with the chosen encoding and guesses the layout again. */
function decode() {
  const { text, encoding } = decodeStart(upload.bytes, upload.complete, upload.chosen);
  upload.encoding = encoding;
  upload.view = preview(text, upload.complete);
  ({ column: upload.column, header: upload.header } = upload.view.layout);
}

async function start(event) {
  event.preventDefault();
  const button = document.getElementById("start");
  button.disabled = true;
  button.textContent = t("starting");
  try {
    const { file, view, column } = upload;
    const body = await uploadBody(file, upload.encoding);
    // A .txt of one column is one address a line; anything else is CSV with the chosen column.
    const lines = view.width === 1 && /\.txt$/i.test(file.name);
    const params = new URLSearchParams({ checks: upload.checks });
    if (upload.name.trim()) params.set("name", upload.name.trim());
    if (!lines) params.set("column", String(column + 1));
    const created = await call(`/v1/jobs?${params}`, {
      method: "POST",
      body,
      headers: { "Content-Type": `${lines ? "text/plain" : "text/csv"}; charset=utf-8` },
    });
    upload = null;
    location.hash = `#job/${created.id}`;
  } catch (e) {
    button.disabled = false;
    button.textContent = t("start");
    alertError(e);
  }
}

function recentView() {
  if (!recent) return "";
  if (!recent.length) return `<div class="card"><h3>${t("recent.title")}</h3><p>${t("recent.none")}</p></div>`;
  const rows = recent
    .map(
      (j) => `<tr><td><a href="#job/${j.id}">${esc(j.name || j.id.slice(0, 8))}</a></td>
<td>${esc(j.status)}</td><td class="n">${num(j.total_rows)}</td><td>${dateTime(j.created_at)}</td></tr>`,
    )
    .join("");
  return `<div class="card"><h3>${t("recent.title")}</h3><div class="scroll"><table>
<thead><tr><th scope="col">${t("col.name")}</th><th scope="col">${t("col.status")}</th><th scope="col" class="n">${t("col.rows")}</th><th scope="col">${t("col.date")}</th></tr></thead>
<tbody>${rows}</tbody></table></div></div>`;
}

// ---- progress ----

function progress() {
  const total = job.total_rows;
  const elapsed = job.started_at
    ? ((job.finished_at ? Date.parse(job.finished_at) : Date.now()) - Date.parse(job.started_at)) / 1000
    : 0;
  const rate = elapsed > 0 && job.processed ? job.processed / Math.max(elapsed, 1) : null;
  const percent = job.status === "completed" ? 100 : job.percent;
  let rows = total ? t("progress.rows", { done: num(job.processed), total: num(total) }) : t("progress.reading");
  let eta = "";
  if (job.status === "completed") eta = t("progress.done", { t: duration(elapsed) });
  else if (job.eta_seconds !== null && running(job)) eta = t("progress.eta", { t: duration(job.eta_seconds) });
  return { percent, rows, rate: rate ? t("progress.rate", { rate: num(Math.round(rate)) }) : "", eta };
}

function updateProgress() {
  const p = progress();
  const bar = document.getElementById("progress");
  if (!bar) return;
  bar.setAttribute("aria-valuenow", p.percent);
  bar.setAttribute("aria-valuetext", `${p.percent} % · ${p.rows}`);
  bar.firstElementChild.style.width = `${p.percent}%`;
  document.getElementById("p-percent").textContent = `${p.percent} %`;
  document.getElementById("p-rows").textContent = p.rows;
  document.getElementById("p-rate").textContent = p.rate;
  document.getElementById("p-eta").textContent = p.eta;
}

function jobView() {
  const p = progress();
  const name = job.name || job.id.slice(0, 8);
  const failed =
    job.status === "failed" ? `<p class="error">${esc(t("job.failed", { message: job.error?.message || job.error?.code || "" }))}</p>` : "";
  const cancelled = job.status === "cancelled" ? `<p>${t("cancelled")}</p>` : "";
  return `<div class="card" id="job" data-status="${job.status}">
  <h3>${t("progress.title", { name: esc(name) })}</h3>
  <div class="progress-row">
    <div class="progress" id="progress" role="progressbar" aria-label="${t("progress.label")}" aria-valuemin="0"
      aria-valuemax="100" aria-valuenow="${p.percent}" aria-valuetext="${p.percent} % · ${esc(p.rows)}"><div style="width:${p.percent}%"></div></div>
    <span id="p-percent" class="n">${p.percent} %</span>
  </div>
  <p class="stats"><span id="p-rows">${esc(p.rows)}</span> <span id="p-rate">${esc(p.rate)}</span> <span id="p-eta">${esc(p.eta)}</span></p>
  ${running(job) ? `<button id="cancel">${t("cancel")}</button>` : ""}${failed}${cancelled}
</div>${job.status === "completed" ? results() : ""}`;
}

// ---- results ----

function results() {
  const c = job.counts;
  const total = VERDICTS.reduce((s, v) => s + c[v], 0);
  const legend = VERDICTS.map(
    (v) => `<tr data-verdict="${v}"><th scope="row"><span class="swatch v-${v}"></span>${t(v)}</th>
<td class="n count">${num(c[v])}</td><td class="n share">${pct(c[v], total)}</td></tr>`,
  ).join("");
  const reasons = Object.entries(job.reasons).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const most = reasons.length ? reasons[0][1] : 0;
  const reasonRows = reasons
    .map(
      ([code, n]) => `<tr data-reason="${esc(code)}"><th scope="row">${esc(t("r." + code))} <code>${esc(code)}</code></th>
<td class="chart">${bar(n, most, "reason")}</td><td class="n count">${num(n)}</td><td class="n share">${pct(n, total)}</td></tr>`,
    )
    .join("");
  const domains = job.top_domains
    .map(
      (d) => `<tr data-domain="${esc(d.domain)}"><th scope="row">${esc(d.domain)}</th><td class="n count">${num(d.rows)}</td>
<td class="chart">${stacked(d)}</td><td class="n invalid-share">${pct(d.invalid, d.rows)}</td><td class="n risky-share">${pct(d.risky, d.rows)}</td></tr>`,
    )
    .join("");
  const base = `/v1/jobs/${job.id}/results`;
  const file = (job.name || job.id).replace(/\.[a-z]+$/i, "").replace(/[^\p{L}\p{N}_.-]+/gu, "_");
  const links = [
    ...VERDICTS.map((v) => [`${base}?verdict=${v}&format=csv`, `${file}-${v}.csv`, `${t(v)} (${num(c[v])})`, v]),
    [`${base}?format=csv`, `${file}-all.csv`, t("results.all", { n: num(total) }), "all"],
  ]
    .map(([href, name, label, v]) => `<a class="button download" data-bucket="${v}" href="${href}" download="${esc(name)}">${esc(label)}</a>`)
    .join("");
  const every = [1, 7, 14, 30, 90]
    .map((n) => `<option value="${n}d"${n === 7 ? " selected" : ""}>${t("keep.days", { n })}</option>`)
    .join("");
  return `<section class="results" aria-labelledby="results-h">
<h3 id="results-h">${t("results.title")}</h3>
<div class="grid">
<figure class="card" id="verdicts"><figcaption>${t("results.verdicts")}</figcaption>
  <div class="chart-beside">${donut(c, t("results.total", { n: num(total) }))}
  <table class="legend"><thead><tr><th scope="col">${t("col.verdict")}</th><th scope="col" class="n">${t("col.rows")}</th><th scope="col" class="n">${t("col.share")}</th></tr></thead>
  <tbody>${legend}</tbody></table></div>
</figure>
<figure class="card" id="reasons"><figcaption>${t("results.reasons")}</figcaption>
  ${reasons.length ? `<div class="scroll"><table class="bars"><thead><tr><th scope="col">${t("col.reason")}</th><th scope="col"><span class="sr-only">${t("col.rows")}</span></th><th scope="col" class="n">${t("col.rows")}</th><th scope="col" class="n">${t("col.share")}</th></tr></thead><tbody>${reasonRows}</tbody></table></div>` : `<p>${t("results.noReasons")}</p>`}
</figure>
<figure class="card wide" id="domains"><figcaption>${t("results.domains")}</figcaption>
  <div class="scroll"><table class="bars"><thead><tr><th scope="col">${t("col.domain")}</th><th scope="col" class="n">${t("col.rows")}</th><th scope="col">${t("col.split")}</th><th scope="col" class="n">${t("col.invalidShare")}</th><th scope="col" class="n">${t("col.riskyShare")}</th></tr></thead>
  <tbody>${domains}</tbody></table></div>
</figure>
<div class="card wide" id="typos" aria-live="polite">${typosView()}</div>
<div class="card" id="downloads"><h4>${t("results.downloads")}</h4><p class="buttons">${links}</p></div>
<form class="card" id="keep"><h4>${t("keep.title")}</h4>
  <label>${t("keep.every")} <select id="every">${every}</select></label>
  <p><button class="primary" id="keep-button">${t("keep.button")}</button></p></form>
</div></section>`;
}

function typosView() {
  const head = `<h4>${t("results.suggestions")}</h4>`;
  if (!typos || typos.id !== job.id || !typos.done) return `${head}<p>${t("results.suggestionsLoading")}</p>`;
  const note = typos.partial ? `<p class="note">${t("results.suggestionsPartial")}</p>` : "";
  if (!typos.items.length) return `${head}<p id="no-typos">${t("results.noSuggestions")}</p>${note}`;
  const rows = typos.items
    .map((s) => `<tr><td class="n">${s.row}</td><td>${esc(s.input)}</td><td class="suggestion">${esc(s.suggestion)}</td></tr>`)
    .join("");
  const more = typos.total > typos.items.length ? `<p>${t("results.moreSuggestions", { n: num(typos.total - typos.items.length) })}</p>` : "";
  return `${head}<div class="scroll"><table><thead><tr><th scope="col" class="n">${t("col.row")}</th><th scope="col">${t("col.address")}</th><th scope="col">${t("col.suggestion")}</th></tr></thead>
<tbody>${rows}</tbody></table></div>${more}${note}`;
}

async function findTypos(j) {
  const partial = j.total_rows > SCAN_ALL_UP_TO;
  const found = { id: j.id, items: [], total: 0, partial, done: false };
  typos = found;
  try {
    const only = partial ? "&verdict=risky,invalid" : "";
    await jsonLines(`/v1/jobs/${j.id}/results?format=jsonl${only}`, (line) => {
      const s = line.report?.suggestion;
      if (!s || line.duplicate_of) return;
      found.total++;
      if (found.items.length < SHOWN_SUGGESTIONS) found.items.push({ row: line.row, input: line.report.input, suggestion: s });
    });
    found.done = true;
  } catch (e) {
    alertError(e);
  }
  const box = document.getElementById("typos");
  if (box && typos === found && job?.id === j.id) box.innerHTML = typosView();
}

// ---- events ----

function wire() {
  const drop = document.getElementById("drop");
  if (drop) {
    document.getElementById("file").addEventListener("change", (e) => pick(e.target.files[0]).catch(alertError));
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      pick(e.dataTransfer.files[0]).catch(alertError);
    });
  }
  const form = document.getElementById("start-form");
  if (form) {
    form.addEventListener("submit", start);
    document.getElementById("encoding").addEventListener("change", (e) => {
      upload.chosen = e.target.value;
      decode();
      render();
    });
    document.getElementById("column").addEventListener("change", (e) => {
      upload.column = Number(e.target.value);
      upload.header = detectLayout(upload.view.rows, upload.column).header;
      render();
      document.getElementById("column").focus();
    });
    form.addEventListener("change", (e) => {
      if (e.target.name === "checks") upload.checks = e.target.value;
    });
    document.getElementById("job-name").addEventListener("input", (e) => (upload.name = e.target.value));
  }
  document.getElementById("cancel")?.addEventListener("click", async () => {
    try {
      await call(`/v1/jobs/${job.id}`, { method: "DELETE" });
      leave();
      job = { ...job, status: "cancelled" };
      render();
    } catch (e) {
      alertError(e);
    }
  });
  for (const a of document.querySelectorAll("a.download")) {
    a.addEventListener("click", (e) => {
      if (!key()) return;
      e.preventDefault();
      download(a.getAttribute("href"), a.getAttribute("download")).catch(alertError);
    });
  }
  document.getElementById("keep")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const list = await call("/v1/lists", {
        method: "POST",
        json: { job: job.id, every: document.getElementById("every").value, ...(job.name ? { name: job.name } : {}) },
      });
      location.hash = `#lists/${list.id}`;
    } catch (err) {
      alertError(err);
    }
  });
}
