//! The domain: `Domain / address-literal` of RFC 5321 §4.1.2, with U-labels (RFC 6531 §3.3).
//!
//! All-ASCII domains without `xn--` labels (nearly every real address) are checked and
//! lowercased here in one pass. The rest goes through UTS-46 (run by the [`super::unicode`] back
//! end: the `idna` crate in the default build), configured deliberately:
//!
//! - Nontransitional processing (the only one `idna` 1.x offers): `ß`, `ς`, ZWJ and ZWNJ are
//!   kept, as IDNA2008 (RFC 5892) does, instead of being mapped away as in IDNA2003.
//! - `UseSTD3ASCIIRules`: only letters, digits and hyphens in labels, as RFC 5321 §4.1.2
//!   `Ldh-str` requires; the WHATWG URL deny list would let `_` and others in.
//! - `CheckHyphens`: no hyphen first or last, nor in both the third and fourth positions
//!   (RFC 5891 §4.2.3.1; RFC 5890 §2.3.1 reserves `??--` labels).
//! - These two are checked here on the result ([`is_std3_label`]), whatever the back end did.
//! - `VerifyDnsLength` is done here rather than by the back end, on the A-label form, so that
//!   each limit gets its own error code (RFC 1035 §2.3.4).
//! - `CheckBidi` and `CheckJoiners` (RFC 5893, RFC 5892 Appendix A.1, A.2) are the back end's.
//!
//! UTS-46 lets through symbols that IDNA2008 disallows (emoji, `♥`), because IDNA2003 had them,
//! and does not check CONTEXTO rules; RFC 6531 asks for IDNA2008 U-labels, so
//! [`super::idna2008`] applies those rules to the mapped labels. Input `xn--` labels must also
//! survive the round trip A-label → U-label → A-label (RFC 5891 §5.4).

use std::borrow::Cow;
use std::net::IpAddr;

use super::local::ascii_error;
use super::unicode::backend;
use super::{
    MAX_DOMAIN_OCTETS, MAX_LABEL_OCTETS, SyntaxError, SyntaxErrorCode as C, idna2008, is_control,
    literal,
};

/// A valid domain or address literal.
#[derive(Debug)]
pub(super) struct Domain<'a> {
    /// The Unicode form, lowercase; or the canonical address literal in brackets.
    pub(super) unicode: Cow<'a, str>,
    /// The A-label form when it differs from `unicode`.
    pub(super) ascii: Option<String>,
    pub(super) literal: Option<IpAddr>,
    /// The domain as typed differs from both forms beyond ASCII case.
    pub(super) normalized: bool,
    pub(super) dotless: bool,
}

impl Domain<'_> {
    /// Length in octets of the A-label form.
    pub(super) fn ascii_len(&self) -> usize {
        self.ascii.as_ref().map_or(self.unicode.len(), String::len)
    }
}

/// Parses the domain part `input`, which starts at byte `offset` of the whole address.
pub(super) fn parse(input: &str, offset: usize) -> Result<Domain<'_>, SyntaxError> {
    if input.is_empty() {
        return Err(SyntaxError::new(C::EmptyDomain, offset));
    }
    if input.starts_with('[') {
        let (ip, text) = literal::parse(input, offset)?;
        return Ok(Domain {
            normalized: !text.eq_ignore_ascii_case(input),
            unicode: Cow::Owned(text),
            ascii: None,
            literal: Some(ip),
            dotless: false,
        });
    }
    let scan = scan(input, offset)?;
    if !scan.needs_idna {
        return ascii_domain(input, offset, &scan);
    }
    idna_domain(input, offset)
}

/// What one pass over the domain found.
#[derive(Debug)]
struct Scan {
    /// A label is not ASCII or starts with `xn--`.
    needs_idna: bool,
    has_upper: bool,
    labels: usize,
    last_label_start: usize,
}

