//! Macros (RFC 7208 §7): `%{letter digits r delimiters}` in domain-specs and explanations.

use std::net::IpAddr;

/// A macro string as parsed: literal text and macros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroString {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Macro {
        letter: u8,
        /// An uppercase letter: the expansion is URL-escaped (§7.3).
        escape: bool,
        /// Keep this many parts from the right.
        keep: Option<usize>,
        reverse: bool,
        delimiters: String,
    },
}

/// What macros expand to (§7.3). `p` is looked up by the caller when a string uses it.
#[derive(Clone, Debug)]
pub struct MacroValues<'a> {
    pub sender: &'a str,
    pub local: &'a str,
    pub sender_domain: &'a str,
    pub domain: &'a str,
    pub ip: IpAddr,
    pub helo: &'a str,
    /// The validated name of `ip`, or `unknown`.
    pub validated: Option<&'a str>,
    /// Seconds since the epoch, for `t` in explanations.
    pub now: u64,
}

impl MacroString {
    /// Parses `text`; `explain`: an explanation string, where `c`, `r` and `t` are allowed and
    /// spaces are text (§7.1).
    pub fn parse(text: &str, explain: bool) -> Result<MacroString, &'static str> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c != '%' {
                if !explain && !(c.is_ascii_graphic()) {
                    return Err("has a character that is not visible ASCII");
                }
                literal.push(c);
                continue;
            }
            match chars.next().map(|(_, c)| c) {
                Some('%') => literal.push('%'),
                Some('_') => literal.push(' '),
                Some('-') => literal.push_str("%20"),
                Some('{') => {
                    let mut body = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, c)) => body.push(c),
                            None => return Err("has a macro without its closing brace"),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_macro(&body, explain)?);
                }
                _ => return Err("has a % that starts no macro (%% is a percent sign)"),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(MacroString { parts })
    }

    /// The string when it has no macros: a name known without a client.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Macro { .. } => return None,
            }
        }
        Some(out)
    }

    /// Whether the string ends in a macro (then a domain-spec needs no top label, §7.1).
    pub fn ends_in_macro(&self) -> bool {
        matches!(self.parts.last(), Some(Part::Macro { .. }))
    }

    /// Whether expanding needs the validated name of the client (`%{p}`), which costs lookups.
    pub fn uses_validated_name(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Macro { letter: b'p', .. }))
    }

    /// The string with its macros expanded.
    pub fn expand(&self, values: &MacroValues<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Macro {
                    letter,
                    escape,
                    keep,
                    reverse,
                    delimiters,
                } => {
                    let value = value(*letter, values);
                    let split: Vec<&str> = if delimiters.is_empty() {
                        value.split('.').collect()
                    } else {
                        value.split(|c| delimiters.contains(c)).collect()
                    };
                    let mut split = split;
                    if *reverse {
                        split.reverse();
                    }
                    if let Some(keep) = keep {
                        let from = split.len().saturating_sub(*keep);
                        split.drain(..from);
                    }
                    let joined = split.join(".");
                    if *escape {
                        url_escape(&joined, &mut out);
                    } else {
                        out.push_str(&joined);
                    }
                }
            }
        }
        out
    }
}

fn parse_macro(body: &str, explain: bool) -> Result<Part, &'static str> {
    let mut chars = body.chars();
    let letter = chars.next().ok_or("has an empty macro")?;
    let lower = letter.to_ascii_lowercase();
    let allowed = matches!(lower, 's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'v')
        || (explain && matches!(lower, 'c' | 'r' | 't'));
    if !allowed {
        return Err("has a macro letter that is not allowed here");
    }
    let rest = chars.as_str();
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let keep = match &rest[..digits_end] {
        "" => None,
        digits => {
            // §7.1: the number of parts to keep; zero keeps nothing, which is no domain.
            let n: usize = digits.parse().map_err(|_| "has a bad macro transformer")?;
            if n == 0 {
                return Err("has a macro that keeps zero parts");
            }
            Some(n.min(128))
        }
    };
    let mut rest = &rest[digits_end..];
    let reverse = match rest.strip_prefix(['r', 'R']) {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    };
    if !rest.chars().all(|c| ".-+,/_=".contains(c)) {
        return Err("has a macro with a bad delimiter");
    }
    Ok(Part::Macro {
        letter: lower as u8,
        escape: letter.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters: rest.to_owned(),
    })
}

fn value(letter: u8, values: &MacroValues<'_>) -> String {
    match letter {
        b's' => values.sender.to_owned(),
        b'l' => values.local.to_owned(),
        b'o' => values.sender_domain.to_owned(),
        b'd' => values.domain.to_owned(),
        b'i' => dotted(values.ip),
        b'p' => values.validated.unwrap_or("unknown").to_owned(),
        b'h' => values.helo.to_owned(),
        b'v' => match values.ip {
            IpAddr::V4(_) => "in-addr".to_owned(),
            IpAddr::V6(_) => "ip6".to_owned(),
        },
        b'c' => values.ip.to_string(),
        b'r' => "unknown".to_owned(),
        b't' => values.now.to_string(),
        _ => String::new(),
    }
}

/// The client address as `i` gives it: IPv4 dotted, IPv6 as 32 dotted nibbles (§7.3).
pub fn dotted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for byte in v6.octets() {
                for nibble in [byte >> 4, byte & 0xf] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
            out
        }
    }
}

/// URL escaping of an uppercase macro: everything but the unreserved characters of RFC 3986.
fn url_escape(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of RFC 7208 §7.4.
    #[test]
    fn the_rfc_examples_expand() {
        let values = MacroValues {
            sender: "strong-bad@email.example.com",
            local: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
            validated: None,
            now: 0,
        };
        for (macro_string, want) in [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
        ] {
            let parsed = MacroString::parse(macro_string, false).unwrap();
            assert_eq!(parsed.expand(&values), want, "{macro_string}");
        }
        let v6 = MacroValues {
            ip: "2001:db8::cb01".parse().unwrap(),
            ..values
        };
        assert_eq!(
            MacroString::parse("%{ir}.%{v}._spf.%{d2}", false)
                .unwrap()
                .expand(&v6),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        assert_eq!(
            MacroString::parse("%{S}", false).unwrap().expand(&values),
            "strong-bad%40email.example.com"
        );
    }

    #[test]
    fn bad_macros_are_errors() {
        for text in ["%{x}", "%{d0}", "%{c}", "%", "%a", "%{d", "%{d2r;}"] {
            assert!(MacroString::parse(text, false).is_err(), "{text}");
        }
        assert!(MacroString::parse("%{c} %{t}", true).is_ok());
    }
}
