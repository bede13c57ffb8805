// Browser tests of the dashboard (www/dashboard/), in Debian's Chromium driven by
// playwright-core, against a running Worker (no keys) with its jobs engine, the real prober and
// the mail world (tests/e2e/tests/dashboard.rs starts them and runs this file).
//
//   DASHBOARD_LIST=ID DASHBOARD_KEYED_URL=URL DASHBOARD_KEY=KEY \
//     node tests/browser/dashboard.mjs http://127.0.0.1:PORT [WORD…]
//
// DASHBOARD_LIST names a list with two runs that the harness made; DASHBOARD_KEYED_URL is a
// second Worker that has SECRET_KEYS, with DASHBOARD_KEY one of them. Runs the tests whose name
// contains a WORD (all without one), in order (later ones reuse what earlier ones made), prints
// one line per test and last "N passed, N failed"; exits non-zero on a failure. Screenshots go
// to $CARGO_TARGET_DIR/dashboard-screenshots (target/dashboard-screenshots).
//
// With DASHBOARD_BENCH_ROWS=N (e.g. 100000) it also drops a file of N rows like
// user1@d1.wild.test on the page and prints how long it took to see the finished charts.
//
// With DASHBOARD_BROWSER=firefox the same tests run in Debian's Firefox ESR (firefox-esr),
// which playwright-core drives over WebDriver BiDi (its `moz-firefox` channel: the browser as
// Mozilla ships it, not Playwright's own build); screenshots are then named `firefox-…`.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, firefox } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const [base, ...filters] = process.argv.slice(2);
if (!base) {
  console.error("usage: DASHBOARD_LIST=ID node tests/browser/dashboard.mjs WORKER_URL [WORD…]");
  process.exit(2);
}
const engine = process.env.DASHBOARD_BROWSER || "chromium";
if (!["chromium", "firefox"].includes(engine)) {
  console.error(`DASHBOARD_BROWSER=${engine}: chromium or firefox`);
  process.exit(2);
}
const shots = join(process.env.CARGO_TARGET_DIR || join(root, "target"), "dashboard-screenshots");
mkdirSync(shots, { recursive: true });
const VERDICTS = ["valid", "risky", "invalid", "unknown"];
/** A job of a few rows on a loaded two-core machine. */
const JOB_TIMEOUT = 90_000;

/** What the tests share: the job of the first, the domain of the sender-health one. */
const shared = {};

