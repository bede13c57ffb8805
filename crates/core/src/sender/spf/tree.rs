//! A domain's SPF record as a whole, without a client address: the tree of `include` and
//! `redirect` targets with what each costs of the lookup limit (RFC 7208 §4.6.4), the lookups
//! that find nothing, and the findings, each with its fix. Sans-io in the manner of
//! [`super::CheckHost`]: [`SpfTree::step`] asks for a query or gives the [`SpfAnalysis`].

use std::collections::HashMap;

use serde::Serialize;

use super::record::{self, Mechanism, Qualifier, Term};
use super::{Answer, LOOKUP_LIMIT, QueryType, Rdata, VOID_LIMIT};
use crate::sender::{Finding, FindingCode, Severity};

/// The longest record that still fits a DNS answer over UDP with room to spare (§3.4: "keep
/// the record small enough to fit in a 512-octet DNS answer … 450 octets").
pub const RECORD_OCTETS: usize = 450;

/// One domain's record in the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpfNode {
    pub domain: String,
    /// The record, when the domain has exactly one.
    pub record: Option<String>,
    /// Terms of this record that ask DNS: `include`, `a`, `mx`, `ptr`, `exists`, `redirect`.
    pub lookups: u32,
    /// `lookups` with those of everything below.
    pub total: u32,
    /// Lookups under this record that found nothing (a target without addresses, an MX, an
    /// `exists` name: known without the client's address only where no macro is involved).
    pub void_lookups: u32,
    /// `include` and `redirect` targets, in order.
    pub children: Vec<SpfNode>,
    /// Why this record cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What [`SpfTree`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpfAnalysis {
    pub root: SpfNode,
    /// The tree drawn with each record's cost, for people.
    pub drawing: String,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// The analysis of `domain`'s record.
#[derive(Clone, Debug)]
pub struct SpfTree {
    domain: String,
    answers: HashMap<(String, QueryType), Answer>,
}

/// What [`SpfTree::step`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeStep {
    Query(String, QueryType),
    Done(SpfAnalysis),
}

/// Includes deeper than this are not followed (a loop, or a tree no receiver would walk).
const MAX_DEPTH: usize = 12;

impl SpfTree {
    pub fn new(domain: &str) -> SpfTree {
        SpfTree {
            domain: key(domain),
            answers: HashMap::new(),
        }
    }

    pub fn answer(&mut self, name: &str, kind: QueryType, answer: Answer) {
        self.answers.insert((key(name), kind), answer);
    }

    /// The whole analysis, `ask` answering each query.
    pub async fn run<F, Fut>(mut self, mut ask: F) -> SpfAnalysis
    where
        F: FnMut(String, QueryType) -> Fut,
        Fut: Future<Output = Answer>,
    {
        loop {
            match self.step() {
                TreeStep::Query(name, kind) => {
                    let answer = ask(name.clone(), kind).await;
                    self.answer(&name, kind, answer);
                }
                TreeStep::Done(analysis) => return analysis,
            }
        }
    }

    pub fn step(&self) -> TreeStep {
        let mut walk = Walk { tree: self };
        match walk.node(&self.domain.clone(), 0) {
            Err((name, kind)) => TreeStep::Query(name, kind),
            Ok(root) => {
                let mut drawing = String::new();
                draw(&root, 0, &mut drawing);
                let findings = findings(&root);
                TreeStep::Done(SpfAnalysis {
                    root,
                    drawing,
                    findings,
                })
            }
        }
    }
}

fn key(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

struct Walk<'a> {
    tree: &'a SpfTree,
}

type Need = (String, QueryType);

