//! Every DNS check of a sending domain, in one report: what `mailvet domain` and
//! `GET /v1/domains/{name}` answer. The checks ask DNS through the caller's `ask` (DoH over
//! `fetch` in the Worker; DoH or a recursive resolver in the CLI), and run on no particular
//! runtime. What only a native caller can do (asking mail hosts for STARTTLS) is added to the
//! report by [`DomainReport::add_starttls`].

use std::net::IpAddr;

use serde::Serialize;

use super::report::{self, MxReport, SpfIpResult, SpfReport};
use super::spf::tree::SpfTree;
use super::spf::{Answer, CheckHost, QueryType, Rdata};
use super::{Finding, FindingCode};
use crate::dns::route::{MailRoute, MxHost};

/// The sender-health report of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DomainReport {
    pub domain: String,
    /// A (nothing to fix) to F ([`report::grade`]).
    pub grade: char,
    /// The findings to fix for an A, most important first.
    pub to_reach_a: Vec<FindingCode>,
    pub spf: SpfReport,
    pub mx: Vec<MxReport>,
    pub findings: Vec<Finding>,
}

impl DomainReport {
    /// Whether each MX host (in the order of [`DomainReport::mx`]) offers STARTTLS, as a native
    /// caller found by asking it: `None` where it could not ask.
    pub fn add_starttls(&mut self, offered: &[Option<bool>]) {
        for (host, offered) in self.mx.iter_mut().zip(offered) {
            host.starttls = *offered;
            if *offered == Some(false) {
                self.findings.push(Finding::new(
                    FindingCode::MxNoStarttls,
                    format!(
                        "The mail host {} of {} does not offer STARTTLS, so mail to it travels unencrypted (RFC 3207).",
                        host.host, self.domain
                    ),
                    format!("Turn on STARTTLS on {} with a certificate for its name.", host.host),
                ));
            }
        }
        self.grade_again();
    }

    fn grade_again(&mut self) {
        self.grade = report::grade(&self.findings);
        self.to_reach_a = report::to_reach_a(&self.findings);
    }
}

/// Checks `domain` (A-labels, lowercase): its SPF tree and `check_host()` for each of `ips`,
/// its MX hosts. `now` (Unix seconds) is for SPF's `%{t}`; `ask` answers each DNS query.
pub async fn check<F, Fut>(domain: &str, ips: &[IpAddr], now: u64, ask: F) -> DomainReport
where
    F: Fn(String, QueryType) -> Fut,
    Fut: Future<Output = Answer>,
{
    let analysis = SpfTree::new(domain).run(&ask).await;
    let mut results = Vec::with_capacity(ips.len());
    for &ip in ips {
        let evaluation = CheckHost::new(ip, domain, &format!("postmaster@{domain}"), domain)
            .at(now)
            .run(&ask)
            .await;
        results.push(SpfIpResult::new(ip, evaluation));
    }
    let (route, hosts) = mail_hosts(domain, &ask).await;
    let mut findings = analysis.findings.clone();
    if let Some(route) = &route {
        findings.extend(report::mx_findings(domain, route, &hosts));
    }
    let mut report = DomainReport {
        domain: domain.to_owned(),
        grade: 'F',
        to_reach_a: Vec::new(),
        spf: SpfReport {
            record: analysis.root.record.clone(),
            lookups: analysis.root.total,
            void_lookups: analysis.root.void_lookups,
            tree: analysis.root,
            results,
        },
        mx: hosts
            .into_iter()
            .map(|(host, addresses)| MxReport {
                host: host.host,
                preference: host.preference,
                implicit: host.implicit,
                addresses,
                starttls: None,
            })
            .collect(),
        findings,
    };
    report.grade_again();
    report
}

