//! SPF (RFC 7208): `check_host()` as a sans-io machine.
//!
//! [`CheckHost`] evaluates a domain's SPF record for a client address. It never asks DNS
//! itself: [`CheckHost::step`] either says which query it needs next (a name and a
//! [`QueryType`]) or gives the [`Evaluation`]. The caller answers with [`CheckHost::answer`]
//! and steps again. Each step evaluates from the start with every answer given so far, which
//! keeps the evaluation the plain recursion the RFC describes; an evaluation asks at most a few
//! dozen queries (the limits of §4.6.4), so running it again is cheap next to one round trip.

pub mod macros;
pub mod record;
pub mod tree;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use macros::{MacroString, MacroValues};

use crate::dns::{Message, RData, Rcode, RecordType};
use record::{Mechanism, Qualifier, Term};

/// The limit of terms that ask DNS during one evaluation (§4.6.4).
pub const LOOKUP_LIMIT: u32 = 10;
/// The limit of lookups that find nothing (§4.6.4).
pub const VOID_LIMIT: u32 = 2;
/// The most MX names an `mx` mechanism takes, and the most PTR names `ptr` looks at (§4.6.4).
pub const NAME_LIMIT: usize = 10;

/// The record types SPF asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryType {
    Txt,
    A,
    Aaaa,
    Mx,
    Ptr,
}

/// One record of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    /// A TXT record, its character-strings joined (§3.3).
    Txt(Vec<u8>),
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// An MX record: its preference and exchange.
    Mx(u16, String),
    Ptr(String),
}

/// What DNS said to a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The records of the asked type (none: the name exists without them).
    Records(Vec<Rdata>),
    /// NXDOMAIN.
    NoSuchName,
    /// A timeout, SERVFAIL or any other failure.
    Failed,
}

impl QueryType {
    /// The DNS record type asked.
    pub fn record_type(self) -> RecordType {
        match self {
            QueryType::Txt => RecordType::Txt,
            QueryType::A => RecordType::A,
            QueryType::Aaaa => RecordType::Aaaa,
            QueryType::Mx => RecordType::Mx,
            QueryType::Ptr => RecordType::Ptr,
        }
    }
}

impl Answer {
    /// The answer in a DNS response to `name` and `kind` (`None`: no response came). CNAME
    /// chains in the answer are followed (RFC 1034 §3.6.2).
    pub fn from_message(name: &str, kind: QueryType, message: Option<&Message>) -> Answer {
        let Some(message) = message else {
            return Answer::Failed;
        };
        match message.rcode {
            Rcode::NoError => {}
            Rcode::NxDomain => return Answer::NoSuchName,
            _ => return Answer::Failed,
        }
        if message.truncated {
            return Answer::Failed;
        }
        let records = message
            .answers_for(name, kind.record_type())
            .into_iter()
            .filter_map(|record| match &record.data {
                RData::Txt(parts) => Some(Rdata::Txt(parts.concat())),
                RData::A(a) => Some(Rdata::A(*a)),
                RData::Aaaa(a) => Some(Rdata::Aaaa(*a)),
                RData::Mx {
                    preference,
                    exchange,
                } => Some(Rdata::Mx(*preference, exchange.clone())),
                RData::Ptr(name) => Some(Rdata::Ptr(name.clone())),
                _ => None,
            })
            .collect();
        Answer::Records(records)
    }
}

/// The result of `check_host()` (§2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an evaluation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub result: SpfResult,
    /// For `fail`: the domain's explanation (§6.2), when it has a usable one.
    pub explanation: Option<String>,
    /// The terms that led to the result, outermost first, each as `domain: term`.
    pub path: Vec<String>,
    /// Why the result is an error, in a sentence.
    pub error: Option<String>,
    /// Terms that asked DNS (at most [`LOOKUP_LIMIT`]) and lookups that found nothing.
    pub lookups: u32,
    pub void_lookups: u32,
}

/// `check_host()` for one client address, domain and sender.
#[derive(Clone, Debug)]
pub struct CheckHost {
    ip: IpAddr,
    domain: String,
    sender: String,
    helo: String,
    now: u64,
    answers: HashMap<(String, QueryType), Answer>,
}

