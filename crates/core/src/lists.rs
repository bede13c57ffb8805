//! Risk lists: disposable domains, free mailbox providers, role accounts, and the user's own
//! entries, which win over the built-in lists.
//!
//! Domains are taken as A-labels (`xn--…`) without a trailing dot; ASCII case does not matter.
//! The built-in lists live in `data/` (see `data/README.md` for their sources and licences):
//!
//! - disposable domains: the disposable-email-domains project's list. With the default feature
//!   `full-lists` all of it (about 10,000 domains); without it only its entries that three other
//!   independently kept lists also name (about 2,000), small enough for the browser widget.
//!   A listed domain also covers its subdomains: `x.mailinator.com` is disposable,
//!   `mailinator.com.example` is not.
//! - free providers: our own list of public mailbox providers, where anyone can open a personal
//!   mailbox (free or paid), so the domain says nothing about an organisation. Exact names only.
//! - role accounts: our own list of local parts that name a function rather than a person,
//!   starting with the mailbox names of RFC 2142.
//! - top-level domains: the IANA root zone, for [`crate::suggest`].
//!
//! ```
//! use mailvet_core::lists::{self, Lists};
//!
//! assert!(lists::is_disposable("mailinator.com"));
//! assert!(lists::is_free_provider("gmail.com"));
//! assert!(lists::is_role_account("No-Reply+billing"));
//!
//! let mut mine = Lists::new();
//! mine.allow_domain("mailinator.com").unwrap();
//! mine.deny_local_part("test").unwrap();
//! assert!(!mine.is_disposable("x.mailinator.com"));
//! assert!(mine.is_role_account("t.e.s.t"));
//! ```

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// The disposable-domain list that this build carries (feature `full-lists`).
#[cfg(feature = "full-lists")]
const DISPOSABLE: SortedLines = SortedLines(include_str!("../../../data/disposable/domains.txt"));
#[cfg(not(feature = "full-lists"))]
const DISPOSABLE: SortedLines = SortedLines(include_str!("../../../data/disposable/top.txt"));
const FREE_PROVIDERS: SortedLines = SortedLines(include_str!("../../../data/free-providers.txt"));
const TLDS: SortedLines = SortedLines(include_str!("../../../data/tlds/tlds.txt"));

/// The lists that a check asks for every new domain of a list, indexed (see [`Indexed`]).
static DISPOSABLE_INDEX: Indexed = Indexed::new(DISPOSABLE);
static FREE_PROVIDERS_INDEX: Indexed = Indexed::new(FREE_PROVIDERS);
static TLDS_INDEX: Indexed = Indexed::new(TLDS);

/// Local parts that name a function, not a person, in the form [`role_key`] gives them
/// (lowercase, no `+tag`, no `.`, `-` or `_`). Sorted, for binary search.
const ROLE_ACCOUNTS: &[&str] = &[
    "abuse", // RFC 2142 §4
    "accounting",
    "accounts",
    "admin",
    "administrator",
    "admissions",
    "affiliates",
    "alerts",
    "all",
    "billing",
    "booking",
    "bookings",
    "bounce",
    "bounces",
    "careers",
    "community",
    "compliance",
    "contact",
    "contacto", // Spanish
    "contactus",
    "contato", // Portuguese
    "customercare",
    "customerservice",
    "customersupport",
    "donotreply",
    "dpo", // GDPR Art. 37: the data protection officer
    "enquiries",
    "enquiry",
    "events",
    "everyone",
    "feedback",
    "finance",
    "ftp", // RFC 2142 §5
    "hello",
    "help",
    "helpdesk",
    "hostmaster", // RFC 2142 §5
    "hr",
    "info", // RFC 2142 §3
    "information",
    "inquiries",
    "inquiry",
    "investors",
    "invoices",
    "jobs",
    "kontakt", // German, Polish, Scandinavian
    "legal",
    "list",
    "listserv",
    "mail",
    "mailerdaemon",
    "majordomo",
    "marketing", // RFC 2142 §3
    "media",
    "news", // RFC 2142 §5
    "newsletter",
    "noc", // RFC 2142 §4
    "noreply",
    "notifications",
    "office",
    "operations",
    "orders",
    "partners",
    "payments",
    "postmaster", // RFC 2142 §5, RFC 5321 §4.5.1
    "press",
    "privacy",
    "reception",
    "recruiting",
    "recruitment",
    "reservations",
    "root",
    "sales",    // RFC 2142 §3
    "security", // RFC 2142 §4
    "service",
    "spam",
    "staff",
    "subscribe",
    "support", // RFC 2142 §3
    "sysadmin",
    "team",
    "unsubscribe",
    "usenet",    // RFC 2142 §5
    "uucp",      // RFC 2142 §5
    "webmaster", // RFC 2142 §5
    "www",       // RFC 2142 §5
];

