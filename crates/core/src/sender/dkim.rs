//! DKIM key records (RFC 6376 §3.6.1) at `<selector>._domainkey.<domain>` (§3.6.2.1): the
//! tags, the public key read from `p=` (its size for RSA, RFC 8301 §3.2; Ed25519, RFC 8463),
//! revoked and testing keys, and the findings.
//!
//! A domain's selectors cannot be listed through DNS, so a check without a selector tries
//! [`COMMON_SELECTORS`].
//!
//! ```
//! use mailvet_core::sender::dkim::{self, Key};
//!
//! // RFC 8463 Appendix A.2.
//! let record = dkim::parse(b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
//! assert_eq!(record.key, Key::Ed25519);
//! assert_eq!(dkim::record_name("brisbane", "football.example.com"), "brisbane._domainkey.football.example.com");
//! ```

use std::fmt;

use serde::Serialize;

use super::tags::{self, is_space};
use super::{Finding, FindingCode, Severity};

/// Selectors to try when none is given: the defaults of widely used mail services and signing
/// software, as each documents its setup.
pub const COMMON_SELECTORS: &[&str] = &[
    "google",    // Google Workspace
    "selector1", // Microsoft 365 (two selectors, rotated)
    "selector2",
    "s1", // SendGrid (two selectors)
    "s2",
    "k1", // Mailchimp: k1 in older setups, k2 and k3 now
    "k2",
    "k3",
    "mandrill",    // Mailchimp Transactional (Mandrill)
    "protonmail",  // Proton Mail custom domains (three selectors)
    "protonmail2", //
    "protonmail3", //
    "fm1",         // Fastmail custom domains (three selectors)
    "fm2",
    "fm3",
    "sig1",    // iCloud+ custom domains
    "default", // opendkim-genkey's default selector, and cPanel's
    "dkim",    // generic names that self-hosted setups pick
    "mail",
    "smtp",
];

/// The key types a receiver knows (§3.6.1 `k=`; RFC 8463 adds `ed25519`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// `k=rsa`, the default (RFC 6376 §3.6.1).
    Rsa,
    /// `k=ed25519` (RFC 8463).
    Ed25519,
}

/// The public key of `p=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Key {
    /// An RSA key.
    Rsa {
        /// The size of its modulus.
        bits: u32,
    },
    /// An Ed25519 key (RFC 8463 §4.2: the bare 32 bytes).
    Ed25519,
    /// `p=` empty: the key has been revoked (§3.6.1).
    Revoked,
}

/// A parsed key record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `h=`: the hash algorithms the key may be used with (`None`: any).
    pub hashes: Option<Vec<String>>,
    /// `k=` (default `rsa`).
    pub key_type: KeyType,
    /// `n=`: notes for people, as written.
    pub notes: Option<String>,
    /// `p=`, decoded.
    pub key: Key,
    /// `s=`: the services the key is for (default `*`, all).
    pub services: Vec<String>,
    /// `t=y`: the domain is testing DKIM; receivers must not treat failures differently.
    pub testing: bool,
    /// `t=s`: the `i=` of signatures must be the `d=` domain itself, no subdomain.
    pub strict: bool,
}

impl Record {
    /// Whether `s=` allows the key for email (`*` or `email`, §3.6.1).
    pub fn is_for_email(&self) -> bool {
        self.services.iter().any(|s| s == "*" || s == "email")
    }
}

/// Why a key record does not parse, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the DKIM key record {}", self.0)
    }
}

impl std::error::Error for SyntaxError {}

/// As its sentence.
impl Serialize for SyntaxError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where a selector's key record is published (§3.6.2.1).
pub fn record_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{}", domain.trim_end_matches('.'))
}

