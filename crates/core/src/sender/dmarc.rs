//! DMARC records (RFC 7489), with what DMARCbis (draft-ietf-dmarc-dmarcbis) changes where a
//! check sees it: where the record is found (§6.6.3), what its tags say (§6.3, grammar §6.4),
//! whether its external report addresses agreed to take reports (§7.1), and the findings.
//!
//! DMARCbis in short, as this module treats it:
//! - `np=` (policy for non-existent subdomains, from RFC 9091), `t=` (testing) and `psd=`
//!   (whether the record is a public suffix's) are parsed and kept.
//! - `pct=` is gone from DMARCbis (receivers that follow it ignore the tag and apply the policy
//!   to all failing mail; `t=y` takes the place of `pct=0`). RFC 7489 receivers still honour it,
//!   so it is parsed by RFC 7489's rules and a value under 100 is the `dmarc_partial_pct`
//!   finding, whose fix removes it; `t=y` is reported the same way.
//! - `rf=` and `ri=` are gone too; they are parsed (RFC 7489) and otherwise ignored.
//! - DMARCbis finds the organisational domain by a walk up the DNS tree instead of the Public
//!   Suffix List; this module uses RFC 7489's list ([`super::psl`]), which gives the same answer
//!   for ordinary domains.
//!
//! ```
//! use mailvet_core::sender::dmarc::{self, Policy};
//!
//! let record = dmarc::parse(b"v=DMARC1; p=reject; rua=mailto:d@example.com!10m").unwrap();
//! assert_eq!(record.policy, Some(Policy::Reject));
//! assert_eq!(record.rua[0].max_size, Some(10 * 1024 * 1024));
//! ```

use std::fmt;

use serde::Serialize;

use super::psl;
use super::tags::{self, is_space};
use super::{Finding, FindingCode};

/// A requested handling policy (§6.3 `p=`, `sp=`; DMARCbis `np=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Deliver as if DMARC passed; only report.
    None,
    /// Treat failing mail as suspicious (a spam folder).
    Quarantine,
    /// Reject failing mail during the SMTP transaction.
    Reject,
}

impl Policy {
    /// The tag value (`none`, `quarantine`, `reject`).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
}

/// An identifier alignment mode (§3.1, `adkim=`, `aspf=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    /// `r`: the organisational domains must match (the default).
    Relaxed,
    /// `s`: the domains must be the same.
    Strict,
}

/// DMARCbis `psd=`: whether the record is published by a public suffix domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicSuffixDomain {
    /// `psd=y`
    Yes,
    /// `psd=n`: the domain is an organisational domain.
    No,
    /// `psd=u` (the default): unknown.
    Unknown,
}

/// One report address of `rua=` or `ruf=` (§6.2): a URI and an optional size limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportUri {
    /// The URI as written, without its `!size` suffix.
    pub uri: String,
    /// The largest report the address takes, in bytes (`!10m`: 10 MiB; §6.2's units are
    /// powers of 1024).
    pub max_size: Option<u64>,
}

impl ReportUri {
    /// The host that receives the reports, for the check of §7.1: the domain of a `mailto:`
    /// address, the host of any other URI's authority. Lowercase, without the root dot.
    pub fn host(&self) -> Option<String> {
        let (scheme, rest) = self.uri.split_once(':')?;
        let host = if scheme.eq_ignore_ascii_case("mailto") {
            // RFC 6068: mailto:addr-spec[?headers]; the domain follows the last `@`.
            let address = rest.split('?').next().unwrap_or("");
            address.rsplit_once('@')?.1
        } else {
            // RFC 3986 §3.2: //[userinfo@]host[:port]
            let authority = rest.strip_prefix("//")?;
            let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            host.split(':').next().unwrap_or("")
        };
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        (!host.is_empty()).then_some(host)
    }
}

