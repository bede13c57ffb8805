//! Email address syntax: is this string a mailbox that SMTP can carry?
//!
//! [`parse`] accepts exactly the `Mailbox` of RFC 5321 §4.1.2, as extended for UTF-8 by
//! RFC 6531 §3.3:
//!
//! ```text
//! Mailbox        = Local-part "@" ( Domain / address-literal )
//! Local-part     = Dot-string / Quoted-string
//! Dot-string     = Atom *("."  Atom)            ; atext =/ UTF8-non-ascii (RFC 6531)
//! Quoted-string  = DQUOTE *QcontentSMTP DQUOTE  ; qtextSMTP =/ UTF8-non-ascii (RFC 6531)
//! Domain         = sub-domain *("." sub-domain) ; sub-domain =/ U-label (RFC 6531)
//! address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
//!                         General-address-literal ) "]"
//! ```
//!
//! Only a bare address is accepted: the RFC 5322 `addr-spec` without comments, folding white
//! space or obsolete syntax. Anything else gets a [`SyntaxError`] with a stable code and the byte
//! offset where the problem starts; what is accepted may still carry [`Warning`]s.
//!
//! # Decisions
//!
//! - **The input is never altered silently.** `parse` does not trim: leading or trailing white
//!   space is the error `surrounding_whitespace`. A caller that wants to forgive a pasted space
//!   trims first and shows the user the trimmed address. When the normalised form differs from
//!   what was typed beyond ASCII case, the address carries `local_part_normalized` or
//!   `domain_normalized`.
//! - **Local part.** It is normalised to NFC (RFC 6532 §3.1) and put in its canonical form: a
//!   Quoted-string that could be a Dot-string loses its quotes, and only `"` and `\` stay escaped
//!   (RFC 5321 §4.1.2: "a Quoted-string that could be a Dot-string SHOULD be sent as one"). Case is
//!   kept (RFC 5321 §2.4: the local part may be case-sensitive). Although RFC 6531's grammar admits
//!   any non-ASCII character, white space, control characters, and invisible (format, except the
//!   joiners ZWJ and ZWNJ), private-use or unassigned code points are refused: no mailbox
//!   provider hands such local parts out and they serve to deceive (RFC 6530 §10).
//! - **Domain.** Labels are letters, digits and hyphens (RFC 5321 §4.1.2 `Let-dig`/`Ldh-str`;
//!   RFC 1123 §2.1 lets a label start with a digit). Non-ASCII domains, and labels that start
//!   with `xn--`, go through UTS-46 (see `domain.rs` for the configuration and why) and then the
//!   IDNA2008 rules that UTS-46 leaves out (RFC 5892 derived properties, CONTEXTO). The domain
//!   is kept in lowercase A-label form (what goes on the wire) and in Unicode form.
//!   A dotless domain (`a@mailhost`) is valid per RFC 5321 but warned about; a TLD made only of
//!   digits is invalid (RFC 3696 §2).
//! - **Special-use names.** A domain under `invalid`, `localhost`, `local`, `onion` or `arpa`
//!   (RFC 6761 §6.4 and §6.3, RFC 6762, RFC 7686, RFC 3172) can never receive mail from the
//!   Internet, so it is refused here, without DNS: `special_use_domain`. A dotless `localhost`
//!   is the name `localhost.` itself and is refused too. `test` (RFC 6761 §6.2) is not: real
//!   DNS answers NXDOMAIN for it, and the test world lives there.
//! - **Unicode data.** Code point properties, NFC and UTS-46 come from a [`Unicode`] back end:
//!   ICU4X in the default build; without the feature `idna`, the one the caller registers with
//!   `set_unicode` (the browser widget lends the browser's own), and only ASCII until then.
//!   The rules above stay here either way.
//! - **Address literals.** IPv4 and `IPv6:` literals are checked against RFC 5321 §4.1.3 (which is
//!   stricter than RFC 4291: `::` must stand for at least two groups). A General-address-literal
//!   (`[tag:content]`) is well-formed but has no registered tag we could use: it gets its own
//!   code, `unsupported_address_literal`.
//! - **Limits** are counted in octets of what would be sent: the canonical local part in UTF-8
//!   (RFC 6531 §3.3) and the domain in A-label form, because a client can always send the
//!   A-label form, even with SMTPUTF8.
//!
//! | limit | octets | source |
//! |---|---|---|
//! | local part | 64 | RFC 5321 §4.5.3.1.1 |
//! | one domain label | 63 | RFC 1035 §2.3.4, RFC 5890 §2.3.2.1 |
//! | domain | 253 | RFC 5321 §4.5.3.1.2 and RFC 1035 §2.3.4: 255 octets on the wire are 253 characters as dotted text |
//! | whole address | 254 | RFC 5321 §4.5.3.1.3: a path of 256 octets includes the angle brackets (RFC 3696 erratum 1690) |
//!
//! # Error codes
//!
//! The error's [`SyntaxError::position`] is the byte offset in the input of the offending
//! character, or the start of the part that breaks a rule about a whole part (a length limit, an
//! IDNA label, an address literal).
//!
//! | code | what is wrong |
//! |---|---|
//! | `invalid_utf8` | the input is bytes that are not UTF-8 text (a line of a file; see [`parse_bytes`]) |
//! | `empty` | the input is empty |
//! | `surrounding_whitespace` | white space before or after the address (callers may trim, see above) |
//! | `whitespace` | white space inside the address (including RFC 5322 folding white space, `a. b@c`) |
//! | `control_character` | a control character (C0, DEL, C1) |
//! | `display_name` | a name or angle brackets around the address: `Name <a@b.c>`, `<a@b.c>` |
//! | `comment` | an RFC 5322 comment: `a(c)@b.c` |
//! | `missing_at` | no `@` outside quotes |
//! | `multiple_at` | a second `@` outside quotes |
//! | `empty_local_part` | nothing before the `@` |
//! | `leading_dot` | the local part starts with a dot |
//! | `trailing_dot` | the local part ends with a dot |
//! | `consecutive_dots` | two dots in a row in the local part |
//! | `invalid_character` | an ASCII character outside `atext` in an unquoted local part (including `\` and a `"` inside a word), or a character whose NFC form is one (U+037E is `;`) |
//! | `unsafe_character` | an invisible (format), private-use or unassigned code point in the local part |
//! | `leading_combining_mark` | a combining mark (Unicode `Mn`, `Mc`, `Me`) that starts the local part, its quoted content, or a word after a dot |
//! | `unclosed_quote` | a Quoted-string without its closing quote |
//! | `invalid_quoted_pair` | a backslash in quotes not followed by printable ASCII (RFC 5321 `quoted-pairSMTP`) |
//! | `obsolete_syntax` | RFC 5322 `obs-local-part`: quoted and unquoted words joined by dots, `"a"."b"`, `a."b"` |
//! | `local_part_too_long` | the canonical local part exceeds 64 octets |
//! | `empty_domain` | nothing after the `@` |
//! | `domain_leading_dot` | the domain starts with a dot |
//! | `domain_trailing_dot` | the domain ends with a dot (the DNS root is not part of an address) |
//! | `domain_consecutive_dots` | two dots in a row in the domain |
//! | `domain_invalid_character` | an ASCII character other than a letter, digit, hyphen or dot in the domain |
//! | `domain_label_hyphen` | a domain label starts or ends with a hyphen |
//! | `domain_label_double_hyphen` | `--` in the third and fourth positions of a label that is not an A-label (RFC 5891 §4.2.3.1) |
//! | `domain_label_too_long` | a label exceeds 63 octets in A-label form |
//! | `domain_too_long` | the domain exceeds 253 octets in A-label form |
//! | `invalid_a_label` | an `xn--` label that is not a valid A-label (bad Punycode, not a valid U-label, no round trip) |
//! | `invalid_idna` | a label UTS-46 or IDNA2008 rejects (DISALLOWED code point, CONTEXTJ/CONTEXTO, Bidi, leading mark) |
//! | `numeric_tld` | the last label is all digits (RFC 3696 §2), e.g. an IP address without brackets |
//! | `special_use_domain` | the domain is or ends in a special-use name that receives no mail: `invalid`, `localhost`, `local`, `onion`, `arpa` (see above) |
//! | `invalid_address_literal` | `[...]` that is neither an IPv4 nor an `IPv6:` literal of RFC 5321 §4.1.3 |
//! | `unsupported_address_literal` | a well-formed General-address-literal (`[tag:content]`) |
//! | `address_too_long` | local part, `@` and A-label domain exceed 254 octets |
//!
//! # Warnings
//!
//! | code | meaning |
//! |---|---|
//! | `quoted_local_part` | the local part needs quotes even in canonical form; many providers refuse such addresses |
//! | `local_part_normalized` | the canonical local part differs from the input (quotes removed, escapes removed, NFC) |
//! | `needs_smtputf8` | the local part is not ASCII: only SMTPUTF8 servers (RFC 6531) can take it |
//! | `domain_normalized` | the domain differs from the input beyond ASCII case (UTS-46 mapping: non-ASCII case, full-width characters or dots; a canonical IP literal) |
//! | `dotless_domain` | the domain has a single label (`a@mailhost`): valid, but not deliverable on the Internet |
//! | `address_literal` | the domain is an IP address literal |