/// True if the domain or one of its parents is on the built-in disposable list.
pub fn is_disposable(domain_ascii: &str) -> bool {
    let domain = domain_key(domain_ascii);
    owners(&domain).any(|d| DISPOSABLE_INDEX.contains(d))
}

/// True if the domain is on the built-in list of free mailbox providers (exact name only:
/// `gmail.com`, not `mail.gmail.com`).
pub fn is_free_provider(domain_ascii: &str) -> bool {
    FREE_PROVIDERS_INDEX.contains(&domain_key(domain_ascii))
}

/// True if the local part names a function rather than a person (`info`, `postmaster`, …).
///
/// Compared in ASCII lowercase, without a `+tag` suffix and without `.`, `-` and `_`, so
/// `No-Reply`, `no_reply+x` and `n.o.r.e.p.l.y` all match `noreply`. Separators carry no meaning
/// in these names, and a person's name almost never collapses onto one of them.
pub fn is_role_account(local: &str) -> bool {
    role_number(local).is_some_and(|n| ROLE_NUMBERS.binary_search(&n).is_ok())
}

/// Bytes in the longest key a built-in role name can have: every name fits (a unit test checks).
const ROLE_NUMBER_BYTES: usize = 16;

/// A role key of at most [`ROLE_NUMBER_BYTES`] bytes as one number: the bytes big-endian,
/// padded with zeros. Keys without zero bytes order as their numbers do, so the built-in names
/// are searched comparing integers instead of strings: this runs for every address of a list.
const fn role_name_number(name: &str) -> u128 {
    let name = name.as_bytes();
    let mut bytes = [0; ROLE_NUMBER_BYTES];
    let mut i = 0;
    while i < name.len() {
        bytes[i] = name[i];
        i += 1;
    }
    u128::from_be_bytes(bytes)
}

/// [`ROLE_ACCOUNTS`] as [`role_name_number`] gives them, in the same order.
const ROLE_NUMBERS: [u128; ROLE_ACCOUNTS.len()] = {
    let mut numbers = [0; ROLE_ACCOUNTS.len()];
    let mut i = 0;
    while i < numbers.len() {
        numbers[i] = role_name_number(ROLE_ACCOUNTS[i]);
        i += 1;
    }
    numbers
};

/// For each first byte of a built-in role name, the second bytes that follow it, by their low
/// five bits: most local parts are ruled out by the first two bytes of their key.
const ROLE_STARTS: [u32; 128] = {
    let mut starts = [0; 128];
    let mut i = 0;
    while i < ROLE_ACCOUNTS.len() {
        let name = ROLE_ACCOUNTS[i].as_bytes();
        starts[name[0] as usize] |= 1 << (name[1] & 31);
        i += 1;
    }
    starts
};

/// The number of the role key of `local` ([`role_key`], [`role_name_number`]), made in one pass
/// without a string; `None` when no built-in name can match: the key starts as none does, is
/// too long for any, or holds a zero byte (which the padding could not tell apart).
fn role_number(local: &str) -> Option<u128> {
    let mut number: u128 = 0;
    let mut len = 0;
    for &b in local.as_bytes() {
        match b {
            b'+' => break,
            b'.' | b'-' | b'_' => continue,
            0 => return None,
            _ if len == ROLE_NUMBER_BYTES => return None,
            _ => {}
        }
        let b = b.to_ascii_lowercase();
        if len == 1 {
            let first = usize::from(number as u8);
            if ROLE_STARTS
                .get(first)
                .is_none_or(|&seconds| seconds & 1 << (b & 31) == 0)
            {
                return None;
            }
        }
        number = number << 8 | u128::from(b);
        len += 1;
    }
    // The padding: `len` is below 16 here unless the key fills the number.
    Some(
        number
            .checked_shl(8 * (ROLE_NUMBER_BYTES - len) as u32)
            .unwrap_or(number),
    )
}

