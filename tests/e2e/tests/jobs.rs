//! The Jobs API and its engine with real parts only: the Worker under `wrangler dev` with local
//! D1, R2, Queues and the cron, resolving through the world's DoH server, and webhook receivers
//! on loopback. The runner of `mailvet_e2e::runner` (one world for the binary).
//!
//! - `open`: no keys (one owner), `ALLOW_PRIVATE_WEBHOOKS=true`;
//! - `keyed`: two secret keys and a public key;
//! - tests that kill or starve a Worker start their own.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::PoisonError;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mailvet_e2e::World;
use mailvet_e2e::hooks::{
    Answer, Deliveries, Delivery, receiver, receiver_answering, signature_valid,
};
use mailvet_e2e::http::HttpResponse;
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::{Options, Worker};
use serde_json::{Value, json};

struct Jobs {
    // Dropped in declaration order: the Workers before the world.
    open: Worker,
    keyed: Worker,
    world: World,
}

const SECRET_KEY: &str = "sk_test_jobs_alpha";
const OTHER_SECRET_KEY: &str = "sk_test_jobs_beta";
const PUBLIC_KEY: &str = "pk_test_jobs_shop";
const SHOP: &str = "https://shop.example";
/// How long a job of a few rows may take on a loaded two-core machine.
const JOB_TIMEOUT: Duration = Duration::from_secs(90);

const TESTS: &[Test<Jobs>] = &[
    (
        "plain_list_comes_back_in_order",
        plain_list_comes_back_in_order,
    ),
    (
        "csv_list_comes_back_as_the_cli_writes_it",
        csv_list_comes_back_as_the_cli_writes_it,
    ),
    ("csv_errors_name_the_problem", csv_errors_name_the_problem),
    (
        "a_utf16_upload_comes_back_as_utf8",
        a_utf16_upload_comes_back_as_utf8,
    ),
    ("json_list_and_the_job_list", json_list_and_the_job_list),
    ("verdict_filter_and_partial", verdict_filter_and_partial),
    ("jobs_belong_to_their_key", jobs_belong_to_their_key),
    ("upload_errors", upload_errors),
    ("delete_removes_the_job", delete_removes_the_job),
    (
        "webhook_gets_one_signed_completed",
        webhook_gets_one_signed_completed,
    ),
    ("webhook_urls_are_checked", webhook_urls_are_checked),
    (
        "sigkill_mid_job_then_restart_completes",
        sigkill_mid_job_then_restart_completes,
    ),
    ("sweeper_gives_up_lost_chunks", sweeper_gives_up_lost_chunks),
    (
        "openapi_documents_the_jobs_api",
        openapi_documents_the_jobs_api,
    ),
    (
        "a_browser_form_uploads_a_file",
        a_browser_form_uploads_a_file,
    ),
    (
        "webhook_retries_then_gone_disables",
        webhook_retries_then_gone_disables,
    ),
    (
        "a_receiver_that_fails_twice_gets_the_third_attempt",
        a_receiver_that_fails_twice_gets_the_third_attempt,
    ),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || {
            let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
            let migrate = Options {
                migrate: true,
                ..Options::default()
            };
            let open = Worker::start_with(
                &world,
                &[
                    ("ALLOW_PRIVATE_WEBHOOKS", "true"),
                    ("DOH_TIMEOUT_MS", "20000"),
                    // The schedule's third attempt comes after 5 s, not 5 min.
                    ("WEBHOOK_RETRY_CAP_SECONDS", "5"),
                ],
                &migrate,
            )?;
            let secret = format!("{SECRET_KEY},{OTHER_SECRET_KEY}");
            let public = json!({ PUBLIC_KEY: [SHOP] }).to_string();
            let keyed = Worker::start_with(
                &world,
                &[
                    ("SECRET_KEYS", &secret),
                    ("PUBLIC_KEYS", &public),
                    ("DOH_TIMEOUT_MS", "20000"),
                ],
                &migrate,
            )?;
            Ok(Jobs { open, keyed, world })
        },
        |jobs| {
            jobs.world.keep_dir();
            println!("logs kept in {}", jobs.world.dir().display());
        },
    )
}

// ---- helpers ----

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// `POST /v1/jobs?query` with a text/plain body; the 202's job object.
fn post_text(worker: &Worker, query: &str, auth: Option<&str>, body: &str) -> Value {
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
    let auth = auth.map(bearer);
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let r = worker
        .request(
            "POST",
            &format!("/v1/jobs?{query}"),
            &headers,
            Some(body.as_bytes()),
        )
        .expect("POST /v1/jobs");
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json();
    let id = job["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 32, "128 bits in hex: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/jobs/{id}").as_str())
    );
    job
}

fn get_job(worker: &Worker, id: &str, auth: Option<&str>) -> HttpResponse {
    let auth = auth.map(bearer);
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    worker
        .request("GET", &format!("/v1/jobs/{id}"), &headers, None)
        .expect("GET /v1/jobs/{id}")
}