/// The UTS-46 full stops (UTS #46 §2.3): U+3002 IDEOGRAPHIC FULL STOP, U+FF0E FULLWIDTH FULL
/// STOP, U+FF61 HALFWIDTH IDEOGRAPHIC FULL STOP separate labels like `.`.
fn is_unicode_dot(c: char) -> bool {
    matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Checks the structure of the domain (dots, hyphens, characters, ASCII label lengths) and
/// finds out whether it needs IDNA processing. Errors here have exact positions.
fn scan(input: &str, offset: usize) -> Result<Scan, SyntaxError> {
    let bytes = input.as_bytes();
    let mut scan = Scan {
        needs_idna: false,
        has_upper: false,
        labels: 0,
        last_label_start: 0,
    };
    let mut label_start = 0;
    let mut label_ascii = true;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => {}
            b'A'..=b'Z' => scan.has_upper = true,
            b'-' if i == label_start => {
                return Err(SyntaxError::new(C::DomainLabelHyphen, offset + i));
            }
            b'-' => {}
            b'.' => {
                end_label(input, offset, label_start, i, label_ascii, &mut scan)?;
                label_start = i + 1;
                label_ascii = true;
            }
            0x80.. => {
                let Some(c) = input[i..].chars().next() else {
                    return Err(SyntaxError::new(C::InvalidIdna, offset + i));
                };
                let len = c.len_utf8();
                if is_unicode_dot(c) {
                    end_label(input, offset, label_start, i, label_ascii, &mut scan)?;
                    scan.needs_idna = true;
                    label_start = i + len;
                    label_ascii = true;
                } else {
                    check_non_ascii(c, offset + i)?;
                    label_ascii = false;
                }
                i += len;
                continue;
            }
            b'@' => return Err(SyntaxError::new(C::MultipleAt, offset + i)),
            b'(' | b')' => return Err(SyntaxError::new(C::Comment, offset + i)),
            _ => return Err(ascii_error(b, offset + i, C::DomainInvalidCharacter)),
        }
        i += 1;
    }
    if label_start == input.len() {
        let dot = input.char_indices().next_back().map_or(0, |(at, _)| at);
        return Err(SyntaxError::new(C::DomainTrailingDot, offset + dot));
    }
    end_label(
        input,
        offset,
        label_start,
        input.len(),
        label_ascii,
        &mut scan,
    )?;
    Ok(scan)
}

/// Checks the label `input[start..end]`, just ended by a dot at `end` or by the end of input.
fn end_label(
    input: &str,
    offset: usize,
    start: usize,
    end: usize,
    ascii: bool,
    scan: &mut Scan,
) -> Result<(), SyntaxError> {
    if start == end {
        let code = if start == 0 {
            C::DomainLeadingDot
        } else {
            C::DomainConsecutiveDots
        };
        return Err(SyntaxError::new(code, offset + end));
    }
    let label = &input[start..end];
    scan.labels += 1;
    scan.last_label_start = start;
    // A would-be A-label: UTS-46 and the round trip judge it as a whole (`invalid_a_label`).
    if label
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    {
        scan.needs_idna = true;
        return Ok(());
    }
    if label.ends_with('-') {
        return Err(SyntaxError::new(C::DomainLabelHyphen, offset + end - 1));
    }
    // RFC 5891 §4.2.3.1: `--` in the third and fourth positions only in A-labels (RFC 5890
    // §2.3.1 reserves all other `??--` labels). Positions count characters, not bytes: in an
    // ASCII label, nearly every one, they are the same.
    let third = if ascii {
        (label.as_bytes().get(2..4) == Some(b"--")).then_some(2)
    } else {
        let mut chars = label.char_indices().skip(2);
        match (chars.next(), chars.next()) {
            (Some((third, '-')), Some((_, '-'))) => Some(third),
            _ => None,
        }
    };
    if let Some(third) = third {
        return Err(SyntaxError::new(
            C::DomainLabelDoubleHyphen,
            offset + start + third,
        ));
    }
    if !ascii {
        scan.needs_idna = true;
    } else if label.len() > MAX_LABEL_OCTETS {
        return Err(SyntaxError::new(C::DomainLabelTooLong, offset + start));
    }
    Ok(())
}

