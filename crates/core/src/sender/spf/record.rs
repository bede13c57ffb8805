//! An SPF record's text as terms (RFC 7208 §4.6.1, §12 for the ABNF). Any syntax error anywhere
//! in a record makes the whole evaluation `permerror` (§4.6), so parsing is all or nothing.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::macros::MacroString;

/// What a directive's match yields (§4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// A mechanism (§5), with its arguments as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Mx {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Ptr(Option<MacroString>),
    Ip4(Ipv4Addr, u8),
    Ip6(Ipv6Addr, u8),
    Exists(MacroString),
}

impl Mechanism {
    /// Whether evaluating it asks DNS, and so counts against the limit of 10 (§4.6.4).
    pub fn asks_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// One term of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    Directive(Qualifier, Mechanism),
    /// `redirect=` (§6.1).
    Redirect(MacroString),
    /// `exp=` (§6.2).
    Explanation(MacroString),
    /// A modifier of another name: kept, and ignored (§6).
    Unknown(String, MacroString),
}

/// A parsed record: its terms in order, with the text of each for showing a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub terms: Vec<(String, Term)>,
}

impl Record {
    pub fn redirect(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|(_, t)| match t {
            Term::Redirect(target) => Some(target),
            _ => None,
        })
    }

    pub fn explanation(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|(_, t)| match t {
            Term::Explanation(target) => Some(target),
            _ => None,
        })
    }
}

/// Why a record does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub term: String,
    pub why: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the term \"{}\" {}", self.term, self.why)
    }
}

/// Whether a TXT record is an SPF record: `v=spf1` alone or followed by a space (§4.5; ABNF
/// strings are case-insensitive).
pub fn is_spf(text: &[u8]) -> bool {
    text.len() >= 6
        && text[..6].eq_ignore_ascii_case(b"v=spf1")
        && (text.len() == 6 || text[6] == b' ')
}

/// Parses a record (one that [`is_spf`]).
pub fn parse(text: &[u8]) -> Result<Record, SyntaxError> {
    let text = std::str::from_utf8(text).map_err(|_| SyntaxError {
        term: String::from_utf8_lossy(text).into_owned(),
        why: "is not ASCII text",
    })?;
    let rest = text.get(6..).unwrap_or("");
    let mut terms = Vec::new();
    let (mut redirects, mut explanations) = (0, 0);
    // Terms are separated by spaces only (§4.6.1: 1*SP); trailing spaces are allowed.
    for word in rest.split(' ').filter(|w| !w.is_empty()) {
        let error = |why| SyntaxError {
            term: word.to_owned(),
            why,
        };
        if !word.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(error("has a character that is not visible ASCII"));
        }
        let term = parse_term(word).map_err(error)?;
        match term {
            Term::Redirect(_) => redirects += 1,
            Term::Explanation(_) => explanations += 1,
            _ => {}
        }
        terms.push((word.to_owned(), term));
    }
    // §6: redirect and exp may each appear once.
    if redirects > 1 || explanations > 1 {
        return Err(SyntaxError {
            term: if redirects > 1 { "redirect" } else { "exp" }.to_owned(),
            why: "appears more than once",
        });
    }
    Ok(Record { terms })
}