mod domain;
// Without `idna`, the unit tests run on it as a registered back end.
#[cfg(any(feature = "idna", test))]
mod icu4x;
mod idna2008;
mod literal;
mod local;
// Native builds only: lists are checked there. The Wasm builds parse one address at a time,
// and the widget's first load has no bytes to spare.
#[cfg(not(target_arch = "wasm32"))]
mod plain;
mod unicode;

pub use unicode::{GeneralCategory, Unicode, set_unicode};

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Maximum octets in a local part (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART_OCTETS: usize = 64;
/// Maximum octets in one domain label (RFC 1035 §2.3.4; RFC 5890 §2.3.2.1 for A-labels).
pub const MAX_LABEL_OCTETS: usize = 63;
/// Maximum octets in a domain as dotted text without the root dot: 255 octets in wire format
/// (RFC 1035 §2.3.4, RFC 5321 §4.5.3.1.2) less the first length octet and the root label.
pub const MAX_DOMAIN_OCTETS: usize = 253;
/// Maximum octets in a whole address: the 256-octet path of RFC 5321 §4.5.3.1.3 includes the
/// angle brackets (RFC 3696 erratum 1690).
pub const MAX_ADDRESS_OCTETS: usize = 254;

/// [`parse`] for the core's unit tests: without `idna`, the ICU4X back end is registered first,
/// as a caller of such a build registers one.
#[cfg(test)]
pub(crate) fn parse_in_tests(input: &str) -> Result<Address, SyntaxError> {
    #[cfg(not(feature = "idna"))]
    set_unicode(&icu4x::Icu4x);
    parse(input)
}

/// Parses bytes as [`parse`] does, for inputs that come from files and may not be text: bytes
/// that are not UTF-8 are the error `invalid_utf8`, at the first byte that is not.
pub fn parse_bytes(input: &[u8]) -> Result<Address, SyntaxError> {
    match std::str::from_utf8(input) {
        Ok(text) => parse(text),
        Err(e) => Err(SyntaxError::new(
            SyntaxErrorCode::InvalidUtf8,
            e.valid_up_to(),
        )),
    }
}

/// Parses a bare email address (see the module documentation for exactly what is accepted).
///
/// Never panics, whatever the input.
pub fn parse(input: &str) -> Result<Address, SyntaxError> {
    parse_reusing(input, String::new())
}

/// [`parse`], writing the normalised address into `buffer`'s memory (its text is replaced): a
/// list checked address by address gives back each report's address, and allocates none.
pub fn parse_reusing(input: &str, buffer: String) -> Result<Address, SyntaxError> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(at) = plain::at(input.as_bytes()) {
        return Ok(plain::address(input, at, buffer));
    }
    parse_in_full(input, buffer)
}

