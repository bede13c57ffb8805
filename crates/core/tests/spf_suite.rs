//! The openspf test suite for RFC 7208 (`tests/data/spf/rfc7208-tests.yml`, release 2014.04,
//! BSD licence beside it) run against `sender::spf::CheckHost`, answering its queries from each
//! scenario's zone data as the suite's own drivers do: a name with SPF records and no TXT
//! records has them as TXT too, `TIMEOUT` fails the lookup, a missing name under `error.` fails
//! and any other missing name does not exist, a CNAME is followed once.

use std::collections::BTreeMap;
use std::net::IpAddr;

use mailvet_core::sender::spf::{Answer, CheckHost, QueryType, Rdata, SpfResult, Step};
use serde_yaml::Value;

/// Cases this evaluator does not pass, each with the reason.
const KNOWN: &[(&str, &str)] = &[(
    "v-macro-ip6",
    "the suite wants the nibbles of %{i} in upper case because the test wrote the address \
     CAFE:BABE::1 so; RFC 7208 §7.4's own example writes them in lower case, as here. DNS \
     names are case-insensitive, so only this explanation's text differs.",
)];

struct Zone {
    data: BTreeMap<String, Vec<Value>>,
}

impl Zone {
    fn answer(&self, name: &str, kind: QueryType, follow: bool) -> Answer {
        let Some(entries) = self.data.get(name) else {
            return if name.starts_with("error.") {
                Answer::Failed
            } else {
                Answer::NoSuchName
            };
        };
        let has_txt = entries.iter().any(|e| e.get("TXT").is_some());
        let mut records = Vec::new();
        let mut seen_kind = false;
        for entry in entries {
            if entry.as_str() == Some("TIMEOUT") {
                if !seen_kind {
                    return Answer::Failed;
                }
                break;
            }
            let Some(map) = entry.as_mapping() else {
                continue;
            };
            for (t, v) in map {
                let t = t.as_str().unwrap_or_default();
                let wanted = match (t, kind) {
                    ("TXT", QueryType::Txt) => true,
                    ("SPF", QueryType::Txt) => !has_txt,
                    ("A", QueryType::A) | ("AAAA", QueryType::Aaaa) => true,
                    ("MX", QueryType::Mx) | ("PTR", QueryType::Ptr) => true,
                    ("CNAME", _) if follow => {
                        let target = v
                            .as_str()
                            .unwrap_or_default()
                            .trim_end_matches('.')
                            .to_lowercase();
                        return self.answer(&target, kind, false);
                    }
                    _ => false,
                };
                if !wanted {
                    continue;
                }
                // `NONE` is no record at all (it only stops SPF records from being TXT too).
                if v.as_str() == Some("NONE") {
                    continue;
                }
                seen_kind = true;
                if v.as_str() == Some("TIMEOUT") {
                    return Answer::Failed;
                }
                match kind {
                    QueryType::Txt => {
                        let strings: Vec<String> = match v {
                            Value::Sequence(parts) => parts
                                .iter()
                                .filter_map(|p| p.as_str().map(str::to_owned))
                                .collect(),
                            other => vec![
                                other
                                    .as_str()
                                    .map_or_else(|| yaml_text(other), str::to_owned),
                            ],
                        };
                        records.push(Rdata::Txt(strings.concat().into_bytes()));
                    }
                    QueryType::A => records.push(Rdata::A(text(v).parse().expect("IPv4"))),
                    QueryType::Aaaa => records.push(Rdata::Aaaa(text(v).parse().expect("IPv6"))),
                    QueryType::Mx => {
                        let preference = v[0].as_u64().and_then(|p| u16::try_from(p).ok());
                        let host = v[1].as_str().unwrap_or_default().to_owned();
                        records.push(Rdata::Mx(preference.unwrap_or(0), host));
                    }
                    QueryType::Ptr => records.push(Rdata::Ptr(text(v).to_owned())),
                }
            }
        }
        Answer::Records(records)
    }
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a string in the zone data")
}

/// A scalar that YAML read as something else than a string (a number, a boolean).
fn yaml_text(value: &Value) -> String {
    serde_yaml::to_string(value)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn results(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(all) => all
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        one => vec![one.as_str().unwrap_or_default().to_owned()],
    }
}

#[test]
fn the_rfc7208_suite_passes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/spf/rfc7208-tests.yml"
    ))
    .unwrap();
    let (mut passed, mut failed) = (0, Vec::new());
    for document in serde_yaml::Deserializer::from_str(&text) {
        let scenario = Value::deserialize(document).unwrap();
        let mut data = BTreeMap::new();
        if let Some(zone) = scenario["zonedata"].as_mapping() {
            for (name, entries) in zone {
                let name = name.as_str().unwrap().trim_end_matches('.').to_lowercase();
                let entries = entries.as_sequence().cloned().unwrap_or_default();
                data.entry(name).or_insert_with(Vec::new).extend(entries);
            }
        }
        let zone = Zone { data };
        for (id, case) in scenario["tests"].as_mapping().unwrap() {
            let id = id.as_str().unwrap();
            let ip: IpAddr = case["host"].as_str().unwrap().parse().unwrap();
            let sender = case["mailfrom"].as_str().unwrap_or_default();
            let helo = case["helo"].as_str().unwrap_or_default();
            let domain = match sender.rsplit_once('@') {
                Some((_, domain)) => domain,
                None if sender.is_empty() => helo,
                None => sender,
            };
            let mut check = CheckHost::new(ip, domain, sender, helo);
            let evaluation = loop {
                match check.step() {
                    Step::Query(name, kind) => {
                        let answer = zone.answer(&name, kind, true);
                        check.answer(&name, kind, answer);
                    }
                    Step::Done(evaluation) => break evaluation,
                }
            };
            let want = results(&case["result"]);
            let mut ok = want.iter().any(|w| w == evaluation.result.as_str());
            if let Some(explanation) = case["explanation"].as_str() {
                let ours = match (&evaluation.explanation, evaluation.result) {
                    (Some(text), _) => text.as_str(),
                    (None, SpfResult::Fail) => "DEFAULT",
                    (None, _) => "",
                };
                ok &= ours == explanation;
            }
            if ok {
                passed += 1;
            } else {
                failed.push(format!(
                    "{id}: want {want:?} {:?}, got {} {:?} ({:?})",
                    case["explanation"].as_str(),
                    evaluation.result,
                    evaluation.explanation,
                    evaluation.error
                ));
            }
        }
    }
    // Every case ran: the suite of release 2014.04 has 203.
    assert_eq!(passed + failed.len(), 203);
    #[allow(clippy::print_stdout, reason = "the pass count is a figure to report")]
    {
        println!("RFC 7208 suite: {passed} passed, {} failed", failed.len());
    }
    let unexplained: Vec<&String> = failed
        .iter()
        .filter(|f| !KNOWN.iter().any(|(id, _)| f.starts_with(&format!("{id}:"))))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} failed:\n{}",
        unexplained.len(),
        failed.join("\n")
    );
}

use serde::Deserialize as _;