/// What [`CheckHost::step`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Ask DNS this (the name in lowercase, without the root dot), then
    /// [`CheckHost::answer`].
    Query(String, QueryType),
    Done(Evaluation),
}

impl CheckHost {
    /// `ip` is the client; `domain` the one whose record is checked (the sender's domain, or the
    /// HELO name); `sender` the MAIL FROM address (`postmaster@` + the HELO name when empty,
    /// §2.4); `helo` the HELO name.
    pub fn new(ip: IpAddr, domain: &str, sender: &str, helo: &str) -> CheckHost {
        // An IPv4-mapped IPv6 address is the IPv4 client it maps (the suite's test
        // a-cidr6-0-ip4mapped).
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let sender = if sender.is_empty() {
            format!("postmaster@{helo}")
        } else if !sender.contains('@') {
            format!("postmaster@{sender}")
        } else if sender.starts_with('@') {
            format!("postmaster{sender}")
        } else {
            sender.to_owned()
        };
        CheckHost {
            ip,
            domain: name_key(domain),
            sender,
            helo: helo.to_owned(),
            now: 0,
            answers: HashMap::new(),
        }
    }

    /// The time for `%{t}` in explanations (the core reads no clock).
    pub fn at(mut self, unix_seconds: u64) -> CheckHost {
        self.now = unix_seconds;
        self
    }

    /// Takes DNS's answer to a query [`CheckHost::step`] asked for.
    pub fn answer(&mut self, name: &str, kind: QueryType, answer: Answer) {
        self.answers.insert((name_key(name), kind), answer);
    }

    /// The whole evaluation, `ask` answering each query.
    pub async fn run<F, Fut>(mut self, mut ask: F) -> Evaluation
    where
        F: FnMut(String, QueryType) -> Fut,
        Fut: Future<Output = Answer>,
    {
        loop {
            match self.step() {
                Step::Query(name, kind) => {
                    let answer = ask(name.clone(), kind).await;
                    self.answer(&name, kind, answer);
                }
                Step::Done(evaluation) => return evaluation,
            }
        }
    }

    /// The next query, or the evaluation.
    pub fn step(&self) -> Step {
        let mut run = Run {
            host: self,
            lookups: 0,
            voids: 0,
            path: Vec::new(),
        };
        let domain = self.domain.clone();
        let (result, explanation, error) = match run.check_host(&domain) {
            Ok((result, explanation)) => (result, explanation, None),
            Err(Stop::Need(name, kind)) => return Step::Query(name, kind),
            Err(Stop::Error(result, why)) => (result, None, Some(why)),
        };
        Step::Done(Evaluation {
            result,
            explanation,
            path: run.path,
            error,
            lookups: run.lookups,
            void_lookups: run.voids,
        })
    }
}

/// A name as a key: lowercase, without the root dot.
fn name_key(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Why an evaluation stops early.
enum Stop {
    Need(String, QueryType),
    Error(SpfResult, String),
}

fn perm(why: impl Into<String>) -> Stop {
    Stop::Error(SpfResult::PermError, why.into())
}

fn temp(why: impl Into<String>) -> Stop {
    Stop::Error(SpfResult::TempError, why.into())
}

/// One evaluation from the start, with the answers known so far.
struct Run<'a> {
    host: &'a CheckHost,
    lookups: u32,
    voids: u32,
    path: Vec<String>,
}

/// Whether `name` can be looked up: labels of 1 to 63 octets, at least two, at most 253
/// octets (§4.3).
fn valid_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253 && labels.len() >= 2 && labels.iter().all(|l| !l.is_empty() && l.len() <= 63)
}

impl<'a> Run<'a> {
    fn lookup(&self, name: &str, kind: QueryType) -> Result<&Answer, Stop> {
        let key = (name_key(name), kind);
        match self.host.answers.get(&key) {
            Some(answer) => Ok(answer),
            None => Err(Stop::Need(key.0, kind)),
        }
    }

    fn count_lookup(&mut self, term: &str) -> Result<(), Stop> {
        self.lookups += 1;
        if self.lookups > LOOKUP_LIMIT {
            return Err(perm(format!(
                "more than {LOOKUP_LIMIT} terms ask DNS (at \"{term}\"; RFC 7208 §4.6.4)"
            )));
        }
        Ok(())
    }

