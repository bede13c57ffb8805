//! MTA-STS (RFC 8461): the `_mta-sts` TXT record (§3.1), the policy file (§3.2) fetched from
//! [`policy_url`] (§3.3; the caller fetches it over HTTPS with the certificate checked), the
//! match of MX hosts against the policy's patterns (§4.1), and the findings.
//!
//! ```
//! use mailvet_core::sender::mta_sts::{self, Mode};
//!
//! let policy = mta_sts::parse_policy(b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n").unwrap();
//! assert_eq!(policy.mode, Mode::Enforce);
//! assert!(policy.covers("MX1.example.net."));
//! assert!(!mta_sts::mx_matches("*.example.net", "a.b.example.net"));
//! ```

use std::fmt;

use serde::Serialize;

use super::txt::{self, Selection};
use super::{Finding, FindingCode, Severity};

/// The longest a policy may be cached, in seconds (§3.2 `max_age`: about one year).
pub const MAX_AGE_LIMIT: u32 = 31_557_600;

/// Where the TXT record is published (§3.1).
pub fn record_name(domain: &str) -> String {
    format!("_mta-sts.{}", domain.trim_end_matches('.'))
}

/// Where the policy is fetched from (§3.3).
pub fn policy_url(domain: &str) -> String {
    format!(
        "https://mta-sts.{}/.well-known/mta-sts.txt",
        domain.trim_end_matches('.')
    )
}

/// Whether a TXT record is an MTA-STS record: it starts with `v=STSv1` (§3.1: `%s`, so in
/// exactly that case), then `;`, white space or the end.
pub fn is_sts(text: &[u8]) -> bool {
    txt::starts_with_version(text, "v=STSv1")
}

/// Picks the MTA-STS record among the TXT records at `_mta-sts.<domain>` (§3.1: other records
/// are discarded; if not exactly one remains, the domain has no usable policy).
pub fn select<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> Selection<'a> {
    txt::select(texts, is_sts)
}

/// The TXT record (§3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxtRecord {
    /// `id=`: changes whenever the policy does, so senders fetch it again.
    pub id: String,
    /// Other fields, as written (name, value).
    pub extensions: Vec<(String, String)>,
}

/// Why a record or policy is invalid, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

/// As its sentence.
impl Serialize for SyntaxError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// §3.1: sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."); the policy's
/// sts-policy-ext-name is the same.
fn is_field_name(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Parses the TXT record (one that [`is_sts`]) by §3.1's grammar.
pub fn parse_record(text: &[u8]) -> Result<TxtRecord, SyntaxError> {
    let err = |s: String| SyntaxError(format!("the MTA-STS record {s}"));
    let text = std::str::from_utf8(text).map_err(|_| err("is not ASCII text".to_owned()))?;
    // sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim], with
    // sts-field-delim = *WSP ";" *WSP.
    let mut fields = text.split(';').map(|f| f.trim_matches([' ', '\t']));
    if fields.next() != Some("v=STSv1") {
        return Err(err("does not start with v=STSv1".to_owned()));
    }
    let fields: Vec<&str> = fields.collect();
    let (mut id, mut extensions) = (None, Vec::new());
    for (i, field) in fields.iter().enumerate() {
        if field.is_empty() && i + 1 == fields.len() {
            break;
        }
        // No white space around `=` here, unlike DKIM's tags.
        let Some((name, value)) = field.split_once('=') else {
            return Err(err(format!(
                "has \"{field}\", which is not a name=value field"
            )));
        };
        if name == "id" {
            // sts-id = %s"id=" 1*32(ALPHA / DIGIT)
            if value.is_empty()
                || value.len() > 32
                || !value.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(err(format!(
                    "has id={value}, but the id is 1 to 32 letters and digits"
                )));
            }
            if id.replace(value.to_owned()).is_some() {
                return Err(err("has id= more than once".to_owned()));
            }
        } else {
            // sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
            let value_ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e));
            if !is_field_name(name) || !value_ok {
                return Err(err(format!("has \"{field}\", which is not a valid field")));
            }
            extensions.push((name.to_owned(), value.to_owned()));
        }
    }
    let id = id.ok_or_else(|| err("has no id= field (it is required)".to_owned()))?;
    Ok(TxtRecord { id, extensions })
}

