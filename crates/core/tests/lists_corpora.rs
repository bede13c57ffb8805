//! The corpora of `tests/data`: `lists.tsv` for the risk lists, `suggest.tsv` for typo
//! suggestions. Each row is `input, expectation…, source`; every failing row is reported at once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use mailvet_core::dns::route::{MailRoute, MxHost};
use mailvet_core::lists::{self, Lists};
use mailvet_core::suggest::{SuggestionKind, suggest};

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The rows of a corpus: tab-separated, `#` lines and blank lines skipped, each with the line
/// number and exactly `columns` columns.
fn rows(corpus: &str, columns: usize) -> Vec<(usize, Vec<String>)> {
    let path = repo_file(corpus);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let rows: Vec<(usize, Vec<String>)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(i, line)| {
            let cols: Vec<String> = line.split('\t').map(str::to_owned).collect();
            assert_eq!(cols.len(), columns, "{corpus}:{}: {line:?}", i + 1);
            (i + 1, cols)
        })
        .collect();
    assert!(rows.len() >= 100, "{corpus}: only {} rows", rows.len());
    rows
}

fn split_address(address: &str) -> (&str, &str) {
    address
        .rsplit_once('@')
        .unwrap_or_else(|| panic!("no @ in {address:?}"))
}

/// The names this build's disposable list holds beyond the rows' expectations: `None` with
/// `full-lists` (all of them), else those of `top.txt`.
fn top_list() -> Option<BTreeSet<String>> {
    if cfg!(feature = "full-lists") {
        return None;
    }
    let path = repo_file("data/disposable/top.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    Some(text.lines().map(str::to_owned).collect())
}

/// The domain and its parents, most specific first.
fn owners(domain: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(domain), |d| {
        d.split_once('.').map(|(_, parent)| parent)
    })
}

#[test]
fn lists_corpus() {
    let top = top_list();
    let mut failures = Vec::new();
    for (line, cols) in rows("tests/data/lists.tsv", 3) {
        let (address, expected) = (&cols[0], &cols[1]);
        let (local, domain) = split_address(address);
        let mut want: BTreeSet<&str> = expected.split(',').filter(|f| *f != "-").collect();
        let lowercase = domain.to_ascii_lowercase();
        if let Some(top) = &top
            && !owners(&lowercase).any(|d| top.contains(d))
        {
            want.remove("disposable");
        }
        let got: BTreeSet<&str> = [
            ("role", lists::is_role_account(local)),
            ("free", lists::is_free_provider(domain)),
            ("disposable", lists::is_disposable(domain)),
        ]
        .into_iter()
        .filter_map(|(flag, on)| on.then_some(flag))
        .collect();
        if got != want {
            failures.push(format!(
                "lists.tsv:{line}: {address}: want {want:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn suggest_corpus() {
    let lists = Lists::new();
    let mut failures = Vec::new();
    for (line, cols) in rows("tests/data/suggest.tsv", 4) {
        let (address, dns, expected) = (&cols[0], &cols[1], &cols[2]);
        let (local, domain) = split_address(address);
        let route = match dns.as_str() {
            "-" => None,
            "mx" => Some(MailRoute::Hosts(vec![MxHost {
                preference: 10,
                host: format!("mx.{domain}"),
                implicit: false,
            }])),
            "nomx" => Some(MailRoute::NoMailServer),
            "nullmx" => Some(MailRoute::NullMx),
            "nxdomain" => Some(MailRoute::DomainNotFound),
            other => panic!("suggest.tsv:{line}: unknown dns {other:?}"),
        };
        let got = match suggest(&lists, local, domain, route.as_ref()) {
            None => "-".to_owned(),
            Some(s) => {
                assert!(s.address.ends_with(&format!("@{}", s.domain)), "{s:?}");
                match s.kind {
                    SuggestionKind::Hint => format!("hint:{}", s.address),
                    SuggestionKind::PossibleTypo => format!("typo:{}", s.address),
                }
            }
        };
        if &got != expected {
            failures.push(format!(
                "suggest.tsv:{line}: {address} ({dns}): want {expected}, got {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
