//! The public JSON contract: the core's serde types are what `/v1/verify`, `mailvet check
//! --format jsonl` and the prober's answers say, and `src/openapi.json` is what we promise.
//!
//! Each case below builds a report through `Check`, as the Worker and the CLI do, with evidence
//! made up for it (no I/O). Its JSON must equal the golden file `tests/data/golden/NAME.json`
//! (a change of the contract shows as a change of those files in review), and every golden file
//! must validate against the `Report` schema of `src/openapi.json`, whose enums must name exactly
//! the core's codes. The widget's hand-written JSON is checked against the same files in
//! `crates/wasm`.
//!
//! The inputs avoid domains that only the full disposable list names, so that the build without
//! `full-lists` (the widget's) makes the same reports.
//!
//! After a deliberate change: `MAILVET_BLESS=1 cargo test -p mailvet-core --test contract`
//! rewrites the golden files; review their diff.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use mailvet_core::dns::route::{DnsFailure, MailRoute, MxHost};
use mailvet_core::lists::Lists;
use mailvet_core::report::{Check, MailboxEvidence, NotAsked, Report, RouteKind, Skipped, Status};
use mailvet_core::smtp::Outcome;
use mailvet_core::syntax::{SyntaxErrorCode, Warning};
use mailvet_core::table;
use mailvet_core::verdict::{Policy, ReasonCode, Verdict};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden_dir() -> PathBuf {
    root().join("tests/data/golden")
}

fn openapi() -> Value {
    let path = root().join("src/openapi.json");
    let text = fs::read_to_string(&path).expect("src/openapi.json");
    serde_json::from_str(&text).expect("openapi.json is JSON")
}

fn hosts() -> MailRoute {
    MailRoute::Hosts(vec![
        MxHost {
            preference: 10,
            host: "mx1.example.com".into(),
            implicit: false,
        },
        MxHost {
            preference: 20,
            host: "mx2.example.com".into(),
            implicit: false,
        },
    ])
}

fn answered(
    code: u16,
    enhanced: Option<&str>,
    outcome: Outcome,
    catch_all: Option<bool>,
) -> MailboxEvidence {
    MailboxEvidence::Answered {
        host: "mx1.example.com".into(),
        code,
        enhanced: enhanced.map(str::to_owned),
        message: format!("{code} {}", enhanced.unwrap_or(""))
            .trim()
            .to_owned(),
        outcome,
        tls: true,
        catch_all,
    }
}