/// Parses a key record (the TXT record's strings joined, §3.6.2.2).
pub fn parse(text: &[u8]) -> Result<Record, SyntaxError> {
    let err = |s: String| SyntaxError(s);
    let text = std::str::from_utf8(text).map_err(|_| err("is not ASCII text".to_owned()))?;
    // §3.2: tag names are case-sensitive.
    let tags = tags::split(text, false).map_err(err)?;
    let mut record = Record {
        hashes: None,
        key_type: KeyType::Rsa,
        notes: None,
        key: Key::Revoked,
        services: vec!["*".to_owned()],
        testing: false,
        strict: false,
    };
    let mut key_data = None;
    for (i, tag) in tags.iter().enumerate() {
        let value = tag.value;
        match tag.name {
            // §3.6.1: v= is optional, but when present it is first and DKIM1; a record with
            // another version is discarded.
            "v" if i == 0 && value == "DKIM1" => {}
            "v" if i == 0 => return Err(err(format!("has v={value}; the only version is DKIM1"))),
            "v" => return Err(err("has v= after other tags; it must come first".to_owned())),
            // Unknown algorithms in h= are ignored (§3.6.1).
            "h" => record.hashes = Some(tags::colon_list(value).map(str::to_owned).collect()),
            "k" => {
                record.key_type = match value {
                    "rsa" => KeyType::Rsa,
                    "ed25519" => KeyType::Ed25519, // RFC 8463
                    _ => {
                        return Err(err(format!(
                            "has k={value}, a key type receivers do not know (rsa or ed25519)"
                        )));
                    }
                }
            }
            "n" => record.notes = Some(value.to_owned()),
            "p" => key_data = Some(value),
            "s" => record.services = tags::colon_list(value).map(str::to_owned).collect(),
            // §3.6.1: unknown flags are ignored.
            "t" => {
                for flag in tags::colon_list(value) {
                    match flag {
                        "y" => record.testing = true,
                        "s" => record.strict = true,
                        _ => {}
                    }
                }
            }
            // §3.2: unknown tags are ignored.
            _ => {}
        }
    }
    // §3.6.1: p= is REQUIRED.
    let Some(key_data) = key_data else {
        return Err(err("has no p= tag (the public key)".to_owned()));
    };
    let bytes = base64(key_data).ok_or_else(|| {
        err("has a p= value that is not base64 (RFC 6376 §3.6.1, RFC 4648 §4)".to_owned())
    })?;
    record.key = if bytes.is_empty() {
        Key::Revoked
    } else {
        key(record.key_type, &bytes).map_err(err)?
    };
    Ok(record)
}

