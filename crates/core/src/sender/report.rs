//! The sender-health report of a domain (the JSON of `mailvet domain` and
//! `GET /v1/domains/{name}`): each check's facts, the findings, and a grade.

use std::net::IpAddr;

use serde::Serialize;

use super::spf::tree::SpfNode;
use super::spf::{Evaluation, SpfResult};
use super::{Finding, FindingCode, Severity};
use crate::dns::route::{MailRoute, MxHost};

/// The SPF part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpfReport {
    /// The record, when the domain has exactly one.
    pub record: Option<String>,
    /// DNS lookups the record needs (at most 10 work, RFC 7208 §4.6.4).
    pub lookups: u32,
    pub void_lookups: u32,
    /// The include and redirect tree, with each record's cost.
    pub tree: SpfNode,
    /// `check_host()` for each sending address asked about.
    pub results: Vec<SpfIpResult>,
}

/// `check_host()` for one sending address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpfIpResult {
    pub ip: IpAddr,
    pub result: SpfResult,
    /// The terms that led to the result.
    pub path: Vec<String>,
    pub explanation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SpfIpResult {
    pub fn new(ip: IpAddr, evaluation: Evaluation) -> SpfIpResult {
        SpfIpResult {
            ip,
            result: evaluation.result,
            path: evaluation.path,
            explanation: evaluation.explanation,
            error: evaluation.error,
        }
    }
}

/// One mail host of the domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MxReport {
    pub host: String,
    pub preference: u16,
    /// The domain itself, for lack of MX records (RFC 5321 §5.1).
    pub implicit: bool,
    pub addresses: Vec<IpAddr>,
    /// Whether the host offers STARTTLS in its EHLO reply (native checks only; `None`: not
    /// asked, or it could not be reached).
    pub starttls: Option<bool>,
}

/// The MX part: the hosts and their addresses, and what is wrong with them.
pub fn mx_findings(
    domain: &str,
    route: &MailRoute,
    hosts: &[(MxHost, Vec<IpAddr>)],
) -> Vec<Finding> {
    match route {
        MailRoute::NoMailServer | MailRoute::DomainNotFound => vec![Finding::new(
            FindingCode::MxMissing,
            format!(
                "{domain} has no MX record and no address, so mail to it (bounces, replies) goes nowhere."
            ),
            "Publish an MX record naming the host that receives your mail.",
        )],
        MailRoute::NullMx => vec![Finding::new(
            FindingCode::MxMissing,
            format!(
                "{domain} publishes a null MX (RFC 7505): it receives no mail, so replies and bounces to it are lost, and many receivers reject mail from it."
            ),
            "If the domain sends mail, replace the null MX with an MX naming the host that receives your mail.",
        )],
        MailRoute::DnsFailure(_) => Vec::new(),
        MailRoute::Hosts(_) => hosts
            .iter()
            .filter(|(_, addresses)| addresses.is_empty())
            .map(|(host, _)| {
                Finding::new(
                    FindingCode::MxHostNoAddress,
                    format!(
                        "The mail host {} of {domain} has no address, so mail cannot reach it.",
                        host.host
                    ),
                    format!(
                        "Publish A (and AAAA) records for {}, or remove it from the MX records.",
                        host.host
                    ),
                )
            })
            .collect(),
    }
}

/// A grade from A (nothing to fix) to F: from 100 points, each error costs 25 and each warning
/// 10; A is 100, B from 80, C from 60, D from 40, F below.
pub fn grade(findings: &[Finding]) -> char {
    let lost: u32 = findings
        .iter()
        .map(|f| match f.severity {
            Severity::Error => 25,
            Severity::Warning => 10,
            Severity::Info => 0,
        })
        .sum();
    match 100u32.saturating_sub(lost) {
        100 => 'A',
        80.. => 'B',
        60.. => 'C',
        40.. => 'D',
        _ => 'F',
    }
}

/// The codes of the findings to fix for an A, most important first (errors, then warnings, in
/// the order found).
pub fn to_reach_a(findings: &[Finding]) -> Vec<FindingCode> {
    let mut fix: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    fix.sort_by_key(|f| f.severity);
    let mut codes: Vec<FindingCode> = Vec::new();
    for finding in fix {
        if !codes.contains(&finding.code) {
            codes.push(finding.code);
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_and_what_to_fix_first() {
        let warning = Finding::new(FindingCode::DmarcPolicyNone, "m", "f");
        let error = Finding::new(FindingCode::SpfMissing, "m", "f");
        let info = Finding::new(FindingCode::TlsRptMissing, "m", "f");
        assert_eq!(grade(&[]), 'A');
        assert_eq!(grade(std::slice::from_ref(&info)), 'A');
        assert_eq!(grade(std::slice::from_ref(&warning)), 'B');
        assert_eq!(grade(&[warning.clone(), warning.clone()]), 'B');
        assert_eq!(grade(std::slice::from_ref(&error)), 'C');
        assert_eq!(grade(&[error.clone(), error.clone(), error.clone()]), 'F');
        assert_eq!(
            to_reach_a(&[info, warning.clone(), error, warning]),
            [FindingCode::SpfMissing, FindingCode::DmarcPolicyNone]
        );
    }

    #[test]
    fn mail_hosts_without_addresses() {
        let host = |name: &str| MxHost {
            preference: 10,
            host: name.to_owned(),
            implicit: false,
        };
        let route = MailRoute::Hosts(vec![host("a.example"), host("b.example")]);
        let hosts = [
            (host("a.example"), vec!["192.0.2.1".parse().unwrap()]),
            (host("b.example"), Vec::new()),
        ];
        let found = mx_findings("example.com", &route, &hosts);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, FindingCode::MxHostNoAddress);
        assert!(found[0].message.contains("b.example"));
        assert_eq!(
            mx_findings("example.com", &MailRoute::NullMx, &[])[0].code,
            FindingCode::MxMissing
        );
    }
}