/// True if the label is a top-level domain of the IANA root zone (as an A-label).
pub fn is_tld(label: &str) -> bool {
    TLDS_INDEX.contains(&domain_key(label))
}

/// The built-in lists with the user's own entries. A user entry wins over the built-in lists;
/// among domain entries the most specific one wins (deny `example.com`, allow `ok.example.com`).
/// Adding an entry replaces an earlier opposite entry for the same name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lists {
    /// `true`: counts as disposable; `false`: never does. Also covers subdomains.
    domains: BTreeMap<String, bool>,
    /// `true`: a free provider; `false`: never one. Exact names.
    free_providers: BTreeMap<String, bool>,
    /// `true`: a role account; `false`: never one. Keys as [`role_key`] gives them.
    local_parts: BTreeMap<String, bool>,
}

impl Lists {
    /// The built-in lists, with no user entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Never count this domain or its subdomains as disposable.
    pub fn allow_domain(&mut self, domain: &str) -> Result<(), InvalidEntry> {
        self.domains.insert(entry_domain(domain)?, false);
        Ok(())
    }

    /// Count this domain and its subdomains as disposable.
    pub fn deny_domain(&mut self, domain: &str) -> Result<(), InvalidEntry> {
        self.domains.insert(entry_domain(domain)?, true);
        Ok(())
    }

    /// Never count this local part as a role account.
    pub fn allow_local_part(&mut self, local: &str) -> Result<(), InvalidEntry> {
        self.local_parts.insert(entry_local_part(local)?, false);
        Ok(())
    }

    /// Count this local part as a role account.
    pub fn deny_local_part(&mut self, local: &str) -> Result<(), InvalidEntry> {
        self.local_parts.insert(entry_local_part(local)?, true);
        Ok(())
    }

    /// Count this exact domain as a free provider (`true`) or never as one (`false`).
    pub fn set_free_provider(&mut self, domain: &str, free: bool) -> Result<(), InvalidEntry> {
        self.free_providers.insert(entry_domain(domain)?, free);
        Ok(())
    }

    /// [`is_disposable`] with the user's domain entries first.
    pub fn is_disposable(&self, domain_ascii: &str) -> bool {
        let domain = domain_key(domain_ascii);
        let mine = owners(&domain).find_map(|d| self.domains.get(d).copied());
        mine.unwrap_or_else(|| owners(&domain).any(|d| DISPOSABLE_INDEX.contains(d)))
    }

    /// [`is_free_provider`] with the user's entries first.
    pub fn is_free_provider(&self, domain_ascii: &str) -> bool {
        let domain = domain_key(domain_ascii);
        let mine = self.free_providers.get(domain.as_ref()).copied();
        mine.unwrap_or_else(|| FREE_PROVIDERS_INDEX.contains(&domain))
    }

    /// [`is_role_account`] with the user's entries first.
    pub fn is_role_account(&self, local: &str) -> bool {
        // Most callers have no entries of their own: no key string to make then.
        if !self.local_parts.is_empty() {
            let mut buffer = [0; ROLE_KEY_BUFFER];
            let key = role_key_in(local, &mut buffer);
            if let Some(&mine) = self.local_parts.get(key.as_ref()) {
                return mine;
            }
        }
        is_role_account(local)
    }

    /// True if the user allowed this domain (or a parent) and did not deny a more specific one:
    /// the user vouches for it, so [`crate::suggest`] leaves it alone.
    pub fn is_allowed_domain(&self, domain_ascii: &str) -> bool {
        let domain = domain_key(domain_ascii);
        owners(&domain).find_map(|d| self.domains.get(d).copied()) == Some(false)
    }
}

/// A user entry that cannot be a domain or a local part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidEntry {
    entry: String,
    why: &'static str,
}