    fn count_void(&mut self, name: &str) -> Result<(), Stop> {
        self.voids += 1;
        if self.voids > VOID_LIMIT {
            return Err(perm(format!(
                "more than {VOID_LIMIT} lookups found nothing (the last: {name}; RFC 7208 §4.6.4)"
            )));
        }
        Ok(())
    }

    /// `check_host()` of `domain` (§4): the result and, for `fail`, the explanation.
    fn check_host(&mut self, domain: &str) -> Result<(SpfResult, Option<String>), Stop> {
        if !valid_domain(domain) {
            return Ok((SpfResult::None, None));
        }
        let records = match self.lookup(domain, QueryType::Txt)? {
            Answer::Failed => return Err(temp(format!("the TXT lookup of {domain} failed"))),
            Answer::NoSuchName => return Ok((SpfResult::None, None)),
            Answer::Records(records) => records,
        };
        let spf: Vec<&Vec<u8>> = records
            .iter()
            .filter_map(|r| match r {
                Rdata::Txt(text) if record::is_spf(text) => Some(text),
                _ => None,
            })
            .collect();
        let text = match spf.as_slice() {
            [] => return Ok((SpfResult::None, None)),
            [one] => *one,
            _ => {
                return Err(perm(format!(
                    "{domain} has {} SPF records; it must have one (RFC 7208 §4.5)",
                    spf.len()
                )));
            }
        };
        let record =
            record::parse(text).map_err(|e| perm(format!("the SPF record of {domain}: {e}")))?;
        for (text, term) in &record.terms {
            let Term::Directive(qualifier, mechanism) = term else {
                continue;
            };
            if mechanism.asks_dns() {
                self.count_lookup(text)?;
            }
            // The path reads outermost first: a matching include's own path follows it.
            let depth = self.path.len();
            if self.matches(domain, mechanism)? {
                self.path.insert(depth, format!("{domain}: {text}"));
                let result = match qualifier {
                    Qualifier::Pass => SpfResult::Pass,
                    Qualifier::Fail => SpfResult::Fail,
                    Qualifier::SoftFail => SpfResult::SoftFail,
                    Qualifier::Neutral => SpfResult::Neutral,
                };
                let explanation = match (result, record.explanation()) {
                    (SpfResult::Fail, Some(exp)) => self.explanation(domain, exp)?,
                    _ => None,
                };
                return Ok((result, explanation));
            }
        }
        if let Some(target) = record.redirect() {
            self.count_lookup("redirect")?;
            let target = self.expand_domain(domain, target)?;
            self.path.push(format!("{domain}: redirect={target}"));
            return match self.check_host(&target)? {
                (SpfResult::None, _) => Err(perm(format!(
                    "the redirect target {target} has no SPF record (RFC 7208 §6.1)"
                ))),
                found => Ok(found),
            };
        }
        Ok((SpfResult::Neutral, None))
    }