async function api(path, options = {}) {
  const r = await fetch(base + path, options);
  assert.ok(r.ok, `${options.method || "GET"} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.headers.get("content-type")?.includes("json") && !path.includes("format=jsonl") ? r.json() : r.text();
}

/** The cells of a CSV (RFC 4180), a byte order mark dropped. */
function csv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  text = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell), rows.push(row), (row = []), (cell = "");
    } else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

/** Waits until `check` (async) stops throwing, for up to 10 s; the page may render after an
 * event a moment later in one browser than in another. */
async function eventually(check) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The number in a cell's text ("1,234", "1 234"). */
const number = (text) => Number(text.replace(/[^\d]/g, ""));

let browser;

/** A page of the dashboard in a fresh context: `locale` drives navigator.language; `at` is the
 * Worker (the one without keys unless told). */
async function open(path = "", { locale = "en-US", width = 1280, at = base } = {}) {
  const context = await browser.newContext({
    locale,
    viewport: { width, height: width < 500 ? 844 : 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const errors = [];
  // Every response from the first: a test may ask what the page's own start asked.
  const responses = [];
  page.on("response", (r) => responses.push(r));
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => m.type() === "error" && errors.push(`${m.text()} (${m.location().url})`));
  await page.goto(`${at}/dashboard/${path}`);
  return { page, context, errors, responses };
}

/** Picks `file` in the upload view and waits for the preview. */
async function pickFile(page, file) {
  await page.locator("#file").setInputFiles(file);
  await page.locator("#preview tbody tr").first().waitFor();
}

/** Starts the previewed job with `checks`; waits for the job's 202 and then its 100 %. */
async function startAndFinish(page, checks) {
  await page.locator(`input[name=checks][value=${checks}]`).check();
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/jobs" && r.request().method() === "POST"),
    page.locator("#start").click(),
  ]);
  assert.equal(response.status(), 202);
  await page.waitForURL(/#job\/[0-9a-f]{32}$/);
  const id = new URL(page.url()).hash.slice("#job/".length);
  await page.locator('[role=progressbar][aria-valuenow="100"]').waitFor({ timeout: JOB_TIMEOUT });
  await page.locator("#verdicts").waitFor();
  return { id, url: new URL(response.url()) };
}

/** The results on the page equal the job object's numbers. */
async function assertResultsMatch(page, job) {
  for (const v of VERDICTS) {
    const row = page.locator(`#verdicts tr[data-verdict=${v}]`);
    assert.equal(number(await row.locator(".count").textContent()), job.counts[v], `${v} count`);
    assert.equal(Number(await page.locator(`#verdicts .arc[data-verdict=${v}]`).getAttribute("data-value")), job.counts[v]);
    const total = VERDICTS.reduce((s, x) => s + job.counts[x], 0);
    const share = (await row.locator(".share").textContent()).replace(/\s/g, "");
    assert.equal(parseFloat(share), Math.round((job.counts[v] / total) * 1000) / 10, `${v} share ${share}`);
  }
  const reasons = await page.locator("#reasons tr[data-reason]").evaluateAll((rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.reason, r.querySelector(".count").textContent])),
  );
  assert.deepEqual(Object.keys(reasons).sort(), Object.keys(job.reasons).sort());
  for (const [code, n] of Object.entries(job.reasons)) assert.equal(number(reasons[code]), n, code);
  const domains = await page.locator("#domains tr[data-domain]").evaluateAll((rows) =>
    rows.map((r) => [r.dataset.domain, r.querySelector(".count").textContent]),
  );
  assert.deepEqual(
    domains.map(([d, n]) => [d, number(n)]),
    job.top_domains.map((d) => [d.domain, d.rows]),
  );
}

/** Clicks a download link and returns the saved file's text. */
async function downloaded(page, link) {
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.equal(await download.failure(), null);
  return readFileSync(await download.path(), "utf8");
}

/** Clicks a download link that the page saves from a Blob (a download that needs the key) and
 * returns the Blob's text. Chromium reports the download itself; over WebDriver BiDi, Firefox
 * reports none for a `blob:` link, so there the Blob the page hands to the link is read. */
async function downloadedBlob(page, link) {
  if (engine !== "firefox") return downloaded(page, link);
  await page.evaluate(() => {
    const made = (window.__blobs = []);
    const real = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (blob) => (made.push(blob), real(blob));
  });
  await link.click();
  await page.waitForFunction(() => window.__blobs.length > 0);
  return page.evaluate(() => window.__blobs[0].text());
}

/** The Worker with SECRET_KEYS, and its key (tests/e2e/tests/dashboard.rs). */
const keyed = process.env.DASHBOARD_KEYED_URL;
const secret = process.env.DASHBOARD_KEY;