/// What a policy asks of senders (§3.2 `mode`, §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Deliver only over TLS to a matching, authenticated MX.
    Enforce,
    /// Deliver anyway, but report failures (TLS-RPT).
    Testing,
    /// No policy: senders forget any earlier one.
    None,
}

impl Mode {
    /// The policy's value (`enforce`, `testing`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A policy file (§3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// `mode`.
    pub mode: Mode,
    /// The `mx` patterns, lowercase, without a root dot: host names, or `*.` and a domain.
    pub mx: Vec<String>,
    /// `max_age`: seconds a sender may cache the policy (at most [`MAX_AGE_LIMIT`]).
    pub max_age: u32,
    /// Other fields, as written (name, value); ignored by senders (§3.2).
    pub extensions: Vec<(String, String)>,
}

impl Policy {
    /// Whether the policy lets senders deliver to the MX `host` (§4.1).
    pub fn covers(&self, host: &str) -> bool {
        self.mx.iter().any(|pattern| mx_matches(pattern, host))
    }
}

/// Parses a policy file by §3.2: `key: value` lines separated by LF or CRLF.
///
/// Blank lines are skipped, though the grammar has none. A field other than `mx` given twice
/// makes the policy invalid: the RFC does not say which one wins, so senders may differ.
pub fn parse_policy(body: &[u8]) -> Result<Policy, SyntaxError> {
    let err = |s: String| SyntaxError(format!("the MTA-STS policy {s}"));
    let text = std::str::from_utf8(body).map_err(|_| err("is not UTF-8 text".to_owned()))?;
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    let mut extensions = Vec::new();
    for line in text.split('\n') {
        // sts-policy-term = LF / CRLF; *WSP may follow each field.
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_end_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        // sts-policy-field-delim = ":" *WSP
        let Some((name, value)) = line.split_once(':') else {
            return Err(err(format!(
                "has the line \"{line}\", which is not key: value"
            )));
        };
        let value = value.trim_start_matches([' ', '\t']);
        let once = |slot: &mut Option<String>| {
            if slot.replace(value.to_owned()).is_some() {
                Err(err(format!("has {name}: more than once")))
            } else {
                Ok(())
            }
        };
        match name {
            "version" => once(&mut version)?,
            "mode" => once(&mut mode)?,
            "max_age" => once(&mut max_age)?,
            "mx" => {
                // sts-policy-mx-value = ["*."] Domain
                let pattern = value
                    .strip_suffix('.')
                    .unwrap_or(value)
                    .to_ascii_lowercase();
                let domain = pattern.strip_prefix("*.").unwrap_or(&pattern);
                if !is_domain(domain) {
                    return Err(err(format!(
                        "has mx: {value}, which is neither a host name nor *. and a domain"
                    )));
                }
                mx.push(pattern);
            }
            _ if is_field_name(name) => extensions.push((name.to_owned(), value.to_owned())),
            _ => {
                return Err(err(format!(
                    "has the line \"{line}\", which is not key: value"
                )));
            }
        }
    }
    match version.as_deref() {
        Some("STSv1") => {}
        Some(other) => {
            return Err(err(format!(
                "has version: {other}; the only version is STSv1"
            )));
        }
        None => return Err(err("has no version: STSv1 line".to_owned())),
    }
    let mode = match mode.as_deref() {
        Some("enforce") => Mode::Enforce,
        Some("testing") => Mode::Testing,
        Some("none") => Mode::None,
        Some(other) => {
            return Err(err(format!(
                "has mode: {other}, but the mode is enforce, testing or none"
            )));
        }
        None => return Err(err("has no mode: line".to_owned())),
    };
    // sts-policy-max-age-value = 1*10(DIGIT), at most 31557600.
    let max_age = match max_age {
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            match v.parse::<u64>() {
                Ok(n) if n <= u64::from(MAX_AGE_LIMIT) => n as u32,
                _ => {
                    return Err(err(format!(
                        "has max_age: {v}, over the limit of {MAX_AGE_LIMIT} seconds (about a year)"
                    )));
                }
            }
        }
        Some(v) => {
            return Err(err(format!(
                "has max_age: {v}, which is not a number of seconds"
            )));
        }
        None => return Err(err("has no max_age: line".to_owned())),
    };
    // §3.2: mx is present at least once unless the mode is none.
    if mx.is_empty() && mode != Mode::None {
        return Err(err(format!(
            "has mode: {} but no mx: line, so no MX host is allowed",
            mode.as_str()
        )));
    }
    Ok(Policy {
        mode,
        mx,
        max_age,
        extensions,
    })
}