/// [`parse_reusing`] without the shortcut of [`plain`] (the one its tests hold it to).
fn parse_in_full(input: &str, buffer: String) -> Result<Address, SyntaxError> {
    if input.is_empty() {
        return Err(SyntaxError::new(SyntaxErrorCode::Empty, 0));
    }
    check_wrapping(input)?;
    let local = local::scan(input)?;
    let canonical_local = local.canonical()?;
    if canonical_local.len() > MAX_LOCAL_PART_OCTETS {
        return Err(SyntaxError::new(SyntaxErrorCode::LocalPartTooLong, 0));
    }
    let domain_start = local.at + 1;
    let domain = domain::parse(&input[domain_start..], domain_start)?;
    if canonical_local.len() + 1 + domain.ascii_len() > MAX_ADDRESS_OCTETS {
        return Err(SyntaxError::new(SyntaxErrorCode::AddressTooLong, 0));
    }

    let mut warnings = Vec::new();
    if canonical_local.starts_with('"') {
        warnings.push(Warning::QuotedLocalPart);
    }
    if canonical_local != local.raw {
        warnings.push(Warning::LocalPartNormalized);
    }
    if !canonical_local.is_ascii() {
        warnings.push(Warning::NeedsSmtpUtf8);
    }
    if domain.normalized {
        warnings.push(Warning::DomainNormalized);
    }
    if domain.dotless {
        warnings.push(Warning::DotlessDomain);
    }
    if domain.literal.is_some() {
        warnings.push(Warning::AddressLiteral);
    }

    let mut normalized = buffer;
    normalized.clear();
    normalized.reserve(canonical_local.len() + 1 + domain.unicode.len());
    normalized.push_str(&canonical_local);
    normalized.push('@');
    normalized.push_str(&domain.unicode);
    Ok(Address {
        normalized,
        at: canonical_local.len(),
        ascii_domain: domain.ascii,
        literal: domain.literal,
        warnings,
    })
}