/// A parsed DMARC record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `p=`. `None` only when the record has no `p=` but a valid `rua=`, which §6.6.3 says to
    /// treat as `p=none`.
    pub policy: Option<Policy>,
    /// `sp=`: the policy for subdomains (default: `p=`).
    pub subdomain_policy: Option<Policy>,
    /// `np=` (DMARCbis, RFC 9091): the policy for subdomains that do not exist (default: `sp=`).
    pub nonexistent_policy: Option<Policy>,
    /// `pct=` (default 100; removed by DMARCbis, see the module docs).
    pub pct: u8,
    /// `t=y` (DMARCbis): the domain is testing its policy.
    pub testing: bool,
    /// `psd=` (DMARCbis).
    pub psd: PublicSuffixDomain,
    /// `rua=`: where aggregate reports go.
    pub rua: Vec<ReportUri>,
    /// `ruf=`: where failure reports go.
    pub ruf: Vec<ReportUri>,
    /// `adkim=` (default relaxed).
    pub adkim: Alignment,
    /// `aspf=` (default relaxed).
    pub aspf: Alignment,
    /// `fo=`: failure reporting options, each of `0`, `1`, `d`, `s` (default `0`).
    pub fo: Vec<char>,
    /// `rf=`: failure report formats (default `afrf`).
    pub rf: Vec<String>,
    /// `ri=`: the aggregate report interval in seconds (default 86400).
    pub ri: u32,
    /// Tags this module does not know, ignored as §6.3 says.
    pub unknown_tags: Vec<String>,
}

impl Record {
    /// The policy for mail from `domain` when this record was found at `found_at` (a domain,
    /// without `_dmarc.`): `p=` at the domain itself, `sp=` (else `p=`) for a subdomain whose
    /// organisational domain's record applies (§6.6.3). `None` stands for `p=none` (§6.6.3).
    pub fn policy_for(&self, domain: &str, found_at: &str) -> Policy {
        let own = domain.trim_end_matches('.').eq_ignore_ascii_case(found_at);
        let policy = if own {
            self.policy
        } else {
            self.subdomain_policy.or(self.policy)
        };
        policy.unwrap_or(Policy::None)
    }
}

/// Why a DMARC record does not parse, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the DMARC record {}", self.0)
    }
}

impl std::error::Error for SyntaxError {}

/// As its sentence.
impl Serialize for SyntaxError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Whether a TXT record is a DMARC record: it starts with `v=DMARC1` (§6.4: `"v" *WSP "="
/// *WSP %x44 %x4d %x41 %x52 %x43 %x31`, so `DMARC1` in capitals), then a `;`, white space or
/// the end (§6.6.3 discards every other record).
pub fn is_dmarc(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else {
        return false;
    };
    let Some(rest) = text.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches([' ', '\t']).strip_prefix('=') else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches([' ', '\t']).strip_prefix("DMARC1") else {
        return false;
    };
    rest.is_empty() || rest.starts_with([';', ' ', '\t'])
}

/// The name a domain's DMARC record is published at (§6.1).
pub fn record_name(domain: &str) -> String {
    format!("_dmarc.{}", domain.trim_end_matches('.'))
}

/// Where to look when the domain has no record of its own: its organisational domain, if that
/// is another domain (§6.6.3 step 3).
pub fn fallback_domain(domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    let org = psl::organizational_domain(domain);
    (!org.eq_ignore_ascii_case(domain)).then_some(org)
}

pub use super::txt::Selection;

/// Picks the DMARC record among the TXT records at `_dmarc.<domain>` (each record's strings
/// joined): §6.6.3 steps 1, 2 and 5.
pub fn select<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> Selection<'a> {
    super::txt::select(texts, is_dmarc)
}