/// The key in `p=`'s bytes, or why they are none of `kind`.
fn key(kind: KeyType, bytes: &[u8]) -> Result<Key, String> {
    match kind {
        KeyType::Rsa => match rsa_modulus_bits(bytes) {
            Some(bits) => Ok(Key::Rsa { bits }),
            None => Err(
                "has a p= value that is no RSA public key (neither a SubjectPublicKeyInfo nor an \
                 RSAPublicKey in DER)"
                    .to_owned(),
            ),
        },
        // RFC 8463 §4.2: the raw 32-byte key, not wrapped in SubjectPublicKeyInfo.
        KeyType::Ed25519 if bytes.len() == 32 => Ok(Key::Ed25519),
        KeyType::Ed25519 if bytes.len() == 44 && bytes.starts_with(&ED25519_SPKI_PREFIX) => Err(
            "has an Ed25519 key wrapped in SubjectPublicKeyInfo; RFC 8463 §4.2 wants the bare \
             32-byte key (the last 32 bytes)"
                .to_owned(),
        ),
        KeyType::Ed25519 => Err(format!(
            "has a p= of {} bytes, but an Ed25519 key is 32 bytes (RFC 8463 §4.2)",
            bytes.len()
        )),
    }
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): SEQUENCE, SEQUENCE, OID
/// 1.3.101.112, BIT STRING of 33 bytes with no unused bits.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 Appendix C), as DER content octets.
const RSA_ENCRYPTION: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Base64 (RFC 4648 §4) with white space anywhere (§3.6.1: FWS may be inside `p=`) and the
/// padding `=` optional at the end. `None` for any other character or a length no encoding
/// gives.
fn base64(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.bytes().filter(|&b| !is_space(b as char)).collect();
    let data = symbols
        .strip_suffix(b"==")
        .or_else(|| symbols.strip_suffix(b"="))
        .unwrap_or(&symbols);
    if data.len() % 4 == 1 || (data.len() != symbols.len() && !symbols.len().is_multiple_of(4)) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// One DER element (X.690 §8.1): its tag and contents, and what follows it.
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        // Long form: the low bits say how many length octets follow (X.690 §8.1.3.5); DER
        // has no indefinite length (0x80).
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (octets, rest) = rest.split_at(count);
        let len = octets
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The modulus size of an RSA key given as a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7; what
/// publishers put in `p=`, and the form of RFC 6376's own example key in Appendix C) or as a
/// bare RSAPublicKey (RFC 8017 Appendix A.1.1, the structure RFC 6376 §3.6.1 names).
fn rsa_modulus_bits(key: &[u8]) -> Option<u32> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const BIT_STRING: u8 = 0x03;
    const OID: u8 = 0x06;
    let (tag, body, rest) = der(key)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (tag, first, after) = der(body)?;
    let rsa_public_key = match tag {
        // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }.
        SEQUENCE => {
            let (oid_tag, oid, _) = der(first)?;
            if oid_tag != OID || oid != RSA_ENCRYPTION {
                return None;
            }
            let (tag, bits, rest) = der(after)?;
            // The key is a whole number of octets: no unused bits.
            if tag != BIT_STRING || !rest.is_empty() || bits.first() != Some(&0) {
                return None;
            }
            let (tag, inner, rest) = der(&bits[1..])?;
            if tag != SEQUENCE || !rest.is_empty() {
                return None;
            }
            inner
        }
        INTEGER => body,
        _ => return None,
    };
    // RSAPublicKey: SEQUENCE { modulus INTEGER, publicExponent INTEGER }.
    let (tag, modulus, rest) = der(rsa_public_key)?;
    let (exponent_tag, _, rest) = der(rest)?;
    if tag != INTEGER || exponent_tag != INTEGER || !rest.is_empty() {
        return None;
    }
    // A positive INTEGER: its high bit clear, a leading 0 octet when the next has it set.
    if modulus.first().is_none_or(|&b| b & 0x80 != 0) {
        return None;
    }
    let digits = &modulus[modulus.iter().position(|&b| b != 0)?..];
    let bits = u32::try_from(digits.len()).ok()? * 8 - digits[0].leading_zeros();
    Some(bits)
}

/// What looking up one selector found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// No TXT record at the name (NXDOMAIN, or the name has none).
    NotFound,
    /// A key record.
    Found {
        /// The record as published (its strings joined).
        text: String,
        /// What parsing it gave.
        record: Result<Record, SyntaxError>,
    },
}

/// What the TXT records at a selector's name (each one's strings joined, §3.6.2.2) hold: the
/// first that parses as a key record; else the first, with why it does not parse. A verifier
/// may pick any of several key records (§3.6.2.2), so one that works is the one to report.
pub fn select<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> Selector {
    let mut first = None;
    for text in texts {
        let record = parse(text);
        let found = |record| Selector::Found {
            text: String::from_utf8_lossy(text).into_owned(),
            record,
        };
        if record.is_ok() {
            return found(record);
        }
        if first.is_none() {
            first = Some(found(record));
        }
    }
    first.unwrap_or(Selector::NotFound)
}