impl Walk<'_> {
    fn lookup(&self, name: &str, kind: QueryType) -> Result<&Answer, Need> {
        let k = (key(name), kind);
        self.tree.answers.get(&k).ok_or((k.0, kind))
    }

    /// Whether `name` has records of `kind` (`None`: DNS failed).
    fn has(&self, name: &str, kind: QueryType) -> Result<Option<bool>, Need> {
        Ok(match self.lookup(name, kind)? {
            Answer::Failed => None,
            Answer::NoSuchName => Some(false),
            Answer::Records(records) => Some(!records.is_empty()),
        })
    }

    fn node(&mut self, domain: &str, depth: usize) -> Result<SpfNode, Need> {
        let mut node = SpfNode {
            domain: domain.to_owned(),
            record: None,
            lookups: 0,
            total: 0,
            void_lookups: 0,
            children: Vec::new(),
            error: None,
        };
        let records: Vec<Vec<u8>> = match self.lookup(domain, QueryType::Txt)? {
            Answer::Failed => {
                node.error = Some("the TXT lookup failed".to_owned());
                return Ok(node);
            }
            Answer::NoSuchName => Vec::new(),
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match r {
                    Rdata::Txt(text) if record::is_spf(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
        };
        let text = match records.as_slice() {
            [] => {
                node.error = Some("no SPF record".to_owned());
                return Ok(node);
            }
            [one] => one,
            many => {
                node.error = Some(format!("{} SPF records", many.len()));
                return Ok(node);
            }
        };
        node.record = Some(String::from_utf8_lossy(text).into_owned());
        let parsed = match record::parse(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                node.error = Some(e.to_string());
                return Ok(node);
            }
        };
        for (_, term) in &parsed.terms {
            let target = match term {
                Term::Directive(_, mechanism) if mechanism.asks_dns() => {
                    node.lookups += 1;
                    match mechanism {
                        Mechanism::Include(spec) => spec.literal(),
                        Mechanism::A { domain: spec, .. } | Mechanism::Mx { domain: spec, .. } => {
                            let name = match spec {
                                Some(spec) => spec.literal(),
                                None => Some(domain.to_owned()),
                            };
                            if let Some(name) = name {
                                let kinds: &[QueryType] =
                                    if matches!(mechanism, Mechanism::Mx { .. }) {
                                        &[QueryType::Mx]
                                    } else {
                                        &[QueryType::A, QueryType::Aaaa]
                                    };
                                let mut found = false;
                                for kind in kinds {
                                    found |= self.has(&name, *kind)?.unwrap_or(true);
                                }
                                node.void_lookups += u32::from(!found);
                            }
                            None
                        }
                        Mechanism::Exists(spec) => {
                            if let Some(name) = spec.literal() {
                                let found = self.has(&name, QueryType::A)?.unwrap_or(true);
                                node.void_lookups += u32::from(!found);
                            }
                            None
                        }
                        _ => None,
                    }
                }
                Term::Redirect(spec) => {
                    node.lookups += 1;
                    spec.literal()
                }
                _ => None,
            };
            if let Some(target) = target {
                if depth >= MAX_DEPTH {
                    node.error = Some(format!("includes deeper than {MAX_DEPTH}: a loop?"));
                    continue;
                }
                let child = self.node(&key(&target), depth + 1)?;
                node.children.push(child);
            }
        }
        node.total = node.lookups + node.children.iter().map(|c| c.total).sum::<u32>();
        let below: u32 = node.children.iter().map(|c| c.void_lookups).sum();
        node.void_lookups += below;
        Ok(node)
    }
}

fn draw(node: &SpfNode, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let state = match &node.error {
        Some(error) => format!(" ({error})"),
        None => String::new(),
    };
    out.push_str(&format!(
        "{indent}{} — {} lookup{} ({} here){state}\n",
        node.domain,
        node.total,
        if node.total == 1 { "" } else { "s" },
        node.lookups
    ));
    for child in &node.children {
        draw(child, depth + 1, out);
    }
}

