//! Every check of a sending domain, in one report: what `mailvet domain` and
//! `GET /v1/domains/{name}` answer. The checks ask DNS and fetch the MTA-STS policy through the
//! caller's [`Net`] (DoH over `fetch` in the Worker; DoH or a recursive resolver in the CLI),
//! and run on no particular runtime. What only a native caller can do (asking mail hosts for
//! STARTTLS) is added to the report by [`DomainReport::add_starttls`].

use std::net::IpAddr;

use serde::Serialize;

use super::report::{
    self, DkimReport, DmarcReport, MtaStsReport, MxReport, SpfIpResult, SpfReport, TxtReport,
};
use super::spf::tree::SpfTree;
use super::spf::{Answer, CheckHost, QueryType, Rdata};
use super::txt::Selection;
use super::{Finding, FindingCode, bimi, dkim, dmarc, dnsbl, mta_sts, tls_rpt};
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
    pub dmarc: DmarcReport,
    /// One entry per selector tried.
    pub dkim: Vec<DkimReport>,
    pub mx: Vec<MxReport>,
    pub mta_sts: MtaStsReport,
    pub tls_rpt: TxtReport,
    pub bimi: TxtReport,
    /// One entry per list and target; empty when the lists were not asked (see
    /// `dnsbl_skipped`).
    pub dnsbl: Vec<dnsbl::Entry>,
    /// Why the blocklists were not asked, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnsbl_skipped: Option<String>,
    pub findings: Vec<Finding>,
}

/// What the checks need from the network: DNS answers, and the MTA-STS policy over HTTPS.
pub trait Net {
    /// The answer to a DNS query.
    fn dns(&self, name: String, kind: QueryType) -> impl Future<Output = Answer>;
    /// The body of `url` over HTTPS with a valid certificate and status 200, redirects not
    /// followed (RFC 8461 §3.3); else why not, in a sentence.
    fn https(&self, url: String) -> impl Future<Output = Result<Vec<u8>, String>>;
}

/// Which blocklists to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocklists {
    /// These lists: IP lists for the sending and MX addresses, domain lists for the domain.
    Ask {
        ip: Vec<String>,
        domain: Vec<String>,
    },
    /// None, for this reason (the Worker without a prober: lists refuse public resolvers).
    Skip(String),
}

impl Blocklists {
    /// The default lists (`dnsbl::DEFAULT_IP_LISTS`, `dnsbl::DEFAULT_DOMAIN_LISTS`).
    pub fn default_lists() -> Blocklists {
        Blocklists::Ask {
            ip: dnsbl::DEFAULT_IP_LISTS
                .iter()
                .map(|&z| z.to_owned())
                .collect(),
            domain: dnsbl::DEFAULT_DOMAIN_LISTS
                .iter()
                .map(|&z| z.to_owned())
                .collect(),
        }
    }
}

/// What to check besides the domain's own records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Sending addresses: SPF `check_host()` for each, and the IP blocklists.
    pub ips: Vec<IpAddr>,
    /// DKIM selectors to try; none: [`dkim::COMMON_SELECTORS`].
    pub selectors: Vec<String>,
    pub blocklists: Blocklists,
    /// Unix seconds, for SPF's `%{t}`.
    pub now: u64,
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

    /// What the blocklists said, asked by a caller that could when [`check`] could not (the
    /// Worker through its prober, for the addresses of [`dnsbl_targets`] and the domain):
    /// the entries and their findings replace the reason they were skipped.
    pub fn add_dnsbl(&mut self, entries: Vec<dnsbl::Entry>) {
        self.findings.extend(dnsbl::findings(&entries));
        self.dnsbl = entries;
        self.dnsbl_skipped = None;
        self.grade_again();
    }

    /// Says why the blocklists were not asked (replacing an earlier reason).
    pub fn skip_dnsbl(&mut self, why: String) {
        self.dnsbl_skipped = Some(why);
    }

    fn grade_again(&mut self) {
        self.grade = report::grade(&self.findings);
        self.to_reach_a = report::to_reach_a(&self.findings);
    }
}

