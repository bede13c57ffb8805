// Browser tests of the widget (www/mailvet.js, www/mailvet.mjs), in Debian's Chromium driven by
// playwright-core, against a running Worker that serves www/ and resolves through the local
// mail world (tests/e2e/tests/browser.rs starts both and runs this file).
//
//   node tests/browser/run.mjs http://127.0.0.1:PORT [http://127.0.0.1:PORT2] [WORD…]
//
// The first Worker is open (no keys). The second, for the test of a customer's site, has
// PUBLIC_KEYS={"pk_test_widget":["http://shop.localhost"]}. Runs the tests whose name contains a
// WORD (all without one), prints one line per test, the measured timings, and last
// "N passed, N failed"; exits non-zero on a failure. Screenshots of the demo form are kept in
// $CARGO_TARGET_DIR/browser (target/browser).

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const [base, ...words] = process.argv.slice(2);
if (!base) {
  console.error("usage: node tests/browser/run.mjs WORKER_URL [KEYED_WORKER_URL] [WORD…]");
  process.exit(2);
}
const keyed = /^https?:/.test(words[0] || "") ? words.shift() : undefined;
const filters = words;
const artifacts = join(process.env.CARGO_TARGET_DIR || join(root, "target"), "browser");
mkdirSync(artifacts, { recursive: true });