    fn matches(&mut self, domain: &str, mechanism: &Mechanism) -> Result<bool, Stop> {
        let ip = self.host.ip;
        Ok(match mechanism {
            Mechanism::All => true,
            Mechanism::Include(spec) => {
                let target = self.expand_domain(domain, spec)?;
                let depth = self.path.len();
                let (result, _) = self.check_host(&target)?;
                match result {
                    SpfResult::Pass => true,
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => {
                        self.path.truncate(depth);
                        false
                    }
                    SpfResult::TempError => {
                        return Err(temp(format!(
                            "the include of {target} could not be checked"
                        )));
                    }
                    SpfResult::None | SpfResult::PermError => {
                        return Err(perm(format!(
                            "the include of {target} gives {result} (RFC 7208 §5.2)"
                        )));
                    }
                }
            }
            Mechanism::A {
                domain: spec,
                v4,
                v6,
            } => {
                let target = match spec {
                    Some(spec) => self.expand_domain(domain, spec)?,
                    None => domain.to_owned(),
                };
                let addresses = self.addresses(&target, true)?;
                addresses.iter().any(|a| in_network(ip, *a, *v4, *v6))
            }
            Mechanism::Mx {
                domain: spec,
                v4,
                v6,
            } => {
                let target = match spec {
                    Some(spec) => self.expand_domain(domain, spec)?,
                    None => domain.to_owned(),
                };
                let names: Vec<String> = match self.lookup(&target, QueryType::Mx)? {
                    Answer::Failed => {
                        return Err(temp(format!("the MX lookup of {target} failed")));
                    }
                    Answer::NoSuchName => Vec::new(),
                    Answer::Records(records) => records
                        .iter()
                        .filter_map(|r| match r {
                            Rdata::Mx(_, name) => Some(name_key(name)),
                            _ => None,
                        })
                        .collect(),
                };
                if names.is_empty() {
                    self.count_void(&target)?;
                }
                if names.len() > NAME_LIMIT {
                    return Err(perm(format!(
                        "{target} has {} MX names; mx takes at most {NAME_LIMIT} (RFC 7208 §4.6.4)",
                        names.len()
                    )));
                }
                let mut found = false;
                for name in names.iter().filter(|n| !n.is_empty()) {
                    let addresses = self.addresses(name, false)?;
                    if addresses.iter().any(|a| in_network(ip, *a, *v4, *v6)) {
                        found = true;
                        break;
                    }
                }
                found
            }
            Mechanism::Ptr(spec) => {
                let target = match spec {
                    Some(spec) => self.expand_domain(domain, spec)?,
                    None => domain.to_owned(),
                };
                let validated = self.validated_names(true)?;
                validated
                    .iter()
                    .any(|name| name == &target || name.ends_with(&format!(".{target}")))
            }
            Mechanism::Ip4(network, length) => in_network(ip, IpAddr::V4(*network), *length, 0),
            Mechanism::Ip6(network, length) => in_network(ip, IpAddr::V6(*network), 0, *length),
            Mechanism::Exists(spec) => {
                let target = self.expand_domain(domain, spec)?;
                // Always A, whatever the client's family (§5.7).
                let found = match self.lookup(&target, QueryType::A)? {
                    Answer::Failed => {
                        return Err(temp(format!("the A lookup of {target} failed")));
                    }
                    Answer::NoSuchName => false,
                    Answer::Records(records) => records.iter().any(|r| matches!(r, Rdata::A(_))),
                };
                if !found {
                    self.count_void(&target)?;
                }
                found
            }
        })
    }