/// Every verdict, every skipped layer, every route kind and every kind of mailbox evidence.
fn cases(lists: &Lists) -> Vec<(&'static str, Report)> {
    let policy = Policy::default();
    let probed = |input: &str, route: MailRoute, evidence: MailboxEvidence| {
        Check::new(input, lists)
            .with_dns(&route)
            .with_mailbox(evidence)
            .finish(&policy)
    };
    let implicit = MailRoute::Hosts(vec![MxHost {
        preference: 0,
        host: "example.org".into(),
        implicit: true,
    }]);
    vec![
        (
            "valid_mailbox",
            probed(
                "jane@example.com",
                hosts(),
                answered(250, Some("2.1.5"), Outcome::Deliverable, Some(false)),
            ),
        ),
        (
            "risky_catch_all",
            probed(
                "jane@example.com",
                hosts(),
                answered(250, None, Outcome::Deliverable, Some(true)),
            ),
        ),
        (
            "invalid_mailbox_not_found",
            probed(
                "nobody@example.com",
                hosts(),
                answered(550, Some("5.1.1"), Outcome::MailboxNotFound, None),
            ),
        ),
        (
            "unknown_timeout",
            probed(
                "jane@example.com",
                hosts(),
                MailboxEvidence::Timeout {
                    host: Some("mx1.example.com".into()),
                },
            ),
        ),
        (
            "unknown_unreachable",
            probed("jane@example.com", hosts(), MailboxEvidence::Unreachable),
        ),
        (
            "unknown_not_asked_private",
            probed(
                "jane@example.com",
                hosts(),
                MailboxEvidence::NotAsked {
                    host: Some("mx1.example.com".into()),
                    why: NotAsked::PrivateAddress,
                },
            ),
        ),
        (
            "valid_implicit_mx_no_prober",
            Check::new("jane@example.org", lists)
                .with_dns(&implicit)
                .skip_mailbox(Skipped::NoProber)
                .finish(&policy),
        ),
        (
            "valid_dns_smtp_disabled",
            Check::new("jane@example.com", lists)
                .with_dns(&hosts())
                .skip_mailbox(Skipped::Disabled)
                .finish(&policy),
        ),
        (
            "invalid_null_mx",
            Check::new("jane@example.net", lists)
                .with_dns(&MailRoute::NullMx)
                .finish(&policy),
        ),
        (
            "invalid_no_mail_server",
            Check::new("jane@example.net", lists)
                .with_dns(&MailRoute::NoMailServer)
                .finish(&policy),
        ),
        (
            "invalid_domain_not_found",
            Check::new("jane@gamil.com", lists)
                .with_dns(&MailRoute::DomainNotFound)
                .finish(&policy),
        ),
        (
            "unknown_dns_failure",
            Check::new("jane@example.com", lists)
                .with_dns(&MailRoute::DnsFailure(DnsFailure::NoAnswer))
                .finish(&policy),
        ),
        (
            "unknown_check_not_completed",
            Check::new("jane@example.com", lists)
                .not_completed()
                .finish(&policy),
        ),
        (
            "syntax_only_valid",
            Check::new("jane@example.com", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "syntax_only_risky_disposable_role",
            Check::new("info@mailinator.com", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "syntax_only_suggestion",
            Check::new("jane@gamil.com", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "syntax_only_warnings",
            Check::new("\"jane doe\"@Example.COM", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "invalid_syntax",
            Check::new("jane.example.com", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "invalid_special_use_domain",
            Check::new("me@shop.local", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "invalid_utf8",
            Check::from_bytes(b"jane\xff@example.com", lists)
                .syntax_only()
                .finish(&policy),
        ),
        (
            "address_literal",
            Check::new("jane@[192.0.2.1]", lists)
                .with_mailbox(answered(250, None, Outcome::Deliverable, None))
                .finish(&policy),
        ),
    ]
}

/// A small JSON Schema validator for the keywords `src/openapi.json` uses. A keyword it does
/// not know is an error, so that the document cannot promise something this test ignores.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        errors.push(format!("{at}: the schema is not an object"));
        return;
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "description" | "default" | "examples" => {}
            "$ref" => {
                let name = rule
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .unwrap_or_default();
                validate(doc, &doc["components"]["schemas"][name], value, at, errors);
            }
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                let is = |t: &str| match t {
                    "string" => value.is_string(),
                    "integer" => value.is_i64() || value.is_u64(),
                    "number" => value.is_number(),
                    "boolean" => value.is_boolean(),
                    "object" => value.is_object(),
                    "array" => value.is_array(),
                    "null" => value.is_null(),
                    _ => false,
                };
                if !types.iter().any(|t| is(t)) {
                    errors.push(format!("{at}: {value} is not of type {rule}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|e| e.contains(value)) {
                    errors.push(format!("{at}: {value} is not one of {rule}"));
                }
            }
            "const" => {
                if rule != value {
                    errors.push(format!("{at}: {value} is not {rule}"));
                }
            }
            "minimum" => {
                if value
                    .as_f64()
                    .zip(rule.as_f64())
                    .is_some_and(|(v, m)| v < m)
                {
                    errors.push(format!("{at}: {value} is below {rule}"));
                }
            }
            "maximum" => {
                if value
                    .as_f64()
                    .zip(rule.as_f64())
                    .is_some_and(|(v, m)| v > m)
                {
                    errors.push(format!("{at}: {value} is above {rule}"));
                }
            }
            "required" => {
                for name in rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if value.is_object() && value.get(name).is_none() {
                        errors.push(format!("{at}: `{name}` is missing"));
                    }
                }
            }
            "properties" => {
                let (Some(properties), Some(object)) = (rule.as_object(), value.as_object()) else {
                    continue;
                };
                for (name, field) in object {
                    if let Some(field_schema) = properties.get(name) {
                        validate(doc, field_schema, field, &format!("{at}.{name}"), errors);
                    }
                }
            }
            "additionalProperties" => {
                let properties = schema.get("properties").and_then(Value::as_object);
                let Some(object) = value.as_object() else {
                    continue;
                };
                for (name, field) in object {
                    if properties.is_some_and(|p| p.contains_key(name)) {
                        continue;
                    }
                    match rule {
                        Value::Bool(false) => {
                            errors.push(format!("{at}: `{name}` is not documented"));
                        }
                        Value::Object(_) => {
                            validate(doc, rule, field, &format!("{at}.{name}"), errors);
                        }
                        _ => {}
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    validate(doc, rule, item, &format!("{at}[{i}]"), errors);
                }
            }
            "minItems" | "maxItems" => {
                let (Some(items), Some(bound)) = (value.as_array(), rule.as_u64()) else {
                    continue;
                };
                let len = items.len() as u64;
                if (keyword == "minItems" && len < bound) || (keyword == "maxItems" && len > bound)
                {
                    errors.push(format!("{at}: {len} items break {keyword} {bound}"));
                }
            }
            "oneOf" => {
                let matching = rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|option| {
                        let mut found = Vec::new();
                        validate(doc, option, value, at, &mut found);
                        found.is_empty()
                    })
                    .count();
                if matching != 1 {
                    errors.push(format!("{at}: {value} matches {matching} of oneOf"));
                }
            }
            "propertyNames" => {
                for name in value.as_object().into_iter().flatten().map(|(k, _)| k) {
                    let key = Value::String(name.clone());
                    validate(doc, rule, &key, &format!("{at} key {name}"), errors);
                }
            }
            // RFC 3339 §5.6 in UTC, as the job object writes its times.
            "format" if rule == "date-time" => {
                let ok = value.as_str().is_none_or(|t| {
                    let b = t.as_bytes();
                    b.len() >= 20
                        && b[4] == b'-'
                        && b[7] == b'-'
                        && b[10] == b'T'
                        && b[13] == b':'
                        && b[16] == b':'
                        && t.ends_with('Z')
                });
                if !ok {
                    errors.push(format!("{at}: {value} is not an RFC 3339 time"));
                }
            }
            other => errors.push(format!(
                "{at}: the test does not know the keyword `{other}`"
            )),
        }
    }
}

#[test]
fn reports_equal_their_golden_files_and_the_openapi_schema() {
    let lists = Lists::new();
    let doc = openapi();
    let report_schema = serde_json::json!({ "$ref": "#/components/schemas/Report" });
    let bless = std::env::var_os("MAILVET_BLESS").is_some();
    let dir = golden_dir();
    let mut failures = String::new();
    let cases = cases(&lists);
    for (name, report) in &cases {
        let path = dir.join(format!("{name}.json"));
        let mut json = serde_json::to_string_pretty(report).expect("a report serialises");
        json.push('\n');
        if bless {
            fs::create_dir_all(&dir).expect("golden directory");
            fs::write(&path, &json).expect("write golden file");
        }
        let golden = fs::read_to_string(&path).unwrap_or_default();
        if golden != json {
            let _ = writeln!(
                failures,
                "{name}: the report differs from {} (MAILVET_BLESS=1 rewrites it):\n{json}",
                path.display()
            );
            continue;
        }
        let value: Value = serde_json::from_str(&golden).expect("golden JSON");
        let mut errors = Vec::new();
        validate(&doc, &report_schema, &value, name, &mut errors);
        for e in errors {
            let _ = writeln!(failures, "{e}");
        }
    }
    // Every golden file belongs to a case: none is left behind by a renamed one.
    for entry in fs::read_dir(&dir).expect("tests/data/golden") {
        let file = entry.expect("entry").file_name();
        let file = file.to_string_lossy();
        let stem = file.strip_suffix(".json").unwrap_or(&file);
        if !cases.iter().any(|(name, _)| *name == stem) {
            let _ = writeln!(failures, "{file}: no case makes this golden file");
        }
    }
    // The cases cover every verdict, every skipped layer and every route kind.
    let all: Vec<Value> = cases
        .iter()
        .map(|(_, r)| serde_json::to_value(r).expect("serialises"))
        .collect();
    let seen = |pointer: &str, wanted: &str| {
        all.iter()
            .any(|r| r.pointer(pointer).and_then(Value::as_str) == Some(wanted))
    };
    for verdict in ["valid", "risky", "invalid", "unknown"] {
        if !seen("/verdict", verdict) {
            let _ = writeln!(failures, "no case has the verdict {verdict}");
        }
    }
    for why in strings(&doc["components"]["schemas"]["Skipped"]["enum"]) {
        if !seen("/checks/dns/skipped", &why) && !seen("/checks/smtp/skipped", &why) {
            let _ = writeln!(failures, "no case skips a layer as {why}");
        }
    }
    for kind in RouteKind::ALL {
        if !seen("/checks/dns/route", kind.as_str()) {
            let _ = writeln!(failures, "no case has the route {}", kind.as_str());
        }
    }
    for result in ["answered", "timeout", "unreachable", "not_asked"] {
        if !seen("/checks/smtp/result", result) {
            let _ = writeln!(failures, "no case has the mailbox result {result}");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// The job object of the Jobs API: its counting part is the core's `table::Summary` (the
/// Worker fills it from D1, the CLI writes it as `summary.json`), here the tally of every golden
/// report; the rest is the Worker's. It must validate against the document's `Job` and
/// `WebhookEvent`, and each of its rows as a `ResultLine`.
#[test]
fn job_objects_and_result_lines_validate_against_the_openapi_schema() {
    let lists = Lists::new();
    let doc = openapi();
    let cases = cases(&lists);
    let mut tally = table::Tally::default();
    for (i, (_, report)) in cases.iter().enumerate() {
        tally.add(report, i % 5 == 4);
    }
    let summary = serde_json::to_value(tally.summary()).expect("a summary serialises");
    let total = summary["total_rows"].as_u64().expect("total_rows");
    let mut job = serde_json::json!({
        "id": "0123456789abcdef0123456789abcdef",
        "name": null,
        "status": "completed",
        "checks": "smtp",
        "processed": total,
        "percent": 100,
        "created_at": table::timestamp(1_764_585_660),
        "started_at": table::timestamp(1_764_585_661),
        "finished_at": table::timestamp(1_764_585_700),
        "eta_seconds": 0,
        "error": null,
    });
    for (name, value) in summary.as_object().expect("an object") {
        job[name] = value.clone();
    }
    let mut errors = Vec::new();
    let job_schema = serde_json::json!({ "$ref": "#/components/schemas/Job" });
    validate(&doc, &job_schema, &job, "job", &mut errors);
    // Every field the schema requires is one the object has, and the other way round.
    let required = strings(&doc["components"]["schemas"]["Job"]["required"]);
    let mut fields: Vec<String> = job.as_object().expect("object").keys().cloned().collect();
    let mut wanted = required.clone();
    fields.sort();
    wanted.sort();
    assert_eq!(
        fields, wanted,
        "the job object's fields are the documented ones"
    );
    let event = serde_json::json!({
        "type": "job.completed",
        "timestamp": table::timestamp(1_764_585_700),
        "data": job,
    });
    let event_schema = serde_json::json!({ "$ref": "#/components/schemas/WebhookEvent" });
    validate(&doc, &event_schema, &event, "event", &mut errors);
    let failed = serde_json::json!({ "code": "csv_encoding", "message": "…" });
    let mut failed_job = event["data"].clone();
    failed_job["status"] = "failed".into();
    failed_job["error"] = failed;
    validate(&doc, &job_schema, &failed_job, "failed job", &mut errors);

    let line_schema = serde_json::json!({ "$ref": "#/components/schemas/ResultLine" });
    let names = table::column_names(&["email".to_owned(), "name".to_owned()]);
    for (i, (_, report)) in cases.iter().enumerate() {
        let values = [report.input.clone(), "Jane".to_owned()];
        let line = table::RowReport {
            row: i as u64 + 1,
            columns: table::Columns {
                names: &names,
                values: &values,
            },
            duplicate_of: (i % 5 == 4).then_some(1),
            report,
        };
        let line = serde_json::to_value(&line).expect("a line serialises");
        validate(
            &doc,
            &line_schema,
            &line,
            &format!("line {}", i + 1),
            &mut errors,
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn codes<T: serde::Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v) {
            Ok(Value::String(s)) => s,
            other => panic!("{other:?} is not a string code"),
        })
        .collect()
}

#[test]
fn openapi_enums_name_exactly_the_core_codes() {
    let doc = openapi();
    let schemas = &doc["components"]["schemas"];
    let checks = &schemas["Report"]["properties"]["checks"]["properties"];
    // Each list names every variant; the `match` stops the build when one is added, so that
    // the list (and the document) is looked at again.
    let verdicts = [
        Verdict::Valid,
        Verdict::Unknown,
        Verdict::Risky,
        Verdict::Invalid,
    ];
    for v in verdicts {
        match v {
            Verdict::Valid | Verdict::Unknown | Verdict::Risky | Verdict::Invalid => {}
        }
    }
    let statuses = [
        Status::Passed,
        Status::Failed,
        Status::Inconclusive,
        Status::Skipped,
    ];
    for s in statuses {
        match s {
            Status::Passed | Status::Failed | Status::Inconclusive | Status::Skipped => {}
        }
    }
    let skipped = [
        Skipped::SyntaxOnly,
        Skipped::Disabled,
        Skipped::NoProber,
        Skipped::NotNeeded,
        Skipped::AddressLiteral,
        Skipped::DnsUnavailable,
        Skipped::NotCompleted,
    ];
    for s in skipped {
        match s {
            Skipped::SyntaxOnly
            | Skipped::Disabled
            | Skipped::NoProber
            | Skipped::NotNeeded
            | Skipped::AddressLiteral
            | Skipped::DnsUnavailable
            | Skipped::NotCompleted => {}
        }
    }
    let not_asked = [
        NotAsked::PrivateAddress,
        NotAsked::NeedsSmtputf8,
        NotAsked::ProberListed,
    ];
    for n in not_asked {
        match n {
            NotAsked::PrivateAddress | NotAsked::NeedsSmtputf8 | NotAsked::ProberListed => {}
        }
    }
    let pairs: Vec<(&str, &Value, Vec<String>)> = vec![
        ("Verdict", &schemas["Verdict"]["enum"], codes(&verdicts)),
        (
            "ReasonCode",
            &schemas["ReasonCode"]["enum"],
            codes(ReasonCode::ALL),
        ),
        ("Status", &schemas["Status"]["enum"], codes(&statuses)),
        ("Skipped", &schemas["Skipped"]["enum"], codes(&skipped)),
        (
            "RouteKind",
            &schemas["RouteKind"]["enum"],
            codes(&RouteKind::ALL),
        ),
        (
            "SyntaxErrorCode",
            &schemas["SyntaxErrorCode"]["enum"],
            codes(&SyntaxErrorCode::ALL),
        ),
        (
            "warnings",
            &checks["syntax"]["properties"]["warnings"]["items"]["enum"],
            codes(&Warning::ALL),
        ),
        (
            "outcome",
            &checks["smtp"]["properties"]["outcome"]["enum"],
            codes(&Outcome::ALL),
        ),
        (
            "why",
            &checks["smtp"]["properties"]["why"]["enum"],
            codes(&not_asked),
        ),
        (
            "FindingCode",
            &schemas["FindingCode"]["enum"],
            codes(mailvet_core::sender::FindingCode::ALL),
        ),
    ];
    for (name, documented, core) in pairs {
        assert_eq!(
            strings(documented),
            core,
            "the enum {name} of src/openapi.json"
        );
    }
}
