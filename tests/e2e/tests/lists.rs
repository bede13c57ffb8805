//! Lists that stay clean (issue 11) with real parts only: the Worker under `wrangler dev` (local
//! D1, R2, Queues, the cron), the real prober (`mailvet serve`) probing the world's exim, the
//! world's DoH server, and webhook receivers on loopback. The runner of `mailvet_e2e::runner`
//! (one world for the binary; the tests run at once).
//!
//! - `open`: no keys, `ALLOW_PRIVATE_WEBHOOKS=true`, the prober reached directly;
//! - `keyed`: two secret keys and a public key, the prober reached through a [`Gate`] that the
//!   cron test closes to keep a run going.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use mailvet_e2e::World;
use mailvet_e2e::hooks::{
    Delivery, WorldEdit, receiver, reload_zones, signature_valid, wait_for_mx,
};
use mailvet_e2e::http::HttpResponse;
use mailvet_e2e::prober::{self, Prober};
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::{Options, Worker};
use serde_json::{Value, json};

struct Lists {
    // Dropped in declaration order: the Workers before the prober and the world.
    open: Worker,
    keyed: Worker,
    gate: Gate,
    _prober: Prober,
    world: World,
}

const TOKEN: &str = "lists-test-token";
const HELO: &str = "lists.mailvet.test";
const SECRET_KEY: &str = "sk_test_lists_alpha";
const OTHER_SECRET_KEY: &str = "sk_test_lists_beta";
const PUBLIC_KEY: &str = "pk_test_lists_shop";
const SHOP: &str = "https://shop.example";
/// How long a job or run of a few rows may take on a loaded two-core machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

const TESTS: &[Test<Lists>] = &[
    (
        "a_second_run_finds_what_changed",
        a_second_run_finds_what_changed,
    ),
    ("cron_starts_due_lists_once", cron_starts_due_lists_once),
    ("lists_belong_to_their_key", lists_belong_to_their_key),
    (
        "retention_deletes_old_runs_and_keeps_the_latest",
        retention_deletes_old_runs_and_keeps_the_latest,
    ),
    (
        "rows_of_a_creation_that_died_are_deleted",
        rows_of_a_creation_that_died_are_deleted,
    ),
    (
        "openapi_documents_the_lists_api",
        openapi_documents_the_lists_api,
    ),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || {
            let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
            let prober = Prober::start(&world, &prober::beside_this_test()?, TOKEN, HELO)?;
            let gate = Gate::open_to(prober.url())?;
            let migrate = Options {
                migrate: true,
                ..Options::default()
            };
            let open = Worker::start_with(
                &world,
                &[
                    ("ALLOW_PRIVATE_WEBHOOKS", "true"),
                    ("DOH_TIMEOUT_MS", "20000"),
                    ("PROBE_URL", prober.url()),
                    ("PROBE_TOKEN", TOKEN),
                    ("PROBE_TIMEOUT_MS", "20000"),
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
                    ("PROBE_URL", &gate.url),
                    ("PROBE_TOKEN", TOKEN),
                    // Long enough for the cron test to look at a run held at the gate.
                    ("PROBE_TIMEOUT_MS", "120000"),
                ],
                &migrate,
            )?;
            Ok(Lists {
                open,
                keyed,
                gate,
                _prober: prober,
                world,
            })
        },
        |lists| {
            lists.world.keep_dir();
            println!("logs kept in {}", lists.world.dir().display());
        },
    )
}

// ---- the gate ----

/// A TCP relay to the prober that holds every request while it is closed: each piece the Worker
/// sends waits at the gate, on new and kept-alive connections alike.
struct Gate {
    url: String,
    open: Arc<AtomicBool>,
    /// Pieces waiting at the gate now.
    held: Arc<AtomicUsize>,
}