/// Checks `domain` (A-labels, lowercase): SPF (the tree, and `check_host()` for each address),
/// DMARC, DKIM, the MX hosts, MTA-STS, TLS-RPT, BIMI and the blocklists.
pub async fn check(domain: &str, options: &Options, net: &impl Net) -> DomainReport {
    let ask = |name: String, kind: QueryType| net.dns(name, kind);
    let analysis = SpfTree::new(domain).run(&ask).await;
    let mut results = Vec::with_capacity(options.ips.len());
    for &ip in &options.ips {
        let evaluation = CheckHost::new(ip, domain, &format!("postmaster@{domain}"), domain)
            .at(options.now)
            .run(&ask)
            .await;
        results.push(SpfIpResult::new(ip, evaluation));
    }
    let mut findings = analysis.findings.clone();

    let (dmarc_report, dmarc_findings) = dmarc_check(domain, net).await;
    findings.extend(dmarc_findings);

    let guessed = options.selectors.is_empty();
    let selectors: Vec<String> = if guessed {
        dkim::COMMON_SELECTORS
            .iter()
            .map(|&s| s.to_owned())
            .collect()
    } else {
        options.selectors.clone()
    };
    let mut tried = Vec::with_capacity(selectors.len());
    for selector in selectors {
        let texts = txt_records(
            net.dns(dkim::record_name(&selector, domain), QueryType::Txt)
                .await,
        );
        let found = dkim::select(texts.iter().map(Vec::as_slice));
        tried.push((selector, found));
    }
    findings.extend(dkim::findings(domain, &tried, guessed));
    let dkim_reports: Vec<DkimReport> = tried
        .iter()
        // Guessed selectors that are not there are not worth a line of the report.
        .filter(|(_, found)| !guessed || matches!(found, dkim::Selector::Found { .. }))
        .map(|(selector, found)| DkimReport::new(selector, found))
        .collect();

    let (route, hosts) = mail_hosts(domain, &ask).await;
    if let Some(route) = &route {
        findings.extend(report::mx_findings(domain, route, &hosts));
    }
    let mx_names: Vec<String> = hosts.iter().map(|(h, _)| h.host.clone()).collect();

    let (mta_sts_report, mta_sts_findings) = mta_sts_check(domain, &mx_names, net).await;
    findings.extend(mta_sts_findings);

    let tls_texts = txt_records(net.dns(tls_rpt::record_name(domain), QueryType::Txt).await);
    let tls_selection = tls_rpt::select(tls_texts.iter().map(Vec::as_slice));
    findings.extend(tls_rpt::findings(domain, tls_selection));
    let tls_rpt_report = TxtReport::of(tls_selection, |t| tls_rpt::parse(t).err().map(|e| e.0));

    let bimi_texts = txt_records(
        net.dns(bimi::record_name("default", domain), QueryType::Txt)
            .await,
    );
    let bimi_selection = super::txt::select(bimi_texts.iter().map(Vec::as_slice), bimi::is_bimi);
    let bimi_report = TxtReport::of(bimi_selection, |t| bimi::parse(t).err().map(|e| e.0));

    let (entries, dnsbl_skipped) = match &options.blocklists {
        Blocklists::Skip(why) => (Vec::new(), Some(why.clone())),
        Blocklists::Ask { ip, domain: lists } => {
            let targets = dnsbl_targets(&options.ips, hosts.iter().map(|(_, a)| a.as_slice()));
            let mut entries = Vec::new();
            for zone in ip {
                for target in &targets {
                    let answer = net
                        .dns(dnsbl::ip_query_name(*target, zone), QueryType::A)
                        .await;
                    entries.push(dnsbl::decode(zone, &target.to_string(), &answer));
                }
            }
            for zone in lists {
                let answer = net
                    .dns(dnsbl::domain_query_name(domain, zone), QueryType::A)
                    .await;
                entries.push(dnsbl::decode(zone, domain, &answer));
            }
            (entries, None)
        }
    };
    findings.extend(dnsbl::findings(&entries));

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
        dmarc: dmarc_report,
        dkim: dkim_reports,
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
        mta_sts: mta_sts_report,
        tls_rpt: tls_rpt_report,
        bimi: bimi_report,
        dnsbl: entries,
        dnsbl_skipped,
        findings,
    };
    report.grade_again();
    report
}

/// The addresses the IP blocklists are asked about: the sending addresses, then each mail
/// host's, each once.
pub fn dnsbl_targets<'a>(ips: &[IpAddr], hosts: impl Iterator<Item = &'a [IpAddr]>) -> Vec<IpAddr> {
    let mut targets: Vec<IpAddr> = ips.to_vec();
    for addresses in hosts {
        for address in addresses {
            if !targets.contains(address) {
                targets.push(*address);
            }
        }
    }
    targets
}