/// Parses a DMARC record (one that [`is_dmarc`]), by §6.3 and §6.4, with DMARCbis's tags.
pub fn parse(text: &[u8]) -> Result<Record, SyntaxError> {
    let err = |s: String| SyntaxError(s);
    let text = std::str::from_utf8(text).map_err(|_| err("is not ASCII text".to_owned()))?;
    let tags = tags::split(text, true).map_err(err)?;
    // §6.3: v= must be the first tag, and exactly `DMARC1`.
    match tags.first() {
        Some(tag) if tag.name.eq_ignore_ascii_case("v") && tag.value == "DMARC1" => {}
        _ => return Err(err("does not start with v=DMARC1".to_owned())),
    }
    let mut record = Record {
        policy: None,
        subdomain_policy: None,
        nonexistent_policy: None,
        pct: 100,
        testing: false,
        psd: PublicSuffixDomain::Unknown,
        rua: Vec::new(),
        ruf: Vec::new(),
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
        fo: vec!['0'],
        rf: vec!["afrf".to_owned()],
        ri: 86400,
        unknown_tags: Vec::new(),
    };
    for tag in &tags[1..] {
        let name = tag.name.to_ascii_lowercase();
        let value = tag.value;
        let bad = |what: &str| err(format!("has {name}={value}, but {name}= takes {what}"));
        match name.as_str() {
            "v" => return Err(err("has v= again after the start".to_owned())),
            "p" => record.policy = Some(policy(value).ok_or_else(|| bad(POLICIES))?),
            "sp" => record.subdomain_policy = Some(policy(value).ok_or_else(|| bad(POLICIES))?),
            "np" => record.nonexistent_policy = Some(policy(value).ok_or_else(|| bad(POLICIES))?),
            "adkim" => record.adkim = alignment(value).ok_or_else(|| bad("r or s"))?,
            "aspf" => record.aspf = alignment(value).ok_or_else(|| bad("r or s"))?,
            // §6.4: dmarc-percent = "pct" *WSP "=" *WSP 1*3DIGIT, 0 to 100 (§6.3).
            "pct" => {
                record.pct = (value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.parse::<u8>().ok())
                    .flatten()
                    .filter(|&n| n <= 100)
                    .ok_or_else(|| bad("a whole number from 0 to 100"))?;
            }
            // §6.3: ri is a 32-bit unsigned integer.
            "ri" => {
                record.ri = value
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| value.parse().ok())
                    .flatten()
                    .ok_or_else(|| bad("a number of seconds"))?;
            }
            "rua" => record.rua = uri_list(value).map_err(|why| bad(&why))?,
            "ruf" => record.ruf = uri_list(value).map_err(|why| bad(&why))?,
            // §6.4: dmarc-fo = "fo" *WSP "=" *WSP ( "0" / "1" / "d" / "s" ) *(*WSP ":" *WSP ...).
            "fo" => {
                record.fo = tags::colon_list(value)
                    .map(|part| match part {
                        "0" | "1" | "d" | "s" => part.chars().next(),
                        _ => None,
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("0, 1, d or s, separated by colons"))?;
            }
            // §6.4: dmarc-rfmt = "rf" *WSP "=" *WSP Keyword *(*WSP ":" Keyword).
            "rf" => {
                record.rf = tags::colon_list(value)
                    .map(|part| is_keyword(part).then(|| part.to_ascii_lowercase()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("report format names such as afrf"))?;
            }
            // DMARCbis: t = "y" / "n".
            "t" => {
                record.testing = match value {
                    "y" | "Y" => true,
                    "n" | "N" => false,
                    _ => return Err(bad("y or n")),
                }
            }
            // DMARCbis: psd = "y" / "n" / "u".
            "psd" => {
                record.psd = match value.to_ascii_lowercase().as_str() {
                    "y" => PublicSuffixDomain::Yes,
                    "n" => PublicSuffixDomain::No,
                    "u" => PublicSuffixDomain::Unknown,
                    _ => return Err(bad("y, n or u")),
                }
            }
            // §6.3: unknown tags MUST be ignored.
            _ => record.unknown_tags.push(tag.name.to_owned()),
        }
    }
    // §6.3: p= is required; §6.6.3: without a valid p= but with a valid rua=, act as if p=none.
    if record.policy.is_none() && record.rua.is_empty() {
        return Err(err(
            "has no p= tag (the policy, which is required) and no rua= address".to_owned(),
        ));
    }
    Ok(record)
}

const POLICIES: &str = "none, quarantine or reject";

fn policy(value: &str) -> Option<Policy> {
    match value.to_ascii_lowercase().as_str() {
        "none" => Some(Policy::None),
        "quarantine" => Some(Policy::Quarantine),
        "reject" => Some(Policy::Reject),
        _ => None,
    }
}

fn alignment(value: &str) -> Option<Alignment> {
    match value {
        "r" | "R" => Some(Alignment::Relaxed),
        "s" | "S" => Some(Alignment::Strict),
        _ => None,
    }
}

/// RFC 5321 §4.1.2: Keyword = Ldh-str, a letter or digit first.
fn is_keyword(part: &str) -> bool {
    part.starts_with(|c: char| c.is_ascii_alphanumeric())
        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// §6.4: dmarc-urilist = dmarc-uri *(*WSP "," *WSP dmarc-uri); dmarc-uri = URI [ "!" 1*DIGIT
/// [ "k" / "m" / "g" / "t" ] ]. A `,` or `!` inside a URI must be percent-encoded (§6.2).
fn uri_list(value: &str) -> Result<Vec<ReportUri>, String> {
    value
        .split(',')
        .map(|part| {
            let part = part.trim_matches(is_space);
            let (uri, size) = match part.split_once('!') {
                Some((uri, size)) => (uri, Some(size)),
                None => (part, None),
            };
            // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
            let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
                scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                    && !rest.is_empty()
            });
            if !scheme_ok || uri.contains(is_space) {
                return Err(format!(
                    "URIs such as mailto:dmarc@example.com, separated by commas (\"{part}\" is \
                     none)"
                ));
            }
            let max_size = size.map(size_in_bytes).transpose()?;
            let report = ReportUri {
                uri: uri.to_owned(),
                max_size,
            };
            if report.uri[..7.min(report.uri.len())].eq_ignore_ascii_case("mailto:")
                && report.host().is_none()
            {
                return Err(format!(
                    "mail addresses after mailto: (\"{part}\" has none)"
                ));
            }
            Ok(report)
        })
        .collect()
}