impl InvalidEntry {
    /// The entry as given.
    pub fn entry(&self) -> &str {
        &self.entry
    }
}

impl fmt::Display for InvalidEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid list entry: {}",
            self.entry, self.why
        )
    }
}

impl std::error::Error for InvalidEntry {}

/// A user's domain entry in the form lookups use, checked to be a host name in A-labels.
fn entry_domain(domain: &str) -> Result<String, InvalidEntry> {
    let invalid = |why| InvalidEntry {
        entry: domain.to_owned(),
        why,
    };
    let key = domain_key(domain.trim());
    if key.is_empty() {
        return Err(invalid("it is empty"));
    }
    if !key.is_ascii() {
        return Err(invalid(
            "give internationalised domains as A-labels (xn--…)",
        ));
    }
    // RFC 1035 §2.3.4: at most 255 octets on the wire, so 253 characters in text form.
    if key.len() > 253 {
        return Err(invalid("a domain has at most 253 characters"));
    }
    // RFC 1035 §2.3.1 (letters, digits, hyphens; RFC 1123 §2.1 allows a leading digit),
    // RFC 1035 §2.3.4 (a label has 1 to 63 octets).
    let ldh = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !key.split('.').all(ldh) {
        return Err(invalid(
            "labels have 1 to 63 letters, digits or inner hyphens",
        ));
    }
    Ok(key.into_owned())
}

/// A user's local-part entry in the form lookups use.
fn entry_local_part(local: &str) -> Result<String, InvalidEntry> {
    let key = role_key(local.trim());
    if key.is_empty() || key.contains('@') {
        return Err(InvalidEntry {
            entry: local.to_owned(),
            why: "give a local part: the part before the @",
        });
    }
    Ok(key)
}

/// A domain as the lists store it: ASCII lowercase, no trailing dot. Borrows when it already is.
fn domain_key(domain: &str) -> Cow<'_, str> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(domain.to_ascii_lowercase())
    } else {
        Cow::Borrowed(domain)
    }
}

/// A local part as role names are stored: ASCII lowercase, without `+tag`, `.`, `-` or `_`.
/// Only ASCII case is folded: every built-in name is ASCII, and full Unicode case tables would
/// cost the browser widget about 10 KB gzipped.
fn role_key(local: &str) -> String {
    role_key_in(local, &mut [0; ROLE_KEY_BUFFER]).into_owned()
}

/// Room for the key of any local part (64 octets at most, RFC 5321 §4.5.3.1.1).
const ROLE_KEY_BUFFER: usize = 64;

/// [`role_key`] written into `buffer` when it fits, as it does for any local part: this runs
/// for every address of a list, so it allocates nothing, and handles the separators and case
/// as bytes (none of them is part of a longer UTF-8 sequence, so the key stays UTF-8).
fn role_key_in<'b>(local: &'b str, buffer: &'b mut [u8; ROLE_KEY_BUFFER]) -> Cow<'b, str> {
    let base = local.split_once('+').map_or(local, |(base, _)| base);
    let key = base
        .bytes()
        .filter(|b| !matches!(b, b'.' | b'-' | b'_'))
        .map(|b| b.to_ascii_lowercase());
    if base.len() > buffer.len() {
        return Cow::Owned(String::from_utf8(key.collect()).unwrap_or_default());
    }
    let mut len = 0;
    for (slot, b) in buffer.iter_mut().zip(key) {
        *slot = b;
        len += 1;
    }
    Cow::Borrowed(std::str::from_utf8(&buffer[..len]).unwrap_or_default())
}

/// The domain and each parent that is still a registrable-looking name (two labels or more):
/// `a.b.example.com`, `b.example.com`, `example.com`. A bare TLD is never listed.
fn owners(domain: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(domain);
    std::iter::from_fn(move || {
        let current = rest?;
        let (_, parent) = current.split_once('.')?;
        rest = parent.contains('.').then_some(parent);
        Some(current)
    })
}

/// A set of names kept as one byte-sorted text, one name per line, each line ending in `\n`,
/// searched in place: no table to build at start-up, nothing beyond the text itself in the Wasm.
/// Also the form of the Public Suffix List (`crate::sender::psl`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SortedLines(pub(crate) &'static str);