/// Checks a non-ASCII character of the domain before UTS-46 could hide it: white space and
/// control characters get their codes; default-ignorable code points (other than the joiners
/// that CONTEXTJ governs) are DISALLOWED in IDNA2008 (RFC 5892 §2.3 `IgnorableProperties`) even
/// though UTS-46 would silently drop them.
fn check_non_ascii(c: char, position: usize) -> Result<(), SyntaxError> {
    if c.is_whitespace() {
        return Err(SyntaxError::new(C::Whitespace, position));
    }
    if is_control(c) {
        return Err(SyntaxError::new(C::ControlCharacter, position));
    }
    if idna2008::is_ignorable(c) && !matches!(c, '\u{200C}' | '\u{200D}') {
        return Err(SyntaxError::new(C::InvalidIdna, position));
    }
    Ok(())
}

/// Finishes an all-ASCII domain without A-labels: no IDNA processing needed.
fn ascii_domain<'a>(input: &'a str, offset: usize, scan: &Scan) -> Result<Domain<'a>, SyntaxError> {
    if input.len() > MAX_DOMAIN_OCTETS {
        return Err(SyntaxError::new(C::DomainTooLong, offset));
    }
    let tld = &input[scan.last_label_start..];
    if is_numeric(tld.as_bytes()) {
        return Err(SyntaxError::new(
            C::NumericTld,
            offset + scan.last_label_start,
        ));
    }
    if is_special_use(tld.as_bytes()) {
        return Err(SyntaxError::new(
            C::SpecialUseDomain,
            offset + scan.last_label_start,
        ));
    }
    Ok(Domain {
        unicode: if scan.has_upper {
            Cow::Owned(input.to_ascii_lowercase())
        } else {
            Cow::Borrowed(input)
        },
        ascii: None,
        literal: None,
        normalized: false,
        dotless: scan.labels == 1,
    })
}

/// RFC 3696 §2: a top-level domain is never all-numeric.
pub(super) fn is_numeric(tld: &[u8]) -> bool {
    tld.iter().all(u8::is_ascii_digit)
}

/// Top-level names set aside for uses other than Internet mail: no address under them can ever
/// receive a message, whatever DNS says, so the syntax check decides them.
///
/// - `invalid`: RFC 6761 §6.4, guaranteed never to exist.
/// - `localhost`: RFC 6761 §6.3, the name `localhost.` and every name under it are this host.
///   A dotless `localhost` is that same name (the domain of an address is never relative), so
///   it is special-use too.
/// - `local`: RFC 6762 §3, link-local names resolved by Multicast DNS, never by DNS.
/// - `onion`: RFC 7686 §2, Tor onion services, unreachable by DNS and SMTP over the Internet.
/// - `arpa`: RFC 3172 §2, the infrastructure domain (reverse mapping, `home.arpa` of RFC 8375
///   for home networks), not names of mail hosts.
///
/// `test` (RFC 6761 §6.2) is left alone: the test world's domains live there, and real DNS
/// answers NXDOMAIN for it anyway.
const SPECIAL_USE_TLDS: [&str; 5] = ["arpa", "invalid", "local", "localhost", "onion"];

pub(super) fn is_special_use(tld: &[u8]) -> bool {
    SPECIAL_USE_TLDS
        .iter()
        .any(|special| special.as_bytes().eq_ignore_ascii_case(tld))
}

/// Runs UTS-46 (configured as the module docs say) on `domain`: the Unicode and A-label forms.
///
/// The rules a back end may leave out are checked here on its result: STD3 and hyphens
/// ([`is_std3_label`]) and the checks of A-labels ([`is_valid_decoded`]).
fn to_unicode_and_ascii(domain: &str) -> Option<(String, String)> {
    let (unicode, ascii) = backend().uts46(domain)?;
    unicode
        .split('.')
        .zip(ascii.split('.'))
        .all(|(u_label, a_label)| {
            is_std3_label(u_label) && (!a_label.starts_with("xn--") || is_valid_decoded(u_label))
        })
        .then_some((unicode, ascii))
}

/// UTS #46 §4 step 4 for the Unicode form of an A-label: not empty and not all ASCII (revision
/// 31), and valid (§4.1): UTS-46 processing leaves it as it is. Browsers' URL parsers do not
/// check all of this yet; for the `idna` crate it is already so.
fn is_valid_decoded(u_label: &str) -> bool {
    !u_label.is_ascii()
        && backend()
            .uts46(u_label)
            .is_some_and(|(again, _)| again == u_label)
}