/// §6.2: a size is digits with an optional unit, k, m, g or t (powers of 1024); none is bytes.
fn size_in_bytes(size: &str) -> Result<u64, String> {
    let bad = || format!("a size such as !10m after a URI (\"!{size}\" is none)");
    let (digits, unit) = match size.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&size[..i], Some(c.to_ascii_lowercase())),
        _ => (size, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let shift = match unit {
        None => 0,
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        Some('t') => 40,
        Some(_) => return Err(bad()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(bad)
}

/// What the lookup of a domain's DMARC record found (§6.6.3): the caller asks
/// [`record_name`] of the domain, then of its [`fallback_domain`] if [`select`] found none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No record at the domain nor at its organisational domain.
    Missing,
    /// More than one record.
    Multiple {
        /// The domain whose `_dmarc` name has them.
        at: String,
        /// How many.
        count: usize,
    },
    /// One record.
    Found {
        /// The domain whose `_dmarc` name has it: the domain itself or its organisational
        /// domain.
        at: String,
        /// The record as published (its strings joined).
        text: String,
        /// What parsing it gave.
        record: Result<Record, SyntaxError>,
    },
}

/// The findings about a domain's DMARC record, each with its fix. The check of external report
/// addresses is separate ([`external_reports`]), since it needs more queries.
pub fn findings(domain: &str, lookup: &Lookup) -> Vec<Finding> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let org = psl::organizational_domain(&domain);
    match lookup {
        Lookup::Missing => {
            let none = if org == domain {
                format!("{domain} has no DMARC record")
            } else {
                format!("Neither {domain} nor {org} has a DMARC record")
            };
            let name = record_name(&org);
            vec![
                Finding::new(
                    FindingCode::DmarcMissing,
                    format!(
                        "{none}: receivers cannot tell mail from {domain} from forgeries, and \
                         nobody reports abuse of the name to you."
                    ),
                    format!(
                        "Publish a DMARC record at {name}, with an address that receives the \
                         reports (a mailbox of yours or a report service's). Start with p=none; \
                         once the reports show your own mail passing SPF or DKIM, move to \
                         p=quarantine, then p=reject."
                    ),
                )
                .publish(&name, "TXT", starter_record(&org)),
            ]
        }
        Lookup::Multiple { at, count } => vec![Finding::new(
            FindingCode::DmarcMultipleRecords,
            format!(
                "{} has {count} DMARC records; receivers then apply none of them (RFC 7489 §6.6.3).",
                record_name(at)
            ),
            format!(
                "Delete all but one of the TXT records at {} that start with v=DMARC1, merging \
                 what they say into the one you keep.",
                record_name(at)
            ),
        )],
        Lookup::Found {
            at,
            record: Err(error),
            ..
        } => vec![Finding::new(
            FindingCode::DmarcSyntaxError,
            format!(
                "At {}, {error}; receivers ignore a record they cannot read.",
                record_name(at)
            ),
            format!(
                "Correct the record at {}: it must start with v=DMARC1, then p=none, quarantine or \
                 reject, with tags separated by semicolons.",
                record_name(at)
            ),
        )],
        Lookup::Found {
            at,
            text,
            record: Ok(record),
        } => {
            let mut out = Vec::new();
            let name = record_name(at);
            let policy = record.policy_for(&domain, at);
            if policy == Policy::None {
                let which = if domain == *at || record.subdomain_policy.is_none() {
                    "p"
                } else {
                    "sp"
                };
                out.push(
                    Finding::new(
                        FindingCode::DmarcPolicyNone,
                        format!(
                            "The DMARC policy for {domain} is {which}=none: receivers are asked to \
                             deliver mail that fails DMARC as if it passed, so anyone can still \
                             send as {domain}."
                        ),
                        format!(
                            "Once the aggregate reports show your own mail passing, change the \
                             record at {name} to {which}=quarantine, and later to {which}=reject."
                        ),
                    )
                    .publish(
                        &name,
                        "TXT",
                        tags::with_tag(text, which, Some("quarantine"), true),
                    ),
                );
            }
            if record.pct < 100 && policy != Policy::None {
                out.push(
                    Finding::new(
                        FindingCode::DmarcPartialPct,
                        format!(
                            "The DMARC record at {name} has pct={}: the policy applies to that \
                             percentage of failing mail only (RFC 7489 §6.3), and DMARCbis drops \
                             pct= altogether.",
                            record.pct
                        ),
                        format!(
                            "Remove pct= from the record at {name} once your own mail passes; to \
                             test a policy, DMARCbis has t=y instead."
                        ),
                    )
                    .publish(
                        &name,
                        "TXT",
                        tags::with_tag(text, "pct", None, true),
                    ),
                );
            }
            if record.testing && policy != Policy::None {
                out.push(
                    Finding::new(
                        FindingCode::DmarcPartialPct,
                        format!(
                            "The DMARC record at {name} has t=y: the domain is testing its policy, \
                             and receivers apply a milder one (DMARCbis)."
                        ),
                        format!(
                            "Remove t=y from the record at {name} once the reports show your own \
                             mail passing."
                        ),
                    )
                    .publish(
                        &name,
                        "TXT",
                        tags::with_tag(text, "t", None, true),
                    ),
                );
            }
            out
        }
    }
}