impl Gate {
    fn open_to(prober: &str) -> Result<Gate, String> {
        let target = prober
            .strip_prefix("http://")
            .ok_or_else(|| format!("not an http URL: {prober}"))?
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let open = Arc::new(AtomicBool::new(true));
        let held = Arc::new(AtomicUsize::new(0));
        let (gate_open, gate_held) = (Arc::clone(&open), Arc::clone(&held));
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let (Ok(client_out), Ok(server_in)) = (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                // Answers flow back freely.
                std::thread::spawn(move || relay(server_in, client_out, None));
                let gate = (Arc::clone(&gate_open), Arc::clone(&gate_held));
                std::thread::spawn(move || relay(client, server, Some(gate)));
            }
        });
        Ok(Gate { url, open, held })
    }

    fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }
}

fn relay(
    mut from: TcpStream,
    mut to: TcpStream,
    gate: Option<(Arc<AtomicBool>, Arc<AtomicUsize>)>,
) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((open, held)) = &gate
            && !open.load(Ordering::SeqCst)
        {
            held.fetch_add(1, Ordering::SeqCst);
            while !open.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            held.fetch_sub(1, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

// ---- helpers ----

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// `METHOD path` with an optional key and JSON body.
fn call(
    worker: &Worker,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> HttpResponse {
    let auth = key.map(bearer);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = body.map(|b| b.to_string());
    worker
        .request(method, path, &headers, body.as_deref().map(str::as_bytes))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// A job of `rows` (one address a line) with `checks`, waited for until completed; its id.
fn completed_job(worker: &Worker, key: Option<&str>, checks: &str, rows: &[&str]) -> String {
    let auth = key.map(bearer);
    let mut headers = vec![("Content-Type", "text/plain")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = format!("{}\n", rows.join("\n"));
    let r = worker
        .request(
            "POST",
            &format!("/v1/jobs?checks={checks}"),
            &headers,
            Some(body.as_bytes()),
        )
        .expect("POST /v1/jobs");
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let job = wait_for_job(worker, &id, key);
    assert_eq!(job["status"], "completed", "{job}");
    id
}

fn wait_for_job(worker: &Worker, id: &str, key: Option<&str>) -> Value {
    let started = Instant::now();
    loop {
        let r = call(worker, "GET", &format!("/v1/jobs/{id}"), key, None);
        assert_eq!(r.status, 200, "{}", r.text());
        let job = r.json();
        if matches!(job["status"].as_str(), Some("completed" | "failed")) {
            return job;
        }
        assert!(
            started.elapsed() < RUN_TIMEOUT,
            "the job did not end in {RUN_TIMEOUT:?}: {job}\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `POST /v1/lists`; the 201's list object.
fn make_list(worker: &Worker, key: Option<&str>, body: Value) -> Value {
    let r = call(worker, "POST", "/v1/lists", key, Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    let list = r.json();
    let id = list["id"].as_str().expect("id");
    assert_eq!(id.len(), 32, "128 bits in hex: {id}");
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/lists/{id}").as_str())
    );
    list
}

fn get_list(worker: &Worker, id: &str, key: Option<&str>) -> Value {
    let r = call(worker, "GET", &format!("/v1/lists/{id}"), key, None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Polls the list until its run `run` has ended; the list object then.
fn wait_for_run(worker: &Worker, id: &str, key: Option<&str>, run: u64) -> Value {
    let started = Instant::now();
    loop {
        let list = get_list(worker, id, key);
        let ended = list["history"]
            .as_array()
            .and_then(|h| h.iter().find(|r| r["run"] == run))
            .is_some_and(|r| r["status"] != "running");
        if ended && list["status"] == "idle" {
            return list;
        }
        assert!(
            started.elapsed() < RUN_TIMEOUT,
            "run {run} did not end in {RUN_TIMEOUT:?}: {list}\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn counts(run: &Value) -> [i64; 4] {
    ["valid", "risky", "invalid", "unknown"].map(|v| run["counts"][v].as_i64().expect(v))
}

/// The verdict counts of `after` are those of `before` moved by `after`'s transitions.
fn assert_counts_follow_transitions(before: &Value, after: &Value) {
    let names = ["valid", "risky", "invalid", "unknown"];
    let mut expected = counts(before);
    for t in after["transitions"].as_array().expect("transitions") {
        let rows = t["rows"].as_i64().expect("rows");
        let index = |v: &Value| names.iter().position(|n| v == n).expect("a verdict");
        expected[index(&t["from"])] -= rows;
        expected[index(&t["to"])] += rows;
    }
    assert_eq!(counts(after), expected, "{before}\n{after}");
}

// ---- tests ----

/// A list checked with SMTP through the real prober; then a mailbox disappears and a domain loses
/// its MX; the second run finds exactly those rows (and the duplicate of one of them), with the
/// right transition, the history's counts agree with the transitions, and the `list.cleaned`
/// delivery verifies with its endpoint's secret.
fn a_second_run_finds_what_changed(lists: &Lists) {
    let worker = &lists.open;
    let rows = [
        "stays@decay.test",
        "leaving@decay.test",
        "ann@moving.decay.test",
        "nobody@decay.test",
        "alice@valid.test",
        "not an address",
        "leaving@DECAY.test",
    ];
    let source = completed_job(worker, None, "smtp", &rows);
    let (url, got) = receiver();
    let r = call(
        worker,
        "POST",
        "/v1/webhooks",
        None,
        Some(json!({ "url": url, "events": ["list.cleaned"] })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();

    let list = make_list(
        worker,
        None,
        json!({ "name": "decaying", "job": source, "every": "7d" }),
    );
    let id = list["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (
            &list["name"],
            &list["every"],
            &list["checks"],
            &list["total_rows"]
        ),
        (&json!("decaying"), &json!("7d"), &json!("smtp"), &json!(7)),
        "{list}"
    );
    assert_eq!(list["status"], "idle", "{list}");
    assert_eq!(list["runs"], 1, "the source job is run 1: {list}");
    let first = list["history"][0].clone();
    assert_eq!(first["job"], source.as_str(), "{list}");
    assert_eq!(counts(&first), [5, 0, 2, 0], "{first}");
    assert_eq!(first["transitions"], json!([]), "{first}");

    let mut changed = WorldEdit::new(&lists.world);
    changed.edit("mailboxes", "leaving@decay.test:             accept\n", "");
    changed.edit(
        "zones/decay.test.zone",
        "moving.decay.test. 0 IN MX 10 mx.decay.test.",
        "moving.decay.test. 0 IN TXT \"no mail here\"",
    );
    reload_zones(&lists.world);
    wait_for_mx(&lists.world, "moving.decay.test", 0).expect("the world changed");

    let r = call(worker, "POST", &format!("/v1/lists/{id}/runs"), None, None);
    assert_eq!(r.status, 202, "{}", r.text());
    let run = r.json();
    assert_eq!(
        (&run["run"], &run["status"]),
        (&json!(2), &json!("running"))
    );
    let job = run["job"].as_str().expect("job").to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/jobs/{job}").as_str())
    );
    let again = call(worker, "POST", &format!("/v1/lists/{id}/runs"), None, None);
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "list_run_in_progress"),
        "never two runs at once"
    );

    let list = wait_for_run(worker, &id, None, 2);
    drop(changed);
    let history = list["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{list}");
    let second = &history[1];
    assert_eq!(second["status"], "completed", "{list}");
    assert_eq!(
        second["transitions"],
        json!([{ "from": "valid", "to": "invalid", "rows": 3 }]),
        "{second}"
    );
    assert_eq!(counts(second), [2, 0, 5, 0], "{second}");
    assert_counts_follow_transitions(&history[0], second);
    // The run is an ordinary job: its job object says the same.
    let job_object = wait_for_job(worker, &job, None);
    assert_eq!(job_object["counts"], second["counts"], "{job_object}");
    assert_eq!(list["latest_run"], *second, "{list}");

    let r = call(
        worker,
        "GET",
        &format!("/v1/lists/{id}/changes?run=2&format=jsonl"),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let expected = [
        (2, "leaving@decay.test", "mailbox_not_found"),
        (3, "ann@moving.decay.test", "no_mail_server"),
        (7, "leaving@DECAY.test", "mailbox_not_found"),
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:?}");
    for (line, (row, email, reason)) in lines.iter().zip(expected) {
        assert_eq!(line["row"], row, "{line}");
        assert_eq!(
            line["columns"]["email"], email,
            "the cells as given: {line}"
        );
        assert_eq!(
            (&line["old_verdict"], &line["verdict"]),
            (&json!("valid"), &json!("invalid")),
            "{line}"
        );
        assert_eq!(line["old_reasons"], json!([]), "{line}");
        assert_eq!(line["reasons"], json!([reason]), "{line}");
    }
    let csv = call(
        worker,
        "GET",
        &format!("/v1/lists/{id}/changes?run=2&to=invalid"),
        None,
        None,
    );
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert_eq!(
        csv.text(),
        "email,mailvet_row,mailvet_old_verdict,mailvet_old_reasons,mailvet_verdict,mailvet_reasons\r\n\
         leaving@decay.test,2,valid,,invalid,mailbox_not_found\r\n\
         ann@moving.decay.test,3,valid,,invalid,no_mail_server\r\n\
         leaving@DECAY.test,7,valid,,invalid,mailbox_not_found\r\n"
    );
    let none = call(
        worker,
        "GET",
        &format!("/v1/lists/{id}/changes?run=2&to=valid,risky"),
        None,
        None,
    );
    assert_eq!(csv_lines(&none), 1, "the header alone: {}", none.text());
    let first_run = call(
        worker,
        "GET",
        &format!("/v1/lists/{id}/changes?run=1"),
        None,
        None,
    );
    assert_eq!(csv_lines(&first_run), 1, "{}", first_run.text());

    // One signed list.cleaned about run 2, with the history's counts and transitions.
    let started = Instant::now();
    let deliveries = loop {
        let about: Vec<Delivery> = got
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|d| {
                serde_json::from_slice::<Value>(&d.body).is_ok_and(|b| b["data"]["id"] == *id)
            })
            .cloned()
            .collect();
        if !about.is_empty() {
            break about;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no list.cleaned\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let delivery = &deliveries[0];
    assert!(signature_valid(&secret, delivery), "{delivery:?}");
    assert!(!signature_valid(
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        delivery
    ));
    let body: Value = serde_json::from_slice(&delivery.body).expect("JSON");
    assert_eq!(body["type"], "list.cleaned", "{body}");
    assert_eq!(body["data"]["run"], *second, "{body}");
    assert_eq!(body["data"]["name"], "decaying", "{body}");
}

fn csv_lines(r: &HttpResponse) -> usize {
    assert_eq!(r.status, 200, "{}", r.text());
    r.text().split("\r\n").filter(|l| !l.is_empty()).count()
}

/// The cron starts a list whose `next_run_at` has passed and not one whose time is to come; a
/// list whose run is held at the gate is not started again by the next cron, however overdue.
fn cron_starts_due_lists_once(lists: &Lists) {
    let worker = &lists.keyed;
    let key = Some(SECRET_KEY);
    let source = completed_job(worker, key, "smtp", &["alice@valid.test", "bob@valid.test"]);
    let due = make_list(worker, key, json!({ "job": source, "every": "1d" }));
    let later = make_list(worker, key, json!({ "job": source, "every": "1d" }));
    let due = due["id"].as_str().expect("id").to_owned();
    let later = later["id"].as_str().expect("id").to_owned();
    let overdue = json!({ "next_run_at": "2000-01-01T00:00:00Z" });
    let r = call(
        worker,
        "PATCH",
        &format!("/v1/lists/{due}"),
        key,
        Some(overdue.clone()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["next_run_at"], "2000-01-01T00:00:00Z");

    lists.gate.close();
    let cron = worker.cron().expect("the cron");
    assert_eq!(cron.status, 200, "{}", cron.text());
    // The cron has returned: whatever it started is in D1 now.
    let started = get_list(worker, &due, key);
    assert_eq!(
        (&started["runs"], &started["status"]),
        (&json!(2), &json!("running")),
        "{started}"
    );
    let next: String = started["next_run_at"].as_str().expect("next_run_at").into();
    assert!(
        next.as_str() > "2026",
        "a run moves the schedule on: {started}"
    );
    let waiting = get_list(worker, &later, key);
    assert_eq!(
        (&waiting["runs"], &waiting["status"]),
        (&json!(1), &json!("idle")),
        "not due yet: {waiting}"
    );

    // The run reaches the prober and is held there; overdue again, the list is still not
    // started twice.
    let held_since = Instant::now();
    while lists.gate.held() == 0 {
        assert!(
            held_since.elapsed() < Duration::from_secs(60),
            "the run never asked the prober\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = call(
        worker,
        "PATCH",
        &format!("/v1/lists/{due}"),
        key,
        Some(overdue),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let cron = worker.cron().expect("the cron");
    assert_eq!(cron.status, 200, "{}", cron.text());
    let still = get_list(worker, &due, key);
    assert!(
        lists.gate.held() > 0,
        "the run was still held during the cron"
    );
    assert_eq!(
        (&still["runs"], &still["status"]),
        (&json!(2), &json!("running")),
        "{still}"
    );
    lists.gate.open();

    let done = wait_for_run(worker, &due, key, 2);
    let history = done["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{done}");
    assert_eq!(counts(&history[1]), [2, 0, 0, 0], "{done}");
    assert_eq!(history[1]["transitions"], json!([]), "{done}");
    // Run 2 ended after the second cron: the list is due (next_run_at was set overdue), and the
    // next cron starts run 3.
    let cron = worker.cron().expect("the cron");
    assert_eq!(cron.status, 200, "{}", cron.text());
    assert_eq!(get_list(worker, &due, key)["runs"], 3);
    assert_eq!(get_list(worker, &later, key)["runs"], 1);
    wait_for_run(worker, &due, key, 3);
}

/// Another key finds no list (404), a public key may not use lists (403); a list's errors; the
/// list page; DELETE takes the list and its runs' jobs, not the job it was made from.
fn lists_belong_to_their_key(lists: &Lists) {
    let worker = &lists.keyed;
    let key = Some(SECRET_KEY);
    let other = Some(OTHER_SECRET_KEY);
    let source = completed_job(worker, key, "syntax", &["ivy@valid.test", "nope"]);

    // The other key cannot make a list of this job, nor see one.
    let r = call(
        worker,
        "POST",
        "/v1/lists",
        other,
        Some(json!({ "job": source })),
    );
    assert_eq!((r.status, r.error_code().as_str()), (404, "job_not_found"));
    let list = make_list(worker, key, json!({ "job": source, "every": "30d" }));
    let id = list["id"].as_str().expect("id").to_owned();
    for (method, path) in [
        ("GET", format!("/v1/lists/{id}")),
        ("PATCH", format!("/v1/lists/{id}")),
        ("DELETE", format!("/v1/lists/{id}")),
        ("POST", format!("/v1/lists/{id}/runs")),
        ("GET", format!("/v1/lists/{id}/changes")),
    ] {
        let body = (method == "PATCH").then(|| json!({ "name": "mine now" }));
        let r = call(worker, method, &path, other, body);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "list_not_found"),
            "{method} {path}"
        );
        // A widget's key, from its own origin.
        let auth = bearer(PUBLIC_KEY);
        let r = worker
            .request(
                method,
                &path,
                &[("Authorization", &auth), ("Origin", SHOP)],
                None,
            )
            .expect("a request with a public key");
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "secret_key_required"),
            "{method} {path}"
        );
    }
    let theirs = call(worker, "GET", "/v1/lists", other, None).json();
    assert!(!theirs.to_string().contains(&id), "{theirs}");
    let mine = call(worker, "GET", "/v1/lists", key, None).json();
    let listed = mine["lists"]
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(listed["latest_run"]["job"], source.as_str(), "{listed}");
    assert_eq!(
        listed["history"],
        Value::Null,
        "only GET /v1/lists/{{id}} has it"
    );

    // Errors.
    let post = |body: Value| call(worker, "POST", "/v1/lists", key, Some(body));
    for (body, status, code) in [
        (
            json!({ "job": source, "every": "0d" }),
            400,
            "invalid_every",
        ),
        (
            json!({ "job": source, "every": "91d" }),
            400,
            "invalid_every",
        ),
        (json!({ "every": "7d" }), 400, "missing_job"),
        (
            json!({ "job": "00000000000000000000000000000000" }),
            404,
            "job_not_found",
        ),
    ] {
        let r = post(body.clone());
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (status, code),
            "{body}"
        );
    }
    let patch = |body: Value| call(worker, "PATCH", &format!("/v1/lists/{id}"), key, Some(body));
    let r = patch(json!({ "next_run_at": "tomorrow" }));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_next_run_at")
    );
    let r = patch(json!({ "every": "2w" }));
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_every"));
    let r = patch(json!({ "name": "renamed", "every": "14d" }));
    assert_eq!(r.status, 200, "{}", r.text());
    let renamed = r.json();
    assert_eq!(
        (&renamed["name"], &renamed["every"]),
        (&json!("renamed"), &json!("14d"))
    );
    let changes = |query: &str| {
        call(
            worker,
            "GET",
            &format!("/v1/lists/{id}/changes?{query}"),
            key,
            None,
        )
    };
    for (query, status, code) in [
        ("run=9", 404, "run_not_found"),
        ("run=zero", 400, "invalid_run"),
        ("run=1&to=gone", 400, "invalid_verdict"),
        ("run=1&format=xml", 400, "invalid_format"),
    ] {
        let r = changes(query);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (status, code),
            "{query}"
        );
    }

    // A run, then DELETE: the list and the run's job go, the source job stays.
    let r = call(worker, "POST", &format!("/v1/lists/{id}/runs"), key, None);
    assert_eq!(r.status, 202, "{}", r.text());
    let run_job = r.json()["job"].as_str().expect("job").to_owned();
    wait_for_run(worker, &id, key, 2);
    let r = call(worker, "DELETE", &format!("/v1/lists/{id}"), key, None);
    assert_eq!(r.status, 204, "{}", r.text());
    let r = call(worker, "GET", &format!("/v1/lists/{id}"), key, None);
    assert_eq!((r.status, r.error_code().as_str()), (404, "list_not_found"));
    let r = call(worker, "GET", &format!("/v1/jobs/{run_job}"), key, None);
    assert_eq!((r.status, r.error_code().as_str()), (404, "job_not_found"));
    let r = call(worker, "GET", &format!("/v1/jobs/{source}"), key, None);
    assert_eq!(
        r.status,
        200,
        "the source job is the caller's: {}",
        r.text()
    );
}

/// The list object has exactly the fields `List` documents, a run those of `ListRun`; every
/// operation of the lists paths answers with a documented status, and every error code of the
/// lists is named in the document.
fn openapi_documents_the_lists_api(lists: &Lists) {
    let worker = &lists.open;
    let doc = worker
        .get("/openapi.json")
        .expect("GET /openapi.json")
        .json();
    let source = completed_job(worker, None, "syntax", &["lee@valid.test"]);
    let list = make_list(worker, None, json!({ "job": source }));
    let id = list["id"].as_str().expect("id").to_owned();
    let documented = |schema: &str| -> Vec<String> {
        let mut names: Vec<String> = doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has required fields"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        names.sort_unstable();
        names
    };
    let fields = |object: &Value| -> Vec<String> {
        let mut names: Vec<String> = object
            .as_object()
            .expect("object")
            .keys()
            .filter(|k| *k != "history")
            .cloned()
            .collect();
        names.sort_unstable();
        names
    };
    assert_eq!(fields(&list), documented("List"), "{list}");
    assert!(
        doc["components"]["schemas"]["List"]["properties"]["history"].is_object(),
        "history is documented"
    );
    assert_eq!(fields(&list["history"][0]), documented("ListRun"));

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/v1/lists") {
            continue;
        }
        for (method, operation) in item.as_object().expect("path item") {
            if method == "parameters" || (method == "delete") {
                continue;
            }
            let method = method.to_ascii_uppercase();
            let target = path.replace("{id}", &id);
            let body = match (method.as_str(), path.as_str()) {
                ("POST", "/v1/lists") => Some(json!({ "job": source })),
                ("PATCH", _) => Some(json!({ "every": "3d" })),
                _ => None,
            };
            let r = call(worker, &method, &target, None, body);
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
    let r = call(worker, "DELETE", &format!("/v1/lists/{id}"), None, None);
    assert_eq!(r.status, 204);
    let documented_delete =
        doc["paths"]["/v1/lists/{id}"]["delete"]["responses"]["204"].is_object();
    assert!(documented_delete, "DELETE is documented with 204");
    assert_eq!(
        operations + 1,
        7,
        "every operation of the lists API was asked"
    );

    let text = doc.to_string();
    for code in [
        "list_not_found",
        "list_run_in_progress",
        "missing_job",
        "invalid_every",
        "invalid_next_run_at",
        "run_not_found",
        "run_not_finished",
        "run_expired",
        "invalid_run",
    ] {
        assert!(
            text.contains(&format!("`{code}`")),
            "{code} is not documented"
        );
    }
    assert!(
        doc["components"]["schemas"]["WebhookEventType"]
            .to_string()
            .contains("list.cleaned")
    );
}

/// Retention (issue 11): a run's results follow `JOB_RETENTION_DAYS`, except that the latest run
/// of a list is kept as long as the list; the history keeps every run's counts. Time is moved
/// by ageing the jobs in D1 (`finished_at` 31 days back, past the default 30) rather than by
/// waiting; the cron then deletes what expired. A Worker of its own: the other tests' jobs stay.
fn retention_deletes_old_runs_and_keeps_the_latest(lists: &Lists) {
    let options = Options {
        state: Some(lists.world.dir().join("retention-state")),
        migrate: true,
        ..Options::default()
    };
    let worker = Worker::start_with(&lists.world, &[], &options).expect("a Worker of its own");
    let alone = completed_job(&worker, None, "syntax", &["alone@example.com"]);
    let source = completed_job(
        &worker,
        None,
        "syntax",
        &["kept@example.com", "not an address"],
    );
    let list = make_list(
        &worker,
        None,
        json!({ "name": "ageing", "job": source, "every": "7d" }),
    );
    let id = list["id"].as_str().expect("id").to_owned();
    for run in [2, 3] {
        let r = call(&worker, "POST", &format!("/v1/lists/{id}/runs"), None, None);
        assert_eq!(r.status, 202, "{}", r.text());
        wait_for_run(&worker, &id, None, run);
    }
    let before = get_list(&worker, &id, None);
    let history = before["history"].as_array().expect("history").clone();
    assert_eq!(history.len(), 3, "{before}");
    let job_of = |run: usize| history[run - 1]["job"].as_str().expect("job").to_owned();
    let (second, latest) = (job_of(2), job_of(3));

    // Nothing is old yet: the cron deletes nothing.
    assert_eq!(worker.cron().expect("cron").status, 200);
    for job in [&alone, &source, &second, &latest] {
        let r = call(&worker, "GET", &format!("/v1/jobs/{job}"), None, None);
        assert_eq!(r.status, 200, "{job} before it is old: {}", r.text());
    }

    worker
        .d1("UPDATE jobs SET finished_at = finished_at - 31 * 86400000 WHERE finished_at IS NOT NULL")
        .expect("age the jobs");
    assert_eq!(worker.cron().expect("cron").status, 200);
    for job in [&alone, &source, &second] {
        let r = call(&worker, "GET", &format!("/v1/jobs/{job}"), None, None);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "job_not_found"),
            "{job} is past retention"
        );
        let r = call(
            &worker,
            "GET",
            &format!("/v1/jobs/{job}/results"),
            None,
            None,
        );
        assert_eq!(r.status, 404, "{job}'s results are gone too: {}", r.text());
    }
    let r = call(
        &worker,
        "GET",
        &format!("/v1/jobs/{latest}/results?format=jsonl"),
        None,
        None,
    );
    assert_eq!(r.status, 200, "the latest run is kept: {}", r.text());
    assert_eq!(r.text().lines().count(), 2, "{}", r.text());
    let r = call(
        &worker,
        "GET",
        &format!("/v1/lists/{id}/changes?run=2"),
        None,
        None,
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (410, "run_expired"),
        "run 2's changes went with its job"
    );
    let r = call(
        &worker,
        "GET",
        &format!("/v1/lists/{id}/changes?run=3"),
        None,
        None,
    );
    assert_eq!(r.status, 200, "the latest run's changes stay: {}", r.text());
    let after = get_list(&worker, &id, None);
    assert_eq!(
        after["history"], before["history"],
        "every run's counts stay"
    );
}

/// `POST /v1/lists` copies the job's rows before it writes the list; a request that dies in
/// between leaves rows no list owns. The state such a death leaves is made in D1 (a creation
/// recorded two hours ago, its rows copied, no list), next to a list made in full; the cron
/// deletes the abandoned rows and only those.
fn rows_of_a_creation_that_died_are_deleted(lists: &Lists) {
    let options = Options {
        state: Some(lists.world.dir().join("abandoned-state")),
        migrate: true,
        ..Options::default()
    };
    let worker = Worker::start_with(&lists.world, &[], &options).expect("a Worker of its own");
    let source = completed_job(
        &worker,
        None,
        "syntax",
        &["one@example.com", "two@example.com", "three@example.com"],
    );
    let list = make_list(
        &worker,
        None,
        json!({ "name": "whole", "job": source, "every": "7d" }),
    );
    let whole = list["id"].as_str().expect("id").to_owned();
    let dead = "0123456789abcdef0123456789abcdef";
    worker
        .d1(&format!(
            "INSERT INTO list_creations (id, started_at) VALUES ('{dead}', \
             CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 7200000); \
             INSERT INTO list_rows (list, row, input, cells, address_key, domain, duplicate_of, \
             verdict, reasons) SELECT '{dead}', row, input, cells, address_key, domain, \
             duplicate_of, verdict, reasons FROM rows WHERE job = '{source}'"
        ))
        .expect("the state a dead creation leaves");
    let rows_of = |id: &str| -> u64 {
        let out = worker
            .d1(&format!(
                "SELECT COUNT(*) AS n FROM list_rows WHERE list = '{id}'"
            ))
            .expect("count");
        let out: Value = serde_json::from_str(&out).expect("JSON");
        out[0]["results"][0]["n"].as_u64().expect("a count")
    };
    assert_eq!((rows_of(dead), rows_of(&whole)), (3, 3));
    assert_eq!(worker.cron().expect("cron").status, 200);
    assert_eq!(
        (rows_of(dead), rows_of(&whole)),
        (0, 3),
        "the abandoned rows are gone, the list's stay"
    );
    let creations = worker
        .d1("SELECT COUNT(*) AS n FROM list_creations")
        .expect("count");
    let creations: Value = serde_json::from_str(&creations).expect("JSON");
    assert_eq!(creations[0]["results"][0]["n"], 0, "{creations}");
    assert_eq!(get_list(&worker, &whole, None)["total_rows"], 3);
}