/// The findings of a tree (the record's own; `check_host()` results per address are apart).
pub fn findings(root: &SpfNode) -> Vec<Finding> {
    let domain = &root.domain;
    let mut found = Vec::new();
    let Some(text) = &root.record else {
        let (code, message, fix) = match root.error.as_deref() {
            Some(many) if many.ends_with("SPF records") => (
                FindingCode::SpfMultipleRecords,
                format!("{domain} has {many}; receivers then treat SPF as broken (permerror, RFC 7208 §4.5)."),
                "Merge them into one v=spf1 record and delete the others.".to_owned(),
            ),
            Some("the TXT lookup failed") => return found,
            _ => (
                FindingCode::SpfMissing,
                format!("{domain} has no SPF record, so receivers cannot tell its mail from forgeries."),
                "Publish a TXT record that lists the servers that send your mail; if only your MX hosts send it, the record below will do.".to_owned(),
            ),
        };
        let finding = Finding::new(code, message, fix);
        found.push(if code == FindingCode::SpfMissing {
            finding.publish(domain, "TXT", "v=spf1 mx ~all")
        } else {
            finding
        });
        return found;
    };
    if let Some(error) = &root.error {
        found.push(Finding::new(
            FindingCode::SpfSyntaxError,
            format!("The SPF record of {domain} does not parse: {error}; receivers treat it as a permerror (RFC 7208 §4.6)."),
            "Correct the term so that it follows RFC 7208 §5 and §6, or remove it.",
        ));
    }
    for child in all_nodes(root).skip(1) {
        if let Some(error) = &child.error {
            found.push(Finding::new(
                FindingCode::SpfSyntaxError,
                format!(
                    "The SPF record of {} (included by {domain}) cannot be used: {error}.",
                    child.domain
                ),
                format!(
                    "Ask the owner of {} to fix it, or stop including it.",
                    child.domain
                ),
            ));
        }
    }
    if root.total > LOOKUP_LIMIT {
        let mut includes: Vec<&SpfNode> = root.children.iter().collect();
        includes.sort_by_key(|include| std::cmp::Reverse(include.total));
        let mut left = root.total;
        let mut flatten = Vec::new();
        for include in includes {
            if left <= LOOKUP_LIMIT {
                break;
            }
            // Flattened, an include costs nothing: its addresses are written in as ip4/ip6.
            left -= include.total;
            flatten.push(format!("{} ({} lookups)", include.domain, include.total));
        }
        found.push(Finding::new(
            FindingCode::SpfTooManyLookups,
            format!(
                "The SPF record of {domain} needs {} DNS lookups; receivers stop at {LOOKUP_LIMIT} and treat it as a permerror (RFC 7208 §4.6.4):\n{}",
                root.total,
                draw_text(root)
            ),
            format!(
                "Flatten {}: replace each include with the ip4:/ip6: ranges it names, and keep them up to date; or drop senders you no longer use.",
                flatten.join(", ")
            ),
        ));
    }
    if root.void_lookups > VOID_LIMIT {
        found.push(Finding::new(
            FindingCode::SpfTooManyVoidLookups,
            format!(
                "The SPF record of {domain} makes {} lookups that find nothing; receivers allow {VOID_LIMIT} (RFC 7208 §4.6.4).",
                root.void_lookups
            ),
            "Remove the a:, mx:, exists: and include: terms whose names have no records.",
        ));
    }
    let terms = record::parse(text.as_bytes())
        .map(|r| r.terms)
        .unwrap_or_default();
    for (term_text, term) in &terms {
        if let Term::Directive(qualifier @ (Qualifier::Pass | Qualifier::Neutral), Mechanism::All) =
            term
        {
            let suggestion = text.replace(term_text.as_str(), "~all");
            found.push(
                Finding::new(
                    FindingCode::SpfPermissiveAll,
                    format!(
                        "The SPF record of {domain} ends in {}, which lets any server on the Internet send as {domain}.",
                        if *qualifier == Qualifier::Pass { "+all" } else { "?all" }
                    ),
                    "End the record in ~all (or -all once you are sure every sender is listed).",
                )
                .publish(domain, "TXT", suggestion),
            );
        }
    }
    if all_nodes(root).any(|n| {
        n.record
            .as_deref()
            .and_then(|r| record::parse(r.as_bytes()).ok())
            .is_some_and(|r| {
                r.terms
                    .iter()
                    .any(|(_, t)| matches!(t, Term::Directive(_, Mechanism::Ptr(_))))
            })
    }) {
        found.push(Finding::new(
            FindingCode::SpfPtrMechanism,
            format!("The SPF record of {domain} (or one it includes) uses ptr, which RFC 7208 §5.5 says not to use: it is slow, and some receivers skip it."),
            "Replace ptr with the ip4:/ip6: ranges or a: names of your senders.",
        ));
    }
    if text.len() > RECORD_OCTETS {
        found.push(
            Finding::new(
                FindingCode::SpfRecordTooLong,
                format!("The SPF record of {domain} is {} octets; over {RECORD_OCTETS} it may not fit a DNS answer over UDP (RFC 7208 §3.4).", text.len()),
                "Shorten it: move ranges into an included record of your own.",
            )
            .with_severity(Severity::Warning),
        );
    }
    found
}

fn draw_text(root: &SpfNode) -> String {
    let mut out = String::new();
    draw(root, 0, &mut out);
    out.trim_end().to_owned()
}