// A page on the Worker's origin with one signup form; `attributes` go on the script tag.
// Submitted addresses are collected in window.submitted.
function testPage({ attributes = "", lang = "en", field = "" } = {}) {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>test</title>
<script src="/mailvet.js" ${attributes} defer></script></head><body>
<form id="signup" onsubmit="event.preventDefault(); submitted.push(this.email.value)">
<label for="email">Email</label> <input id="email" name="email" type="email" ${field}>
<input id="other" name="other" type="email" data-mailvet="off">
<input id="cc" name="cc" type="email" multiple>
<button id="send">Sign up</button></form>
<script>window.submitted = [];</script></body></html>`;
}

/** Opens a test page (served at /__widget-test by the browser itself) and waits for the Wasm. */
async function open(context, options) {
  const page = await context.newPage();
  const verifies = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/v1/verify") verifies.push(new URL(r.url()).searchParams.get("email"));
  });
  await page.route(`${base}/__widget-test`, (route) =>
    route.fulfill({ contentType: "text/html", body: testPage(options) }),
  );
  await page.goto(`${base}/__widget-test`);
  assert.equal(await page.evaluate(() => window.mailvet.ready), true, "the Wasm core loads");
  return { page, verifies, message: page.locator("#email ~ .mailvet-message") };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate` holds, polling; fails with `what` after `ms`. */
async function until(predicate, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const timings = [];

const tests = {
  async "a typo shows the suggestion and a click fixes the field"(context) {
    const { page, message } = await open(context);
    await page.locator("#email").pressSequentially("jane@gmial.com", { delay: 20 });
    const fix = message.getByRole("button", { name: "jane@gmail.com" });
    await fix.waitFor({ timeout: 1000 });
    assert.match(await message.textContent(), /^Did you mean jane@gmail\.com\?$/);
    await fix.click();
    assert.equal(await page.locator("#email").inputValue(), "jane@gmail.com");
    assert.equal(await fix.count(), 0, "the suggestion is gone once taken");
    assert.equal(await page.evaluate(() => document.activeElement.id), "email");
  },

  async "completions and syntax errors wait for the pause"(context) {
    const { page, message } = await open(context);
    const email = page.locator("#email");
    await email.pressSequentially("jane@gmail.c", { delay: 20 });
    assert.equal(await message.textContent(), "", "no suggestion for a domain still being typed");
    await email.pressSequentially("o", { delay: 20 });
    assert.equal(await message.textContent(), "");
    await message.getByRole("button", { name: "jane@gmail.com" }).waitFor({ timeout: 1500 });
    await email.fill("jane");
    assert.equal(await message.textContent(), "", "no error while typing");
    await until(async () => (await message.textContent()) === "An email address needs an @ sign.", "the error");
    await email.pressSequentially("@", { delay: 20 });
    assert.match(await message.textContent(), /not a valid domain/, "a shown error follows the keystrokes");
    await email.pressSequentially("example.com", { delay: 20 });
    assert.equal(await message.textContent(), "");
  },

  async "a disposable address blocks submit"(context) {
    const { page, message } = await open(context);
    await page.locator("#email").fill("test@mailinator.com");
    await until(async () => (await message.getAttribute("data-state")) === "error", "the error");
    assert.match(await message.textContent(), /Disposable addresses are not accepted/);
    assert.equal(await page.locator("#email").getAttribute("aria-invalid"), "true");
    await page.locator("#send").click();
    // The submit waits for the edge's answer (up to submitWait), then refuses and moves focus.
    await until(
      async () => (await page.evaluate(() => document.activeElement.id)) === "email",
      "focus to go to the field",
    );
    assert.deepEqual(await page.evaluate(() => window.submitted), []);
  },

  async "a valid address submits"(context) {
    const { page, message, verifies } = await open(context);
    await page.locator("#email").fill("alice@valid.test");
    await until(() => verifies.length === 1, "the edge check");
    await sleep(200);
    assert.equal(await message.textContent(), "");
    assert.equal(await page.locator("#email").getAttribute("aria-invalid"), null);
    await page.locator("#send").click();
    await until(async () => (await page.evaluate(() => window.submitted)).length === 1, "the submit");
    assert.deepEqual(await page.evaluate(() => window.submitted), ["alice@valid.test"]);
    assert.equal(verifies.length, 1, "submit reuses the answer");
  },

  async "a pending check is awaited on submit"(context) {
    const { page, verifies } = await open(context);
    await page.locator("#email").fill("bob@valid.test");
    await page.locator("#email").press("Enter");
    await until(async () => (await page.evaluate(() => window.submitted)).length === 1, "the submit");
    assert.deepEqual(verifies, ["bob@valid.test"]);
  },

  async "the edge blocks a domain that does not exist, after the pause"(context) {
    const { page, message, verifies } = await open(context);
    await page.locator("#email").fill("jane@does-not-exist.test");
    assert.equal(await message.textContent(), "", "nothing while typing: the address is fine locally");
    await until(async () => (await message.textContent()) === "This domain does not exist.", "the edge's answer");
    assert.equal(await page.locator("#email").getAttribute("aria-invalid"), "true");
    await page.locator("#send").click();
    await until(
      async () => (await page.evaluate(() => document.activeElement.id)) === "email",
      "the refused submit to move focus to the field",
    );
    assert.deepEqual(await page.evaluate(() => window.submitted), []);
    assert.deepEqual(verifies, ["jane@does-not-exist.test"]);
  },

  async "keyboard only: type, take the suggestion, submit"(context) {
    const { page } = await open(context);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.id), "email");
    await page.keyboard.type("jane@gmial.com", { delay: 20 });
    await page.getByRole("button", { name: "jane@gmail.com" }).waitFor({ timeout: 1000 });
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.className), "mailvet-fix");
    await sleep(700); // the edge answers meanwhile (blur asks at once): focus must stay put
    assert.equal(await page.evaluate(() => document.activeElement.className), "mailvet-fix");
    await page.keyboard.press("Enter");
    assert.equal(await page.locator("#email").inputValue(), "jane@gmail.com");
    assert.equal(await page.evaluate(() => document.activeElement.id), "email");
    await page.keyboard.press("Tab"); // the opted-out field
    await page.keyboard.press("Tab"); // the field for several addresses
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.id), "send");
    await page.keyboard.press("Enter");
    await until(async () => (await page.evaluate(() => window.submitted)).length === 1, "the submit");
    assert.deepEqual(await page.evaluate(() => window.submitted), ["jane@gmail.com"]);
  },

  async "one request per pause, none for an answer already known"(context) {
    const { page, verifies } = await open(context);
    const email = page.locator("#email");
    await email.pressSequentially("alice@valid.test", { delay: 60 });
    await sleep(1000);
    assert.deepEqual(verifies, ["alice@valid.test"], "typing one address makes one request");
    await email.press("End");
    await email.pressSequentially("x", { delay: 60 });
    await sleep(1000);
    assert.deepEqual(verifies, ["alice@valid.test", "alice@valid.testx"]);
    await email.press("Backspace");
    await sleep(1000);
    assert.equal(verifies.length, 2, "the answer for alice@valid.test is kept");
    // A keystroke while the request is in flight aborts it: the answer to the older address
    // must not be shown for the newer one.
    await email.fill("carol@does-not-exist.test");
    await sleep(650);
    await email.fill("carol@valid.test");
    await sleep(1000);
    assert.equal(await page.locator("#email ~ .mailvet-message").textContent(), "");
    assert.deepEqual(verifies.slice(2), ["carol@does-not-exist.test", "carol@valid.test"]);
  },

  async "opted-out fields and fields for several addresses are left alone"(context) {
    const { page } = await open(context);
    assert.equal(await page.locator(".mailvet-message").count(), 1, "only #email has a message");
    assert.equal(await page.locator("#email + .mailvet-message").count(), 1);
    assert.equal(await page.locator("#other").getAttribute("aria-describedby"), null);
    assert.equal(await page.locator("#cc").getAttribute("aria-describedby"), null, "multiple is left alone");
    const describedBy = await page.locator("#email").getAttribute("aria-describedby");
    assert.equal(await page.locator(`#${describedBy}`).getAttribute("aria-live"), "polite");
  },

  async "messages in Traditional Chinese from the page's lang"(context) {
    const { page, message } = await open(context, { lang: "zh-Hant" });
    await page.locator("#email").pressSequentially("jane@gmial.com", { delay: 20 });
    await message.getByRole("button").waitFor({ timeout: 1000 });
    assert.equal(await message.textContent(), "您是不是要輸入 jane@gmail.com？");
    await page.locator("#email").fill("jane");
    await until(async () => (await message.textContent()) === "電子郵件地址需要 @ 符號。", "the syntax error");
  },

  async "policy options: a warning for a disposable address when it may pass"(context) {
    const { page, message } = await open(context, { attributes: 'data-block-disposable="false"' });
    await page.locator("#email").fill("test@mailinator.com");
    assert.equal(await message.textContent(), "This looks like a disposable address.");
    assert.equal(await message.getAttribute("data-state"), "warning");
    await page.locator("#send").click();
    await until(async () => (await page.evaluate(() => window.submitted)).length === 1, "the submit");
  },

  async "a role account is a warning, not a block"(context) {
    const { page, message } = await open(context);
    await page.locator("#email").fill("info@valid.test");
    assert.match(await message.textContent(), /shared address/);
    assert.equal(await message.getAttribute("data-state"), "warning");
    assert.equal(await page.locator("#email").getAttribute("aria-invalid"), null);
    await page.locator("#send").click();
    await until(async () => (await page.evaluate(() => window.submitted)).length === 1, "the submit");
  },

  async "the ES module attaches by hand, with options"(context) {
    const page = await context.newPage();
    await page.route(`${base}/__widget-module`, (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<!doctype html><html lang="en"><body><input id="email" type="email">
<script type="module">
import { attach } from "/mailvet.mjs";
window.field = attach(document.getElementById("email"), { lang: "zh-Hant", blockInvalid: false });
</script></body></html>`,
      }),
    );
    await page.goto(`${base}/__widget-module`);
    await until(() => page.evaluate(() => !!window.field), "the module");
    const email = page.locator("#email");
    await email.fill("jane@does-not-exist.test");
    const message = page.locator(".mailvet-message");
    await until(async () => (await message.textContent()) === "這個網域不存在。", "the edge's answer");
    assert.equal(await message.getAttribute("data-state"), "warning", "blockInvalid: false");
    assert.equal(await page.evaluate(() => window.field.blocked()), false);
    await page.evaluate(() => window.field.detach());
    assert.equal(await page.locator(".mailvet-message").count(), 0);
    assert.equal(await email.getAttribute("aria-describedby"), null);
  },

  async "on a customer's site: the edge's origin, a public key, CORS"(context) {
    assert.ok(keyed, "needs a second Worker URL, one with PUBLIC_KEYS (see the top of this file)");
    // Here the edge is on loopback and the shop is not; on the Internet both are public, and
    // Chromium asks no permission (Local Network Access).
    await context.grantPermissions(["local-network-access"], { origin: "http://shop.localhost" });
    const page = await context.newPage();
    const verifies = [];
    page.on("response", (r) => {
      if (new URL(r.url()).pathname === "/v1/verify") verifies.push([r.url(), r.status()]);
    });
    // The shop's page, served by the browser itself: no request leaves the machine.
    await page.route("http://shop.localhost/signup", (route) =>
      route.fulfill({ contentType: "text/html", body: testPage({ attributes: 'data-key="pk_test_widget"' }).replace(
        'src="/mailvet.js"', `src="${keyed}/mailvet.js"`) }),
    );
    await page.goto("http://shop.localhost/signup");
    assert.equal(await page.evaluate(() => window.mailvet.ready), true, "the Wasm loads across origins");
    const message = page.locator("#email + .mailvet-message");
    await page.locator("#email").fill("jane@does-not-exist.test");
    await until(async () => (await message.textContent()) === "This domain does not exist.", "the edge's answer");
    assert.equal(verifies.length, 1);
    const [url, status] = verifies[0];
    assert.equal(status, 200);
    assert.equal(new URL(url).origin, new URL(keyed).origin, "the script's origin is the edge");
    assert.equal(new URL(url).searchParams.get("key"), "pk_test_widget");
  },

  async "fail open: an unreachable edge never blocks a good address"(context) {
    const { page, verifies } = await open(context, { attributes: 'data-api="http://127.0.0.1:9"' });
    await page.locator("#email").fill("alice@valid.test");
    await page.locator("#send").click();
    await until(async () => (await page.evaluate(() => window.submitted)).length === 1, "the submit");
    assert.equal(verifies.length, 1);
  },

  async "fail closed when asked: an unreachable edge blocks"(context) {
    const { page, message } = await open(context, { attributes: 'data-api="http://127.0.0.1:9" data-fail-open="false"' });
    await page.locator("#email").fill("alice@valid.test");
    await page.locator("#send").click();
    await until(async () => (await message.textContent()) === "The address could not be checked. Please try again.", "the error");
    assert.deepEqual(await page.evaluate(() => window.submitted), []);
  },

  async "the local checks agree with the syntax corpora"(context) {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const rows = corpus();
    const results = await page.evaluate(async (inputs) => {
      const { check } = await import("/mailvet.mjs");
      const out = [];
      for (const input of inputs) {
        const r = await check(input);
        const error = r.checks.syntax.error;
        const warnings = r.checks.syntax.warnings;
        out.push({
          verdict: error ? `${error.code}@${error.position}` : warnings.length ? `valid:${warnings.join(",")}` : "valid",
          address: r.address,
        });
      }
      return out;
    }, rows.map((r) => r.input));
    const problems = [];
    rows.forEach((row, i) => {
      const { verdict, address } = results[i];
      const same = row.expectation.includes("@") || verdict.startsWith("valid")
        ? row.expectation === verdict
        : verdict.split("@")[0] === row.expectation;
      if (!same) problems.push(`${row.at}: ${JSON.stringify(row.input)}: expected ${row.expectation}, got ${verdict}`);
      else if (row.normalized !== undefined && address !== row.normalized)
        problems.push(`${row.at}: ${JSON.stringify(row.input)}: expected ${row.normalized}, got ${address}`);
    });
    console.log(`  ${rows.length} corpus rows through the browser's Unicode support, ${problems.length} differ`);
    assert.deepEqual(problems, []);
  },

  async "timings: keystroke to message"(context) {
    const { page } = await open(context);
    const clear = () =>
      page.evaluate(() => {
        const input = document.getElementById("email");
        input.value = "";
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    const measure = (value) =>
      page.evaluate(
        (value) =>
          new Promise((resolve) => {
            const input = document.getElementById("email");
            const message = input.nextElementSibling;
            const start = performance.now();
            const observer = new MutationObserver(() => {
              if (!message.textContent) return;
              observer.disconnect();
              resolve(performance.now() - start);
            });
            observer.observe(message, { childList: true, subtree: true, characterData: true });
            input.value = value;
            input.dispatchEvent(new Event("input", { bubbles: true }));
          }),
        value,
      );
    const local = [];
    for (let i = 0; i < 20; i++) {
      await clear();
      local.push(await measure(`jane${i}@gmial.com`));
    }
    local.sort((a, b) => a - b);
    timings.push(`local check (typo hint), median of 20: ${local[10].toFixed(2)} ms, max ${local[19].toFixed(2)} ms`);
    await clear();
    const edge = await measure("jane@does-not-exist.test");
    timings.push(`edge check (domain_not_found): ${edge.toFixed(0)} ms after the keystroke, ${(edge - 600).toFixed(0)} ms after the 600 ms pause`);
    assert.ok(local[10] < 50, "the local check is instant");
  },

  async "the demo signup form, with a screenshot"(context) {
    const page = await context.newPage();
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.goto(`${base}/`);
    assert.equal(await page.evaluate(() => window.mailvet.ready), true);
    await page.locator("#name").fill("Jane Doe");
    await page.locator("#email").pressSequentially("jane@gmial.com", { delay: 20 });
    await page.getByRole("button", { name: "jane@gmail.com" }).waitFor({ timeout: 1000 });
    await page.screenshot({ path: join(artifacts, "demo-signup.png"), fullPage: true });
    await page.locator("#lang").selectOption("zh-Hant");
    await page.locator("#email").fill("test@mailinator.com");
    await until(async () => /不接受拋棄式信箱/.test(await page.locator(".mailvet-message").textContent()), "the message");
    await page.screenshot({ path: join(artifacts, "demo-signup-zh-hant.png"), fullPage: true });
    await page.locator("#email").fill("alice@valid.test");
    await page.getByRole("button", { name: "Create account" }).click();
    await until(async () => /"verdict": "valid"/.test(await page.locator("#result").textContent()), "the sign-up");
  },
};

/** The rows of tests/data/syntax*.tsv, unescaped as crates/core/tests/syntax_corpora.rs does. */
function corpus() {
  const dir = join(root, "tests/data");
  const rows = [];
  for (const file of readdirSync(dir).filter((f) => /^syntax.*\.tsv$/.test(f)).sort()) {
    readFileSync(join(dir, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (!line || line.startsWith("#")) return;
        const [input, expectation, , normalized] = line.split("\t");
        rows.push({
          at: `${file}:${i + 1}`,
          input: unescape(input),
          expectation,
          normalized: normalized === undefined ? undefined : unescape(normalized),
        });
      });
  }
  return rows;
}

// The corpus escapes: \t \n \r \\, \xNN (one byte), \u{X} (a code point), \*N{text}.
function unescape(field) {
  const bytes = [];
  const text = (s) => bytes.push(...Buffer.from(s, "utf8"));
  for (let i = 0; i < field.length; ) {
    const c = field.codePointAt(i);
    const char = String.fromCodePoint(c);
    i += char.length;
    if (char !== "\\") {
      text(char);
      continue;
    }
    const e = field[i++];
    if (e === "t") text("\t");
    else if (e === "n") text("\n");
    else if (e === "r") text("\r");
    else if (e === "\\") text("\\");
    else if (e === "x") {
      bytes.push(parseInt(field.slice(i, i + 2), 16));
      i += 2;
    } else if (e === "u") {
      const close = field.indexOf("}", i);
      text(String.fromCodePoint(parseInt(field.slice(i + 1, close), 16)));
      i = close + 1;
    } else if (e === "*") {
      const open = field.indexOf("{", i);
      const close = field.indexOf("}", open);
      text(unescape(field.slice(open + 1, close)).repeat(Number(field.slice(i, open))));
      i = close + 1;
    } else throw new Error(`unknown escape \\${e} in ${field}`);
  }
  return Buffer.from(bytes).toString("utf8");
}

const profile = mkdtempSync(join(tmpdir(), "mailvet-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
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
let passed = 0;
let failed = 0;
try {
  for (const [name, test] of Object.entries(tests)) {
    if (filters.length && !filters.some((f) => name.includes(f))) continue;
    const started = Date.now();
    try {
      await test(context);
      passed++;
      console.log(`test ${name} ... ok (${Date.now() - started} ms)`);
    } catch (error) {
      failed++;
      console.log(`test ${name} ... FAILED\n${String(error.stack || error).replace(/^/gm, "    ")}`);
    }
    for (const page of context.pages()) await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const line of timings) console.log(`timing: ${line}`);
console.log(`screenshots in ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