const tests = {
  async "a secret key is asked once, kept in the tab only, sent as a bearer, never in a URL"() {
    assert.ok(keyed && secret, "DASHBOARD_KEYED_URL and DASHBOARD_KEY");
    const { page, context, errors, responses } = await open("#lists", { at: keyed });
    const requests = [];
    page.on("request", (r) => requests.push(r));
    const dialog = page.locator("#key-dialog");
    await dialog.waitFor({ state: "visible" });
    await dialog.locator("input").fill(secret);
    await dialog.locator("button[value=ok]").click();
    await page.getByText("No saved lists yet.").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("mailvet.secretKey")), secret);
    assert.equal(await page.evaluate(() => localStorage.getItem("mailvet.secretKey")), null);
    // A job with the key, and a download through it (a Blob: the link has no key to carry).
    await page.goto(`${keyed}/dashboard/`);
    await pickFile(page, join(root, "tests/data/lists/awkward.csv"));
    const { id } = await startAndFinish(page, "syntax");
    const text = await downloadedBlob(page, page.locator("a.download[data-bucket=all]"));
    assert.equal(csv(text).length - 1, 8, "the header and the 8 rows");
    // Every API call carries the key, but for the page's first, which goes out before the key is
    // asked for and is answered 401. Whether this listener, added after the page loaded, sees that
    // first call is the browser's timing (Firefox often does, Chromium seldom), so it is judged by
    // its answer; that there is only one such call is the count of 401s below.
    const apiCalls = requests.filter((r) => new URL(r.url()).pathname.startsWith("/v1/"));
    const withKey = apiCalls.filter((r) => r.headers().authorization !== undefined);
    assert.ok(withKey.length >= 3, `${withKey.length} API calls with a key`);
    for (const r of withKey) assert.equal(r.headers().authorization, `Bearer ${secret}`, r.url());
    for (const r of apiCalls.filter((r) => r.headers().authorization === undefined)) {
      assert.equal((await r.response())?.status(), 401, `${r.url()} went out without the key`);
    }
    assert.ok(requests.every((r) => !r.url().includes(secret)), "no URL carries the key");
    assert.ok(!page.url().includes(secret));
    // The job is the key's: without it, the Worker says 401.
    const r = await fetch(`${keyed}/v1/jobs/${id}`);
    assert.equal(r.status, 401);
    // Asked once: the dialog did not come back, and the browser saw one 401, the first call's
    // (Chromium also logs it on the console; nothing else is an error).
    assert.equal(await dialog.isVisible(), false);
    const unauthorized = responses.filter((r) => r.status() === 401).map((r) => r.url());
    assert.equal(unauthorized.length, 1, unauthorized.join("\n"));
    assert.deepEqual(errors.filter((e) => !String(e).includes("status of 401")), []);
    await context.close();
  },

  async "cancel stops a running job and deletes it"() {
    // Mail servers that stall: the job stays running while the button is pressed.
    const file = join(shots, "..", "dashboard-tarpit.csv");
    writeFileSync(file, "email\n" + Array.from({ length: 20 }, (_, i) => `user${i}@tarpit.test`).join("\n") + "\n");
    const { page, context } = await open();
    await pickFile(page, file);
    await page.locator("input[name=checks][value=smtp]").check();
    await page.locator("#start").click();
    await page.waitForURL(/#job\/[0-9a-f]{32}$/);
    const id = new URL(page.url()).hash.slice("#job/".length);
    const cancel = page.locator("#cancel");
    await cancel.waitFor();
    const [deleted] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === `/v1/jobs/${id}` && r.request().method() === "DELETE"),
      cancel.click(),
    ]);
    assert.equal(deleted.status(), 204);
    await page.getByText("The job was cancelled and its rows deleted.").waitFor();
    const r = await fetch(`${base}/v1/jobs/${id}`);
    assert.equal(r.status, 404, "the job is gone");
    await context.close();
  },


  async "the awkward CSV: preview, column, progress, charts equal the job, a bucket download"() {
    const { page, errors } = await open("", { locale: "en-US" });
    await page.goto(`${base}/dashboard`);
    assert.match(page.url(), /\/dashboard\/?$/, "/dashboard serves the dashboard");
    await page.locator("#drop").waitFor();
    await pickFile(page, join(root, "tests/data/lists/awkward.csv"));
    const body = page.locator("#preview tbody tr");
    assert.equal(await body.count(), 8, "the eight data rows, the blank one and the two-line cell too");
    assert.equal(await body.nth(0).locator("td").nth(0).textContent(), "陳大文");
    assert.equal(await body.nth(1).locator("td").nth(3).textContent(), "line one\nline two");
    assert.equal(await page.locator("#column").inputValue(), "1", "the E-Mail Address column is preselected");
    assert.equal(await page.locator("#preview thead th.sel").textContent(), "E-Mail Address");
    await page.locator("#column").selectOption("2");
    assert.equal(await page.locator("#preview thead th.sel").textContent(), "公司");
    assert.equal(await page.locator("#preview tbody tr:first-child td.sel").textContent(), "Acme, Ltd.");
    await page.locator("#column").selectOption("1");
    assert.equal(await page.locator("#preview tbody tr:first-child td.sel").textContent(), "david.chan@example.com");
    await page.locator("#job-name").fill("awkward");

    const { id, url } = await startAndFinish(page, "dns");
    assert.equal(url.searchParams.get("column"), "2", "the chosen column, by number");
    assert.equal(url.searchParams.get("checks"), "dns");
    assert.equal(url.searchParams.get("name"), "awkward");
    const job = await api(`/v1/jobs/${id}`);
    assert.equal(job.status, "completed");
    assert.equal(job.total_rows, 8);
    assert.match(await page.locator("#p-rows").textContent(), /^8 of 8 rows$/);
    assert.match(await page.locator("#p-eta").textContent(), /^Finished in /);
    await assertResultsMatch(page, job);

    // jane@gmial.com's suggestion, from the job's JSON lines.
    await page.locator("#typos table, #no-typos").first().waitFor();
    const typos = await page.locator("#typos td.suggestion").allTextContents();
    assert.ok(typos.includes("jane@gmail.com"), `typos: ${typos}`);

    const bucket = VERDICTS.find((v) => job.counts[v] > 0 && job.counts[v] < job.total_rows);
    const text = await downloaded(page, page.locator(`a.download[data-bucket=${bucket}]`));
    const [header, ...rows] = csv(text);
    const verdict = header.indexOf("mailvet_verdict");
    assert.ok(verdict > 0, `a mailvet_verdict column: ${header}`);
    assert.equal(rows.length, job.counts[bucket], `${bucket}.csv has the bucket's rows:\n${text}`);
    assert.ok(rows.every((r) => r[verdict] === bucket), text);
    assert.deepEqual(errors, []);
    shared.job = id;
    await page.context().close();
  },

  async "a Big5 file is previewed with its Chinese names and cleaned"() {
    const { page, errors } = await open();
    await pickFile(page, join(root, "tests/data/lists/big5.csv"));
    assert.match(await page.locator("#encoding option:checked").textContent(), /Big5/);
    const names = await page.locator("#preview tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual(names, ["陳大文", "王小明", "林美玲", "張三", "李四"]);
    assert.equal(await page.locator("#preview thead th.sel").textContent(), "電郵", "the 電郵 column is preselected");
    // Read as UTF-8 the names are lost; back to Big5 they return.
    await page.locator("#encoding").selectOption("utf-8");
    await eventually(async () =>
      assert.match(await page.locator("#preview tbody tr td").first().textContent(), /\uFFFD/),
    );
    await page.locator("#encoding").selectOption("big5");
    await eventually(async () =>
      assert.equal(await page.locator("#preview tbody tr td").first().textContent(), "陳大文"),
    );

    const { id, url } = await startAndFinish(page, "dns");
    assert.equal(url.searchParams.get("column"), "2");
    const job = await api(`/v1/jobs/${id}`);
    assert.equal(job.total_rows, 5);
    await assertResultsMatch(page, job);
    const lines = (await api(`/v1/jobs/${id}/results?format=jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.columns["姓名"], l.columns["城市"]]),
      [["陳大文", "台北"], ["王小明", "高雄"], ["林美玲", "台中"], ["張三", "新竹"], ["李四", "台南"]],
      "sent as UTF-8: the Worker kept the names",
    );
    assert.deepEqual(errors, []);
    await page.context().close();
  },

  async "a list with two runs shows its trend and its changes"() {
    const id = process.env.DASHBOARD_LIST;
    assert.ok(id, "DASHBOARD_LIST names the list the harness made");
    const list = await api(`/v1/lists/${id}`);
    const { page, errors } = await open("#lists");
    await page.locator(`tr[data-list="${id}"] a`).click();
    await page.locator("#trend svg").waitFor();
    assert.equal(new URL(page.url()).hash, `#lists/${id}`);
    for (const v of VERDICTS) {
      const dots = await page.locator(`#trend circle.dot[data-series=${v}]`).evaluateAll((c) => c.map((d) => Number(d.dataset.value)));
      const expected = list.history.map((r) => Math.round((r.counts[v] / 5) * 1000) / 10);
      assert.deepEqual(dots, expected, `${v} shares over the runs`);
      assert.equal(await page.locator(`#trend path.line[data-series=${v}]`).count(), 1);
      const cells = await page.locator(`#runs td[data-verdict=${v}]`).evaluateAll((c) => c.map((d) => Number(d.dataset.value)));
      assert.deepEqual(cells, list.history.map((r) => r.counts[v]), `${v} counts beside the chart`);
    }
    assert.deepEqual(
      list.history.map((r) => r.counts.invalid),
      [1, 2],
      "run 2 found one more invalid row",
    );
    assert.equal(await page.locator("#changes-count").getAttribute("data-value"), "1");
    assert.match(await page.locator("#changes li[data-to=invalid]").textContent(), /^1 address went invalid since /);
    const text = await downloaded(page, page.locator("#changes-download"));
    const [header, ...rows] = csv(text);
    assert.equal(rows.length, 1, text);
    assert.equal(rows[0][header.indexOf("email")], "ann@moving.decay.test");
    assert.equal(rows[0][header.indexOf("mailvet_old_verdict")], "valid");
    assert.equal(rows[0][header.indexOf("mailvet_verdict")], "invalid");
    assert.deepEqual(errors, []);
    await page.context().close();
  },

  async "the sender health of a broken domain shows each finding and its fix, and watches it"() {
    const domain = "toomany.health.test";
    // Not watched yet, also when the other browser's run watched it on the same Worker.
    await fetch(`${base}/v1/monitors/${domain}`, { method: "DELETE" });
    const report = await api(`/v1/domains/${domain}`);
    assert.notEqual(report.grade, "A", "the world's domain is broken");
    const { page, errors } = await open("#health");
    await page.locator("#health-form input[name=domain]").fill(domain);
    await page.locator("#health-form button").click();
    await page.locator(`#report[data-domain="${domain}"]`).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator("#report .grade").textContent(), report.grade);
    const shown = page.locator("#findings li.finding");
    assert.equal(await shown.count(), report.findings.length);
    for (const [i, f] of report.findings.entries()) {
      const li = shown.nth(i);
      assert.equal(await li.getAttribute("data-code"), f.code);
      const title = await li.locator(".title").textContent();
      assert.ok(title && title !== f.code, `${f.code} has a title: ${title}`);
      assert.match(await li.getAttribute("class"), new RegExp(`sev-${f.severity}`));
      assert.equal(await li.locator(".message").textContent(), f.message);
      assert.equal(await li.locator(".fix").textContent(), `Fix: ${f.fix}`);
      if (f.record) assert.equal(await li.locator("code.value").textContent(), f.record.value);
      else assert.equal(await li.locator(".record").count(), 0);
    }
    assert.ok(
      report.findings.some((f) => f.code === "spf_too_many_lookups"),
      JSON.stringify(report.findings.map((f) => f.code)),
    );
    const colour = await page.locator("#findings li.sev-error").first().evaluate((e) => getComputedStyle(e).borderLeftColor);
    assert.equal(colour, "rgb(207, 34, 46)", "errors in the error colour");

    const [put] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/monitors/${domain}`) && r.request().method() === "PUT"),
      page.locator("#watch").click(),
    ]);
    assert.ok([200, 201].includes(put.status()));
    await page.locator(`#watched tr[data-monitor="${domain}"]`).waitFor();
    await page.locator("#watching").waitFor();
    assert.equal(await page.locator(`#history[data-domain="${domain}"] circle.dot`).count(), 1, "one check so far");
    const { monitors } = await api("/v1/monitors");
    const monitor = monitors.find((m) => m.domain === domain);
    assert.equal(await page.locator(`#watched tr[data-monitor="${domain}"] .grade-s`).textContent(), monitor.latest.grade);
    assert.deepEqual(errors, []);
    shared.domain = domain;
    await page.context().close();
  },

  async "the preview finds the delimiter, column and header the core finds (tests/data/layouts.json)"() {
    const { cases } = JSON.parse(readFileSync(join(root, "tests/data/layouts.json"), "utf8"));
    const { page, errors } = await open();
    const found = await page.evaluate(async (cases) => {
      const table = await import("/dashboard/table.js");
      return cases.map((c) => {
        const p = table.preview(c.text, true);
        return { name: c.name, delimiter: p.delimiter, column: p.layout.found ? p.layout.column : null, header: p.layout.found ? p.layout.header : false };
      });
    }, cases);
    for (const [i, c] of cases.entries()) {
      assert.deepEqual(found[i], { name: c.name, delimiter: c.delimiter, column: c.column, header: c.header }, c.name);
    }
    assert.deepEqual(errors, []);
    await page.context().close();
  },

  async "every reason and finding code has its words in English and zh-Hant"() {
    const doc = JSON.parse(readFileSync(join(root, "src/openapi.json"), "utf8"));
    const schemas = doc.components.schemas;
    const keys = [
      ...schemas.ReasonCode.enum.map((c) => `r.${c}`),
      ...schemas.FindingCode.enum.map((c) => `f.${c}`),
    ];
    assert.ok(keys.length >= 19 + 27, `${keys.length} codes`);
    const { page, errors } = await open();
    const missing = await page.evaluate(async (keys) => {
      const words = await import("/dashboard/i18n.js");
      return keys.flatMap((k) => ["en", "zh-Hant"].filter((l) => !words.hasWord(l, k)).map((l) => `${l}: ${k}`));
    }, keys);
    assert.deepEqual(missing, []);
    // A finding in zh-Hant: its title in Chinese, the API's English sentences marked as English.
    await page.context().close();
    const zh = await open("#health", { locale: "zh-TW" });
    await zh.page.locator("#health-form input[name=domain]").fill("nospf.health.test");
    await zh.page.locator("#health-form button").click();
    const finding = zh.page.locator('#findings li[data-code="spf_missing"]');
    await finding.waitFor({ timeout: 30_000 });
    assert.equal(await finding.locator(".title").textContent(), "沒有 SPF 紀錄");
    assert.equal(await finding.locator(".message").getAttribute("lang"), "en");
    assert.deepEqual([...errors, ...zh.errors], []);
    await zh.page.context().close();
  },

  async "screenshots of each view in English and zh-Hant, desktop and phone"() {
    const job = shared.job ?? (await api("/v1/jobs?limit=1")).jobs[0]?.id;
    assert.ok(job, "a job to show (run the first test)");
    const domain = shared.domain ?? "toomany.health.test";
    const views = [
      ["upload", "", async (page) => pickFile(page, join(root, "tests/data/lists/big5.csv"))],
      ["results", `#job/${job}`, (page) => page.locator("#typos table, #no-typos").first().waitFor()],
      ["lists", "#lists", (page) => page.locator("tr[data-list]").first().waitFor()],
      ["list", `#lists/${process.env.DASHBOARD_LIST}`, (page) => page.locator("#trend svg").waitFor()],
      ["health", `#health/${domain}`, (page) => page.locator("#history svg, #findings").last().waitFor({ timeout: 30_000 })],
    ];
    for (const [lang, locale, nav] of [
      ["en", "en-US", "Clean a list"],
      ["zh-Hant", "zh-TW", "清理名單"],
    ]) {
      for (const width of [1280, 390]) {
        const { page, context, errors } = await open("", { locale, width });
        for (const [name, hash, ready] of views) {
          await page.goto(`${base}/dashboard/${hash}`);
          await ready(page);
          assert.equal(await page.locator("#lang").inputValue(), lang, "the language from navigator.language");
          assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
          assert.equal(await page.locator('nav a[data-view="clean"]').textContent(), nav);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
          const wide = await page.evaluate(() =>
            [...document.querySelectorAll("main *")]
              .filter((e) => e.getBoundingClientRect().right > innerWidth && !e.parentElement.closest(".scroll"))
              .map((e) => e.tagName + "." + e.className)
              .slice(0, 5),
          );
          const prefix = engine === "chromium" ? "" : `${engine}-`;
          await page.screenshot({ path: join(shots, `${prefix}${name}-${lang}-${width}.png`), fullPage: true });
          assert.ok(overflow <= 0, `${name} at ${width} px is ${overflow} px too wide: ${wide}`);
        }
        assert.deepEqual(errors, []);
        await context.close();
      }
    }
    // The switch: English to Chinese and back, the view drawn again.
    const { page, context } = await open(`#job/${job}`);
    await page.locator("#verdicts").waitFor();
    await page.locator("#lang").selectOption("zh-Hant");
    assert.equal(await page.locator("#verdicts figcaption").textContent(), "判定");
    await page.locator("#lang").selectOption("en");
    assert.equal(await page.locator("#verdicts figcaption").textContent(), "Verdicts");
    await context.close();
  },
};

if (process.env.DASHBOARD_BENCH_ROWS) {
  tests["benchmark: drop a big file, see the finished charts"] = async () => {
    const n = Number(process.env.DASHBOARD_BENCH_ROWS);
    const { page, context } = await open();
    await page.locator("#drop").waitFor();
    const started = await page.evaluate((n) => {
      const lines = ["email"];
      for (let i = 1; i <= n; i++) lines.push(`user${i}@d${i % 2000}.wild.test`);
      const file = new File([lines.join("\n") + "\n"], `bench-${n}.csv`, { type: "text/csv" });
      const data = new DataTransfer();
      data.items.add(file);
      const at = performance.now();
      document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
      return at;
    }, n);
    await page.locator("#preview").waitFor();
    await page.locator("input[name=checks][value=dns]").check();
    await page.locator("#start").click();
    await page.locator("#verdicts").waitFor({ timeout: 30 * 60_000 });
    const ended = await page.evaluate(() => performance.now());
    const id = new URL(page.url()).hash.split("/")[1];
    const job = await api(`/v1/jobs/${id}`);
    assert.equal(job.total_rows, n);
    const engine = (Date.parse(job.finished_at) - Date.parse(job.created_at)) / 1000;
    console.log(`  ${n} rows: drop to finished charts ${((ended - started) / 1000).toFixed(1)} s (the job itself, created to finished: ${engine.toFixed(1)} s)`);
    await context.close();
  };
}

// launch() (not a persistent context, as the widget tests use) so that each test's context can
// have its own locale; Playwright gives the browser a fresh profile of its own.
browser = engine === "firefox"
  ? await firefox.launch({ channel: "moz-firefox", executablePath: "/usr/bin/firefox-esr", headless: true })
  : await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
console.log(`dashboard tests in ${engine} ${browser.version()}`);
let passed = 0;
let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  if (filters.length && !filters.some((w) => name.includes(w))) continue;
  const started = Date.now();
  try {
    await test();
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n${e.stack || e}`);
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