    /// The addresses of `name` in the client's family; `void`: an empty answer counts as a
    /// void lookup.
    fn addresses(&mut self, name: &str, void: bool) -> Result<Vec<IpAddr>, Stop> {
        let kind = match self.host.ip {
            IpAddr::V4(_) => QueryType::A,
            IpAddr::V6(_) => QueryType::Aaaa,
        };
        if !valid_domain(name) {
            if void {
                self.count_void(name)?;
            }
            return Ok(Vec::new());
        }
        let addresses: Vec<IpAddr> = match self.lookup(name, kind)? {
            Answer::Failed => return Err(temp(format!("the address lookup of {name} failed"))),
            Answer::NoSuchName => Vec::new(),
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match r {
                    Rdata::A(a) => Some(IpAddr::V4(*a)),
                    Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
                    _ => None,
                })
                .collect(),
        };
        if addresses.is_empty() && void {
            self.count_void(name)?;
        }
        Ok(addresses)
    }

    /// The client's names that point back to it (§5.5): the PTR names, at most
    /// [`NAME_LIMIT`], whose addresses include the client. DNS errors only leave names out.
    fn validated_names(&mut self, void: bool) -> Result<Vec<String>, Stop> {
        let reverse = reverse_name(self.host.ip);
        let names: Vec<String> = match self.lookup(&reverse, QueryType::Ptr)? {
            Answer::Failed => return Ok(Vec::new()),
            Answer::NoSuchName => Vec::new(),
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match r {
                    Rdata::Ptr(name) => Some(name_key(name)),
                    _ => None,
                })
                .collect(),
        };
        if names.is_empty() && void {
            self.count_void(&reverse)?;
        }
        let kind = match self.host.ip {
            IpAddr::V4(_) => QueryType::A,
            IpAddr::V6(_) => QueryType::Aaaa,
        };
        let mut validated = Vec::new();
        for name in names.into_iter().take(NAME_LIMIT) {
            if !valid_domain(&name) {
                continue;
            }
            let back = match self.lookup(&name, kind)? {
                Answer::Records(records) => records.iter().any(|r| match r {
                    Rdata::A(a) => IpAddr::V4(*a) == self.host.ip,
                    Rdata::Aaaa(a) => IpAddr::V6(*a) == self.host.ip,
                    _ => false,
                }),
                _ => false,
            };
            if back {
                validated.push(name);
            }
        }
        Ok(validated)
    }

    /// The value of `%{p}` while evaluating `domain` (§7.3): a validated name of the client,
    /// `domain` or one below it first, else any, else `unknown`.
    fn validated_name(&mut self, domain: &str) -> Result<Option<String>, Stop> {
        let names = self.validated_names(false)?;
        let below = names
            .iter()
            .find(|n| *n == domain || n.ends_with(&format!(".{domain}")));
        Ok(below.or(names.first()).cloned())
    }

    fn values<'v>(&self, domain: &'v str, validated: Option<&'v str>) -> MacroValues<'v>
    where
        'a: 'v,
    {
        let sender = self.host.sender.as_str();
        let (local, sender_domain) = sender.rsplit_once('@').unwrap_or(("postmaster", sender));
        MacroValues {
            sender,
            local,
            sender_domain,
            domain,
            ip: self.host.ip,
            helo: &self.host.helo,
            validated,
            now: self.host.now,
        }
    }

    /// A domain-spec expanded while evaluating `domain` (§7): lowercase, without the root dot,
    /// and cut from the left to at most 253 octets (§7.3).
    fn expand_domain(&mut self, domain: &str, spec: &MacroString) -> Result<String, Stop> {
        let validated = if spec.uses_validated_name() {
            self.validated_name(domain)?
        } else {
            None
        };
        let mut name = name_key(&spec.expand(&self.values(domain, validated.as_deref())));
        while name.len() > 253 {
            match name.split_once('.') {
                Some((_, rest)) => name = rest.to_owned(),
                None => break,
            }
        }
        Ok(name)
    }

    /// The explanation of a `fail` (§6.2): the TXT record at the expanded `exp=` domain,
    /// expanded in turn. Any trouble gives none (and costs no lookup of the limit).
    fn explanation(&mut self, domain: &str, spec: &MacroString) -> Result<Option<String>, Stop> {
        let target = self.expand_domain(domain, spec)?;
        if !valid_domain(&target) {
            return Ok(None);
        }
        let texts: Vec<&Vec<u8>> = match self.lookup(&target, QueryType::Txt)? {
            Answer::Records(records) => records
                .iter()
                .filter_map(|r| match r {
                    Rdata::Txt(text) => Some(text),
                    _ => None,
                })
                .collect(),
            _ => return Ok(None),
        };
        let [text] = texts.as_slice() else {
            return Ok(None);
        };
        let Ok(text) = std::str::from_utf8(text) else {
            return Ok(None);
        };
        if !text.is_ascii() {
            return Ok(None);
        }
        let Ok(explain) = MacroString::parse(text, true) else {
            return Ok(None);
        };
        let validated = if explain.uses_validated_name() {
            self.validated_name(domain)?
        } else {
            None
        };
        Ok(Some(
            explain.expand(&self.values(domain, validated.as_deref())),
        ))
    }
}

/// Whether `ip` is in `network`/`length` of its family (`v4`, `v6`: the lengths per family).
fn in_network(ip: IpAddr, network: IpAddr, v4: u8, v6: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(v4)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(v6)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// The name of the client's PTR record: `in-addr.arpa` or `ip6.arpa` (RFC 1035 §3.5, RFC 3596).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(_) => {
            let dotted = macros::dotted(ip);
            let nibbles: Vec<&str> = dotted.split('.').rev().collect();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_reverse_names() {
        let ip: IpAddr = "192.0.2.130".parse().unwrap();
        assert!(in_network(ip, "192.0.2.128".parse().unwrap(), 25, 0));
        assert!(!in_network(ip, "192.0.2.0".parse().unwrap(), 25, 0));
        assert!(in_network(ip, "10.0.0.0".parse().unwrap(), 0, 0));
        assert!(!in_network(ip, "2001:db8::".parse().unwrap(), 0, 0));
        assert_eq!(reverse_name(ip), "130.2.0.192.in-addr.arpa");
        assert!(reverse_name("2001:db8::1".parse().unwrap()).starts_with("1.0.0.0."));
    }
}