/// RFC 5321 §4.1.2 Domain: dot-separated labels of letters, digits and hyphens, no hyphen at
/// either end of a label.
fn is_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether the MX `host` matches the policy pattern (§4.1): an exact name, or `*.` and a
/// domain, where `*` stands for exactly one leftmost label (`*.example.com` matches
/// `mx.example.com`, not `example.com` nor `a.b.example.com`). ASCII case and a root dot do
/// not matter.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    let host = host.strip_suffix('.').unwrap_or(host);
    match pattern.strip_prefix("*.") {
        Some(domain) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(domain)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// What a domain publishes for MTA-STS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No `v=STSv1` TXT record: the domain does not use MTA-STS (nothing to report).
    Missing,
    /// More than one `v=STSv1` TXT record.
    Multiple(usize),
    /// One TXT record.
    Found {
        /// What parsing the TXT record gave.
        record: Result<TxtRecord, SyntaxError>,
        /// What became of the policy file.
        policy: PolicyFetch,
    },
}

/// The policy file's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyFetch {
    /// Fetched (HTTPS, certificate valid, status 200): what parsing it gave.
    Fetched(Result<Policy, SyntaxError>),
    /// Not fetched, with the reason as a sentence (no such host, certificate invalid, status
    /// 404, a redirect, which §3.3 forbids following, …).
    Failed(String),
}