impl SortedLines {
    pub(crate) fn contains(self, name: &str) -> bool {
        let text = self.0.as_bytes();
        let name = name.as_bytes();
        // Invariant: `lo` and `hi` are line starts (or the end of the text), and the name, if
        // present, starts in `lo..hi`.
        let (mut lo, mut hi) = (0, text.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = text[lo..mid]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(lo, |i| lo + i + 1);
            // The line and the name compared as they are read: most lines differ from the
            // name in their first bytes, and only a line before the name needs its end found.
            let line = &text[start..hi];
            let same = line
                .iter()
                .zip(name)
                .take_while(|&(&l, &n)| l == n && l != b'\n')
                .count();
            let after = line.get(same).copied().unwrap_or(b'\n');
            let order = match name.get(same) {
                None if after == b'\n' => return true,
                None => Ordering::Greater,
                // The end of a line sorts before any byte of a name.
                Some(_) if after == b'\n' => Ordering::Less,
                Some(&n) => after.cmp(&n),
            };
            match order {
                Ordering::Greater => hi = start,
                _ => {
                    let from = start + same;
                    lo = text[from..hi]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(hi, |i| from + i + 1);
                }
            }
        }
        false
    }

    #[cfg(test)]
    pub(crate) fn lines(self) -> impl Iterator<Item = &'static str> {
        self.0.lines()
    }
}

/// A [`SortedLines`] that a native build also keeps as a hash set, made on first use (about a
/// millisecond for the disposable list): a list of a million addresses has tens of thousands of
/// domains, each looked up in several lists, and a binary search of the text cost more than a
/// quarter of working out a new domain. The Wasm builds search the text: no table to build per
/// isolate or page, and no hash-set code in the widget. A unit test holds both to the same
/// answers.
#[derive(Debug)]
struct Indexed {
    lines: SortedLines,
    #[cfg(not(target_arch = "wasm32"))]
    set: std::sync::OnceLock<std::collections::HashSet<&'static str, crate::hash::BuildNameHasher>>,
}

impl Indexed {
    const fn new(lines: SortedLines) -> Indexed {
        Indexed {
            lines,
            #[cfg(not(target_arch = "wasm32"))]
            set: std::sync::OnceLock::new(),
        }
    }