fn parse_term(word: &str) -> Result<Term, &'static str> {
    // A modifier is `name=`, its name starting with a letter (§4.6.1); a mechanism's name is
    // followed by `:`, `/` or nothing.
    let name_end = word
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(word.len());
    if word[name_end..].starts_with('=') {
        let name = &word[..name_end];
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err("is a modifier whose name does not start with a letter");
        }
        let value = &word[name_end + 1..];
        return Ok(match name.to_ascii_lowercase().as_str() {
            "redirect" => Term::Redirect(domain_spec(value)?),
            "exp" => Term::Explanation(domain_spec(value)?),
            _ => Term::Unknown(name.to_owned(), MacroString::parse(value, false)?),
        });
    }
    let (qualifier, word) = match word.as_bytes().first() {
        Some(b'+') => (Qualifier::Pass, &word[1..]),
        Some(b'-') => (Qualifier::Fail, &word[1..]),
        Some(b'~') => (Qualifier::SoftFail, &word[1..]),
        Some(b'?') => (Qualifier::Neutral, &word[1..]),
        _ => (Qualifier::Pass, word),
    };
    let name_end = word
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(word.len());
    let (name, rest) = word.split_at(name_end);
    fn argument(rest: &str) -> Result<Option<&str>, &'static str> {
        match rest.strip_prefix(':') {
            Some(argument) => Ok(Some(argument)),
            None if rest.is_empty() || rest.starts_with('/') => Ok(None),
            None => Err("has an unknown mechanism or a bad separator"),
        }
    }
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" if rest.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(domain_spec(required(argument(rest)?)?)?),
        "exists" => Mechanism::Exists(domain_spec(required(argument(rest)?)?)?),
        "a" | "mx" => {
            let (domain, v4, v6) = match argument(rest)? {
                Some(argument) => {
                    let (domain, cidr) = split_cidr(argument);
                    let (v4, v6) = dual_cidr(cidr)?;
                    (Some(domain_spec(domain)?), v4, v6)
                }
                None => {
                    let (v4, v6) = dual_cidr(rest)?;
                    (None, v4, v6)
                }
            };
            if name.eq_ignore_ascii_case("a") {
                Mechanism::A { domain, v4, v6 }
            } else {
                Mechanism::Mx { domain, v4, v6 }
            }
        }
        "ptr" => match argument(rest)? {
            Some(argument) => Mechanism::Ptr(Some(domain_spec(argument)?)),
            None if rest.is_empty() => Mechanism::Ptr(None),
            None => return Err("has a CIDR length, which ptr does not take"),
        },
        "ip4" => {
            let argument = required(argument(rest)?)?;
            let (address, cidr) = argument
                .split_once('/')
                .map_or((argument, None), |(a, c)| (a, Some(c)));
            let address = address
                .parse::<Ipv4Addr>()
                .map_err(|_| "has no IPv4 address")?;
            Mechanism::Ip4(address, cidr.map_or(Ok(32), |c| cidr_length(c, 32))?)
        }
        "ip6" => {
            let argument = required(argument(rest)?)?;
            let (address, cidr) = argument
                .split_once('/')
                .map_or((argument, None), |(a, c)| (a, Some(c)));
            let address = address
                .parse::<Ipv6Addr>()
                .map_err(|_| "has no IPv6 address")?;
            Mechanism::Ip6(address, cidr.map_or(Ok(128), |c| cidr_length(c, 128))?)
        }
        _ => return Err("is no mechanism of SPF"),
    };
    Ok(Term::Directive(qualifier, mechanism))
}

fn required(argument: Option<&str>) -> Result<&str, &'static str> {
    argument.filter(|a| !a.is_empty()).ok_or("needs a domain")
}

/// The domain-spec of `a:` or `mx:` and the dual CIDR length at its end, if any: a domain-spec
/// may hold `/` itself (a macro literal), so only a `/digits` or `//digits` tail is a length.
fn split_cidr(argument: &str) -> (&str, &str) {
    let bytes = argument.as_bytes();
    let mut end = bytes.len();
    // At most two tails: `/v4//v6`, `/v4` or `//v6`.
    for _ in 0..2 {
        let digits = bytes[..end]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let slash = end - digits;
        if digits == 0 || slash == 0 || bytes[slash - 1] != b'/' {
            break;
        }
        end = if slash >= 2 && bytes[slash - 2] == b'/' {
            slash - 2
        } else {
            slash - 1
        };
    }
    argument.split_at(end)
}

/// `[ "/" ip4-cidr ] [ "//" ip6-cidr ]` (§5.6).
fn dual_cidr(text: &str) -> Result<(u8, u8), &'static str> {
    if text.is_empty() {
        return Ok((32, 128));
    }
    if let Some(v6) = text.strip_prefix("//") {
        return Ok((32, cidr_length(v6, 128)?));
    }
    let text = text.strip_prefix('/').ok_or("has a bad CIDR length")?;
    match text.split_once("//") {
        Some((v4, v6)) => Ok((cidr_length(v4, 32)?, cidr_length(v6, 128)?)),
        None => Ok((cidr_length(text, 32)?, 128)),
    }
}

/// A CIDR length: digits without a leading zero, at most `max` (§5.6).
fn cidr_length(text: &str, max: u8) -> Result<u8, &'static str> {
    let valid = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    let length = valid
        .then(|| text.parse::<u8>().ok())
        .flatten()
        .filter(|&n| n <= max);
    length.ok_or("has a bad CIDR length")
}