/// The findings about a domain's MTA-STS setup, given its MX hosts.
pub fn findings(domain: &str, lookup: &Lookup, mx_hosts: &[String]) -> Vec<Finding> {
    let domain = domain.trim_end_matches('.');
    let name = record_name(domain);
    let url = policy_url(domain);
    let invalid =
        |message: String, fix: String| Finding::new(FindingCode::MtaStsInvalid, message, fix);
    let (record, fetch) = match lookup {
        Lookup::Missing => return Vec::new(),
        Lookup::Multiple(count) => {
            return vec![invalid(
                format!(
                    "{name} has {count} MTA-STS records; senders then use no policy (RFC 8461 \
                     §3.1)."
                ),
                format!(
                    "Keep one TXT record starting with v=STSv1 at {name} and delete the others."
                ),
            )];
        }
        Lookup::Found { record, policy } => (record, policy),
    };
    let mut out = Vec::new();
    if let Err(error) = record {
        out.push(invalid(
            format!("At {name}, {error}; senders then use no policy (RFC 8461 §3.1)."),
            format!(
                "Publish at {name} a record of the form v=STSv1; id=20260101T000000 (1 to 32 \
                 letters and digits, changed whenever the policy changes)."
            ),
        ));
    }
    let policy = match fetch {
        PolicyFetch::Failed(why) => {
            out.push(invalid(
                format!("The MTA-STS policy of {domain} could not be fetched from {url}: {why}"),
                format!(
                    "Serve the policy at {url} over HTTPS with a valid certificate for \
                     mta-sts.{domain}, with status 200 and no redirect; or remove the record at \
                     {name} if you do not want MTA-STS."
                ),
            ));
            return out;
        }
        PolicyFetch::Fetched(Err(error)) => {
            out.push(invalid(
                format!("At {url}, {error}."),
                "Write the policy as lines of version: STSv1, mode: enforce (or testing), one mx: \
                 line per MX host, and max_age: 604800."
                    .to_owned(),
            ));
            return out;
        }
        PolicyFetch::Fetched(Ok(policy)) => policy,
    };
    if policy.mode == Mode::None {
        return out;
    }
    // §4.1: in enforce mode, a sender does not deliver to an MX the patterns do not cover; in
    // testing mode it delivers and reports the failure.
    let severity = if policy.mode == Mode::Enforce {
        Severity::Error
    } else {
        Severity::Warning
    };
    for host in mx_hosts {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if policy.covers(&host) {
            continue;
        }
        let effect = if policy.mode == Mode::Enforce {
            "senders that apply MTA-STS do not deliver to it"
        } else {
            "in enforce mode, senders that apply MTA-STS would not deliver to it"
        };
        out.push(
            Finding::new(
                FindingCode::MtaStsMxMismatch,
                format!(
                    "The MX host {host} of {domain} matches no mx: line of its MTA-STS policy \
                     (mode {}): {effect} (RFC 8461 §4.1).",
                    policy.mode.as_str()
                ),
                format!(
                    "Add the line \"mx: {host}\" to the policy at {url}, and change the id= of the \
                     record at {name} so senders fetch the policy again."
                ),
            )
            .with_severity(severity),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    fn found(policy: &str) -> Lookup {
        Lookup::Found {
            record: parse_record(b"v=STSv1; id=20160831085700Z;"),
            policy: PolicyFetch::Fetched(parse_policy(policy.as_bytes())),
        }
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect()
    }

    #[test]
    fn rfc_8461_examples() {
        // §3.1's record and §3.2's policy.
        let record = parse_record(b"v=STSv1; id=20160831085700Z;").unwrap();
        assert_eq!(record.id, "20160831085700Z");
        let policy = parse_policy(POLICY.as_bytes()).unwrap();
        assert_eq!(policy.mode, Mode::Enforce);
        assert_eq!(
            policy.mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
        assert_eq!(policy.max_age, 604800);
        // §4.1's examples.
        assert!(mx_matches("*.example.com", "mx1.example.com"));
        assert!(!mx_matches("*.example.com", "example.com"));
        assert!(!mx_matches("*.example.com", "foo.bar.example.com"));
        assert!(!mx_matches("mail.example.com", "mx.example.com"));
        assert!(mx_matches("Mail.Example.com.", "mail.example.COM"));
        assert!(!mx_matches("*.example.com", ".example.com"));
        assert_eq!(record_name("example.com."), "_mta-sts.example.com");
        assert_eq!(
            policy_url("example.com"),
            "https://mta-sts.example.com/.well-known/mta-sts.txt"
        );
    }

    #[test]
    fn txt_records() {
        assert!(is_sts(b"v=STSv1; id=1"));
        assert!(is_sts(b"v=STSv1"));
        assert!(!is_sts(b"v=stsv1; id=1"));
        assert!(!is_sts(b"v=STSv10; id=1"));
        let texts: [&[u8]; 3] = [b"v=STSv1; id=1", b"v=spf1 -all", b"v=STSv1; id=2"];
        assert_eq!(select(texts), Selection::Multiple(2));
        let r = parse_record(b"v=STSv1;id=abc;ext_1.x=val").unwrap();
        assert_eq!(r.extensions, [("ext_1.x".to_owned(), "val".to_owned())]);
        for (text, says) in [
            ("v=STSv1", "no id="),
            ("v=STSv1;", "no id="),
            ("v=STSv1; id=", "1 to 32"),
            ("v=STSv1; id=a-b", "1 to 32"),
            ("v=STSv1; id=123456789012345678901234567890123", "1 to 32"),
            ("v=STSv1; id=1; id=2", "more than once"),
            ("v=STSv1; id = 1", "valid field"),
            ("v=STSv1; id=1;; x=1", "name=value"),
            ("v=STSv1; id=1; x=a=b", "valid field"),
            ("id=1; v=STSv1", "start with v=STSv1"),
        ] {
            let error = parse_record(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn policies_and_their_bounds() {
        let lf = POLICY.replace("\r\n", "\n");
        assert_eq!(parse_policy(lf.as_bytes()), parse_policy(POLICY.as_bytes()));
        let none = parse_policy(b"version: STSv1\nmode: none\nmax_age: 0").unwrap();
        assert_eq!((none.mode, none.max_age, none.mx.len()), (Mode::None, 0, 0));
        let max = format!(
            "version: STSv1\nmode: testing\nmx: a.example\nmax_age: {MAX_AGE_LIMIT}\nx-ext: what ever\n"
        );
        let max = parse_policy(max.as_bytes()).unwrap();
        assert_eq!(max.max_age, MAX_AGE_LIMIT);
        assert_eq!(
            max.extensions,
            [("x-ext".to_owned(), "what ever".to_owned())]
        );
        for (text, says) in [
            (
                "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601",
                "over the limit",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901",
                "not a number",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1",
                "not a number",
            ),
            ("version: STSv1\nmode: enforce\nmx: a.example", "no max_age"),
            ("version: STSv1\nmode: enforce\nmax_age: 86400", "no mx"),
            (
                "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1",
                "mode: strict",
            ),
            (
                "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1",
                "STSv2",
            ),
            ("mode: enforce\nmx: a.example\nmax_age: 1", "no version"),
            (
                "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1",
                "more than once",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1",
                "mx: *.*.example",
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1",
                "mx: a_b",
            ),
            (
                "version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1",
                "key: value",
            ),
            ("version=STSv1", "key: value"),
        ] {
            let error = parse_policy(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{text:?}: {error}");
        }
    }

    #[test]
    fn findings_for_records_policies_and_mx_hosts() {
        let mx = ["mail.example.com".to_owned(), "mx2.example.net.".to_owned()];
        assert!(findings("example.com", &found(POLICY), &mx).is_empty());
        assert!(findings("example.com", &Lookup::Missing, &mx).is_empty());
        let f = findings("example.com", &Lookup::Multiple(2), &mx);
        assert_eq!(codes(&f), [("mta_sts_invalid", Severity::Error)]);

        let other = ["mx.other.example".to_owned(), "MAIL.example.com".to_owned()];
        let f = findings("example.com", &found(POLICY), &other);
        assert_eq!(codes(&f), [("mta_sts_mx_mismatch", Severity::Error)]);
        assert!(f[0].fix.contains("mx: mx.other.example"));
        let testing = POLICY.replace("enforce", "testing");
        let f = findings("example.com", &found(&testing), &other);
        assert_eq!(codes(&f), [("mta_sts_mx_mismatch", Severity::Warning)]);
        let f = findings(
            "example.com",
            &found("version: STSv1\nmode: none\nmax_age: 1\n"),
            &other,
        );
        assert!(f.is_empty());

        let f = findings("example.com", &found("version: STSv1\n"), &mx);
        assert_eq!(codes(&f), [("mta_sts_invalid", Severity::Error)]);
        let failed = Lookup::Found {
            record: parse_record(b"v=STSv1; id=!"),
            policy: PolicyFetch::Failed("the certificate is for another name.".to_owned()),
        };
        let f = findings("example.com", &failed, &mx);
        assert_eq!(codes(&f), [("mta_sts_invalid", Severity::Error); 2]);
        assert!(f[1].message.contains("another name"));
    }

    #[test]
    fn never_panics_near_valid_records() {
        for text in super::super::tags::near(b"v=STSv1; id=20160831085700Z; ext=1") {
            let _ = parse_record(&text);
        }
        for text in super::super::tags::near(POLICY.as_bytes()) {
            if let Ok(policy) = parse_policy(&text) {
                let _ = policy.covers("mail.example.com");
            }
        }
        for (pattern, host) in [("*.", "a."), ("*", ""), ("", "*."), (".", "..")] {
            assert!(
                !mx_matches(pattern, host) || pattern == host,
                "{pattern} {host}"
            );
        }
    }

    #[test]
    fn policies_serialise_for_the_report() {
        let json = serde_json::to_value(parse_policy(POLICY.as_bytes()).unwrap()).unwrap();
        assert_eq!(json["mode"], "enforce");
        assert_eq!(json["max_age"], 604800);
        assert_eq!(json["mx"][1], "*.example.net");
    }
}