/// The TXT records of an answer, each record's strings joined.
fn txt_records(answer: Answer) -> Vec<Vec<u8>> {
    match answer {
        Answer::Records(records) => records
            .into_iter()
            .filter_map(|r| match r {
                Rdata::Txt(text) => Some(text),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// DMARC: the record at `_dmarc.` the domain, else at its organisational domain (RFC 7489
/// §6.6.3), and the authorisation of external report addresses (§7.1).
async fn dmarc_check(domain: &str, net: &impl Net) -> (DmarcReport, Vec<Finding>) {
    let mut lookup = dmarc::Lookup::Missing;
    let mut at = Some(domain.to_owned());
    while let Some(here) = at.take() {
        let texts = txt_records(net.dns(dmarc::record_name(&here), QueryType::Txt).await);
        match dmarc::select(texts.iter().map(Vec::as_slice)) {
            Selection::One(text) => {
                lookup = dmarc::Lookup::Found {
                    at: here.clone(),
                    text: String::from_utf8_lossy(text).into_owned(),
                    record: dmarc::parse(text),
                };
            }
            Selection::Multiple(count) => {
                lookup = dmarc::Lookup::Multiple {
                    at: here.clone(),
                    count,
                };
            }
            Selection::None => at = dmarc::fallback_domain(&here).filter(|d| *d != here),
        }
    }
    let mut findings = dmarc::findings(domain, &lookup);
    if let dmarc::Lookup::Found {
        at,
        record: Ok(record),
        ..
    } = &lookup
    {
        for external in dmarc::external_reports(at, record) {
            let texts = txt_records(net.dns(external.query_name.clone(), QueryType::Txt).await);
            if !dmarc::authorizes(texts.iter().map(Vec::as_slice)) {
                findings.push(dmarc::unauthorized_report(at, &external));
            }
        }
    }
    (DmarcReport::new(domain, &lookup), findings)
}

/// MTA-STS: the `_mta-sts` record, and when there is one, the policy over HTTPS (RFC 8461 §3).
async fn mta_sts_check(
    domain: &str,
    mx: &[String],
    net: &impl Net,
) -> (MtaStsReport, Vec<Finding>) {
    let texts = txt_records(net.dns(mta_sts::record_name(domain), QueryType::Txt).await);
    let lookup = match mta_sts::select(texts.iter().map(Vec::as_slice)) {
        Selection::None => mta_sts::Lookup::Missing,
        Selection::Multiple(count) => mta_sts::Lookup::Multiple(count),
        Selection::One(text) => {
            let record = mta_sts::parse_record(text);
            let policy = match net.https(mta_sts::policy_url(domain)).await {
                Ok(body) => mta_sts::PolicyFetch::Fetched(mta_sts::parse_policy(&body)),
                Err(why) => mta_sts::PolicyFetch::Failed(why),
            };
            mta_sts::Lookup::Found { record, policy }
        }
    };
    let findings = mta_sts::findings(domain, &lookup, mx);
    (MtaStsReport::new(&lookup), findings)
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

    struct Zone;

    impl Net for Zone {
        async fn dns(&self, name: String, kind: QueryType) -> Answer {
            zone(name, kind)
        }

        async fn https(&self, url: String) -> Result<Vec<u8>, String> {
            Err(format!("no HTTPS in this test ({url})"))
        }
    }

    #[test]
    fn a_domain_is_checked_and_graded() {
        let options = Options {
            ips: vec!["192.0.2.1".parse().unwrap(), "192.0.2.9".parse().unwrap()],
            selectors: Vec::new(),
            blocklists: Blocklists::Skip("not in this test".to_owned()),
            now: 0,
        };
        let report = now(check("example.com", &options, &Zone));
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
        assert_eq!(
            codes,
            [
                FindingCode::DmarcMissing,
                FindingCode::DkimNotFound,
                FindingCode::MxHostNoAddress,
                FindingCode::TlsRptMissing
            ]
        );
        // None of the common selectors has a key: one finding, and no entry for each.
        assert!(report.dkim.is_empty());
        assert_eq!(report.dnsbl_skipped.as_deref(), Some("not in this test"));
        // 100 - 25 - 10 - 25.
        assert_eq!(report.grade, 'D');
        let mut report = report;
        report.add_starttls(&[Some(false), None]);
        assert_eq!(report.mx[0].starttls, Some(false));
        assert_eq!(
            report.to_reach_a,
            [
                FindingCode::DmarcMissing,
                FindingCode::MxHostNoAddress,
                FindingCode::DkimNotFound,
                FindingCode::MxNoStarttls
            ]
        );
        assert_eq!(report.grade, 'F');
    }

    #[test]
    fn blocklists_asked_by_the_caller_replace_the_reason_they_were_skipped() {
        let options = Options {
            ips: vec!["192.0.2.9".parse().unwrap(), "192.0.2.1".parse().unwrap()],
            selectors: Vec::new(),
            blocklists: Blocklists::Skip("no prober".to_owned()),
            now: 0,
        };
        let mut report = now(check("example.com", &options, &Zone));
        // The sending addresses first, then the mail hosts' not already there.
        let targets = dnsbl_targets(
            &options.ips,
            report.mx.iter().map(|m| m.addresses.as_slice()),
        );
        assert_eq!(targets, options.ips);
        let before = report.findings.len();
        let listed = dnsbl::decode(
            "zen.spamhaus.org",
            "192.0.2.9",
            &Answer::Records(vec![Rdata::A("127.0.0.2".parse().unwrap())]),
        );
        assert_eq!(listed.status, dnsbl::Status::Listed);
        report.add_dnsbl(vec![listed]);
        assert_eq!(report.dnsbl_skipped, None);
        assert_eq!(report.dnsbl.len(), 1);
        assert_eq!(report.findings.len(), before + 1);
        assert_eq!(report.findings[before].code, FindingCode::DnsblListed);
        assert!(report.to_reach_a.contains(&FindingCode::DnsblListed));
    }
}
