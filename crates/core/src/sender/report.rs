//! The sender-health report of a domain (the JSON of `mailvet domain` and
//! `GET /v1/domains/{name}`): each check's facts, the findings, and a grade.

use std::net::IpAddr;

use serde::Serialize;

use super::spf::tree::SpfNode;
use super::spf::{Evaluation, SpfResult};
use super::txt::Selection;
use super::{Finding, FindingCode, Severity, dkim, dmarc, mta_sts};
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

/// The DMARC part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DmarcReport {
    /// The record, when one was found.
    pub record: Option<String>,
    /// Where: the domain itself, or its organisational domain (RFC 7489 §6.6.3).
    pub found_at: Option<String>,
    /// The policy that applies to mail from the domain (`none`, `quarantine`, `reject`).
    pub policy: Option<&'static str>,
    pub pct: Option<u8>,
    /// Where aggregate reports go.
    pub rua: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DmarcReport {
    pub fn new(domain: &str, lookup: &dmarc::Lookup) -> DmarcReport {
        let mut report = DmarcReport {
            record: None,
            found_at: None,
            policy: None,
            pct: None,
            rua: Vec::new(),
            error: None,
        };
        match lookup {
            dmarc::Lookup::Missing => {}
            dmarc::Lookup::Multiple { at, count } => {
                report.found_at = Some(at.clone());
                report.error = Some(format!("{count} DMARC records"));
            }
            dmarc::Lookup::Found { at, text, record } => {
                report.record = Some(text.clone());
                report.found_at = Some(at.clone());
                match record {
                    Ok(record) => {
                        report.policy = Some(record.policy_for(domain, at).as_str());
                        report.pct = Some(record.pct);
                        report.rua = record.rua.iter().map(|u| u.uri.clone()).collect();
                    }
                    Err(e) => report.error = Some(e.to_string()),
                }
            }
        }
        report
    }
}

/// One DKIM selector tried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DkimReport {
    pub selector: String,
    pub found: bool,
    pub record: Option<String>,
    /// `rsa` or `ed25519`.
    pub key_type: Option<&'static str>,
    /// The RSA key's size.
    pub key_bits: Option<u32>,
    pub revoked: bool,
    pub testing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DkimReport {
    pub fn new(selector: &str, found: &dkim::Selector) -> DkimReport {
        let mut report = DkimReport {
            selector: selector.to_owned(),
            found: false,
            record: None,
            key_type: None,
            key_bits: None,
            revoked: false,
            testing: false,
            error: None,
        };
        if let dkim::Selector::Found { text, record } = found {
            report.found = true;
            report.record = Some(text.clone());
            match record {
                Ok(record) => {
                    report.key_type = Some(match record.key_type {
                        dkim::KeyType::Rsa => "rsa",
                        dkim::KeyType::Ed25519 => "ed25519",
                    });
                    report.key_bits = match record.key {
                        dkim::Key::Rsa { bits } => Some(bits),
                        _ => None,
                    };
                    report.revoked = record.key == dkim::Key::Revoked;
                    report.testing = record.testing;
                }
                Err(e) => report.error = Some(e.to_string()),
            }
        }
        report
    }
}

/// The MTA-STS part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MtaStsReport {
    /// Whether the domain publishes an `_mta-sts` record.
    pub record: bool,
    pub id: Option<String>,
    pub mode: Option<&'static str>,
    /// The policy's `mx` patterns.
    pub mx: Vec<String>,
    pub max_age: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MtaStsReport {
    pub fn new(lookup: &mta_sts::Lookup) -> MtaStsReport {
        let mut report = MtaStsReport {
            record: false,
            id: None,
            mode: None,
            mx: Vec::new(),
            max_age: None,
            error: None,
        };
        match lookup {
            mta_sts::Lookup::Missing => {}
            mta_sts::Lookup::Multiple(count) => {
                report.record = true;
                report.error = Some(format!("{count} MTA-STS records"));
            }
            mta_sts::Lookup::Found { record, policy } => {
                report.record = true;
                match record {
                    Ok(record) => report.id = Some(record.id.clone()),
                    Err(e) => report.error = Some(e.0.clone()),
                }
                match policy {
                    mta_sts::PolicyFetch::Fetched(Ok(policy)) => {
                        report.mode = Some(policy.mode.as_str());
                        report.mx.clone_from(&policy.mx);
                        report.max_age = Some(policy.max_age);
                    }
                    mta_sts::PolicyFetch::Fetched(Err(e)) => {
                        report.error.get_or_insert_with(|| e.0.clone());
                    }
                    mta_sts::PolicyFetch::Failed(why) => {
                        report.error.get_or_insert_with(|| why.clone());
                    }
                }
            }
        }
        report
    }
}

/// A record that is only checked for being there and well formed (TLS-RPT, BIMI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxtReport {
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TxtReport {
    /// From the selection of the records of a kind, `error` saying what is wrong with one.
    pub fn of(selection: Selection<'_>, error: impl Fn(&[u8]) -> Option<String>) -> TxtReport {
        match selection {
            Selection::None => TxtReport {
                record: None,
                error: None,
            },
            Selection::Multiple(count) => TxtReport {
                record: None,
                error: Some(format!("{count} records; receivers use none of them")),
            },
            Selection::One(text) => TxtReport {
                record: Some(String::from_utf8_lossy(text).into_owned()),
                error: error(text),
            },
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