/// The domain's mail hosts as its MX records name them (an MX host without an address is
/// kept, unlike for delivery), each with its addresses; no route when DNS gave no answer.
async fn mail_hosts<F, Fut>(
    domain: &str,
    ask: &F,
) -> (Option<MailRoute>, Vec<(MxHost, Vec<IpAddr>)>)
where
    F: Fn(String, QueryType) -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut mx: Vec<MxHost> = match ask(domain.to_owned(), QueryType::Mx).await {
        Answer::Failed => return (None, Vec::new()),
        Answer::NoSuchName => return (Some(MailRoute::DomainNotFound), Vec::new()),
        Answer::Records(records) => records
            .iter()
            .filter_map(|r| match r {
                Rdata::Mx(preference, exchange) => Some(MxHost {
                    preference: *preference,
                    host: exchange.trim_end_matches('.').to_ascii_lowercase(),
                    implicit: false,
                }),
                _ => None,
            })
            .collect(),
    };
    mx.sort_by(|a, b| (a.preference, &a.host).cmp(&(b.preference, &b.host)));
    mx.dedup_by(|a, b| a.host == b.host);
    // RFC 7505 §3: a single MX naming the root.
    if let [only] = mx.as_slice()
        && only.host.is_empty()
    {
        return (Some(MailRoute::NullMx), Vec::new());
    }
    if mx.is_empty() {
        // RFC 5321 §5.1: without MX records, the domain itself is the mail host.
        mx.push(MxHost {
            preference: 0,
            host: domain.to_owned(),
            implicit: true,
        });
    }
    let mut hosts = Vec::with_capacity(mx.len());
    for host in mx {
        let mut addresses = Vec::new();
        for kind in [QueryType::A, QueryType::Aaaa] {
            if let Answer::Records(records) = ask(host.host.clone(), kind).await {
                addresses.extend(records.iter().filter_map(|r| match r {
                    Rdata::A(a) => Some(IpAddr::V4(*a)),
                    Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
                    _ => None,
                }));
            }
        }
        hosts.push((host, addresses));
    }
    if let [(host, addresses)] = hosts.as_slice()
        && host.implicit
        && addresses.is_empty()
    {
        return (Some(MailRoute::NoMailServer), Vec::new());
    }
    let route = MailRoute::Hosts(hosts.iter().map(|(h, _)| h.clone()).collect());
    (Some(route), hosts)
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// Runs a future whose every await is ready at once (answers from memory).
    fn now<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
                return value;
            }
        }
    }

    fn zone(name: String, kind: QueryType) -> Answer {
        let records = match (name.as_str(), kind) {
            ("example.com", QueryType::Txt) => vec![Rdata::Txt(b"v=spf1 mx -all".to_vec())],
            ("example.com", QueryType::Mx) => vec![
                Rdata::Mx(20, "backup.example.com.".to_owned()),
                Rdata::Mx(10, "mx.example.com.".to_owned()),
            ],
            ("mx.example.com", QueryType::A) => vec![Rdata::A("192.0.2.1".parse().unwrap())],
            ("example.com" | "mx.example.com" | "backup.example.com", _) => Vec::new(),
            _ => return Answer::NoSuchName,
        };
        Answer::Records(records)
    }

    #[test]
    fn a_domain_is_checked_and_graded() {
        let ips: [IpAddr; 2] = ["192.0.2.1".parse().unwrap(), "192.0.2.9".parse().unwrap()];
        let report = now(check("example.com", &ips, 0, |name, kind| async move {
            zone(name, kind)
        }));
        assert_eq!(report.spf.record.as_deref(), Some("v=spf1 mx -all"));
        assert_eq!(
            report.spf.results[0].result,
            super::super::spf::SpfResult::Pass
        );
        assert_eq!(
            report.spf.results[1].result,
            super::super::spf::SpfResult::Fail
        );
        let hosts: Vec<&str> = report.mx.iter().map(|m| m.host.as_str()).collect();
        assert_eq!(hosts, ["mx.example.com", "backup.example.com"]);
        let codes: Vec<FindingCode> = report.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [FindingCode::MxHostNoAddress]);
        assert_eq!(report.grade, 'C');
        let mut report = report;
        report.add_starttls(&[Some(false), None]);
        assert_eq!(report.mx[0].starttls, Some(false));
        assert_eq!(
            report.to_reach_a,
            [FindingCode::MxHostNoAddress, FindingCode::MxNoStarttls]
        );
        // 100 - 25 - 10.
        assert_eq!(report.grade, 'C');
    }
}