/// The record a domain without DMARC can start with: monitoring only, reports to `dmarc@`.
pub fn starter_record(domain: &str) -> String {
    format!("v=DMARC1; p=none; rua=mailto:dmarc@{domain}")
}

/// A report address at another organisational domain than the policy's, which must agree to
/// take the reports (§7.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExternalReport {
    /// The URI as written in `rua=` or `ruf=`.
    pub uri: String,
    /// The host that receives the reports.
    pub host: String,
    /// The TXT name whose `v=DMARC1` record authorises it:
    /// `<policy domain>._report._dmarc.<host>`.
    pub query_name: String,
}

/// The report addresses of `record` (found at `policy_domain`) that need the authorisation of
/// §7.1: those whose host has another organisational domain than the policy domain's.
/// Addresses under the same organisational domain need none. Each host is asked once.
pub fn external_reports(policy_domain: &str, record: &Record) -> Vec<ExternalReport> {
    let policy_domain = policy_domain.trim_end_matches('.').to_ascii_lowercase();
    let org = psl::organizational_domain(&policy_domain);
    let mut out: Vec<ExternalReport> = Vec::new();
    for uri in record.rua.iter().chain(&record.ruf) {
        let Some(host) = uri.host() else { continue };
        if psl::organizational_domain(&host) == org || out.iter().any(|e| e.host == host) {
            continue;
        }
        out.push(ExternalReport {
            uri: uri.uri.clone(),
            query_name: format!("{policy_domain}._report._dmarc.{host}"),
            host,
        });
    }
    out
}

/// Whether the TXT records at an [`ExternalReport::query_name`] authorise the reports: one of
/// them starts with `v=DMARC1` (§7.1 step 4; its own `rua=`/`ruf=`, which may redirect the
/// reports, do not matter here).
pub fn authorizes<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> bool {
    texts.into_iter().any(is_dmarc)
}