/// Polls the job until it has ended; its last job object.
fn wait_for(worker: &Worker, id: &str, auth: Option<&str>) -> Value {
    let started = Instant::now();
    loop {
        let r = get_job(worker, id, auth);
        assert_eq!(r.status, 200, "{}", r.text());
        let job = r.json();
        if matches!(job["status"].as_str(), Some("completed" | "failed")) {
            return job;
        }
        assert!(
            started.elapsed() < JOB_TIMEOUT,
            "the job did not end in {JOB_TIMEOUT:?}: {job}\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn results(worker: &Worker, id: &str, query: &str) -> HttpResponse {
    worker
        .request("GET", &format!("/v1/jobs/{id}/results?{query}"), &[], None)
        .expect("GET results")
}

/// Every number of the job object agrees with the others.
fn assert_counts_add_up(job: &Value) {
    let total = job["total_rows"].as_i64().expect("total_rows");
    let counts = &job["counts"];
    let sum: i64 = ["valid", "risky", "invalid", "unknown"]
        .iter()
        .map(|v| counts[v].as_i64().expect("count"))
        .sum();
    assert_eq!(sum, total, "{job}");
    assert_eq!(job["processed"].as_i64(), Some(total), "{job}");
    assert_eq!(job["percent"].as_i64(), Some(100), "{job}");
    for field in ["created_at", "started_at", "finished_at"] {
        assert!(
            job[field].as_str().is_some_and(|t| t.ends_with('Z')),
            "{field}: {job}"
        );
    }
}

/// The cells of a CSV text (RFC 4180 quoting; no line breaks inside fields in these tests).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut cells = vec![String::new()];
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        chars.next();
                        cells.last_mut().expect("cell").push('"');
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => cells.push(String::new()),
                    (c, _) => cells.last_mut().expect("cell").push(c),
                }
            }
            cells
        })
        .collect()
}

// ---- tests ----

/// Blank and garbage lines, a duplicate in another case of the domain, a formula cell: every
/// row comes back in order with the right appended columns, in CSV and in JSONL.
fn plain_list_comes_back_in_order(jobs: &Jobs) {
    let rows = [
        "alice@valid.test",
        "",
        "not an address",
        "alice@VALID.Test",
        "jane@nullmx.test",
        "=1+2@valid.test",
        "nobody@nowhere-at-all.test",
        "",
        "bob@valid.test",
    ];
    let body = format!("{}\n", rows.join("\n"));
    let job = post_text(&jobs.open, "checks=dns&name=awkward", None, &body);
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(job["name"], "awkward");
    assert_eq!(job["checks"], "dns");
    assert_eq!(
        job["total_rows"],
        rows.len(),
        "a final line break adds no row: {job}"
    );
    let id = job["id"].as_str().expect("id");
    let job = wait_for(&jobs.open, id, None);
    assert_eq!(job["status"], "completed", "{job}");
    assert_counts_add_up(&job);
    assert_eq!(job["duplicates"], 1, "{job}");
    assert_eq!(
        job["unique_addresses"], 8,
        "rows that repeat no earlier row: {job}"
    );
    let counts = &job["counts"];
    assert_eq!(
        (counts["valid"].as_i64(), counts["invalid"].as_i64()),
        (Some(4), Some(5)),
        "{job}"
    );
    assert_eq!(job["reasons"]["invalid_syntax"], 3, "{job}");
    assert_eq!(job["reasons"]["null_mx"], 1, "{job}");
    assert_eq!(job["reasons"]["domain_not_found"], 1, "{job}");
    assert_eq!(job["top_domains"][0]["domain"], "valid.test", "{job}");
    assert_eq!(job["top_domains"][0]["rows"], 4, "{job}");
    assert_eq!(job["top_domains"][0]["valid"], 4, "{job}");

    let expected = [
        ("valid", "", ""),
        ("invalid", "invalid_syntax", ""),
        ("invalid", "invalid_syntax", ""),
        ("valid", "", "1"),
        ("invalid", "null_mx", ""),
        ("valid", "", ""),
        ("invalid", "domain_not_found", ""),
        ("invalid", "invalid_syntax", ""),
        ("valid", "", ""),
    ];
    let csv = results(&jobs.open, id, "format=csv");
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    let table = csv_rows(&csv.text());
    assert_eq!(
        table[0],
        [
            "email",
            "mailvet_verdict",
            "mailvet_reasons",
            "mailvet_suggestion",
            "mailvet_score",
            "mailvet_duplicate_of"
        ]
    );
    assert_eq!(table.len(), rows.len() + 1, "{}", csv.text());
    for (i, (row, (verdict, reasons, duplicate_of))) in table[1..].iter().zip(expected).enumerate()
    {
        let input = if rows[i].starts_with('=') {
            format!("'{}", rows[i])
        } else {
            rows[i].to_owned()
        };
        assert_eq!(
            row[0],
            input,
            "row {}: the formula guard, else the cell as given",
            i + 1
        );
        assert_eq!(
            (row[1].as_str(), row[2].as_str()),
            (verdict, reasons),
            "row {}",
            i + 1
        );
        assert_eq!(row[5], duplicate_of, "row {}", i + 1);
        assert!(row[4].parse::<u8>().is_ok(), "a score: {row:?}");
    }

    let jsonl = results(&jobs.open, id, "format=jsonl");
    assert_eq!(jsonl.status, 200, "{}", jsonl.text());
    let lines: Vec<Value> = jsonl
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), rows.len());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["row"], i + 1, "{line}");
        assert_eq!(line["columns"]["email"], rows[i], "never altered: {line}");
        assert_eq!(line["report"]["verdict"], expected[i].0, "{line}");
    }
    assert_eq!(lines[3]["duplicate_of"], 1);
    assert_eq!(lines[0]["duplicate_of"], Value::Null);
    assert_eq!(
        lines[0]["report"]["checks"]["dns"]["route"], "mx",
        "{}",
        lines[0]
    );
}

