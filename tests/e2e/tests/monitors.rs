//! Watched sending domains (`/v1/monitors`) in wrangler dev against the world: a watched domain
//! whose DMARC record the test changes fires exactly one `domain.changed` after the cron runs,
//! signed with its endpoint's secret, and the history keeps each check.

#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::process::ExitCode;
use std::time::Duration;

use mailvet_e2e::World;
use mailvet_e2e::hooks::{self, WorldEdit};
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::{Options, Worker};
use serde_json::{Value, json};

struct Watch {
    // Dropped in declaration order: the Worker before the world.
    worker: Worker,
    world: World,
}

const TESTS: &[Test<Watch>] = &[
    (
        "a_changed_record_fires_one_domain_changed",
        a_changed_record_fires_one_domain_changed,
    ),
    (
        "monitors_are_listed_and_deleted",
        monitors_are_listed_and_deleted,
    ),
    (
        "openapi_documents_the_monitors",
        openapi_documents_the_monitors,
    ),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || {
            let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
            let options = Options {
                migrate: true,
                ..Options::default()
            };
            let worker = Worker::start_with(
                &world,
                &[
                    ("ALLOW_PRIVATE_WEBHOOKS", "true"),
                    ("DOH_TIMEOUT_MS", "20000"),
                ],
                &options,
            )?;
            Ok(Watch { worker, world })
        },
        |w| {
            w.world.keep_dir();
            println!("logs kept in {}", w.world.dir().display());
        },
    )
}

fn call(w: &Watch, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let r = w
        .worker
        .request(
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_deref().map(str::as_bytes),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, json)
}

fn history_len(monitor: &Value) -> usize {
    monitor["history"].as_array().map_or(0, Vec::len)
}

fn a_changed_record_fires_one_domain_changed(w: &Watch) {
    let (url, got) = hooks::receiver();
    let (status, hook) = call(
        w,
        "POST",
        "/v1/webhooks",
        Some(json!({ "url": url, "events": ["domain.changed"] })),
    );
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().expect("secret").to_owned();

    // Watched, and checked at once.
    let (status, first) = call(w, "PUT", "/v1/monitors/watched.decay.test", None);
    assert_eq!(status, 201, "{first}");
    assert_eq!(history_len(&first), 1, "{first}");
    let findings = &first["history"][0]["findings"];
    assert!(
        !findings
            .as_array()
            .expect("findings")
            .contains(&json!("dmarc_policy_none")),
        "{first}"
    );
    // Due at the next cron; the PUT checks again, and nothing changed.
    let (status, due) = call(
        w,
        "PUT",
        "/v1/monitors/watched.decay.test",
        Some(json!({ "next_check_at": "2020-01-01T00:00:00Z" })),
    );
    assert_eq!(status, 200, "{due}");
    assert_eq!(history_len(&due), 2);
    assert_eq!(due["history"][0]["changes"], json!([]), "{due}");

    let mut edit = WorldEdit::new(&w.world);
    edit.edit(
        "zones/decay.test.zone",
        "\"v=DMARC1; p=reject\"",
        "\"v=DMARC1; p=none\"",
    );
    hooks::reload_zones(&w.world);
    let cron = w.worker.cron().expect("cron");
    assert_eq!(cron.status, 200, "{}", cron.text());

    let (_, after) = call(w, "GET", "/v1/monitors/watched.decay.test", None);
    assert_eq!(history_len(&after), 3, "the cron checked it: {after}");
    let latest = &after["history"][0];
    assert!(
        latest["findings"]
            .as_array()
            .expect("findings")
            .contains(&json!("dmarc_policy_none")),
        "{after}"
    );
    assert!(
        latest["changes"]
            .as_array()
            .expect("changes")
            .contains(&json!("new finding dmarc_policy_none")),
        "{after}"
    );
    let about = |d: &hooks::Delivery| d.json()["type"] == "domain.changed";
    let changed = hooks::deliveries(&got, about, 1, Duration::from_secs(30));
    assert_eq!(changed.len(), 1, "one domain.changed");
    assert!(hooks::signature_valid(&secret, &changed[0]));
    let data = &changed[0].json()["data"];
    assert_eq!(data["domain"], "watched.decay.test", "{data}");
    assert!(
        data["after"]["findings"]
            .as_array()
            .expect("findings")
            .contains(&json!("dmarc_policy_none"))
    );
    assert!(
        !data["before"]["findings"]
            .as_array()
            .expect("findings")
            .contains(&json!("dmarc_policy_none"))
    );

    // The next cron finds nothing due (a day later): no check, so no second event.
    let cron = w.worker.cron().expect("cron");
    assert_eq!(cron.status, 200);
    let (_, again) = call(w, "GET", "/v1/monitors/watched.decay.test", None);
    assert_eq!(history_len(&again), 3, "{again}");
    drop(edit);
    assert_eq!(
        hooks::deliveries(&got, about, 2, Duration::ZERO).len(),
        1,
        "still one domain.changed"
    );
    let (status, _) = call(w, "DELETE", "/v1/monitors/watched.decay.test", None);
    assert_eq!(status, 204);
}