/// The findings about a domain's DKIM keys: one entry per selector tried, in order;
/// `guessed` when the selectors were [`COMMON_SELECTORS`] rather than the user's.
pub fn findings(domain: &str, selectors: &[(String, Selector)], guessed: bool) -> Vec<Finding> {
    let domain = domain.trim_end_matches('.');
    let mut out = Vec::new();
    for (selector, found) in selectors {
        let name = record_name(selector, domain);
        let Selector::Found { text, record } = found else {
            // A selector the user named must exist; a guessed one only might.
            if !guessed {
                out.push(Finding::new(
                    FindingCode::DkimNotFound,
                    format!(
                        "There is no DKIM key at {name}: mail signed with selector {selector} \
                         fails DKIM."
                    ),
                    format!(
                        "Publish the public key your mail service gives you for selector \
                         {selector} at {name}, or check the selector's spelling."
                    ),
                ));
            }
            continue;
        };
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                out.push(Finding::new(
                    FindingCode::DkimSyntaxError,
                    format!("At {name}, {error}; receivers cannot verify signatures with it."),
                    format!(
                        "Publish the key record exactly as your mail service or signing software \
                         gives it at {name}: v=DKIM1; k=rsa; p= and the base64 key, in one TXT \
                         record (long keys split into strings of up to 255 characters)."
                    ),
                ));
                continue;
            }
        };
        match record.key {
            Key::Revoked => out.push(Finding::new(
                FindingCode::DkimRevoked,
                format!(
                    "The DKIM key at {name} is revoked (p= is empty): signatures with selector \
                     {selector} fail."
                ),
                format!(
                    "Nothing to do if the selector is retired; if mail is still signed with \
                     {selector}, publish its current key at {name} or sign with another selector."
                ),
            )),
            // RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use at least 2048;
            // verifiers need not accept less than 1024.
            Key::Rsa { bits } if bits < 2048 => {
                let severity = if bits < 1024 {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                let effect = if bits < 1024 {
                    "many receivers treat its signatures as failing (RFC 8301 §3.2 requires 1024 \
                     bits at least)"
                } else {
                    "RFC 8301 §3.2 asks for 2048 bits, and keys this short can be broken"
                };
                out.push(
                    Finding::new(
                        FindingCode::DkimKeyTooShort,
                        format!("The DKIM key at {name} is a {bits}-bit RSA key: {effect}."),
                        format!(
                            "Generate a 2048-bit RSA key, publish it under a new selector, sign \
                             with it, and then revoke {selector} by publishing its record with an \
                             empty p=."
                        ),
                    )
                    .with_severity(severity),
                );
            }
            _ => {}
        }
        if !record.is_for_email() {
            out.push(
                Finding::new(
                    FindingCode::DkimSyntaxError,
                    format!(
                        "The DKIM key at {name} has s={}: it is not for email, so receivers do not \
                         use it.",
                        record.services.join(":")
                    ),
                    format!("Remove s= from the record at {name}, or set s=email."),
                )
                .publish(&name, "TXT", tags::with_tag(text, "s", None, false)),
            );
        }
        if record.testing && record.key != Key::Revoked {
            let flags = record.strict.then_some("s");
            out.push(
                Finding::new(
                    FindingCode::DkimTesting,
                    format!(
                        "The DKIM key at {name} has t=y: the domain says it is testing DKIM, and \
                         receivers may ignore its signatures."
                    ),
                    format!("Remove t=y from the record at {name} once your signatures verify."),
                )
                .publish(&name, "TXT", tags::with_tag(text, "t", flags, false)),
            );
        }
    }
    let any_key = selectors
        .iter()
        .any(|(_, s)| matches!(s, Selector::Found { .. }));
    if guessed && !any_key {
        out.push(Finding::new(
            FindingCode::DkimNotFound,
            format!(
                "No DKIM key was found for {domain} under the {} common selectors tried: receivers \
                 cannot verify its mail by DKIM, unless it signs with a selector not tried.",
                selectors.len()
            ),
            format!(
                "Turn on DKIM signing at your mail service and publish the key it gives you at \
                 <selector>._domainkey.{domain}; if {domain} already signs, name its selector (the \
                 s= of a DKIM-Signature header) to check it."
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys made with `openssl genrsa N` and `openssl rsa -pubout -outform DER`.
    const RSA_512: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANmnlG0ah7DNhIKiqulpNiepRYtlaLFqPVREMD3M6nHIriEHLQHlTQ7nYPubBYsO577j/u5z0tDAZFwWutRXQGECAwEAAQ==";
    const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCtBZJbPZFdBoxlRoF1TBA0hKsBlb7h348LkKW41lC03ZWcb2KwEM3Z8IHjNkYORPyRpxUVOcMoaEms1Kbmi50id4FxqFVmYxlHqIwXniXGEZtN+75txLPAhe+935JIsokKoMIW4SNE8nPiR4EyVUTRkZ0TAt+96nfpzR4ZWOUgcwIDAQAB";
    /// The same key as a bare RSAPublicKey (`openssl rsa -RSAPublicKey_out`).
    const RSA_1024_PKCS1: &str = "MIGJAoGBAK0Fkls9kV0GjGVGgXVMEDSEqwGVvuHfjwuQpbjWULTdlZxvYrAQzdnwgeM2Rg5E/JGnFRU5wyhoSazUpuaLnSJ3gXGoVWZjGUeojBeeJcYRm037vm3Es8CF773fkkiyiQqgwhbhI0Tyc+JHgTJVRNGRnRMC373qd+nNHhlY5SBzAgMBAAE=";
    const RSA_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArM0vpaiIuW3fS6a5rGNWuAru4hvYoq7whJQvtE3lmmA5uMh40d/0NPTnfoNIs8IfMLPCbUhhdPg8nUleu7FGyP3nGHCOpi2d8cOh4y+2vY5LE0gkqBBkXOjOpnlzhZt1YuT1QpDP+OeuDUbsJuoURarymoadVoxFIzw7w+yKfGDhV0iBhUv1/p6QybjKYyjhQqbeosEMOrf0GHP8Are+HxFgT+yI3t8GUr5VEd62NGvV8GjumrSKbQgJKUB4hRFARrmxw3i2I8c0UohWH6rJcNM7GiHk39RfJAzZC3IsZXUy+NpNXCTeQAXqwxsNUYfmYCFif+XTLxhI9c/QsnPJJwIDAQAB";
    /// `openssl genpkey -algorithm ed25519`, public key as SubjectPublicKeyInfo.
    const ED25519_SPKI: &str = "MCowBQYDK2VwAyEA2Pbr3rUQdNLGSG5Mq8RA0sb1TA4AiRFFe0H/8+N3Uks=";

    fn key(text: &str) -> Result<Key, SyntaxError> {
        parse(text.as_bytes()).map(|r| r.key)
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect()
    }

    fn one(selector: &str, text: &str) -> Vec<(String, Selector)> {
        vec![(
            selector.to_owned(),
            Selector::Found {
                text: text.to_owned(),
                record: parse(text.as_bytes()),
            },
        )]
    }

    #[test]
    fn rfc_examples() {
        // RFC 6376 Appendix C: a 1024-bit key, p= folded over lines.
        let record = parse(b"v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt\r\n IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi\r\n tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB").unwrap();
        assert_eq!(record.key, Key::Rsa { bits: 1024 });
        assert_eq!(record.key_type, KeyType::Rsa);
        // RFC 8463 Appendix A.2: both keys of football.example.com.
        assert_eq!(
            key("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
            Ok(Key::Ed25519)
        );
        assert_eq!(
            key(
                "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
            ),
            Ok(Key::Rsa { bits: 1024 })
        );
    }

    #[test]
    fn rsa_key_sizes_are_read_from_the_key() {
        assert_eq!(key(&format!("p={RSA_512}")), Ok(Key::Rsa { bits: 512 }));
        assert_eq!(
            key(&format!("k=rsa; p={RSA_1024}")),
            Ok(Key::Rsa { bits: 1024 })
        );
        assert_eq!(
            key(&format!("p={RSA_1024_PKCS1}")),
            Ok(Key::Rsa { bits: 1024 })
        );
        assert_eq!(key(&format!("p={RSA_2048}")), Ok(Key::Rsa { bits: 2048 }));
        // Without padding, and with white space inside.
        let unpadded = RSA_512.trim_end_matches('=');
        assert_eq!(key(&format!("p={unpadded}")), Ok(Key::Rsa { bits: 512 }));
        let spaced = format!("p={} {}", &RSA_1024[..40], &RSA_1024[40..]);
        assert_eq!(key(&spaced), Ok(Key::Rsa { bits: 1024 }));
    }

    #[test]
    fn broken_keys_are_syntax_errors() {
        let truncated = &RSA_2048[..RSA_2048.len() - 8];
        for (text, says) in [
            (format!("p={truncated}"), "no RSA public key"),
            (format!("k=ed25519; p={RSA_1024}"), "32 bytes"),
            (format!("k=rsa; p={ED25519_SPKI}"), "no RSA public key"),
            (
                format!("k=ed25519; p={ED25519_SPKI}"),
                "SubjectPublicKeyInfo",
            ),
            ("p=not*base64".to_owned(), "not base64"),
            ("p=QUJD=".to_owned(), "not base64"),
            ("p=QUJDR".to_owned(), "not base64"),
            ("p=AAAA".to_owned(), "no RSA public key"),
            ("v=DKIM1; k=dsa; p=AAAA".to_owned(), "k=dsa"),
            ("v=DKIM2; p=".to_owned(), "v=DKIM2"),
            ("k=rsa; v=DKIM1; p=".to_owned(), "first"),
            ("v=DKIM1; k=rsa".to_owned(), "no p="),
            ("v=DKIM1; p=; p=".to_owned(), "more than once"),
        ] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn tags_and_their_defaults() {
        let r = parse(b"p=").unwrap();
        assert_eq!(
            (r.key, r.key_type, r.testing, r.strict),
            (Key::Revoked, KeyType::Rsa, false, false)
        );
        assert!(r.is_for_email() && r.hashes.is_none());
        let r = parse(b"v=DKIM1; h=sha256:sha1:md5; n=see ops; s=email:other; t=y:s:x; p=; x=1")
            .unwrap();
        assert_eq!(
            r.hashes.as_deref(),
            Some(&["sha256".to_owned(), "sha1".to_owned(), "md5".to_owned()][..])
        );
        assert_eq!(r.notes.as_deref(), Some("see ops"));
        assert!(r.is_for_email() && r.testing && r.strict);
        assert!(!parse(b"s=other; p=").unwrap().is_for_email());
    }

    #[test]
    fn findings_per_key() {
        assert!(
            findings(
                "example.com",
                &one("s1", &format!("v=DKIM1; p={RSA_2048}")),
                false
            )
            .is_empty()
        );
        assert!(
            findings(
                "example.com",
                &one(
                    "ed",
                    "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
                ),
                false
            )
            .is_empty()
        );
        let f = findings("example.com", &one("s1", &format!("p={RSA_512}")), false);
        assert_eq!(codes(&f), [("dkim_key_too_short", Severity::Error)]);
        assert!(f[0].message.contains("512-bit"));
        let f = findings("example.com", &one("s1", &format!("p={RSA_1024}")), false);
        assert_eq!(codes(&f), [("dkim_key_too_short", Severity::Warning)]);
        let f = findings("example.com", &one("old", "v=DKIM1; p="), false);
        assert_eq!(codes(&f), [("dkim_revoked", Severity::Info)]);
        let f = findings(
            "example.com",
            &one("s1", &format!("v=DKIM1; t=y:s; p={RSA_2048}")),
            false,
        );
        assert_eq!(codes(&f), [("dkim_testing", Severity::Warning)]);
        let publish = f[0].record.as_ref().unwrap();
        assert_eq!(publish.name, "s1._domainkey.example.com");
        assert_eq!(publish.value, format!("v=DKIM1; t=s; p={RSA_2048}"));
        let f = findings("example.com", &one("s1", "v=DKIM1; p=!!"), false);
        assert_eq!(codes(&f), [("dkim_syntax_error", Severity::Error)]);
        let f = findings(
            "example.com",
            &one("s1", &format!("s=tls; p={RSA_2048}")),
            false,
        );
        assert_eq!(codes(&f), [("dkim_syntax_error", Severity::Error)]);
    }

    #[test]
    fn not_found_given_and_guessed() {
        let none: Vec<(String, Selector)> = COMMON_SELECTORS
            .iter()
            .map(|s| (s.to_string(), Selector::NotFound))
            .collect();
        let f = findings("example.com", &none, true);
        assert_eq!(codes(&f), [("dkim_not_found", Severity::Warning)]);
        assert!(f[0].message.contains(&COMMON_SELECTORS.len().to_string()));
        let f = findings("example.com", &none[..1], false);
        assert_eq!(codes(&f), [("dkim_not_found", Severity::Warning)]);
        assert!(f[0].message.contains("google._domainkey.example.com"));
        // One guessed selector found is enough; the others are not reported.
        let mut some = none.clone();
        some[3] = one("s2", &format!("p={RSA_2048}")).remove(0);
        assert!(findings("example.com", &some, true).is_empty());
    }

    #[test]
    fn the_key_among_several_txt_records() {
        assert_eq!(select(std::iter::empty()), Selector::NotFound);
        let good = format!("v=DKIM1; p={RSA_2048}");
        let texts: [&[u8]; 2] = [b"some note", good.as_bytes()];
        let Selector::Found { text, record } = select(texts) else {
            panic!("no key")
        };
        assert_eq!(
            (text.as_str(), record.map(|r| r.key)),
            (good.as_str(), Ok(Key::Rsa { bits: 2048 }))
        );
        let Selector::Found { text, record } = select([&b"v=DKIM1; p=!"[..], b"x"]) else {
            panic!("no record")
        };
        assert_eq!(text, "v=DKIM1; p=!");
        assert!(record.is_err());
    }

    #[test]
    fn base64_and_der_edges() {
        assert_eq!(base64("").unwrap(), b"");
        assert_eq!(base64("Zg==").unwrap(), b"f");
        assert_eq!(base64("Zm8=").unwrap(), b"fo");
        assert_eq!(base64("Zm9v").unwrap(), b"foo");
        assert_eq!(base64("Zm9vYg").unwrap(), b"foob");
        assert!(base64("Zg=").is_none());
        assert!(base64("Z").is_none());
        assert!(base64("Zm9v=").is_none());
        // Long-form lengths that run past the input, and indefinite lengths.
        assert!(der(&[0x30, 0x82, 0xff, 0xff, 0x00]).is_none());
        assert!(der(&[0x30, 0x80, 0x00, 0x00]).is_none());
        assert_eq!(
            der(&[0x02, 0x01, 0x05, 0xaa]),
            Some((0x02, &[0x05][..], &[0xaa][..]))
        );
        // A negative modulus is no key.
        assert!(rsa_modulus_bits(&[0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03]).is_none());
        assert_eq!(
            rsa_modulus_bits(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x03]),
            Some(8)
        );
        for selector in COMMON_SELECTORS {
            assert!(
                selector
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
        }
    }

    #[test]
    fn never_panics_near_valid_records() {
        for seed in [
            format!("v=DKIM1; h=sha256; k=rsa; t=y:s; s=email; n=x; p={RSA_1024}"),
            "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".to_owned(),
        ] {
            for text in tags::near(seed.as_bytes()) {
                let _ = parse(&text);
            }
        }
        // Every prefix and every one-byte change of the DER keys themselves.
        for key in [RSA_512, RSA_1024_PKCS1] {
            let der = base64(key).unwrap();
            for bytes in tags::near(&der) {
                let _ = rsa_modulus_bits(&bytes);
            }
        }
    }

    #[test]
    fn records_serialise_for_the_report() {
        let json =
            serde_json::to_value(parse(format!("p={RSA_2048}").as_bytes()).unwrap()).unwrap();
        assert_eq!(
            json["key"],
            serde_json::json!({"type": "rsa", "bits": 2048})
        );
        assert_eq!(json["key_type"], "rsa");
        let json = serde_json::to_value(Key::Revoked).unwrap();
        assert_eq!(json, serde_json::json!({"type": "revoked"}));
    }
}
