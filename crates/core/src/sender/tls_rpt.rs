//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record that tells senders where to
//! report failed TLS connections (§3), and the finding when there is none.
//!
//! ```
//! use mailvet_core::sender::tls_rpt;
//!
//! let record = tls_rpt::parse(b"v=TLSRPTv1;rua=mailto:reports@example.com").unwrap();
//! assert_eq!(record.rua, ["mailto:reports@example.com"]);
//! ```

use std::fmt;

use serde::Serialize;

use super::txt::{self, Selection};
use super::{Finding, FindingCode};

/// Where the record is published (§3).
pub fn record_name(domain: &str) -> String {
    format!("_smtp._tls.{}", domain.trim_end_matches('.'))
}

/// Whether a TXT record is a TLS-RPT record: it starts with `v=TLSRPTv1` (§3: `%s`, exactly),
/// then `;`, white space or the end.
pub fn is_tls_rpt(text: &[u8]) -> bool {
    txt::starts_with_version(text, "v=TLSRPTv1")
}

/// Picks the record among the TXT records at `_smtp._tls.<domain>` (§3: others are discarded;
/// if not exactly one remains, senders assume the domain does not take reports).
pub fn select<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> Selection<'a> {
    txt::select(texts, is_tls_rpt)
}

/// A parsed TLS-RPT record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `rua=`: where reports go, `mailto:` or `https:` URIs (§3).
    pub rua: Vec<String>,
    /// Other fields, as written (name, value).
    pub extensions: Vec<(String, String)>,
}

/// Why a record does not parse, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the TLS-RPT record {}", self.0)
    }
}

impl std::error::Error for SyntaxError {}