/// The nodes of a tree, depth first.
fn all_nodes(root: &SpfNode) -> impl Iterator<Item = &SpfNode> {
    let mut stack = vec![root];
    std::iter::from_fn(move || {
        let node = stack.pop()?;
        stack.extend(node.children.iter().rev());
        Some(node)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(zone: &[(&str, &str)]) -> SpfAnalysis {
        let mut tree = SpfTree::new("example.com");
        loop {
            match tree.step() {
                TreeStep::Query(name, kind) => {
                    let records: Vec<Rdata> = zone
                        .iter()
                        .filter(|(n, _)| *n == name && kind == QueryType::Txt)
                        .map(|(_, t)| Rdata::Txt(t.as_bytes().to_vec()))
                        .collect();
                    let answer = if zone.iter().any(|(n, _)| *n == name) {
                        Answer::Records(records)
                    } else {
                        Answer::NoSuchName
                    };
                    tree.answer(&name, kind, answer);
                }
                TreeStep::Done(analysis) => return analysis,
            }
        }
    }

    fn codes(analysis: &SpfAnalysis) -> Vec<FindingCode> {
        analysis.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn includes_are_counted_through_the_tree() {
        let zone = [
            (
                "example.com",
                "v=spf1 include:a.example include:b.example mx -all",
            ),
            (
                "a.example",
                "v=spf1 include:c.example a:a.example ip4:192.0.2.0/24 ~all",
            ),
            (
                "c.example",
                "v=spf1 a:c.example a:d.c.example exists:x.c.example -all",
            ),
            (
                "b.example",
                "v=spf1 include:e.example include:f.example -all",
            ),
            (
                "e.example",
                "v=spf1 a:e.example mx:e.example a:e2.example -all",
            ),
            ("f.example", "v=spf1 ip4:198.51.100.1 -all"),
        ];
        let analysis = analyse(&zone);
        assert_eq!(analysis.root.lookups, 3);
        assert_eq!(analysis.root.total, 3 + 2 + 3 + 2 + 3);
        assert!(codes(&analysis).contains(&FindingCode::SpfTooManyLookups));
        let finding = &analysis.findings[0];
        assert!(
            finding.message.contains("a.example — 5 lookups (2 here)"),
            "{}",
            finding.message
        );
        // Flattening the costliest include brings it under the limit.
        assert!(
            finding.fix.starts_with("Flatten a.example (5 lookups)"),
            "{}",
            finding.fix
        );
        // Every a:, mx: and exists: target above has no records: voids.
        assert!(codes(&analysis).contains(&FindingCode::SpfTooManyVoidLookups));
    }

    #[test]
    fn a_missing_or_doubled_record_and_a_permissive_all() {
        let missing = analyse(&[("example.com", "hello")]);
        assert_eq!(codes(&missing), [FindingCode::SpfMissing]);
        assert_eq!(
            missing.findings[0].record.as_ref().unwrap().value,
            "v=spf1 mx ~all"
        );
        let two = analyse(&[
            ("example.com", "v=spf1 -all"),
            ("example.com", "v=spf1 +all"),
        ]);
        assert_eq!(codes(&two), [FindingCode::SpfMultipleRecords]);
        let open = analyse(&[("example.com", "v=spf1 ip4:192.0.2.1 +all")]);
        assert_eq!(codes(&open), [FindingCode::SpfPermissiveAll]);
        assert_eq!(
            open.findings[0].record.as_ref().unwrap().value,
            "v=spf1 ip4:192.0.2.1 ~all"
        );
        let ptr = analyse(&[("example.com", "v=spf1 ptr -all")]);
        assert!(codes(&ptr).contains(&FindingCode::SpfPtrMechanism));
        let broken = analyse(&[("example.com", "v=spf1 ip4:192.0.2.300 -all")]);
        assert_eq!(codes(&broken), [FindingCode::SpfSyntaxError]);
        let long = format!("v=spf1 {} -all", "ip4:192.0.2.1 ".repeat(40));
        let long = analyse(&[("example.com", &long)]);
        assert_eq!(codes(&long), [FindingCode::SpfRecordTooLong]);
    }

    #[test]
    fn an_include_loop_ends() {
        let analysis = analyse(&[
            ("example.com", "v=spf1 include:loop.example -all"),
            ("loop.example", "v=spf1 include:example.com -all"),
        ]);
        assert!(codes(&analysis).contains(&FindingCode::SpfTooManyLookups));
    }
}
