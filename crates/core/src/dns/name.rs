//! Domain names on the wire (RFC 1035 §3.1, §4.1.4) and in presentation form (§5.1).

use super::error::{DnsError, DnsErrorKind};

/// RFC 1035 §2.3.4: labels are 63 octets or less.
pub(crate) const MAX_LABEL: usize = 63;
/// RFC 1035 §2.3.4: names are 255 octets or less, counting length octets and the root.
pub(crate) const MAX_NAME: usize = 255;
/// A 255-octet name has at most 127 labels, so a name never needs more pointers than this.
const MAX_POINTERS: usize = 127;

/// Lowercases a name and drops one trailing dot, the form names take in a parsed [`Message`].
///
/// [`Message`]: super::Message
pub fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Appends `name` (ASCII A-labels, trailing dot optional, `.` for the root) in wire form.
pub(crate) fn write_name(out: &mut Vec<u8>, name: &str) -> Result<(), DnsError> {
    if name.is_empty() {
        return Err(DnsErrorKind::EmptyName.into());
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut wire_len = 1;
    if !name.is_empty() {
        for label in name.split('.') {
            if label.is_empty() {
                return Err(DnsErrorKind::EmptyLabel.into());
            }
            if label.len() > MAX_LABEL {
                return Err(DnsErrorKind::LabelTooLong.into());
            }
            // Host names are LDH (RFC 1123 §2.1); `_` appears in service labels (RFC 8552 §2).
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(DnsErrorKind::InvalidCharacter.into());
            }
            wire_len += 1 + label.len();
            if wire_len > MAX_NAME {
                return Err(DnsErrorKind::NameTooLong.into());
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    Ok(())
}

/// Reads the name at `start`, following compression pointers.
///
/// Returns the name in presentation form and the offset just past the name where it started
/// (after its first pointer, if any).
pub(crate) fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::new();
    let mut pos = start;
    // Each pointer must jump before the start of the run of labels it ends, so the runs start
    // ever earlier and a loop is impossible (RFC 1035 §4.1.4 pointers refer to a prior occurrence).
    let mut run_start = start;
    let mut end = None;
    let mut wire_len = 0;
    let mut pointers = 0;
    loop {
        let len = *msg.get(pos).ok_or(DnsErrorKind::UnexpectedEnd)?;
        match len & 0xC0 {
            0x00 => {
                let len = usize::from(len);
                wire_len += 1 + len;
                if wire_len > MAX_NAME {
                    return Err(DnsErrorKind::NameTooLong.into());
                }
                if len == 0 {
                    return Ok((out, end.unwrap_or(pos + 1)));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(DnsErrorKind::UnexpectedEnd)?;
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(&mut out, label);
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg.get(pos + 1).ok_or(DnsErrorKind::UnexpectedEnd)?;
                let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                end.get_or_insert(pos + 2);
                pointers += 1;
                if target >= run_start || pointers > MAX_POINTERS {
                    return Err(DnsErrorKind::BadPointer.into());
                }
                pos = target;
                run_start = target;
            }
            // 0x40 and 0x80: RFC 6891 §5 retired the extended label types.
            _ => return Err(DnsErrorKind::BadLabelType.into()),
        }
    }
}

/// RFC 1035 §5.1: octets that would be ambiguous or unprintable become `\DDD`. Names compare
/// case-insensitively (RFC 4343 §3), so letters are lowercased.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            out.push('\\');
            out.push(char::from(b'0' + b / 100));
            out.push(char::from(b'0' + b / 10 % 10));
            out.push(char::from(b'0' + b % 10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(name: &str) -> Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        write_name(&mut out, name).map_err(|e| e.code())?;
        Ok(out)
    }

    #[test]
    fn writes_labels_with_and_without_trailing_dot() {
        let expected = b"\x07example\x03com\x00".to_vec();
        assert_eq!(wire("example.com"), Ok(expected.clone()));
        assert_eq!(wire("example.com."), Ok(expected));
        assert_eq!(wire("."), Ok(vec![0]));
        assert_eq!(
            wire("_dmarc.Example.com"),
            Ok(b"\x06_dmarc\x07Example\x03com\x00".to_vec())
        );
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(wire(""), Err("empty_name"));
        assert_eq!(wire("a..b"), Err("empty_label"));
        assert_eq!(wire(".a"), Err("empty_label"));
        assert_eq!(wire("a.."), Err("empty_label"));
        assert_eq!(wire("a b.com"), Err("invalid_character"));
        assert_eq!(wire("a\r\nb.com"), Err("invalid_character"));
        assert_eq!(wire("bücher.de"), Err("invalid_character"));
        assert_eq!(wire("a\\046b.com"), Err("invalid_character"));
        let label63 = "a".repeat(63);
        assert!(wire(&format!("{label63}.com")).is_ok());
        assert_eq!(wire(&format!("{label63}a.com")), Err("label_too_long"));
    }

    #[test]
    fn name_length_limit_is_255_octets_on_the_wire() {
        // Four 61-octet labels and one of 8: 4 * 62 + 9 + 1 = 258 octets; one of 5 gives 255.
        let l61 = "b".repeat(61);
        let fits = format!("{l61}.{l61}.{l61}.{l61}.{}", "c".repeat(5));
        assert_eq!(wire(&fits).map(|w| w.len()), Ok(255));
        let too_long = format!("{l61}.{l61}.{l61}.{l61}.{}", "c".repeat(6));
        assert_eq!(wire(&too_long), Err("name_too_long"));
    }

    #[test]
    fn reads_plain_and_escaped_names() {
        let msg = b"\x03MX1\x04Ex.a\x03com\x00";
        assert_eq!(
            read_name(msg, 0),
            Ok(("mx1.ex\\046a.com".to_string(), msg.len()))
        );
        let msg = b"\x02a\x00\x01\\\x00";
        assert_eq!(
            read_name(msg, 0),
            Ok(("a\\000.\\092".to_string(), msg.len()))
        );
        assert_eq!(read_name(b"\x00", 0), Ok((String::new(), 1)));
    }

    #[test]
    fn follows_backward_pointers() {
        // "example.com" at 0, then "mail" + pointer to 0 at 13.
        let mut msg = b"\x07example\x03com\x00".to_vec();
        msg.extend_from_slice(b"\x04mail\xC0\x00\xFF");
        assert_eq!(
            read_name(&msg, 13),
            Ok(("mail.example.com".to_string(), 20))
        );
        // A pointer to a pointer.
        msg.extend_from_slice(b"\xC0\x0D");
        assert_eq!(
            read_name(&msg, 21),
            Ok(("mail.example.com".to_string(), 23))
        );
    }

    #[test]
    fn rejects_pointer_loops_and_forward_pointers() {
        assert_eq!(
            read_name(b"\xC0\x00", 0).map_err(|e| e.code()),
            Err("bad_pointer")
        );
        assert_eq!(
            read_name(b"\xC0\x02\x00", 0).map_err(|e| e.code()),
            Err("bad_pointer")
        );
        // A label run at 0 ending in a pointer back to its own start.
        assert_eq!(
            read_name(b"\x01a\xC0\x00", 0).map_err(|e| e.code()),
            Err("bad_pointer")
        );
        // Two runs pointing at each other: 0 -> 4 is forward from run start 0.
        let msg = b"\x01a\xC0\x04\x01b\xC0\x00";
        assert_eq!(read_name(msg, 4).map_err(|e| e.code()), Err("bad_pointer"));
    }

    #[test]
    fn rejects_truncation_reserved_labels_and_overlong_names() {
        assert_eq!(
            read_name(b"\x03ab", 0).map_err(|e| e.code()),
            Err("unexpected_end")
        );
        assert_eq!(
            read_name(b"\x01a", 0).map_err(|e| e.code()),
            Err("unexpected_end")
        );
        assert_eq!(
            read_name(b"\xC0", 0).map_err(|e| e.code()),
            Err("unexpected_end")
        );
        assert_eq!(
            read_name(b"\x41a\x00", 0).map_err(|e| e.code()),
            Err("bad_label_type")
        );
        assert_eq!(
            read_name(b"\x81a\x00", 0).map_err(|e| e.code()),
            Err("bad_label_type")
        );
        // 128 one-octet labels make 257 octets.
        let mut msg = b"\x01a".repeat(128);
        msg.push(0);
        assert_eq!(
            read_name(&msg, 0).map_err(|e| e.code()),
            Err("name_too_long")
        );
        let mut msg = b"\x01a".repeat(127);
        msg.push(0);
        assert_eq!(read_name(&msg, 0).map(|(n, _)| n.len()), Ok(253));
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("Example.COM."), "example.com");
        assert_eq!(normalize_name("example.com"), "example.com");
        assert_eq!(normalize_name("."), "");
    }
}