fn monitors_are_listed_and_deleted(w: &Watch) {
    let (status, made) = call(
        w,
        "PUT",
        "/v1/monitors/GOOD.health.test.",
        Some(json!({ "ips": ["192.0.2.7"], "dkim_selectors": ["s1"] })),
    );
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["domain"], "good.health.test");
    assert_eq!(made["ips"], json!(["192.0.2.7"]));
    let (_, listed) = call(w, "GET", "/v1/monitors", None);
    let domains: Vec<&str> = listed["monitors"]
        .as_array()
        .expect("monitors")
        .iter()
        .filter_map(|m| m["domain"].as_str())
        .collect();
    assert!(domains.contains(&"good.health.test"), "{listed}");
    let entry = listed["monitors"]
        .as_array()
        .expect("monitors")
        .iter()
        .find(|m| m["domain"] == "good.health.test")
        .expect("listed");
    assert!(entry["latest"]["grade"].is_string(), "{entry}");
    for (body, code) in [
        (json!({ "ips": ["300.1.1.1"] }), "invalid_ip"),
        (json!({ "next_check_at": "soon" }), "invalid_next_check_at"),
    ] {
        let (status, error) = call(w, "PUT", "/v1/monitors/good.health.test", Some(body));
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some(code)));
    }
    let (status, _) = call(w, "DELETE", "/v1/monitors/good.health.test", None);
    assert_eq!(status, 204);
    let (status, error) = call(w, "GET", "/v1/monitors/good.health.test", None);
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("monitor_not_found"))
    );
}

/// Every route, status and error code these tests use is in `src/openapi.json`, and
/// `domain.changed` is a documented webhook event.
fn openapi_documents_the_monitors(w: &Watch) {
    let (status, doc) = call(w, "GET", "/openapi.json", None);
    assert_eq!(status, 200);
    let paths = &doc["paths"];
    for method in ["put", "get", "delete"] {
        assert!(
            paths["/v1/monitors/{domain}"][method].is_object(),
            "{method}"
        );
    }
    assert!(paths["/v1/monitors"]["get"].is_object());
    for status in ["200", "201", "400", "409"] {
        assert!(
            paths["/v1/monitors/{domain}"]["put"]["responses"][status].is_object(),
            "{status}"
        );
    }
    let text = doc.to_string();
    for code in [
        "monitor_not_found",
        "invalid_next_check_at",
        "invalid_ip",
        "too_many_monitors",
    ] {
        assert!(text.contains(code), "{code} is not documented");
    }
    let events = &doc["components"]["schemas"]["WebhookEventType"]["enum"];
    assert!(
        events
            .as_array()
            .expect("events")
            .contains(&json!("domain.changed"))
    );
    assert!(doc["webhooks"]["domain.changed"].is_object());
    for field in ["checked_at", "grade", "findings", "dnsbl", "changes"] {
        assert!(
            doc["components"]["schemas"]["MonitorCheck"]["properties"][field].is_object(),
            "{field}"
        );
    }
}