/// UTS-46 `UseSTD3ASCIIRules` (the ASCII in a label is letters, digits and hyphens; UTS #46
/// §4 step 1 maps letters to lowercase) and `CheckHyphens` (UTS #46 §4.1 criteria 2 and 3) for
/// one label of the Unicode form.
fn is_std3_label(label: &str) -> bool {
    let mut chars = label.chars().skip(2);
    label
        .chars()
        .all(|c| !c.is_ascii() || matches!(c, 'a'..='z' | '0'..='9' | '-'))
        && !label.starts_with('-')
        && !label.ends_with('-')
        && (chars.next(), chars.next()) != (Some('-'), Some('-'))
}

/// What [`idna_domain`] works out for a domain, its error's position counted from the domain's
/// start: the Unicode form, the A-label form when it differs, and the `normalized` and `dotless`
/// flags.
#[cfg(feature = "idna")]
type IdnaDone = Result<(String, Option<String>, bool, bool), SyntaxError>;

/// How many domains [`IDNA_DONE`] keeps before it forgets them all.
#[cfg(feature = "idna")]
const IDNA_MEMO: usize = 4096;

#[cfg(feature = "idna")]
std::thread_local! {
    /// The internationalised domains this thread has worked out, by the domain as typed. UTS-46
    /// processing and the IDNA2008 checks of one domain cost some 9,000 instructions, more than
    /// the rest of an address's check, and a list has the same few such domains again and again.
    /// The answer depends on the text and the built-in Unicode back end alone, so keeping it
    /// changes no answer (a test checks). Only with the feature `idna`: the widget, built
    /// without it, checks one address at a time and counts its bytes, and its registered back
    /// end may come after a first answer.
    static IDNA_DONE: std::cell::RefCell<std::collections::HashMap<Box<str>, IdnaDone>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Finishes a domain that has non-ASCII or `xn--` labels: [`idna_domain_from`], once per domain
/// and thread.
#[cfg(feature = "idna")]
fn idna_domain(input: &str, offset: usize) -> Result<Domain<'_>, SyntaxError> {
    let done = IDNA_DONE.with_borrow(|done| done.get(input).cloned());
    let done = done.unwrap_or_else(|| {
        let done = idna_domain_from(input, 0).map(|d| {
            let unicode = d.unicode.into_owned();
            (unicode, d.ascii, d.normalized, d.dotless)
        });
        IDNA_DONE.with_borrow_mut(|kept| {
            if kept.len() >= IDNA_MEMO {
                kept.clear();
            }
            kept.insert(input.into(), done.clone());
        });
        done
    });
    match done {
        Ok((unicode, ascii, normalized, dotless)) => Ok(Domain {
            unicode: Cow::Owned(unicode),
            ascii,
            literal: None,
            normalized,
            dotless,
        }),
        Err(e) => Err(SyntaxError::new(e.kind(), offset + e.position())),
    }
}

/// Finishes a domain that has non-ASCII or `xn--` labels.
#[cfg(not(feature = "idna"))]
fn idna_domain(input: &str, offset: usize) -> Result<Domain<'_>, SyntaxError> {
    idna_domain_from(input, offset)
}

