//! The Public Suffix List, and the organisational domain of RFC 7489 §3.2 that DMARC reads it
//! for: the registrable domain a name belongs to (`mail.example.co.uk` → `example.co.uk`).
//!
//! The list is publicsuffix.org's, vendored in `data/psl/` (Mozilla Public License 2.0, source
//! and version in `data/psl/SOURCE.md`, refreshed by `scripts/update-lists`). Only its ICANN
//! section is kept. DMARC asks for the registrable domain, the level at which one owner controls
//! a name and its subdomains; the private section instead marks where a company lets customers
//! create names under its own domain (`github.io`, `blogspot.com`, `herokuapp.com`), which
//! says where browsers must keep cookies apart, not who owns the mail of the parent. With it,
//! `user.github.io` would be its own organisational domain and `_dmarc.github.io` would no
//! longer cover it. DMARCbis drops the list for a walk up the DNS tree, which finds the same
//! company record for such names.
//!
//! The rules are kept as their sorted text, searched in place (the form of `crate::lists`):
//! nothing is built at start-up and nothing is allocated beyond the names asked for. The text is
//! 78 KB (28 KB gzipped). A program that never calls into this module does not link it; one that
//! does grows by about 88 KB in Wasm (34 KB gzipped) and 82 KB natively (`data/README.md`). A
//! lookup takes about 2.5 µs (a few binary searches per label).
//!
//! ```
//! use mailvet_core::sender::psl;
//!
//! assert_eq!(psl::organizational_domain("mail.Example.co.uk."), "example.co.uk");
//! assert_eq!(psl::public_suffix("a.b.c.kobe.jp"), "c.kobe.jp");
//! assert_eq!(psl::registrable_domain("co.uk"), None);
//! ```

use crate::lists::SortedLines;

/// The ICANN section's rules as A-labels, with their `*.` and `!` prefixes, byte-sorted.
const ICANN: SortedLines = SortedLines(include_str!("../../../../data/psl/icann.txt"));

/// The public suffix of `name` (an A-label name, any case, with or without the root dot), by
/// the algorithm of publicsuffix.org/list: an exception rule wins; else the matching rule with
/// the most labels; else the implicit `*`, so an unlisted TLD is a public suffix.
///
/// A name with an empty label (`.com`, `a..com`) has no public suffix: the empty string.
pub fn public_suffix(name: &str) -> String {
    let name = normalise(name);
    match suffix_labels(&name) {
        Some(count) => last_labels(&name, count).to_owned(),
        None => String::new(),
    }
}

/// The registrable domain of `name`: its public suffix and one more label, or `None` when the
/// name is a public suffix itself (or has an empty label). Lowercase, without the root dot.
pub fn registrable_domain(name: &str) -> Option<String> {
    let name = normalise(name);
    let count = suffix_labels(&name)?;
    let labels = name.split('.').count();
    (labels > count).then(|| last_labels(&name, count + 1).to_owned())
}

/// The organisational domain of RFC 7489 §3.2: the public suffix that matches the most labels
/// of `name`, with the next label of `name` before it (steps 3 and 4). When there is no such
/// label (the name is a public suffix, like `co.uk`), the name itself: §3.2 leaves the case
/// open, and a record published at a public suffix is then looked up where it is (the
/// public-suffix-domain records of RFC 9091). Lowercase, without the root dot.
pub fn organizational_domain(name: &str) -> String {
    registrable_domain(name).unwrap_or_else(|| normalise(name))
}

/// Whether `name` is a public suffix (`com`, `co.uk`, any unlisted TLD).
pub fn is_public_suffix(name: &str) -> bool {
    let name = normalise(name);
    suffix_labels(&name) == Some(name.split('.').count())
}

fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// How many labels of `name` (lowercase, no root dot) its public suffix has.
fn suffix_labels(name: &str) -> Option<usize> {
    if name.split('.').any(str::is_empty) {
        return None;
    }
    // The suffixes of the name, longest first: `a.b.c`, `b.c`, `c`.
    let suffixes: Vec<&str> = std::iter::once(name)
        .chain(name.match_indices('.').map(|(i, _)| &name[i + 1..]))
        .collect();
    let total = suffixes.len();
    let mut rule = String::with_capacity(name.len() + 2);
    let mut contains = |prefix: &str, suffix: &str| {
        rule.clear();
        rule.push_str(prefix);
        rule.push_str(suffix);
        ICANN.contains(&rule)
    };
    // An exception rule prevails over every other (publicsuffix.org/list, "Algorithm" 5); its
    // public suffix is the rule without its leftmost label (6).
    if let Some(i) = (0..total).find(|&i| contains("!", suffixes[i])) {
        return Some(total - i - 1);
    }
    // Otherwise the rule with the most labels (5): an exact rule, or a wildcard whose `*`
    // stands for the suffix's leftmost label.
    for (i, suffix) in suffixes.iter().enumerate() {
        if contains("", suffix)
            || suffixes
                .get(i + 1)
                .is_some_and(|parent| contains("*.", parent))
        {
            return Some(total - i);
        }
    }
    // No rule matches: the implicit rule `*` (2), one label.
    Some(1)
}