/// Rejects a display name or angle brackets, then white space around the address: these wrap
/// an address rather than being part of it, so they are named before anything inside is judged.
fn check_wrapping(input: &str) -> Result<(), SyntaxError> {
    // Each end is trimmed once: this runs for every address of a list.
    let rest = input.trim_start();
    let start = input.len() - rest.len();
    let trimmed = rest.trim_end();
    if trimmed.starts_with('<') {
        return Err(SyntaxError::new(SyntaxErrorCode::DisplayName, start));
    }
    if trimmed.ends_with('>')
        && let Some(open) = trimmed.rfind('<')
    {
        return Err(SyntaxError::new(SyntaxErrorCode::DisplayName, start + open));
    }
    if start > 0 {
        return Err(SyntaxError::new(SyntaxErrorCode::SurroundingWhitespace, 0));
    }
    // Nothing was trimmed at the start, so `trimmed` is `input` without its end.
    let end = trimmed.len();
    if end < input.len() {
        return Err(SyntaxError::new(
            SyntaxErrorCode::SurroundingWhitespace,
            end,
        ));
    }
    Ok(())
}

/// A syntactically valid address in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `local@domain` with the domain in Unicode form (or the canonical address literal).
    normalized: String,
    /// Offset of the `@` in `normalized`.
    at: usize,
    /// The A-label form of the domain, when it differs from the Unicode form.
    ascii_domain: Option<String>,
    literal: Option<IpAddr>,
    warnings: Vec<Warning>,
}

impl Address {
    /// The canonical local part: NFC, case kept, quoted only when it must be.
    pub fn local_part(&self) -> &str {
        &self.normalized[..self.at]
    }

    /// The domain in Unicode form (U-labels, lowercase), or the canonical address literal with
    /// its brackets (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    pub fn domain(&self) -> &str {
        &self.normalized[self.at + 1..]
    }

    /// The domain in ASCII form (A-labels, lowercase): what DNS lookups and SMTP without
    /// SMTPUTF8 use. Same as [`Address::domain`] for ASCII domains and address literals.
    pub fn ascii_domain(&self) -> &str {
        self.ascii_domain
            .as_deref()
            .unwrap_or_else(|| self.domain())
    }

    /// The IP address when the domain is an address literal.
    pub fn address_literal(&self) -> Option<IpAddr> {
        self.literal
    }

    /// `local@domain` with the domain in Unicode form: the form to show a person.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// [`Address::normalized`], without a copy.
    pub fn into_normalized(self) -> String {
        self.normalized
    }

    /// `local@domain` with the domain in A-label form, or `None` when the local part is not ASCII
    /// (the address can then only be used over SMTPUTF8, RFC 6531).
    pub fn ascii(&self) -> Option<Cow<'_, str>> {
        if !self.local_part().is_ascii() {
            return None;
        }
        Some(match &self.ascii_domain {
            None => Cow::Borrowed(&self.normalized),
            Some(ascii) => Cow::Owned(format!("{}@{ascii}", self.local_part())),
        })
    }

    /// True when delivering needs SMTPUTF8 (RFC 6531): the local part is not ASCII.
    pub fn needs_smtputf8(&self) -> bool {
        !self.local_part().is_ascii()
    }

    /// The warnings, in the order of [`Warning`]'s variants.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// True when the address carries `warning`.
    pub fn has_warning(&self, warning: Warning) -> bool {
        self.warnings.contains(&warning)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Address", 7)?;
        s.serialize_field("normalized", self.normalized())?;
        s.serialize_field("ascii", &self.ascii())?;
        s.serialize_field("local_part", self.local_part())?;
        s.serialize_field("domain", self.domain())?;
        s.serialize_field("ascii_domain", self.ascii_domain())?;
        s.serialize_field("address_literal", &self.literal)?;
        s.serialize_field("warnings", &self.warnings)?;
        s.end()
    }
}