/// As its sentence.
impl Serialize for SyntaxError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses a record (one that [`is_tls_rpt`]) by §3's grammar: `v=TLSRPTv1`, then fields
/// separated by `*WSP ";" *WSP`; `rua=` required, its URIs separated by `*WSP "," *WSP`.
pub fn parse(text: &[u8]) -> Result<Record, SyntaxError> {
    let err = |s: String| SyntaxError(s);
    let text = std::str::from_utf8(text).map_err(|_| err("is not ASCII text".to_owned()))?;
    let mut fields = text.split(';').map(|f| f.trim_matches([' ', '\t']));
    if fields.next() != Some("v=TLSRPTv1") {
        return Err(err("does not start with v=TLSRPTv1".to_owned()));
    }
    let fields: Vec<&str> = fields.collect();
    let (mut rua, mut extensions) = (None, Vec::new());
    for (i, field) in fields.iter().enumerate() {
        if field.is_empty() && i + 1 == fields.len() {
            break;
        }
        let Some((name, value)) = field.split_once('=') else {
            return Err(err(format!(
                "has \"{field}\", which is not a name=value field"
            )));
        };
        if name == "rua" {
            let uris = value
                .split(',')
                .map(|uri| uri.trim_matches([' ', '\t']))
                .map(|uri| {
                    // §3: "mailto:" for email, "https:" for HTTPS POST.
                    let (scheme, rest) = uri.split_once(':').unwrap_or(("", ""));
                    let ok = (scheme.eq_ignore_ascii_case("mailto") && rest.contains('@'))
                        || (scheme.eq_ignore_ascii_case("https")
                            && rest.starts_with("//")
                            && rest.len() > 2);
                    if ok && !uri.contains(|c: char| !c.is_ascii_graphic()) {
                        Ok(uri.to_owned())
                    } else {
                        Err(err(format!(
                            "has rua= with \"{uri}\", which is no mailto: address nor https: URL"
                        )))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            if rua.replace(uris).is_some() {
                return Err(err("has rua= more than once".to_owned()));
            }
        } else {
            // tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
            // tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
            let name_ok = name.len() <= 32
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            let value_ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e));
            if !name_ok || !value_ok {
                return Err(err(format!("has \"{field}\", which is not a valid field")));
            }
            extensions.push((name.to_owned(), value.to_owned()));
        }
    }
    let rua =
        rua.ok_or_else(|| err("has no rua= field (where reports go; it is required)".to_owned()))?;
    Ok(Record { rua, extensions })
}

/// The record a domain can publish to receive reports at `tls-reports@` itself.
pub fn starter_record(domain: &str) -> String {
    format!(
        "v=TLSRPTv1; rua=mailto:tls-reports@{}",
        domain.trim_end_matches('.')
    )
}

/// The finding for a domain whose TXT records at `_smtp._tls` (the [`select`]ion, and the
/// record's parse when there is one) give senders nowhere to report: `tls_rpt_missing` when
/// there is no usable record, nothing otherwise.
pub fn findings(domain: &str, selection: Selection<'_>) -> Vec<Finding> {
    let domain = domain.trim_end_matches('.');
    let name = record_name(domain);
    let message = match selection {
        Selection::None => format!(
            "{domain} has no TLS-RPT record at {name}: senders that fail to set up TLS with its MX \
             hosts (or MTA-STS) have nowhere to tell you."
        ),
        Selection::Multiple(count) => format!(
            "{name} has {count} TLS-RPT records; senders then use none of them (RFC 8460 §3)."
        ),
        Selection::One(text) => match parse(text) {
            Ok(_) => return Vec::new(),
            Err(error) => format!(
                "At {name}, {error}; senders then treat the domain as taking no reports (RFC 8460 \
                 §3)."
            ),
        },
    };
    vec![
        Finding::new(
            FindingCode::TlsRptMissing,
            message,
            format!(
                "Publish one TLS-RPT record at {name} naming a mailbox (or https: URL) that reads \
                 the daily JSON reports."
            ),
        )
        .publish(&name, "TXT", starter_record(domain)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8460_examples() {
        // §3.1's examples.
        let r = parse(b"v=TLSRPTv1;rua=mailto:reports@example.com").unwrap();
        assert_eq!(r.rua, ["mailto:reports@example.com"]);
        let r = parse(b"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").unwrap();
        assert_eq!(r.rua, ["https://reporting.example.com/v1/tlsrpt"]);
        let r = parse(b"v=TLSRPTv1; rua=mailto:a@example.com , https://r.example.com/x; ext=1;")
            .unwrap();
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.extensions, [("ext".to_owned(), "1".to_owned())]);
        assert_eq!(record_name("example.com."), "_smtp._tls.example.com");
    }

    #[test]
    fn broken_records() {
        for (text, says) in [
            ("v=TLSRPTv1", "no rua="),
            ("v=TLSRPTv1;", "no rua="),
            ("v=TLSRPTv1; rua=http://r.example.com/", "http://"),
            ("v=TLSRPTv1; rua=mailto:nobody", "mailto:nobody"),
            ("v=TLSRPTv1; rua=", "\"\""),
            (
                "v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d",
                "more than once",
            ),
            ("v=TLSRPTv1; rua mailto:a@b", "name=value"),
            ("rua=mailto:a@b; v=TLSRPTv1", "start with"),
        ] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        assert!(is_tls_rpt(b"v=TLSRPTv1;rua=mailto:a@b"));
        assert!(!is_tls_rpt(b"v=tlsrptv1;rua=mailto:a@b"));
    }

    #[test]
    fn missing_multiple_and_broken_records_are_findings() {
        let f = findings("example.com", select(std::iter::empty()));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::TlsRptMissing);
        let publish = f[0].record.as_ref().unwrap();
        assert_eq!(
            (publish.name.as_str(), publish.value.as_str()),
            (
                "_smtp._tls.example.com",
                "v=TLSRPTv1; rua=mailto:tls-reports@example.com"
            )
        );
        assert!(parse(publish.value.as_bytes()).is_ok());
        let two: [&[u8]; 2] = [
            b"v=TLSRPTv1; rua=mailto:a@b.example",
            b"v=TLSRPTv1; rua=mailto:c@d.example",
        ];
        assert_eq!(findings("example.com", select(two)).len(), 1);
        assert_eq!(
            findings("example.com", select([&b"v=TLSRPTv1"[..]])).len(),
            1
        );
        assert!(
            findings(
                "example.com",
                select([&b"v=TLSRPTv1; rua=mailto:a@b.example"[..]])
            )
            .is_empty()
        );
    }

    #[test]
    fn never_panics_near_valid_records() {
        for text in super::super::tags::near(
            b"v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/x; x=1",
        ) {
            let _ = parse(&text);
            let _ = findings("example.com", select([&text[..]]));
        }
    }
}