/// The finding for an external report address whose host has not authorised the reports.
pub fn unauthorized_report(policy_domain: &str, report: &ExternalReport) -> Finding {
    Finding::new(
        FindingCode::DmarcExternalReportUnauthorized,
        format!(
            "The DMARC record of {policy_domain} sends reports to {}, but {} has not agreed to \
             take reports for {policy_domain}: receivers drop those reports (RFC 7489 §7.1).",
            report.uri, report.host
        ),
        format!(
            "Ask the operator of {} to publish a TXT record \"v=DMARC1\" at {} (a wildcard \
             *._report._dmarc.{} covers every domain), or send reports to an address under your \
             own domain.",
            report.host, report.query_name, report.host
        ),
    )
    .publish(&report.query_name, "TXT", "v=DMARC1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(at: &str, text: &str) -> Lookup {
        Lookup::Found {
            at: at.to_owned(),
            text: text.to_owned(),
            record: parse(text.as_bytes()),
        }
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn rfc_7489_examples_parse() {
        // §B.2.1, §B.2.3 and §B.2.4.
        let r = parse(b"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com").unwrap();
        assert_eq!(r.policy, Some(Policy::None));
        assert_eq!(r.rua[0].uri, "mailto:dmarc-feedback@example.com");
        assert_eq!(r.rua[0].host().as_deref(), Some("example.com"));
        let r = parse(b"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net").unwrap();
        assert_eq!(r.ruf[0].host().as_deref(), Some("thirdparty.example.net"));
        let r = parse(b"v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25").unwrap();
        assert_eq!(r.policy, Some(Policy::Quarantine));
        assert_eq!(r.pct, 25);
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.rua[1].uri, "mailto:tld-test@thirdparty.example.net");
        assert_eq!(r.rua[1].max_size, Some(10 << 20));
    }

    #[test]
    fn every_tag_and_its_default() {
        let r = parse(b"v=DMARC1;p=reject").unwrap();
        assert_eq!(
            (r.pct, r.adkim, r.aspf, r.ri, r.testing),
            (100, Alignment::Relaxed, Alignment::Relaxed, 86400, false)
        );
        assert_eq!(
            (r.fo.clone(), r.rf.clone()),
            (vec!['0'], vec!["afrf".to_owned()])
        );
        let r = parse(b"v = DMARC1 ; P=Reject; sp=quarantine; np=reject; adkim=s; aspf=S; fo=1:d : s; rf=afrf:iodef; ri=3600; pct=0; t=y; psd=n; x_new=1;").unwrap();
        assert_eq!(r.subdomain_policy, Some(Policy::Quarantine));
        assert_eq!(r.nonexistent_policy, Some(Policy::Reject));
        assert_eq!((r.adkim, r.aspf), (Alignment::Strict, Alignment::Strict));
        assert_eq!(r.fo, ['1', 'd', 's']);
        assert_eq!(r.rf, ["afrf", "iodef"]);
        assert_eq!(
            (r.ri, r.pct, r.testing, r.psd),
            (3600, 0, true, PublicSuffixDomain::No)
        );
        assert_eq!(r.unknown_tags, ["x_new"]);
    }

    #[test]
    fn sizes_and_uris() {
        for (size, bytes) in [
            ("!0", 0u64),
            ("!500", 500),
            ("!1k", 1024),
            ("!2G", 2 << 30),
            ("!1t", 1 << 40),
        ] {
            let r = parse(format!("v=DMARC1; p=none; rua=mailto:a@example.com{size}").as_bytes())
                .unwrap();
            assert_eq!(r.rua[0].max_size, Some(bytes), "{size}");
        }
        for bad in [
            "mailto:a@example.com!",
            "mailto:a@example.com!10x",
            "mailto:a@example.com!k",
            "a@example.com",
            "mailto:",
            "mailto:nobody",
            "mailto:a@example.com !1m",
            "mailto:a@example.com!99999999999999999999t",
        ] {
            assert!(
                parse(format!("v=DMARC1; p=none; rua={bad}").as_bytes()).is_err(),
                "{bad}"
            );
        }
        let r = parse(b"v=DMARC1; p=none; rua=mailto:A@Reports.Example.NET., https://user@collect.example.org:8443/dmarc?x").unwrap();
        assert_eq!(r.rua[0].host().as_deref(), Some("reports.example.net"));
        assert_eq!(r.rua[1].host().as_deref(), Some("collect.example.org"));
    }

    #[test]
    fn broken_records_say_why() {
        for (text, says) in [
            ("v=DMARC1", "no p="),
            ("v=DMARC1; p=block", "p=block"),
            ("p=reject; v=DMARC1", "start with v=DMARC1"),
            ("v=DMARC2; p=reject", "start with v=DMARC1"),
            ("v=DMARC1; p=reject; p=none", "more than once"),
            ("v=DMARC1; p=reject; pct=101", "pct=101"),
            ("v=DMARC1; p=reject; pct=-1", "pct=-1"),
            ("v=DMARC1; p=reject; pct=0050", "pct=0050"),
            ("v=DMARC1; p=reject; adkim=x", "adkim=x"),
            ("v=DMARC1; p=reject; fo=2", "fo=2"),
            ("v=DMARC1; p=reject; ri=4294967296", "ri="),
            ("v=DMARC1; p=reject; t=maybe", "t=maybe"),
            ("v=DMARC1;; p=reject", "empty tag"),
            ("v=DMARC1; p reject", "name=value"),
        ] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        // §6.6.3: no p= but a valid rua= acts as p=none.
        let r = parse(b"v=DMARC1; rua=mailto:d@example.com").unwrap();
        assert_eq!(r.policy, None);
        assert_eq!(r.policy_for("example.com", "example.com"), Policy::None);
    }

    #[test]
    fn record_selection() {
        assert!(is_dmarc(b"v=DMARC1"));
        assert!(is_dmarc(b"v = DMARC1;p=none"));
        assert!(is_dmarc(b"V=DMARC1 ; p=none"));
        assert!(!is_dmarc(b"v=dmarc1; p=none"));
        assert!(!is_dmarc(b"v=DMARC10; p=none"));
        assert!(!is_dmarc(b" v=DMARC1; p=none"));
        assert!(!is_dmarc(b"v=spf1 -all"));
        let texts: [&[u8]; 3] = [b"v=spf1 -all", b"v=DMARC1; p=none", b"hello"];
        assert_eq!(select(texts), Selection::One(b"v=DMARC1; p=none"));
        let texts: [&[u8]; 2] = [b"v=DMARC1; p=none", b"v=DMARC1; p=reject"];
        assert_eq!(select(texts), Selection::Multiple(2));
        assert_eq!(select([&b"v=spf1"[..]]), Selection::None);
        assert_eq!(record_name("example.com."), "_dmarc.example.com");
        assert_eq!(
            fallback_domain("mail.example.co.uk").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(fallback_domain("example.co.uk"), None);
    }

    #[test]
    fn subdomains_use_sp_of_the_organisational_record() {
        let r = parse(b"v=DMARC1; p=reject; sp=none").unwrap();
        assert_eq!(r.policy_for("example.com", "example.com"), Policy::Reject);
        assert_eq!(
            r.policy_for("mail.example.com", "example.com"),
            Policy::None
        );
        let f = findings(
            "mail.example.com",
            &found("example.com", "v=DMARC1; p=reject; sp=none"),
        );
        assert_eq!(codes(&f), ["dmarc_policy_none"]);
        assert!(
            f[0].record
                .as_ref()
                .unwrap()
                .value
                .contains("sp=quarantine")
        );
        assert!(
            findings(
                "example.com",
                &found("example.com", "v=DMARC1; p=reject; sp=none")
            )
            .is_empty()
        );
    }

    #[test]
    fn findings_with_fixes() {
        let f = findings("Mail.Example.com", &Lookup::Missing);
        assert_eq!(codes(&f), ["dmarc_missing"]);
        let publish = f[0].record.as_ref().unwrap();
        assert_eq!(publish.name, "_dmarc.example.com");
        assert_eq!(
            publish.value,
            "v=DMARC1; p=none; rua=mailto:dmarc@example.com"
        );
        assert!(is_dmarc(publish.value.as_bytes()) && parse(publish.value.as_bytes()).is_ok());
        assert!(
            f[0].message
                .starts_with("Neither mail.example.com nor example.com has")
        );
        let f = findings("example.com", &Lookup::Missing);
        assert!(f[0].message.starts_with("example.com has no DMARC record:"));

        let f = findings(
            "example.com",
            &Lookup::Multiple {
                at: "example.com".into(),
                count: 2,
            },
        );
        assert_eq!(codes(&f), ["dmarc_multiple_records"]);

        let f = findings("example.com", &found("example.com", "v=DMARC1; p=maybe"));
        assert_eq!(codes(&f), ["dmarc_syntax_error"]);
        assert!(f[0].message.contains("p=maybe"), "{}", f[0].message);

        let f = findings(
            "example.com",
            &found("example.com", "v=DMARC1; p=none; rua=mailto:d@example.com"),
        );
        assert_eq!(codes(&f), ["dmarc_policy_none"]);
        assert_eq!(
            f[0].record.as_ref().unwrap().value,
            "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
        );

        let f = findings(
            "example.com",
            &found("example.com", "v=DMARC1; p=reject; pct=20"),
        );
        assert_eq!(codes(&f), ["dmarc_partial_pct"]);
        assert_eq!(f[0].record.as_ref().unwrap().value, "v=DMARC1; p=reject");
        // pct= does not matter under p=none.
        let f = findings(
            "example.com",
            &found("example.com", "v=DMARC1; p=none; pct=20"),
        );
        assert_eq!(codes(&f), ["dmarc_policy_none"]);

        let f = findings(
            "example.com",
            &found("example.com", "v=DMARC1; p=reject; t=y"),
        );
        assert_eq!(codes(&f), ["dmarc_partial_pct"]);
        assert!(findings("example.com", &found("example.com", "v=DMARC1; p=reject")).is_empty());
        let f = findings(
            "example.com",
            &found("example.com", "v=DMARC1; p=none; t=y"),
        );
        assert_eq!(codes(&f), ["dmarc_policy_none"]);
        // §6.6.3: no p= but a rua= is p=none; the fix puts p= where the grammar has it.
        let text = "v=DMARC1; rua=mailto:d@example.com";
        let f = findings("example.com", &found("example.com", text));
        assert_eq!(codes(&f), ["dmarc_policy_none"]);
        let publish = &f[0].record.as_ref().unwrap().value;
        assert_eq!(publish, "v=DMARC1; p=quarantine; rua=mailto:d@example.com");
    }

    #[test]
    fn external_reports_need_authorisation() {
        // RFC 7489 §7.1's example: example.com sends reports to thirdparty.example.net.
        let r = parse(b"v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:a@thirdparty.example.net,mailto:b@Thirdparty.example.net; ruf=mailto:f@reports.example.com,https://collect.example.org/r").unwrap();
        let ext = external_reports("example.com", &r);
        let names: Vec<&str> = ext.iter().map(|e| e.query_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "example.com._report._dmarc.thirdparty.example.net",
                "example.com._report._dmarc.collect.example.org"
            ]
        );
        // A subdomain's record reporting to its own organisational domain needs nothing.
        let r = parse(b"v=DMARC1; p=reject; rua=mailto:d@example.com").unwrap();
        assert!(external_reports("mail.example.com", &r).is_empty());

        let texts: [&[u8]; 2] = [b"some other text", b"v=DMARC1"];
        assert!(authorizes(texts));
        assert!(!authorizes([&b"v=spf1 -all"[..]]));
        assert!(!authorizes(std::iter::empty()));

        let f = unauthorized_report("example.com", &ext[0]);
        assert_eq!(f.code, FindingCode::DmarcExternalReportUnauthorized);
        let publish = f.record.unwrap();
        assert_eq!(
            publish.name,
            "example.com._report._dmarc.thirdparty.example.net"
        );
        assert_eq!(publish.value, "v=DMARC1");
    }

    #[test]
    fn never_panics_near_valid_records() {
        let seed = b"v=DMARC1; p=reject; sp=none; pct=50; rua=mailto:a@b.example!10m,https://c.example/r; ruf=mailto:x@y.example; fo=1:d; rf=afrf; ri=3600; t=y; psd=u";
        for text in tags::near(seed) {
            if let Ok(record) = parse(&text) {
                let _ = external_reports("example.com", &record);
            }
            let _ = is_dmarc(&text);
        }
    }

    #[test]
    fn records_serialise_for_the_report() {
        let r = parse(b"v=DMARC1; p=reject; adkim=s; rua=mailto:d@example.com!1k").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["policy"], "reject");
        assert_eq!(json["adkim"], "strict");
        assert_eq!(json["psd"], "unknown");
        assert_eq!(json["rua"][0]["uri"], "mailto:d@example.com");
        assert_eq!(json["rua"][0]["max_size"], 1024);
        let error = serde_json::to_value(parse(b"v=DMARC1").unwrap_err()).unwrap();
        assert!(
            error
                .as_str()
                .unwrap()
                .starts_with("the DMARC record has no p=")
        );
    }
}