/// Something legal but worth telling about an address. Codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// The canonical local part is a Quoted-string (RFC 5321 §4.1.2).
    QuotedLocalPart,
    /// The canonical local part differs from the input (quotes or escapes removed, NFC).
    LocalPartNormalized,
    /// The local part is not ASCII: only SMTPUTF8 servers can take it (RFC 6531).
    #[serde(rename = "needs_smtputf8")]
    NeedsSmtpUtf8,
    /// The domain differs from the input beyond ASCII case (UTS-46 mapping, canonical IP
    /// literal).
    DomainNormalized,
    /// The domain has a single label: valid per RFC 5321, not deliverable on the Internet.
    DotlessDomain,
    /// The domain is an IP address literal (RFC 5321 §4.1.3).
    AddressLiteral,
}

impl Warning {
    /// Every warning, in order.
    pub const ALL: [Warning; 6] = [
        Warning::QuotedLocalPart,
        Warning::LocalPartNormalized,
        Warning::NeedsSmtpUtf8,
        Warning::DomainNormalized,
        Warning::DotlessDomain,
        Warning::AddressLiteral,
    ];

    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Warning::QuotedLocalPart => "quoted_local_part",
            Warning::LocalPartNormalized => "local_part_normalized",
            Warning::NeedsSmtpUtf8 => "needs_smtputf8",
            Warning::DomainNormalized => "domain_normalized",
            Warning::DotlessDomain => "dotless_domain",
            Warning::AddressLiteral => "address_literal",
        }
    }

    /// A sentence for the person who typed the address.
    pub fn message(self) -> &'static str {
        match self {
            Warning::QuotedLocalPart => {
                "The part before the @-sign uses quotation marks; many mail providers do not accept such addresses."
            }
            Warning::LocalPartNormalized => {
                "The part before the @-sign was rewritten in its standard form."
            }
            Warning::NeedsSmtpUtf8 => {
                "The part before the @-sign has non-English letters; only some mail servers can deliver to it."
            }
            Warning::DomainNormalized => {
                "The part after the @-sign was rewritten in its standard form."
            }
            Warning::DotlessDomain => {
                "The part after the @-sign has no dot, so it is not a domain on the public Internet."
            }
            Warning::AddressLiteral => {
                "The part after the @-sign is an IP address instead of a domain name; few mail servers accept that."
            }
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Why an input is not a valid address. See the module documentation for the table of codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum SyntaxErrorCode {
    InvalidUtf8,
    Empty,
    SurroundingWhitespace,
    Whitespace,
    ControlCharacter,
    DisplayName,
    Comment,
    MissingAt,
    MultipleAt,
    EmptyLocalPart,
    LeadingDot,
    TrailingDot,
    ConsecutiveDots,
    InvalidCharacter,
    UnsafeCharacter,
    LeadingCombiningMark,
    UnclosedQuote,
    InvalidQuotedPair,
    ObsoleteSyntax,
    LocalPartTooLong,
    EmptyDomain,
    DomainLeadingDot,
    DomainTrailingDot,
    DomainConsecutiveDots,
    DomainInvalidCharacter,
    DomainLabelHyphen,
    DomainLabelDoubleHyphen,
    DomainLabelTooLong,
    DomainTooLong,
    InvalidALabel,
    InvalidIdna,
    NumericTld,
    SpecialUseDomain,
    InvalidAddressLiteral,
    UnsupportedAddressLiteral,
    AddressTooLong,
}

impl SyntaxErrorCode {
    /// Every code, in order.
    pub const ALL: [SyntaxErrorCode; 36] = [
        SyntaxErrorCode::InvalidUtf8,
        SyntaxErrorCode::Empty,
        SyntaxErrorCode::SurroundingWhitespace,
        SyntaxErrorCode::Whitespace,
        SyntaxErrorCode::ControlCharacter,
        SyntaxErrorCode::DisplayName,
        SyntaxErrorCode::Comment,
        SyntaxErrorCode::MissingAt,
        SyntaxErrorCode::MultipleAt,
        SyntaxErrorCode::EmptyLocalPart,
        SyntaxErrorCode::LeadingDot,
        SyntaxErrorCode::TrailingDot,
        SyntaxErrorCode::ConsecutiveDots,
        SyntaxErrorCode::InvalidCharacter,
        SyntaxErrorCode::UnsafeCharacter,
        SyntaxErrorCode::LeadingCombiningMark,
        SyntaxErrorCode::UnclosedQuote,
        SyntaxErrorCode::InvalidQuotedPair,
        SyntaxErrorCode::ObsoleteSyntax,
        SyntaxErrorCode::LocalPartTooLong,
        SyntaxErrorCode::EmptyDomain,
        SyntaxErrorCode::DomainLeadingDot,
        SyntaxErrorCode::DomainTrailingDot,
        SyntaxErrorCode::DomainConsecutiveDots,
        SyntaxErrorCode::DomainInvalidCharacter,
        SyntaxErrorCode::DomainLabelHyphen,
        SyntaxErrorCode::DomainLabelDoubleHyphen,
        SyntaxErrorCode::DomainLabelTooLong,
        SyntaxErrorCode::DomainTooLong,
        SyntaxErrorCode::InvalidALabel,
        SyntaxErrorCode::InvalidIdna,
        SyntaxErrorCode::NumericTld,
        SyntaxErrorCode::SpecialUseDomain,
        SyntaxErrorCode::InvalidAddressLiteral,
        SyntaxErrorCode::UnsupportedAddressLiteral,
        SyntaxErrorCode::AddressTooLong,
    ];

    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        use SyntaxErrorCode as C;
        match self {
            C::InvalidUtf8 => "invalid_utf8",
            C::Empty => "empty",
            C::SurroundingWhitespace => "surrounding_whitespace",
            C::Whitespace => "whitespace",
            C::ControlCharacter => "control_character",
            C::DisplayName => "display_name",
            C::Comment => "comment",
            C::MissingAt => "missing_at",
            C::MultipleAt => "multiple_at",
            C::EmptyLocalPart => "empty_local_part",
            C::LeadingDot => "leading_dot",
            C::TrailingDot => "trailing_dot",
            C::ConsecutiveDots => "consecutive_dots",
            C::InvalidCharacter => "invalid_character",
            C::UnsafeCharacter => "unsafe_character",
            C::LeadingCombiningMark => "leading_combining_mark",
            C::UnclosedQuote => "unclosed_quote",
            C::InvalidQuotedPair => "invalid_quoted_pair",
            C::ObsoleteSyntax => "obsolete_syntax",
            C::LocalPartTooLong => "local_part_too_long",
            C::EmptyDomain => "empty_domain",
            C::DomainLeadingDot => "domain_leading_dot",
            C::DomainTrailingDot => "domain_trailing_dot",
            C::DomainConsecutiveDots => "domain_consecutive_dots",
            C::DomainInvalidCharacter => "domain_invalid_character",
            C::DomainLabelHyphen => "domain_label_hyphen",
            C::DomainLabelDoubleHyphen => "domain_label_double_hyphen",
            C::DomainLabelTooLong => "domain_label_too_long",
            C::DomainTooLong => "domain_too_long",
            C::InvalidALabel => "invalid_a_label",
            C::InvalidIdna => "invalid_idna",
            C::NumericTld => "numeric_tld",
            C::SpecialUseDomain => "special_use_domain",
            C::InvalidAddressLiteral => "invalid_address_literal",
            C::UnsupportedAddressLiteral => "unsupported_address_literal",
            C::AddressTooLong => "address_too_long",
        }
    }

    /// A sentence for the person who typed the address.
    pub fn message(self) -> &'static str {
        use SyntaxErrorCode as C;
        match self {
            C::InvalidUtf8 => "This text is not UTF-8, so it cannot be an email address.",
            C::Empty => "Please enter an email address.",
            C::SurroundingWhitespace => "There is a space before or after the email address.",
            C::Whitespace => "An email address cannot contain spaces or line breaks.",
            C::ControlCharacter => "The email address contains an invisible control character.",
            C::DisplayName => {
                "Enter only the email address, without a name or angle brackets (<>) around it."
            }
            C::Comment => "The email address contains a comment in parentheses; remove it.",
            C::MissingAt => "An email address needs an @-sign.",
            C::MultipleAt => "An email address has only one @-sign.",
            C::EmptyLocalPart => "There is nothing before the @-sign.",
            C::LeadingDot => "The part before the @-sign cannot start with a dot.",
            C::TrailingDot => "The part before the @-sign cannot end with a dot.",
            C::ConsecutiveDots => "The part before the @-sign cannot have two dots in a row.",
            C::InvalidCharacter => {
                "The part before the @-sign contains a character that is not allowed there."
            }
            C::UnsafeCharacter => {
                "The part before the @-sign contains an invisible or unknown Unicode character."
            }
            C::LeadingCombiningMark => {
                "In the part before the @-sign, an accent or other combining mark must follow a letter; it cannot come first or right after a dot."
            }
            C::UnclosedQuote => "A quotation mark before the @-sign is never closed.",
            C::InvalidQuotedPair => {
                "Inside quotation marks, a backslash must be followed by a printable ASCII character."
            }
            C::ObsoleteSyntax => {
                "The part before the @-sign joins quoted and unquoted words with dots, an old form mail servers no longer accept."
            }
            C::LocalPartTooLong => "The part before the @-sign is longer than 64 bytes.",
            C::EmptyDomain => "There is nothing after the @-sign.",
            C::DomainLeadingDot => "The part after the @-sign cannot start with a dot.",
            C::DomainTrailingDot => "The part after the @-sign cannot end with a dot.",
            C::DomainConsecutiveDots => "The part after the @-sign cannot have two dots in a row.",
            C::DomainInvalidCharacter => {
                "The part after the @-sign may only contain letters, digits, hyphens and dots."
            }
            C::DomainLabelHyphen => {
                "In the part after the @-sign, a hyphen cannot come right before or after a dot, or at the start or end."
            }
            C::DomainLabelDoubleHyphen => {
                "In the part after the @-sign, two hyphens as third and fourth characters are reserved."
            }
            C::DomainLabelTooLong => {
                "The part after the @-sign has a section between dots longer than 63 bytes."
            }
            C::DomainTooLong => "The part after the @-sign is longer than 253 bytes.",
            C::InvalidALabel => {
                "The part after the @-sign has an invalid internationalised section (starting with xn--)."
            }
            C::InvalidIdna => {
                "The part after the @-sign contains characters that are not allowed in domain names."
            }
            C::NumericTld => {
                "The part after the @-sign cannot end with a number; write an IP address in square brackets."
            }
            C::SpecialUseDomain => {
                "The part after the @-sign is a name reserved for local networks or special uses (such as localhost, .local or .invalid), which can never receive email."
            }
            C::InvalidAddressLiteral => {
                "The part in square brackets after the @-sign is not a valid IP address."
            }
            C::UnsupportedAddressLiteral => {
                "The part in square brackets after the @-sign is not an IP address; only IPv4 and IPv6 addresses are supported there."
            }
            C::AddressTooLong => "The email address is longer than 254 bytes.",
        }
    }
}

impl fmt::Display for SyntaxErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why an input is not a valid address, and where (a byte offset into the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    kind: SyntaxErrorCode,
    position: usize,
}

impl SyntaxError {
    fn new(kind: SyntaxErrorCode, position: usize) -> Self {
        SyntaxError { kind, position }
    }

    /// What is wrong.
    pub fn kind(&self) -> SyntaxErrorCode {
        self.kind
    }

    /// The stable snake_case code of [`SyntaxError::kind`].
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Byte offset into the input where the problem is (always a char boundary, at most the
    /// input's length).
    pub fn position(&self) -> usize {
        self.position
    }

    /// A sentence for the person who typed the address.
    pub fn message(&self) -> &'static str {
        self.kind.message()
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for SyntaxError {}

impl Serialize for SyntaxError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("SyntaxError", 3)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("position", &self.position)?;
        s.serialize_field("message", self.message())?;
        s.end()
    }
}

/// Whether a character is a control character (Unicode `Cc`: C0, DEL, C1) that is not white space.
fn is_control(c: char) -> bool {
    c.is_control() && !c.is_whitespace()
}

#[cfg(test)]
mod tests;
