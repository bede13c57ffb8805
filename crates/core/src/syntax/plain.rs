//! The common address in one pass: an ASCII Dot-string, `@`, and an ASCII domain of at least
//! two labels, none of them an A-label, within every limit. Most addresses of a list are such;
//! the full parser takes about five times as long over them, in passes that the rest of the
//! addresses need (wrapping, quotes, NFC, UTS-46, literals).
//!
//! [`at`] only says yes or "not plain": it never decides that an address is invalid, and
//! anything it does not recognise goes to the full parser. For an address it recognises, the
//! full parser would accept it with no warning, the local part as typed and the domain in
//! lowercase, which is what [`address`] makes. The unit tests hold the two to the same result
//! over the corpora and over generated near-misses of every rule checked here.

use super::domain::{is_numeric, is_special_use};
use super::local::ATEXT;
use super::{Address, MAX_ADDRESS_OCTETS, MAX_LABEL_OCTETS, MAX_LOCAL_PART_OCTETS};

/// Letters (either case), digits and the hyphen: the bytes of an ASCII domain label.
static LDH: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-';
        b += 1;
    }
    table
};

/// The offset of the `@` when `input` is a plain address (see the module's comment), else
/// `None`: the full parser decides.
pub(super) fn at(input: &[u8]) -> Option<usize> {
    if input.len() > MAX_ADDRESS_OCTETS {
        return None;
    }
    // The Dot-string: atoms of `atext` joined by single dots, up to the `@`. `after_dot` is
    // also true at the start, where an atom must begin too.
    let mut after_dot = true;
    let mut i = 0;
    loop {
        let b = *input.get(i)?;
        if ATEXT[usize::from(b)] {
            after_dot = false;
        } else if after_dot {
            return None;
        } else if b == b'.' {
            after_dot = true;
        } else if b == b'@' {
            break;
        } else {
            return None;
        }
        i += 1;
    }
    let at = i;
    // Within 254 octets in all, the domain is within its 253.
    if at > MAX_LOCAL_PART_OCTETS {
        return None;
    }
    // The labels: letters, digits and inner hyphens, none with `--` in the third and fourth
    // places (an A-label, or a name RFC 5891 §4.2.3.1 refuses), joined by single dots.
    let mut labels = 0;
    let mut start = at + 1;
    let mut i = start;
    loop {
        let b = input.get(i).copied();
        if b.is_some_and(|b| LDH[usize::from(b)]) {
            i += 1;
            continue;
        }
        let label = &input[start..i];
        let plain_label = match *label {
            [] => false,
            [first, .., last] => {
                first != b'-'
                    && last != b'-'
                    && label.len() <= MAX_LABEL_OCTETS
                    && label.get(2..4) != Some(b"--")
            }
            [one] => one != b'-',
        };
        if !plain_label {
            return None;
        }
        labels += 1;
        match b {
            None => break,
            Some(b'.') => {
                i += 1;
                start = i;
            }
            Some(_) => return None,
        }
    }
    let tld = &input[start..];
    (labels > 1 && !is_numeric(tld) && !is_special_use(tld)).then_some(at)
}

/// The address of a plain `input` whose `@` is at `at`, written into `buffer`'s memory.
pub(super) fn address(input: &str, at: usize, buffer: String) -> Address {
    let mut normalized = buffer;
    normalized.clear();
    normalized.push_str(input);
    normalized[at + 1..].make_ascii_lowercase();
    Address {
        normalized,
        at,
        ascii_domain: None,
        literal: None,
        warnings: Vec::new(),
    }
}