/// The last `count` labels of `name`.
fn last_labels(name: &str, count: usize) -> &str {
    let mut start = name.len();
    for _ in 0..count {
        // Before the suffix found so far comes its dot (ASCII, so a char boundary).
        let before = match start {
            0 => break,
            _ if start == name.len() => name,
            _ => &name[..start - 1],
        };
        start = before.rfind('.').map_or(0, |i| i + 1);
    }
    &name[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_are_sorted_unique_a_labels() {
        let lines: Vec<&str> = ICANN.lines().collect();
        assert!(lines.len() > 5000, "{}", lines.len());
        for pair in lines.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
        for line in &lines {
            let name = line
                .strip_prefix('!')
                .or_else(|| line.strip_prefix("*."))
                .unwrap_or(line);
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.')),
                "{line:?}"
            );
        }
        // The kinds of rule the algorithm handles, each present.
        for rule in [
            "com",
            "co.uk",
            "*.ck",
            "!www.ck",
            "*.kobe.jp",
            "!city.kobe.jp",
        ] {
            assert!(ICANN.contains(rule), "{rule}");
        }
        // Private-section rules are left out (see the module docs).
        for private in ["github.io", "blogspot.com", "herokuapp.com"] {
            assert!(!ICANN.contains(private), "{private}");
        }
    }

    /// publicsuffix.org's own test cases (`data/psl/test_psl.txt`): the registrable domain, or
    /// `null` for none. Names in U-labels are given as A-labels, as the module takes them. The
    /// cases under `uk.com` rest on a private-section rule, so here `uk.com` is registrable.
    #[test]
    fn the_lists_own_test_cases_pass() {
        let text = include_str!("../../../../data/psl/test_psl.txt");
        let to_ascii = |s: &str| idna::domain_to_ascii(s).unwrap_or_else(|_| s.to_owned());
        let mut checked = 0;
        for line in text.lines() {
            let Some(args) = line
                .strip_prefix("checkPublicSuffix(")
                .and_then(|l| l.strip_suffix(");"))
            else {
                continue;
            };
            let (input, expected) = args.split_once(", ").expect("two arguments");
            if input == "null" {
                continue;
            }
            let input = input.trim_matches('\'');
            let expected = (expected != "null").then(|| to_ascii(expected.trim_matches('\'')));
            let input = if input.is_ascii() {
                input.to_owned()
            } else {
                to_ascii(input)
            };
            let expected = if input == "uk.com" || input.ends_with(".uk.com") {
                Some("uk.com".to_owned())
            } else {
                expected
            };
            assert_eq!(registrable_domain(&input), expected, "{line}");
            checked += 1;
        }
        assert!(checked >= 70, "{checked}");
    }

    #[test]
    fn organisational_domains_per_rfc_7489() {
        for (name, org) in [
            // §3.2's own example shape: the suffix and one label more.
            ("example.com", "example.com"),
            ("mail.example.com", "example.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("Mail.EXAMPLE.com.", "example.com"),
            // A wildcard rule (*.ck) and its exception (!www.ck).
            ("a.b.test.ck", "b.test.ck"),
            ("www.www.ck", "www.ck"),
            // An unlisted TLD: the implicit `*` rule.
            ("a.b.example.invalidtld", "example.invalidtld"),
            // A public suffix itself: the name.
            ("co.uk", "co.uk"),
            ("com", "com"),
            // Private-section names belong to their company's domain.
            ("user.github.io", "github.io"),
            ("someone.blogspot.com", "blogspot.com"),
        ] {
            assert_eq!(organizational_domain(name), org, "{name}");
        }
    }

    #[test]
    fn suffixes_and_bad_names() {
        assert_eq!(public_suffix("www.example.com"), "com");
        assert_eq!(public_suffix("b.c.kobe.jp"), "c.kobe.jp");
        assert_eq!(public_suffix("city.kobe.jp"), "kobe.jp");
        assert_eq!(public_suffix("example"), "example");
        assert_eq!(public_suffix(".com"), "");
        assert_eq!(public_suffix("a..com"), "");
        assert_eq!(public_suffix(""), "");
        assert_eq!(registrable_domain("a..example.com"), None);
        assert!(is_public_suffix("co.uk"));
        assert!(is_public_suffix("unlisted"));
        assert!(!is_public_suffix("example.co.uk"));
        assert!(!is_public_suffix("www.ck"));
    }

    #[test]
    fn never_panics_on_odd_names() {
        for name in super::super::tags::near("a.B.city.kobe.jp.".as_bytes()) {
            let name = String::from_utf8_lossy(&name);
            let org = organizational_domain(&name);
            let suffix = public_suffix(&name);
            assert!(org.ends_with(&suffix), "{name:?}: {org:?} {suffix:?}");
        }
    }
}