/// Works out a domain that has non-ASCII or `xn--` labels, which starts at byte `offset` of the
/// address.
fn idna_domain_from(input: &str, offset: usize) -> Result<Domain<'_>, SyntaxError> {
    let spans = label_spans(input);
    let Some((unicode, ascii)) = to_unicode_and_ascii(input) else {
        return Err(locate_idna_error(input, offset, &spans));
    };
    // With STD3 rules nothing maps to a full stop, so labels correspond one to one; should
    // they not, errors point at the start of the domain.
    let aligned = spans.len() == unicode.split('.').count();
    let label_position = |index: usize| {
        offset
            + spans
                .get(index)
                .filter(|_| aligned)
                .map_or(0, |&(start, _)| start)
    };
    let mut labels = 0;
    let mut last_label_start = 0;
    for (index, (u_label, a_label)) in unicode.split('.').zip(ascii.split('.')).enumerate() {
        let position = label_position(index);
        if a_label.len() > MAX_LABEL_OCTETS {
            return Err(SyntaxError::new(C::DomainLabelTooLong, position));
        }
        let is_a_label = a_label.starts_with("xn--");
        if !u_label.is_ascii() && !idna2008::is_valid_u_label(u_label) {
            let code = if input_is_a_label(input, &spans, index) {
                C::InvalidALabel
            } else {
                C::InvalidIdna
            };
            return Err(SyntaxError::new(code, position));
        }
        if is_a_label && !round_trips(u_label, a_label) {
            return Err(SyntaxError::new(C::InvalidALabel, position));
        }
        labels += 1;
        last_label_start = position;
    }
    if ascii.len() > MAX_DOMAIN_OCTETS {
        return Err(SyntaxError::new(C::DomainTooLong, offset));
    }
    let tld = ascii.rsplit('.').next().unwrap_or_default();
    if is_numeric(tld.as_bytes()) {
        return Err(SyntaxError::new(C::NumericTld, last_label_start));
    }
    if is_special_use(tld.as_bytes()) {
        return Err(SyntaxError::new(C::SpecialUseDomain, last_label_start));
    }
    // Without Unicode case tables (about 7 KB gzipped in the widget) a change of non-ASCII case
    // cannot be told from other UTS-46 mappings, so it counts as normalisation too.
    let normalized = !input.eq_ignore_ascii_case(&unicode) && !input.eq_ignore_ascii_case(&ascii);
    Ok(Domain {
        ascii: (ascii != unicode).then_some(ascii),
        unicode: Cow::Owned(unicode),
        literal: None,
        normalized,
        dotless: labels == 1,
    })
}

/// RFC 5891 §5.4: an A-label must be the encoding of its U-label, compared without case.
fn round_trips(u_label: &str, a_label: &str) -> bool {
    backend().punycode_encode(u_label).is_some_and(|encoded| {
        a_label
            .get(4..)
            .is_some_and(|p| p.eq_ignore_ascii_case(&encoded))
    })
}

/// Byte ranges of the labels of `input`, split at every UTS-46 full stop.
fn label_spans(input: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, c) in input.char_indices() {
        if c == '.' || is_unicode_dot(c) {
            spans.push((start, i));
            start = i + c.len_utf8();
        }
    }
    spans.push((start, input.len()));
    spans
}

/// Whether the input label at `index` was written as an A-label.
fn input_is_a_label(input: &str, spans: &[(usize, usize)], index: usize) -> bool {
    spans.get(index).is_some_and(|&(start, end)| {
        input
            .get(start..end)
            .and_then(|label| label.get(..4))
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
    })
}

/// Finds the first label that UTS-46 rejects on its own; when each passes alone, the domain as a
/// whole breaks a rule across labels (the Bidi rule of RFC 5893 §2).
fn locate_idna_error(input: &str, offset: usize, spans: &[(usize, usize)]) -> SyntaxError {
    for (index, &(start, end)) in spans.iter().enumerate() {
        let label = &input[start..end];
        if to_unicode_and_ascii(label).is_none() {
            let code = if input_is_a_label(input, spans, index) {
                C::InvalidALabel
            } else {
                C::InvalidIdna
            };
            return SyntaxError::new(code, offset + start);
        }
    }
    SyntaxError::new(C::InvalidIdna, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo of [`idna_domain`] gives what working the domain out again gives, at any offset:
    /// the same forms and flags, and errors at the same place of the address.
    #[test]
    fn a_kept_idna_domain_is_the_same_answer() {
        let domains = [
            "bücher.de",
            "BÜCHER.de",
            "例え.テスト",
            "xn--bcher-kva.de",
            "xn--bcher-xxx.de",
            "bü\u{0300}cher.de",
            "-bücher.de",
            "bücher",
            "ß.de",
            "a\u{3002}bücher\u{FF0E}de",
        ];
        for round in 0..2 {
            for domain in domains {
                for offset in [0, 1, 7, 40] {
                    let fresh = idna_domain_from(domain, offset)
                        .map(|d| (d.unicode.into_owned(), d.ascii, d.normalized, d.dotless));
                    let kept = idna_domain(domain, offset)
                        .map(|d| (d.unicode.into_owned(), d.ascii, d.normalized, d.dotless));
                    assert_eq!(kept, fresh, "{domain:?} at {offset}, round {round}");
                }
            }
        }
    }
}