/// A domain-spec: a macro string that ends in a macro or in `.` and a top label (§7.1).
fn domain_spec(text: &str) -> Result<MacroString, &'static str> {
    let spec = MacroString::parse(text, false)?;
    if spec.ends_in_macro() {
        return Ok(spec);
    }
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    let Some((_, top)) = trimmed.rsplit_once('.') else {
        return Err("has a domain without a dot");
    };
    // toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
    let alphanumeric = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let valid = !top.is_empty()
        && if top.contains('-') {
            top.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !top.starts_with('-')
                && !top.ends_with('-')
        } else {
            alphanumeric(top) && top.bytes().any(|b| b.is_ascii_alphabetic())
        };
    if valid {
        Ok(spec)
    } else {
        Err("has a domain whose last label is not a top-level domain")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<Term> {
        parse(text.as_bytes())
            .unwrap()
            .terms
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn records_are_recognised_by_their_version() {
        assert!(is_spf(b"v=spf1"));
        assert!(is_spf(b"V=SPF1 -all"));
        assert!(!is_spf(b"v=spf10"));
        assert!(!is_spf(b"v=spf1-all"));
        assert!(!is_spf(b"spf2.0/pra"));
    }

    #[test]
    fn mechanisms_and_cidr_lengths() {
        let parsed =
            terms("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:example.org/24//64 -ptr ~all");
        assert_eq!(
            parsed[0],
            Term::Directive(
                Qualifier::Pass,
                Mechanism::Ip4("192.0.2.0".parse().unwrap(), 24)
            )
        );
        assert_eq!(
            parsed[1],
            Term::Directive(
                Qualifier::Pass,
                Mechanism::Ip6("2001:db8::".parse().unwrap(), 32)
            )
        );
        assert!(matches!(
            parsed[2],
            Term::Directive(
                Qualifier::Pass,
                Mechanism::A {
                    domain: None,
                    v4: 32,
                    v6: 128
                }
            )
        ));
        assert!(matches!(
            parsed[3],
            Term::Directive(
                Qualifier::Pass,
                Mechanism::Mx {
                    domain: Some(_),
                    v4: 24,
                    v6: 64
                }
            )
        ));
        assert!(matches!(
            parsed[4],
            Term::Directive(Qualifier::Fail, Mechanism::Ptr(None))
        ));
        assert_eq!(
            parsed[5],
            Term::Directive(Qualifier::SoftFail, Mechanism::All)
        );
    }

    #[test]
    fn syntax_errors_name_the_term() {
        for (record, term) in [
            ("v=spf1 ip4:192.0.2.0/33", "ip4:192.0.2.0/33"),
            ("v=spf1 a:example.com/024", "a:example.com/024"),
            ("v=spf1 include", "include"),
            ("v=spf1 foo", "foo"),
            ("v=spf1 a:1.2.3.4", "a:1.2.3.4"),
            ("v=spf1 redirect=a.example redirect=b.example", "redirect"),
            ("v=spf1 1x=y", "1x=y"),
            ("v=spf1 -all\tip4:1.2.3.4", "-all\tip4:1.2.3.4"),
            ("v=spf1 ptr/24", "ptr/24"),
            ("v=spf1 a:%{x}.example.com", "a:%{x}.example.com"),
        ] {
            let error = parse(record.as_bytes()).unwrap_err();
            assert_eq!(error.term, term, "{record}");
        }
    }

    #[test]
    fn a_domain_may_hold_a_slash_and_colon() {
        assert_eq!(
            split_cidr("foo:bar/baz.example.com"),
            ("foo:bar/baz.example.com", "")
        );
        assert_eq!(split_cidr("example.com/24//64"), ("example.com", "/24//64"));
        assert_eq!(split_cidr("example.com//64"), ("example.com", "//64"));
        assert_eq!(split_cidr("example.com/24"), ("example.com", "/24"));
    }

    #[test]
    fn unknown_modifiers_are_kept() {
        assert!(
            matches!(&terms("v=spf1 moo.cow-far_out=man:dog/cat ~all")[0], Term::Unknown(name, _) if name == "moo.cow-far_out")
        );
    }
}
