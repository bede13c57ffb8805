//! Address literals: `"[" ( IPv4-address-literal / IPv6-address-literal /
//! General-address-literal ) "]"` (RFC 5321 §4.1.2, §4.1.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{SyntaxError, SyntaxErrorCode as C, is_control};

/// Parses `input`, which starts with `[` at byte `offset` of the address, into the IP address and
/// its canonical text with brackets.
pub(super) fn parse(input: &str, offset: usize) -> Result<(IpAddr, String), SyntaxError> {
    let content_start = offset + 1;
    for (i, c) in input.char_indices() {
        if c.is_whitespace() {
            return Err(SyntaxError::new(C::Whitespace, offset + i));
        }
        if is_control(c) {
            return Err(SyntaxError::new(C::ControlCharacter, offset + i));
        }
    }
    let Some(close) = input.find(']') else {
        return Err(SyntaxError::new(
            C::InvalidAddressLiteral,
            offset + input.len(),
        ));
    };
    if close + 1 != input.len() {
        return Err(SyntaxError::new(
            C::InvalidAddressLiteral,
            offset + close + 1,
        ));
    }
    let content = &input[1..close];
    let invalid = SyntaxError::new(C::InvalidAddressLiteral, content_start);
    // RFC 5321 §4.1.3: `"IPv6:" IPv6-addr`; ABNF strings are case-insensitive (RFC 5234 §2.3).
    if content
        .get(..5)
        .is_some_and(|tag| tag.eq_ignore_ascii_case("IPv6:"))
    {
        let ip = parse_ipv6(&content[5..]).ok_or(invalid)?;
        return Ok((IpAddr::V6(ip), format!("[IPv6:{ip}]")));
    }
    if let Some(ip) = parse_ipv4(content) {
        return Ok((IpAddr::V4(ip), format!("[{ip}]")));
    }
    if is_general_literal(content) {
        return Err(SyntaxError::new(
            C::UnsupportedAddressLiteral,
            content_start,
        ));
    }
    Err(invalid)
}

/// `IPv4-address-literal = Snum 3("."  Snum)`, `Snum = 1*3DIGIT` with a value of 0 to 255
/// (RFC 5321 §4.1.3). Leading zeros are allowed by this grammar and read as decimal.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `IPv6-hex = 1*4HEXDIG`
fn parse_hex(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(s, 16).ok()
}

/// Groups separated by `:`, in order; an empty string has none.
fn parse_groups(s: &str, groups: &mut Vec<u16>) -> Option<()> {
    if s.is_empty() {
        return Some(());
    }
    for part in s.split(':') {
        groups.push(parse_hex(part)?);
    }
    Some(())
}

/// `IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp` (RFC 5321 §4.1.3).
///
/// Stricter than RFC 4291 §2.2: besides `::`, at most 6 groups (4 with a trailing IPv4
/// address), so `::` always stands for at least two groups of zeros.
fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    // A trailing IPv4 address takes the place of the last two groups.
    let (hex, v4) = if s.contains('.') {
        let split = s.rfind(':')?;
        let v4 = parse_ipv4(&s[split + 1..])?;
        // Keep the colon when it belongs to `::`.
        let hex = if s[..split].ends_with(':') {
            &s[..=split]
        } else {
            &s[..split]
        };
        (hex, Some(v4))
    } else {
        (s, None)
    };
    let hex_groups = if v4.is_some() { 6 } else { 8 };
    let mut head = Vec::with_capacity(8);
    let mut tail = Vec::with_capacity(8);
    match hex.split_once("::") {
        Some((before, after)) => {
            parse_groups(before, &mut head)?;
            parse_groups(after, &mut tail)?;
            if head.len() + tail.len() > hex_groups - 2 {
                return None;
            }
        }
        None => {
            parse_groups(hex, &mut head)?;
            if head.len() != hex_groups {
                return None;
            }
        }
    }
    let mut segments = [0u16; 8];
    segments[..head.len()].copy_from_slice(&head);
    segments[hex_groups - tail.len()..hex_groups].copy_from_slice(&tail);
    if let Some(v4) = v4 {
        let [a, b, c, d] = v4.octets();
        segments[6] = u16::from_be_bytes([a, b]);
        segments[7] = u16::from_be_bytes([c, d]);
    }
    Some(Ipv6Addr::from(segments))
}

/// `General-address-literal = Standardized-tag ":" 1*dcontent`, `Standardized-tag = Ldh-str`,
/// `dcontent = %d33-90 / %d94-126` (RFC 5321 §4.1.3, §4.1.2).
fn is_general_literal(content: &str) -> bool {
    let Some((tag, rest)) = content.split_once(':') else {
        return false;
    };
    let ldh_str = !tag.is_empty()
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tag.ends_with('-');
    ldh_str && !rest.is_empty() && rest.bytes().all(|b| matches!(b, 33..=90 | 94..=126))
}