/// The awkward CSV of the CLI's tests (a header in two scripts, quoted commas and line breaks,
/// a BOM, a blank row, garbage, a duplicate in another case, formula cells): the results are
/// byte for byte what `mailvet check --syntax-only --output checked.csv` writes.
fn csv_list_comes_back_as_the_cli_writes_it(jobs: &Jobs) {
    let lists = mailvet_e2e::repo_root().join("tests/data/lists");
    let input = std::fs::read(lists.join("awkward.csv")).expect("awkward.csv");
    let want = std::fs::read_to_string(lists.join("awkward.checked.csv")).expect("checked");
    let r = jobs
        .open
        .request(
            "POST",
            "/v1/jobs?checks=syntax&name=awkward.csv",
            &[("Content-Type", "text/csv")],
            Some(&input),
        )
        .expect("POST");
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json();
    assert_eq!(
        job["total_rows"], 8,
        "the header is no row, the blank line is: {job}"
    );
    let id = job["id"].as_str().expect("id").to_owned();
    let job = wait_for(&jobs.open, &id, None);
    assert_counts_add_up(&job);
    assert_eq!(job["duplicates"], 1, "{job}");
    assert_eq!(job["reasons"]["invalid_syntax"], 3, "{job}");
    let csv = results(&jobs.open, &id, "format=csv");
    assert_eq!(csv.text(), want);

    let jsonl = results(&jobs.open, &id, "format=jsonl");
    let lines: Vec<Value> = jsonl
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(
        lines[1]["columns"]["備註"], "line one\r\nline two",
        "{}",
        lines[1]
    );
    assert_eq!(lines[1]["columns"]["姓名"], "Lee, Jane");
    assert_eq!(
        (&lines[2]["columns"], &lines[2]["report"]["verdict"]),
        (&json!({ "姓名": "" }), &json!("invalid")),
        "the blank row is one empty cell, as the CLI writes it"
    );
    assert_eq!(lines[4]["duplicate_of"], 1, "{}", lines[4]);
    assert_eq!(
        lines[5]["columns"]["備註"], "=1+1",
        "JSON keeps every value as given"
    );

    // The column named by its number, or by its header in any case.
    for column in ["2", "e-mail%20address"] {
        let r = jobs
            .open
            .request(
                "POST",
                &format!("/v1/jobs?checks=syntax&column={column}"),
                &[("Content-Type", "text/csv; charset=utf-8")],
                Some(&input),
            )
            .expect("POST");
        assert_eq!(r.status, 202, "{column}: {}", r.text());
        assert_eq!(r.json()["total_rows"], 8);
    }
}

fn csv_errors_name_the_problem(jobs: &Jobs) {
    let post = |query: &str, body: &[u8]| {
        jobs.open
            .request(
                "POST",
                &format!("/v1/jobs{query}"),
                &[("Content-Type", "text/csv")],
                Some(body),
            )
            .expect("POST")
    };
    let r = post("", b"name,company\nJane,Acme\nBob,Globex\n");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "csv_no_email_column")
    );
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("\"name\", \"company\""),
        "names the headers: {message}"
    );
    let r = post("?column=phone", b"name,email\nJane,jane@valid.test\n");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "csv_no_email_column")
    );
    let r = post("", b"email\njane@valid.test\nbad\xff@valid.test\n");
    assert_eq!((r.status, r.error_code().as_str()), (400, "csv_encoding"));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("UTF-8"), "{message}");
    let r = post("", b"email\n");
    assert_eq!((r.status, r.error_code().as_str()), (400, "empty_list"));
}

/// Excel's "Unicode text" is UTF-16LE with a byte order mark, tab-separated: it is read, and
/// its rows come back (as UTF-8) with their Chinese names intact; a half character is
/// `csv_encoding`.
fn a_utf16_upload_comes_back_as_utf8(jobs: &Jobs) {
    let text = "姓名\t電郵\r\n陳大文\talice@valid.test\r\n李小明\tnot-an-address\r\n";
    for big_endian in [false, true] {
        let mut body = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            body.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        let r = jobs
            .open
            .request(
                "POST",
                "/v1/jobs?checks=syntax",
                &[("Content-Type", "text/csv")],
                Some(&body),
            )
            .expect("POST");
        assert_eq!(r.status, 202, "{}", r.text());
        let job = r.json();
        assert_eq!(job["total_rows"], 2, "{job}");
        let id = job["id"].as_str().expect("id").to_owned();
        wait_for(&jobs.open, &id, None);
        let csv = results(&jobs.open, &id, "format=csv").text();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("姓名\t電郵\t"), "{csv}");
        assert!(
            lines[1].starts_with("陳大文\talice@valid.test\tvalid"),
            "{csv}"
        );
        assert!(
            lines[2].starts_with("李小明\tnot-an-address\tinvalid"),
            "{csv}"
        );
    }
    // A lone high surrogate (U+D83D) after the mark.
    let r = jobs
        .open
        .request(
            "POST",
            "/v1/jobs",
            &[("Content-Type", "text/csv")],
            Some(&[0xFF, 0xFE, b'e', 0, b'\n', 0, 0x3D, 0xD8, b'a', 0]),
        )
        .expect("POST");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "csv_encoding"),
        "{}",
        r.text()
    );
}