    fn contains(&self, name: &str) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.set
                .get_or_init(|| self.lines.0.lines().collect())
                .contains(name)
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.lines.contains(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vendored list must be in the exact form `SortedLines` searches: otherwise lookups
    /// silently miss entries.
    #[test]
    fn data_files_are_sorted_unique_lowercase_ascii_lines() {
        for (name, list) in [
            ("disposable", DISPOSABLE),
            ("free providers", FREE_PROVIDERS),
            ("tlds", TLDS),
        ] {
            assert!(list.0.ends_with('\n'), "{name}: no final newline");
            let lines: Vec<&str> = list.lines().collect();
            assert!(lines.len() > 300, "{name}: only {} lines", lines.len());
            for pair in lines.windows(2) {
                assert!(
                    pair[0] < pair[1],
                    "{name}: {:?} before {:?}",
                    pair[0],
                    pair[1]
                );
            }
            for line in &lines {
                assert!(
                    line.bytes()
                        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.')),
                    "{name}: {line:?}"
                );
            }
        }
    }

    #[test]
    fn every_entry_is_found_and_near_misses_are_not() {
        for list in [DISPOSABLE, FREE_PROVIDERS, TLDS] {
            let all: std::collections::HashSet<&str> = list.lines().collect();
            for line in list.lines() {
                assert!(list.contains(line), "{line}");
                for miss in [
                    format!("{line}x"),
                    line[1..].to_owned(),
                    line[..line.len() - 1].to_owned(),
                ] {
                    assert_eq!(list.contains(&miss), all.contains(miss.as_str()), "{miss}");
                }
            }
        }
        assert!(!DISPOSABLE.contains(""));
        assert!(!DISPOSABLE.contains("\n"));
        assert!(!SortedLines("").contains("a"));
        assert!(SortedLines("a\n").contains("a"));
        assert!(!SortedLines("a\nc\n").contains("b"));
    }

    #[test]
    fn an_index_answers_as_its_sorted_lines() {
        for (list, index) in [
            (DISPOSABLE, &DISPOSABLE_INDEX),
            (FREE_PROVIDERS, &FREE_PROVIDERS_INDEX),
            (TLDS, &TLDS_INDEX),
        ] {
            for line in list.lines() {
                assert!(index.contains(line), "{line}");
                for other in [
                    format!("{line}x"),
                    format!("x.{line}"),
                    line[1..].to_owned(),
                    line[..line.len() - 1].to_owned(),
                    format!("{line}\n"),
                    line.to_ascii_uppercase(),
                ] {
                    assert_eq!(index.contains(&other), list.contains(&other), "{other:?}");
                }
            }
            for other in ["", "\n", "com", "gmail.com", "mailinator.com", "zz"] {
                assert_eq!(index.contains(other), list.contains(other), "{other:?}");
            }
        }
    }

    #[test]
    fn disposable_entries_are_domains_not_tlds() {
        for line in DISPOSABLE.lines() {
            assert!(line.contains('.'), "{line}");
        }
    }

    #[test]
    fn subdomains_match_a_listed_parent_but_not_the_other_way() {
        assert!(is_disposable("mailinator.com"));
        assert!(is_disposable("x.mailinator.com"));
        assert!(is_disposable("a.b.mailinator.com"));
        assert!(is_disposable("MAILINATOR.COM."));
        assert!(!is_disposable("mailinator.com.example.org"));
        assert!(!is_disposable("mailinatorx.com"));
        assert!(!is_disposable("com"));
        assert!(!is_disposable(""));
    }

    #[test]
    fn owners_walk_up_to_two_labels() {
        let all: Vec<&str> = owners("a.b.example.com").collect();
        assert_eq!(all, ["a.b.example.com", "b.example.com", "example.com"]);
        assert_eq!(owners("com").count(), 0);
        assert_eq!(owners("").count(), 0);
    }

    #[test]
    fn free_providers_match_exact_names_only() {
        assert!(is_free_provider("gmail.com"));
        assert!(is_free_provider("GMail.com."));
        assert!(!is_free_provider("mail.gmail.com"));
        assert!(!is_free_provider("gmail.com.example"));
    }

    #[test]
    fn no_free_provider_is_disposable() {
        for line in FREE_PROVIDERS.lines() {
            assert!(!is_disposable(line), "{line}");
        }
    }

    #[test]
    fn role_names_ignore_case_tags_and_separators() {
        for local in [
            "info",
            "INFO",
            "info+news",
            "no-reply",
            "No_Reply",
            "n.o.reply",
            "postmaster",
        ] {
            assert!(is_role_account(local), "{local}");
        }
        for local in [
            "jane",
            "information.desk",
            "infos",
            "+info",
            "",
            "ínfo",
            "marketing1",
        ] {
            assert!(!is_role_account(local), "{local}");
        }
    }

    #[test]
    fn a_key_longer_than_any_local_part_is_still_made() {
        let long = format!("i{}nfo", ".".repeat(70));
        assert_eq!(role_key(&long), "info");
        assert!(is_role_account(&long));
        assert!(!is_role_account(&"x".repeat(100)));
    }

    #[test]
    fn role_list_is_sorted_and_in_key_form() {
        for pair in ROLE_ACCOUNTS.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        for name in ROLE_ACCOUNTS {
            assert_eq!(role_key(name), *name);
            assert!((2..=ROLE_NUMBER_BYTES).contains(&name.len()), "{name}");
            assert!(!name.contains('\0'), "{name}");
        }
        for pair in ROLE_NUMBERS.windows(2) {
            assert!(pair[0] < pair[1]);
        }
    }

    #[test]
    fn role_numbers_agree_with_role_keys() {
        for local in [
            "info",
            "In.Fo+x",
            "infos",
            "inf",
            "",
            "+",
            "i\0nfo",
            "info\0",
            "ínfo",
            "no-reply",
            "customer_service",
            "customerservices",
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
            "h",
            "hR",
            "h.r+x",
            "hx",
            "\u{7f}i",
            "ÿa",
        ] {
            let by_key = ROLE_ACCOUNTS
                .binary_search(&role_key(local).as_str())
                .is_ok();
            assert_eq!(is_role_account(local), by_key, "{local:?}");
        }
    }

    #[test]
    fn sorted_lines_find_exactly_their_lines() {
        for list in [TLDS, FREE_PROVIDERS] {
            let lines: std::collections::BTreeSet<&str> = list.lines().collect();
            for line in list.lines().step_by(7) {
                let mut shorter = line.to_owned();
                shorter.pop();
                for name in [
                    line.to_owned(),
                    shorter,
                    format!("{line}a"),
                    format!("{line}\n"),
                    format!("{line}-"),
                    format!("0{line}"),
                    format!("{line}\u{1}"),
                ] {
                    assert_eq!(
                        list.contains(&name),
                        lines.contains(name.as_str()),
                        "{name:?}"
                    );
                }
            }
            assert!(!list.contains(""));
            assert!(!list.contains("\n"));
            assert!(!list.contains("~"));
        }
    }

    #[test]
    fn tlds_are_known_by_a_label() {
        assert!(is_tld("com"));
        assert!(is_tld("co"));
        assert!(is_tld("xn--p1ai"));
        assert!(!is_tld("con"));
        assert!(!is_tld("cmo"));
    }

    #[test]
    fn user_entries_win_and_the_most_specific_domain_entry_decides() {
        let mut lists = Lists::new();
        assert!(lists.is_disposable("x.mailinator.com"));
        lists.allow_domain("Mailinator.com.").unwrap();
        assert!(!lists.is_disposable("x.mailinator.com"));
        assert!(lists.is_allowed_domain("x.mailinator.com"));
        lists.deny_domain("bad.mailinator.com").unwrap();
        assert!(lists.is_disposable("a.bad.mailinator.com"));
        assert!(!lists.is_allowed_domain("a.bad.mailinator.com"));
        assert!(!lists.is_disposable("good.mailinator.com"));
        lists.deny_domain("mailinator.com").unwrap();
        assert!(lists.is_disposable("mailinator.com"));
        lists.deny_domain("example.com").unwrap();
        assert!(lists.is_disposable("mx.example.com"));
        assert!(!lists.is_disposable("example.org"));
    }

    #[test]
    fn user_local_parts_and_free_providers_win() {
        let mut lists = Lists::new();
        lists.allow_local_part("Info").unwrap();
        lists.deny_local_part("t.e.s.t").unwrap();
        assert!(!lists.is_role_account("info+x"));
        assert!(lists.is_role_account("test"));
        assert!(lists.is_role_account("sales"));
        lists.set_free_provider("gmail.com", false).unwrap();
        lists.set_free_provider("isp.example", true).unwrap();
        assert!(!lists.is_free_provider("gmail.com"));
        assert!(lists.is_free_provider("isp.example"));
        assert!(lists.is_free_provider("yahoo.com"));
    }

    #[test]
    fn invalid_entries_are_refused_with_a_reason() {
        let mut lists = Lists::new();
        for bad in [
            "",
            ".",
            "bücher.de",
            "a..b",
            "-a.com",
            "a-.com",
            "a b.com",
            "a@b.com",
        ] {
            let err = lists.deny_domain(bad).unwrap_err();
            assert_eq!(err.entry(), bad);
            assert!(err.to_string().contains("not a valid list entry"), "{err}");
        }
        assert!(
            lists
                .deny_domain(&format!("{}.com", "a".repeat(64)))
                .is_err()
        );
        assert!(
            lists
                .deny_domain(&format!("{}.com", "a".repeat(63)))
                .is_ok()
        );
        assert!(lists.deny_domain(&["a"; 130].join(".")).is_err());
        for bad in ["", "...", "+tag", "a@b"] {
            assert!(lists.deny_local_part(bad).is_err(), "{bad}");
        }
        assert_eq!(lists.domains.len(), 1, "a refused entry must not be kept");
        assert!(lists.local_parts.is_empty());
    }
}
