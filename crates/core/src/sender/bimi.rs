//! BIMI assertion records (draft-brand-indicators-for-message-identification): the
//! `default._bimi` TXT record that points to a brand's logo (`l=`, an SVG over HTTPS) and its
//! evidence document (`a=`, a mark certificate over HTTPS). Parsed only: no finding depends on
//! BIMI, which needs DMARC at quarantine or reject to be shown at all.
//!
//! ```
//! use mailvet_core::sender::bimi;
//!
//! let record = bimi::parse(b"v=BIMI1; l=https://example.com/logo.svg; a=").unwrap();
//! assert_eq!(record.logo.as_deref(), Some("https://example.com/logo.svg"));
//! assert_eq!(record.evidence, None);
//! ```

use std::fmt;

use serde::Serialize;

use super::tags;

/// Where the record of `selector` (`default` unless a message names another) is published.
pub fn record_name(selector: &str, domain: &str) -> String {
    format!("{selector}._bimi.{}", domain.trim_end_matches('.'))
}

/// Whether a TXT record is a BIMI record: it starts with `v=BIMI1`.
pub fn is_bimi(text: &[u8]) -> bool {
    super::txt::starts_with_version(text, "v=BIMI1")
}

/// A parsed BIMI record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `l=`: the logo's HTTPS URL; `None` when empty.
    pub logo: Option<String>,
    /// `a=`: the evidence document's HTTPS URL; `None` when empty or absent.
    pub evidence: Option<String>,
}

impl Record {
    /// Whether the domain declines to show a logo: `l=` and `a=` both empty.
    pub fn is_declination(&self) -> bool {
        self.logo.is_none() && self.evidence.is_none()
    }
}

/// Why a record does not parse, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the BIMI record {}", self.0)
    }
}

impl std::error::Error for SyntaxError {}

/// As its sentence.
impl Serialize for SyntaxError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses a BIMI record: a tag list (the DKIM form) starting with `v=BIMI1`, with `l=`
/// required (possibly empty) and `a=` optional, each an `https:` URL when not empty; other
/// tags are ignored.
pub fn parse(text: &[u8]) -> Result<Record, SyntaxError> {
    let err = |s: String| SyntaxError(s);
    let text = std::str::from_utf8(text).map_err(|_| err("is not ASCII text".to_owned()))?;
    let tags = tags::split(text, false).map_err(err)?;
    match tags.first() {
        Some(tag) if tag.name == "v" && tag.value == "BIMI1" => {}
        _ => return Err(err("does not start with v=BIMI1".to_owned())),
    }
    let url = |name: &str| -> Result<Option<Option<String>>, SyntaxError> {
        let Some(tag) = tags.iter().find(|t| t.name == name) else {
            return Ok(None);
        };
        if tag.value.is_empty() {
            return Ok(Some(None));
        }
        let https = tag.value.len() > 8 && tag.value[..8].eq_ignore_ascii_case("https://");
        if !https || tag.value.contains(tags::is_space) {
            return Err(err(format!(
                "has {name}={}, which is no https: URL",
                tag.value
            )));
        }
        Ok(Some(Some(tag.value.to_owned())))
    };
    let logo =
        url("l")?.ok_or_else(|| err("has no l= tag (the logo, or empty to decline)".to_owned()))?;
    let evidence = url("a")?.flatten();
    Ok(Record { logo, evidence })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let r = parse(b"v=BIMI1; l=https://images.example.com/brand/logo.svg; a=https://images.example.com/brand/vmc.pem").unwrap();
        assert_eq!(
            r.evidence.as_deref(),
            Some("https://images.example.com/brand/vmc.pem")
        );
        assert!(!r.is_declination());
        let r = parse(b"v=BIMI1; l=https://example.com/l.svg").unwrap();
        assert_eq!(r.evidence, None);
        assert!(parse(b"v=BIMI1; l=; a=;").unwrap().is_declination());
        assert!(parse(b"v=BIMI1; l=").unwrap().is_declination());
        for (text, says) in [
            ("v=BIMI1", "no l="),
            ("v=BIMI1; l=http://example.com/l.svg", "no https"),
            ("v=BIMI1; l=https://", "no https"),
            ("v=BIMI1; l=; a=ftp://x", "a=ftp"),
            ("l=; v=BIMI1", "start with"),
            ("v=BIMI2; l=", "start with"),
        ] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        assert!(is_bimi(b"v=BIMI1; l="));
        assert!(!is_bimi(b"v=BIMI10; l="));
        assert_eq!(
            record_name("default", "example.com"),
            "default._bimi.example.com"
        );
    }

    #[test]
    fn never_panics_near_valid_records() {
        for text in tags::near(b"v=BIMI1; l=https://example.com/l.svg; a=https://example.com/a.pem")
        {
            let _ = parse(&text);
        }
    }
}