fn json_list_and_the_job_list(jobs: &Jobs) {
    let body = json!({ "emails": ["carol@valid.test", "carol@valid.test", "x"] }).to_string();
    let post = |name: &str| {
        let r = jobs
            .open
            .request(
                "POST",
                &format!("/v1/jobs?checks=syntax&name={name}"),
                &[("Content-Type", "application/json")],
                Some(body.as_bytes()),
            )
            .expect("POST");
        assert_eq!(r.status, 202, "{}", r.text());
        r.json()["id"].as_str().expect("id").to_owned()
    };
    let first = post("json-first");
    let second = post("json-second");
    let job = wait_for(&jobs.open, &first, None);
    assert_counts_add_up(&job);
    assert_eq!(
        (job["total_rows"].as_i64(), job["duplicates"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(job["checks"], "syntax");
    wait_for(&jobs.open, &second, None);

    // Newest first, one a page, the cursor leading to the next.
    let r = jobs.open.get("/v1/jobs?limit=200").expect("GET");
    assert_eq!(r.status, 400, "{}", r.text());
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        let mut path = "/v1/jobs?limit=1".to_owned();
        loop {
            let page = jobs.open.get(&path).expect("GET /v1/jobs").json();
            let listed = page["jobs"].as_array().expect("jobs");
            assert!(listed.len() <= 1, "{page}");
            ids.extend(
                listed
                    .iter()
                    .map(|j| j["id"].as_str().expect("id").to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(cursor) if ids.len() < 200 => {
                    path = format!("/v1/jobs?limit=1&cursor={cursor}")
                }
                _ => break,
            }
        }
        ids
    };
    let at = |id: &str| ids.iter().position(|i| i == id);
    let (Some(a), Some(b)) = (at(&first), at(&second)) else {
        panic!("both jobs are listed: {ids:?}");
    };
    assert!(b < a, "newest first: {ids:?}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no job twice over the pages");
}

fn verdict_filter_and_partial(jobs: &Jobs) {
    let job = post_text(
        &jobs.open,
        "checks=syntax",
        None,
        "dave@valid.test\nnot an address\nerin@valid.test\n",
    );
    let id = job["id"].as_str().expect("id");
    // Before it ends (it may already have): 409 unless partial.
    let early = results(&jobs.open, id, "format=jsonl");
    if early.status != 200 {
        assert_eq!(early.status, 409, "{}", early.text());
        assert_eq!(early.error_code(), "job_not_finished");
        // The rows checked so far (none before the upload is split into rows).
        let partial = results(&jobs.open, id, "format=jsonl&partial=true");
        assert_eq!(partial.status, 200, "{}", partial.text());
        let text = partial.text();
        assert!(text.lines().count() <= 3, "{text}");
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok()),
            "{text}"
        );
    }
    wait_for(&jobs.open, id, None);
    let invalid = results(&jobs.open, id, "format=csv&verdict=invalid");
    let table = csv_rows(&invalid.text());
    assert_eq!(table.len(), 2, "{}", invalid.text());
    assert_eq!(table[1][0], "not an address");
    let valid = results(&jobs.open, id, "format=jsonl&verdict=valid,risky");
    let rows: Vec<i64> = valid
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON")["row"]
                .as_i64()
                .expect("row")
        })
        .collect();
    assert_eq!(rows, [1, 3]);
    let bad = results(&jobs.open, id, "verdict=good");
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (400, "invalid_verdict")
    );
    let bad = results(&jobs.open, id, "format=xlsx");
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (400, "invalid_format")
    );
}

fn jobs_belong_to_their_key(jobs: &Jobs) {
    let job = post_text(
        &jobs.keyed,
        "checks=syntax",
        Some(SECRET_KEY),
        "frank@valid.test\n",
    );
    let id = job["id"].as_str().expect("id");
    assert_eq!(get_job(&jobs.keyed, id, Some(SECRET_KEY)).status, 200);
    // Another secret key sees nothing, not even that the job exists.
    let other = get_job(&jobs.keyed, id, Some(OTHER_SECRET_KEY));
    assert_eq!(
        (other.status, other.error_code().as_str()),
        (404, "job_not_found")
    );
    let auth = bearer(OTHER_SECRET_KEY);
    let r = jobs
        .keyed
        .request(
            "DELETE",
            &format!("/v1/jobs/{id}"),
            &[("Authorization", &auth)],
            None,
        )
        .expect("DELETE");
    assert_eq!(r.status, 404, "{}", r.text());
    let listed = jobs
        .keyed
        .request("GET", "/v1/jobs", &[("Authorization", &auth)], None)
        .expect("GET");
    assert!(!listed.text().contains(id), "{}", listed.text());
    let r = jobs
        .keyed
        .request(
            "GET",
            &format!("/v1/jobs/{id}/results?partial=true"),
            &[("Authorization", &auth)],
            None,
        )
        .expect("GET");
    assert_eq!(r.status, 404, "{}", r.text());
    // A public key may not make or see jobs, even from its own origin.
    for (method, path, body) in [
        ("POST", "/v1/jobs".to_owned(), Some(&b"x@valid.test\n"[..])),
        ("GET", format!("/v1/jobs/{id}"), None),
        ("GET", "/v1/webhooks".to_owned(), None),
    ] {
        let r = jobs
            .keyed
            .request(
                method,
                &format!("{path}?key={PUBLIC_KEY}"),
                &[("Origin", SHOP), ("Content-Type", "text/plain")],
                body,
            )
            .expect("request");
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "secret_key_required"),
            "{method} {path}"
        );
    }
    // No key at all: 401.
    let r = get_job(&jobs.keyed, id, None);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        wait_for(&jobs.keyed, id, Some(SECRET_KEY))["status"],
        "completed"
    );
}

fn upload_errors(jobs: &Jobs) {
    let post = |content_type: &str, body: &[u8]| {
        jobs.open
            .request(
                "POST",
                "/v1/jobs",
                &[("Content-Type", content_type)],
                Some(body),
            )
            .expect("POST")
    };
    for (content_type, body) in [
        ("text/plain", &b""[..]),
        ("text/plain", b"\n\n  \n"),
        ("application/json", br#"{"emails": []}"#),
    ] {
        let r = post(content_type, body);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (400, "empty_list"),
            "{body:?}"
        );
    }
    let r = post("application/json", b"{\"emails\": 3}");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_json"));
    let r = post("application/xml", b"<list/>");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (415, "unsupported_media_type")
    );
    let r = jobs
        .open
        .request(
            "POST",
            "/v1/jobs?checks=deep",
            &[("Content-Type", "text/plain")],
            Some(b"a@b.test"),
        )
        .expect("POST");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_checks"));
    // One row over the limit of 1,000,000 (2 MB of text): 413, the limit in the sentence.
    let many = "a\n".repeat(1_000_001);
    let r = post("text/plain", many.as_bytes());
    assert_eq!((r.status, r.error_code().as_str()), (413, "too_many_rows"));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("1000000"), "{message}");
    // Over 100 MB: refused by its Content-Length (wrangler dev's proxy forwards nothing
    // before the whole body came, so the whole body is sent).
    let huge = vec![b'a'; 100 * 1024 * 1024 + 1];
    let sent = Instant::now();
    let r = post("text/plain", &huge);
    drop(huge);
    assert_eq!((r.status, r.error_code().as_str()), (413, "body_too_large"));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("100 MB") && message.contains("1000000"),
        "{message}"
    );
    println!("a 100 MB upload refused in {:?}", sent.elapsed());
    // Nothing was stored for any of these: no job was made.
    let page = jobs.open.get("/v1/jobs?limit=100").expect("GET").json();
    let made = page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| {
            j["total_rows"]
                .as_i64()
                .is_some_and(|n| n > 1_000 || n == 0)
        })
        .count();
    assert_eq!(made, 0, "{page}");
}

fn delete_removes_the_job(jobs: &Jobs) {
    let job = post_text(
        &jobs.open,
        "checks=syntax",
        None,
        "gina@valid.test\nhal@valid.test\n",
    );
    let id = job["id"].as_str().expect("id");
    wait_for(&jobs.open, id, None);
    let r = jobs
        .open
        .request("DELETE", &format!("/v1/jobs/{id}"), &[], None)
        .expect("DELETE");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(get_job(&jobs.open, id, None).status, 404);
    assert_eq!(results(&jobs.open, id, "").status, 404);
    let again = jobs
        .open
        .request("DELETE", &format!("/v1/jobs/{id}"), &[], None)
        .expect("DELETE");
    assert_eq!(again.status, 404);
}

fn webhook_gets_one_signed_completed(jobs: &Jobs) {
    let (url, got) = receiver();
    let (hook_id, secret) = register(jobs, &url);
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(
        STANDARD.decode(&secret[6..]).is_ok_and(|k| k.len() >= 24),
        "{secret}"
    );
    let listed = jobs.open.get("/v1/webhooks").expect("GET").json();
    let mine = listed["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .find(|h| h["id"] == hook_id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(mine["secret"], Value::Null, "never shown again: {mine}");
    assert_eq!(mine["url"], url.as_str());

    let job = post_text(
        &jobs.open,
        "checks=syntax",
        None,
        "ivy@valid.test\nnot one\n",
    );
    let id = job["id"].as_str().expect("id").to_owned();
    wait_for(&jobs.open, &id, None);
    // Other tests' jobs have the same owner: count the deliveries about this one.
    let about_this = |got: &Deliveries| -> Vec<Delivery> {
        got.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|d| {
                serde_json::from_slice::<Value>(&d.body)
                    .is_ok_and(|b| b["data"]["id"] == id.as_str())
            })
            .cloned()
            .collect()
    };
    let started = Instant::now();
    while about_this(&got).is_empty() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Time for a second delivery to show, were one sent.
    std::thread::sleep(Duration::from_secs(3));
    let deliveries = about_this(&got);
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = &deliveries[0];
    assert!(signature_valid(&secret, delivery), "{delivery:?}");
    assert!(!signature_valid(
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        delivery
    ));
    assert!(
        delivery.header("webhook-id").starts_with("msg_"),
        "{delivery:?}"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let timestamp: u64 = delivery
        .header("webhook-timestamp")
        .parse()
        .expect("Unix seconds");
    assert!(now.abs_diff(timestamp) < 300, "{timestamp} vs {now}");
    let body: Value = serde_json::from_slice(&delivery.body).expect("JSON body");
    assert_eq!(body["type"], "job.completed", "{body}");
    assert!(
        body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    assert_eq!(body["data"]["status"], "completed", "{body}");
    assert_counts_add_up(&body["data"]);

    let r = jobs
        .open
        .request("DELETE", &format!("/v1/webhooks/{hook_id}"), &[], None)
        .expect("DELETE");
    assert_eq!(r.status, 204, "{}", r.text());
}

fn webhook_urls_are_checked(jobs: &Jobs) {
    let auth = bearer(SECRET_KEY);
    let post = |body: Value| {
        jobs.keyed
            .request(
                "POST",
                "/v1/webhooks",
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &auth),
                ],
                Some(body.to_string().as_bytes()),
            )
            .expect("POST")
    };
    // The keyed Worker does not allow private webhooks.
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "nonsense",
    ] {
        let r = post(json!({ "url": url }));
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (400, "invalid_webhook_url"),
            "{url}"
        );
    }
    let r = post(json!({ "url": "https://hooks.example.com/x", "events": ["job.started"] }));
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_events"));
    let r = post(
        json!({ "url": "https://hooks.example.com/x", "events": ["job.completed", "job.failed"] }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    // Another key neither sees nor deletes it.
    let other = bearer(OTHER_SECRET_KEY);
    let listed = jobs
        .keyed
        .request("GET", "/v1/webhooks", &[("Authorization", &other)], None)
        .expect("GET");
    assert!(!listed.text().contains(&id), "{}", listed.text());
    let r = jobs
        .keyed
        .request(
            "DELETE",
            &format!("/v1/webhooks/{id}"),
            &[("Authorization", &other)],
            None,
        )
        .expect("DELETE");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (404, "webhook_not_found")
    );
    let r = jobs
        .keyed
        .request(
            "DELETE",
            &format!("/v1/webhooks/{id}"),
            &[("Authorization", &auth)],
            None,
        )
        .expect("DELETE");
    assert_eq!(r.status, 204);
}

/// A Worker of its own, on a state directory that outlives it.
fn own_worker(jobs: &Jobs, state: &Path, vars: &[(&str, &str)]) -> Worker {
    let options = Options {
        state: Some(state.to_path_buf()),
        migrate: true,
        ..Options::default()
    };
    Worker::start_with(&jobs.world, vars, &options).expect("a Worker of its own")
}

/// wrangler dev killed with SIGKILL in the middle of a job (its queued messages die with it),
/// started again on the same state: the cron's sweeper sends the lost work again, and the job
/// completes with every row exactly once.
fn sigkill_mid_job_then_restart_completes(jobs: &Jobs) {
    let state = jobs.world.dir().join("jobs-sigkill-state");
    let vars = [("CHUNK_DEADLINE_SECONDS", "4"), ("DOH_TIMEOUT_MS", "20000")];
    let worker = own_worker(jobs, &state, &vars);
    // 30 chunks, over many domains (most of them do not exist: NXDOMAIN is an answer too).
    let rows: Vec<String> = (0..3_000)
        .map(|i| match i % 3 {
            0 => format!("user{i}@valid.test"),
            1 => format!("user{i}@d{}.nowhere.test", i % 400),
            _ => format!("user{}@VALID.test", i - 2),
        })
        .collect();
    let body = format!("{}\n", rows.join("\n"));
    let job = post_text(&worker, "checks=dns", None, &body);
    let id = job["id"].as_str().expect("id").to_owned();
    let started = Instant::now();
    loop {
        let job = get_job(&worker, &id, None).json();
        let processed = job["processed"].as_i64().unwrap_or(0);
        if processed > 0 {
            assert!(processed < 3_000, "the job ended before the kill: {job}");
            break;
        }
        assert!(started.elapsed() < JOB_TIMEOUT, "no row checked: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
    worker.kill();

    let worker = own_worker(jobs, &state, &vars);
    let started = Instant::now();
    let job = loop {
        let job = get_job(&worker, &id, None).json();
        if job["status"] == "completed" {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "not completed after the restart: {job}\n{}",
            worker.log_tail()
        );
        let cron = worker.cron().expect("the cron");
        assert_eq!(cron.status, 200, "{}", cron.text());
        std::thread::sleep(Duration::from_secs(2));
    };
    println!(
        "the killed job completed {:?} after the restart; rows given up: {}",
        started.elapsed(),
        job["reasons"]["check_not_completed"]
    );
    assert_counts_add_up(&job);
    assert_eq!(job["total_rows"], 3_000);
    assert_eq!(job["duplicates"], 1_000, "{job}");
    let r = results(&worker, &id, "format=jsonl");
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 3_000, "every row once");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["row"], i + 1);
        assert_eq!(line["columns"]["email"], rows[i].as_str());
        assert!(line["report"]["verdict"].is_string(), "{line}");
    }
}

/// A DoH endpoint that accepts and never answers: every chunk outlives its deadline, the
/// sweeper sends it again until the attempts run out, then its rows become `unknown`
/// (`check_not_completed`) and the job completes.
fn sweeper_gives_up_lost_chunks(jobs: &Jobs) {
    let stall = TcpListener::bind("127.0.0.1:0").expect("bind");
    let doh = format!("http://{}/dns-query", stall.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in stall.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });
    let state = jobs.world.dir().join("jobs-stall-state");
    let worker = own_worker(
        jobs,
        &state,
        &[
            ("DOH_URL", &doh),
            ("DOH_TIMEOUT_MS", "120000"),
            ("CHUNK_DEADLINE_SECONDS", "1"),
        ],
    );
    let job = post_text(
        &worker,
        "checks=dns",
        None,
        "kim@valid.test\nnot an address\n",
    );
    let id = job["id"].as_str().expect("id").to_owned();
    let started = Instant::now();
    let job = loop {
        let job = get_job(&worker, &id, None).json();
        if job["status"] == "completed" {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sweeper did not finish the job: {job}\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(1_100));
        assert_eq!(worker.cron().expect("cron").status, 200);
    };
    assert_counts_add_up(&job);
    assert_eq!(job["counts"]["unknown"], 1, "{job}");
    assert_eq!(job["counts"]["invalid"], 1, "syntax needs no DNS: {job}");
    assert_eq!(job["reasons"]["check_not_completed"], 1, "{job}");
    let lines: Vec<Value> = results(&worker, &id, "format=jsonl")
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(
        lines[0]["report"]["reasons"][0]["code"],
        "check_not_completed"
    );
    assert_eq!(
        lines[0]["report"]["checks"]["dns"]["skipped"],
        "not_completed"
    );
}

/// The job object has exactly the fields `Job` documents; every path of the Jobs API answers
/// each documented method with a documented status, and the error codes these tests meet are
/// all named in the document.
fn openapi_documents_the_jobs_api(jobs: &Jobs) {
    let doc = jobs
        .open
        .get("/openapi.json")
        .expect("GET /openapi.json")
        .json();
    let job = post_text(&jobs.open, "checks=syntax", None, "lee@valid.test\n");
    let id = job["id"].as_str().expect("id").to_owned();
    let job = wait_for(&jobs.open, &id, None);
    let mut fields: Vec<&str> = job
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut documented: Vec<&str> = doc["components"]["schemas"]["Job"]["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    fields.sort_unstable();
    documented.sort_unstable();
    assert_eq!(fields, documented);

    let webhook = json!({ "url": "http://127.0.0.1:9/unused" }).to_string();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/v1/jobs") && !path.starts_with("/v1/webhooks") {
            continue;
        }
        for (method, operation) in item.as_object().expect("path item") {
            if method == "parameters" {
                continue;
            }
            let method = method.to_ascii_uppercase();
            let target = path.replace("{id}", &id);
            let (target, content_type, body): (String, &str, Option<&[u8]>) =
                match (method.as_str(), path.as_str()) {
                    ("POST", "/v1/jobs") => (
                        "/v1/jobs?checks=syntax".into(),
                        "text/plain",
                        Some(b"lee@valid.test\n"),
                    ),
                    ("POST", _) => (target, "application/json", Some(webhook.as_bytes())),
                    ("DELETE", "/v1/webhooks/{id}") => (target, "text/plain", None),
                    _ => (target, "text/plain", None),
                };
            // The job's own DELETE last of all.
            if method == "DELETE" && path == "/v1/jobs/{id}" {
                continue;
            }
            let r = jobs
                .open
                .request(&method, &target, &[("Content-Type", content_type)], body)
                .expect(&target);
            let statuses = operation["responses"].as_object().expect("responses");
            assert!(
                statuses.contains_key(&r.status.to_string()),
                "{method} {path} answered {}, undocumented: {}",
                r.status,
                r.text()
            );
            operations += 1;
        }
    }
    let r = jobs
        .open
        .request("DELETE", &format!("/v1/jobs/{id}"), &[], None)
        .expect("DELETE");
    assert_eq!(r.status, 204);
    assert_eq!(
        operations + 1,
        8,
        "every operation of the Jobs API was asked"
    );

    let text = doc.to_string();
    for code in [
        "empty_list",
        "csv_no_email_column",
        "csv_encoding",
        "too_many_rows",
        "body_too_large",
        "unsupported_media_type",
        "length_required",
        "job_not_finished",
        "job_not_found",
        "webhook_not_found",
        "secret_key_required",
        "invalid_format",
        "invalid_verdict",
        "invalid_limit",
        "invalid_webhook_url",
        "invalid_events",
        "missing_file",
        "invalid_form",
    ] {
        assert!(
            text.contains(&format!("`{code}`")),
            "{code} is not documented"
        );
    }
}

/// A `multipart/form-data` body as a browser form sends it.
fn form(boundary: &str, fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((filename, content_type, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn a_browser_form_uploads_a_file(jobs: &Jobs) {
    let boundary = "----mailvetFormBoundary7MA4YWxkTrZu0gW";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let post = |body: &[u8]| {
        jobs.open
            .request(
                "POST",
                "/v1/jobs",
                &[("Content-Type", content_type.as_str())],
                Some(body),
            )
            .expect("POST")
    };
    // A CSV file, its parameters as form fields.
    let csv = b"name;Email\nMay;may@valid.test\nNed;not an address\n";
    let body = form(
        boundary,
        &[
            ("checks", "syntax"),
            ("name", "from a form"),
            ("column", "email"),
        ],
        Some(("contacts.csv", "text/csv", csv)),
    );
    let r = post(&body);
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json();
    assert_eq!(
        (&job["name"], &job["checks"], &job["total_rows"]),
        (&json!("from a form"), &json!("syntax"), &json!(2)),
        "{job}"
    );
    let id = job["id"].as_str().expect("id").to_owned();
    wait_for(&jobs.open, &id, None);
    let table = results(&jobs.open, &id, "format=csv").text();
    assert_eq!(
        table,
        "name;Email;mailvet_verdict;mailvet_reasons;mailvet_suggestion;mailvet_score;mailvet_duplicate_of\r\n\
         May;may@valid.test;valid;;;70;\r\n\
         Ned;not an address;invalid;invalid_syntax;;0;\r\n",
        "the CSV comes back in its own delimiter"
    );
    // A text file is one address a line.
    let body = form(
        boundary,
        &[("checks", "syntax")],
        Some(("list.txt", "text/plain", b"a,b@valid.test\n")),
    );
    let r = post(&body);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["total_rows"], 1);
    // A form without the file.
    let r = post(&form(boundary, &[("checks", "syntax")], None));
    assert_eq!((r.status, r.error_code().as_str()), (400, "missing_file"));
}

fn register(jobs: &Jobs, url: &str) -> (String, String) {
    let r = jobs
        .open
        .request(
            "POST",
            "/v1/webhooks",
            &[("Content-Type", "application/json")],
            Some(
                json!({ "url": url, "events": ["job.completed"] })
                    .to_string()
                    .as_bytes(),
            ),
        )
        .expect("POST /v1/webhooks");
    assert_eq!(r.status, 201, "{}", r.text());
    let hook = r.json();
    (
        hook["id"].as_str().expect("id").to_owned(),
        hook["secret"].as_str().expect("secret").to_owned(),
    )
}

/// Deliveries about job `id`, waiting up to `patience` for at least `count` of them.
fn deliveries_about(got: &Deliveries, id: &str, count: usize, patience: Duration) -> Vec<Delivery> {
    let about = || -> Vec<Delivery> {
        got.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|d| {
                serde_json::from_slice::<Value>(&d.body).is_ok_and(|b| b["data"]["id"] == id)
            })
            .cloned()
            .collect()
    };
    let started = Instant::now();
    while about().len() < count && started.elapsed() < patience {
        std::thread::sleep(Duration::from_millis(200));
    }
    about()
}

/// A receiver that fails the first attempt gets the same message again after the
/// specification's 5 seconds, with the same `webhook-id` and a fresh signature; a receiver that
/// answers 410 Gone disables its webhook.
/// The schedule's third attempt (its wait capped at 5 s here by WEBHOOK_RETRY_CAP_SECONDS)
/// reaches a receiver that failed twice: three deliveries of one message, each signed, and no
/// fourth once it succeeded.
fn a_receiver_that_fails_twice_gets_the_third_attempt(jobs: &Jobs) {
    let (url, got) = receiver_answering(Answer::FailTwice);
    let (hook, secret) = register(jobs, &url);
    let job = post_text(&jobs.open, "checks=syntax", None, "quinn@valid.test\n");
    let id = job["id"].as_str().expect("id").to_owned();
    wait_for(&jobs.open, &id, None);
    let attempts = deliveries_about(&got, &id, 3, Duration::from_secs(60));
    assert_eq!(attempts.len(), 3, "two failures, then the third succeeds");
    let ids: Vec<&str> = attempts.iter().map(|d| d.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "one message: {ids:?}");
    assert!(attempts.iter().all(|d| signature_valid(&secret, d)));
    // A later job's three attempts arrive 10 s or more after its end: by then a fourth attempt
    // at the first message, had there been one, would have come too.
    let later = post_text(&jobs.open, "checks=syntax", None, "rita@valid.test\n");
    let later = later["id"].as_str().expect("id").to_owned();
    wait_for(&jobs.open, &later, None);
    assert_eq!(
        deliveries_about(&got, &later, 3, Duration::from_secs(60)).len(),
        3
    );
    assert_eq!(deliveries_about(&got, &id, 4, Duration::ZERO).len(), 3);
    let r = jobs
        .open
        .request("DELETE", &format!("/v1/webhooks/{hook}"), &[], None)
        .expect("DELETE");
    assert_eq!(r.status, 204);
}

fn webhook_retries_then_gone_disables(jobs: &Jobs) {
    let (flaky_url, flaky) = receiver_answering(Answer::FailFirst);
    let (flaky_id, flaky_secret) = register(jobs, &flaky_url);
    let (gone_url, gone) = receiver_answering(Answer::Gone);
    let (gone_id, _) = register(jobs, &gone_url);

    let job = post_text(&jobs.open, "checks=syntax", None, "olga@valid.test\n");
    let id = job["id"].as_str().expect("id").to_owned();
    wait_for(&jobs.open, &id, None);
    let attempts = deliveries_about(&flaky, &id, 2, Duration::from_secs(40));
    assert_eq!(attempts.len(), 2, "one failure, one retry");
    assert_eq!(
        attempts[0].header("webhook-id"),
        attempts[1].header("webhook-id"),
        "the same message"
    );
    assert!(attempts.iter().all(|d| signature_valid(&flaky_secret, d)));
    let [first, second] = [&attempts[0], &attempts[1]].map(|d| {
        d.header("webhook-timestamp")
            .parse::<u64>()
            .expect("Unix seconds")
    });
    assert!(
        second >= first + 4,
        "retried after 5 s: {first} then {second}"
    );

    // Other tests' jobs have the same owner: whichever job came first, one 410 disables it.
    assert!(
        !gone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty(),
        "the gone receiver was asked once at least"
    );
    let started = Instant::now();
    loop {
        let listed = jobs.open.get("/v1/webhooks").expect("GET").json();
        let hook = listed["webhooks"]
            .as_array()
            .expect("webhooks")
            .iter()
            .find(|h| h["id"] == gone_id.as_str())
            .cloned()
            .expect("listed");
        if hook["disabled"] == true {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{hook}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A disabled webhook hears of no later job.
    let later = post_text(&jobs.open, "checks=syntax", None, "pam@valid.test\n");
    let later = later["id"].as_str().expect("id").to_owned();
    wait_for(&jobs.open, &later, None);
    assert_eq!(
        deliveries_about(&flaky, &later, 1, Duration::from_secs(20)).len(),
        1
    );
    assert!(deliveries_about(&gone, &later, 1, Duration::from_secs(2)).is_empty());
    for hook in [flaky_id, gone_id] {
        let r = jobs
            .open
            .request("DELETE", &format!("/v1/webhooks/{hook}"), &[], None)
            .expect("DELETE");
        assert_eq!(r.status, 204);
    }
}
