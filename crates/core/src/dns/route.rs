//! Where mail for a domain goes, decided from DNS answers (RFC 5321 §5.1, RFC 7505).
//!
//! [`super::resolve::MailRouteLookup`] drives these functions query by query, MX hosts
//! included; a caller holding its own answers can use them directly. It runs the MX query, asks
//! [`follow_up_queries`] whether the A and AAAA queries are needed (they can run concurrently),
//! and passes every answer to [`mail_route`]:
//!
//! ```
//! use mailvet_core::dns::route::{Lookup, RouteDecision, RouteEvidence, follow_up_queries, mail_route};
//! use mailvet_core::dns::{Message, RecordType, parse_response};
//!
//! /// `resolve` stands for the caller's transport: DoH over `fetch`, or UDP/TCP natively.
//! fn route(domain: &str, resolve: impl Fn(RecordType) -> Option<Vec<u8>>) -> RouteDecision {
//!     let read = |rtype| resolve(rtype).and_then(|bytes| parse_response(&bytes).ok());
//!     let mx = read(RecordType::Mx);
//!     let Some(mx) = mx else {
//!         return mail_route(&RouteEvidence::mx_only(domain, Lookup::Failed));
//!     };
//!     let follow_up: Vec<Option<Message>> =
//!         follow_up_queries(domain, &mx).iter().map(|&t| read(t)).collect();
//!     fn lookup(m: &Option<Message>) -> Lookup<'_> {
//!         m.as_ref().map_or(Lookup::Failed, Lookup::Answer)
//!     }
//!     mail_route(&RouteEvidence {
//!         domain,
//!         mx: Lookup::Answer(&mx),
//!         a: follow_up.first().map(lookup),
//!         aaaa: follow_up.get(1).map(lookup),
//!     })
//! }
//! ```

use core::fmt;
use std::net::IpAddr;

use super::message::{Message, RData, Record};
use super::name::normalize_name;
use super::{Rcode, RecordType};

/// What one DNS query produced.
#[derive(Clone, Copy, Debug)]
pub enum Lookup<'a> {
    /// A response was read, whatever its RCODE.
    Answer(&'a Message),
    /// No usable response: the transport failed, timed out, or the bytes were not a DNS message.
    Failed,
}

/// The evidence for one domain. `a` and `aaaa` are `None` when those queries were not made; when
/// only one of them was made, the other address family counts as absent.
#[derive(Clone, Copy, Debug)]
pub struct RouteEvidence<'a> {
    pub domain: &'a str,
    pub mx: Lookup<'a>,
    pub a: Option<Lookup<'a>>,
    pub aaaa: Option<Lookup<'a>>,
}

impl<'a> RouteEvidence<'a> {
    /// Evidence from the MX query alone, enough whenever [`follow_up_queries`] asks for nothing.
    pub fn mx_only(domain: &'a str, mx: Lookup<'a>) -> Self {
        RouteEvidence {
            domain,
            mx,
            a: None,
            aaaa: None,
        }
    }
}

/// One host to try, in the order of [`MailRoute::Hosts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    pub preference: u16,
    /// A name in presentation form (see [`crate::dns`]).
    pub host: String,
    /// True for the implicit MX of RFC 5321 §5.1: the domain itself, from its A/AAAA records.
    pub implicit: bool,
}

/// Where mail for a domain goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailRoute {
    /// Hosts by ascending preference (RFC 5321 §5.1), each once, at most [`MAX_HOSTS`]. Hosts of
    /// equal preference are ordered by name; RFC 5321 §5.1 asks senders to shuffle them, which is
    /// up to the caller (the core draws no random numbers).
    Hosts(Vec<MxHost>),
    /// The domain publishes a null MX: it accepts no mail (RFC 7505 §3).
    NullMx,
    /// The domain exists but has no MX and no address records (RFC 5321 §5.1).
    NoMailServer,
    /// NXDOMAIN: the domain does not exist (RFC 1035 §4.1.1).
    DomainNotFound,
    /// DNS did not give a usable answer, so nothing can be said about the domain.
    DnsFailure(DnsFailure),
}

/// Why DNS gave no usable answer. Never a statement that the domain does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsFailure {
    /// The resolver answered with an error RCODE such as SERVFAIL or REFUSED.
    Rcode(Rcode),
    /// The TC bit is set: the answer is incomplete (RFC 1035 §4.1.1).
    Truncated,
    /// The response echoes a different question than the one asked (RFC 1035 §7.3).
    WrongQuestion,
    /// No usable response came back.
    NoAnswer,
    /// The MX answer was empty and the A/AAAA answers it calls for were not given.
    AddressLookupsMissing,
    /// The lookup needed more queries than its budget allowed.
    LookupLimit,
}

/// A route and how long it may be cached, in seconds. `ttl` is `None` when the evidence may not
/// be cached: failures, and negative answers without an SOA record (RFC 2308 §5).
/// RFC 2308 §7.1 lets a caller cache a server failure for up to five minutes if it wishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDecision {
    pub route: MailRoute,
    pub ttl: Option<u32>,
}

const ADDRESS_TYPES: &[RecordType] = &[RecordType::A, RecordType::Aaaa];

/// The most hosts a route lists. Senders try a handful at most before giving up, and the bound
/// keeps the work on a hostile answer linear.
pub const MAX_HOSTS: usize = 10;

/// The queries to run after the MX answer: A and AAAA of the domain when the MX answer is a
/// NOERROR with no MX records, for the implicit MX of RFC 5321 §5.1; nothing otherwise.
pub fn follow_up_queries(domain: &str, mx: &Message) -> &'static [RecordType] {
    if checked(mx, domain, RecordType::Mx).is_ok()
        && mx.rcode == Rcode::NoError
        && mx_records(mx, domain).is_empty()
    {
        ADDRESS_TYPES
    } else {
        &[]
    }
}

/// Decides where mail for `evidence.domain` goes.
///
/// The MX answer decides first: NXDOMAIN means the domain does not exist; any other error
/// RCODE is a DNS failure. MX records give the hosts, unless one of them is a null MX.
/// Only a NOERROR answer without MX records looks at the A/AAAA answers.
pub fn mail_route(evidence: &RouteEvidence<'_>) -> RouteDecision {
    let domain = evidence.domain;
    let mx = match evidence.mx {
        Lookup::Answer(m) => m,
        Lookup::Failed => return failure(DnsFailure::NoAnswer),
    };
    if let Err(f) = checked(mx, domain, RecordType::Mx) {
        return failure(f);
    }
    match mx.rcode {
        // RFC 6604 §2: with a CNAME chain the RCODE speaks of its last name, which is where
        // mail would go, so a dangling alias also has nowhere to deliver.
        Rcode::NxDomain => return decision(MailRoute::DomainNotFound, mx.negative_ttl()),
        Rcode::NoError => {}
        other => return failure(DnsFailure::Rcode(other)),
    }

    let records = mx_records(mx, domain);
    if !records.is_empty() {
        return explicit_route(&records, mx.min_ttl());
    }

    // RFC 5321 §5.1: no MX records, so the domain's own address records are the implicit MX.
    if evidence.a.is_none() && evidence.aaaa.is_none() {
        return failure(DnsFailure::AddressLookupsMissing);
    }
    match addresses(domain, evidence.a, evidence.aaaa) {
        Ok(Addresses::Found(address_ttl)) => {
            let host = MxHost {
                preference: 0,
                host: normalize_name(domain),
                implicit: true,
            };
            // The route rests on the MX being absent and the address present: both must hold.
            let ttl = mx.negative_ttl().map(|t| t.min(address_ttl));
            decision(MailRoute::Hosts(vec![host]), ttl)
        }
        Ok(Addresses::None(negative_ttl)) => decision(
            MailRoute::NoMailServer,
            min_known(mx.negative_ttl(), negative_ttl),
        ),
        Err(f) => failure(f),
    }
}

/// The A and AAAA lookups of one mail host named by an MX record.
#[derive(Clone, Copy, Debug)]
pub struct HostEvidence<'a> {
    /// The host's name, as in the route.
    pub host: &'a str,
    pub a: Lookup<'a>,
    pub aaaa: Lookup<'a>,
}

/// Checks that the hosts an MX route names exist. RFC 5321 §5.1: "If MX records are present,
/// but none of them are usable, […] this situation MUST be reported as an error"; a host whose
/// name has no address record (NXDOMAIN, or neither A nor AAAA) is not usable.
///
/// `hosts` holds the lookups of some or all hosts of the route. One host with an address makes
/// the route usable, so a caller may look hosts up in order and stop once the route comes back
/// as [`MailRoute::Hosts`]. When every host lacks an address the route is
/// [`MailRoute::NoMailServer`]; when a host was not looked up or its lookup failed, and no host
/// has an address, nothing is proven: [`MailRoute::DnsFailure`]. Other routes, and an implicit
/// MX (which rests on the domain's own addresses), come back unchanged.
pub fn check_mx_hosts(route: RouteDecision, hosts: &[HostEvidence<'_>]) -> RouteDecision {
    let MailRoute::Hosts(listed) = &route.route else {
        return route;
    };
    if listed.iter().any(|h| h.implicit) {
        return route;
    }
    let mut negative_ttl = route.ttl;
    // The first failure is the one reported.
    let mut failed = None;
    for host in listed {
        let Some(evidence) = hosts.iter().find(|e| normalize_name(e.host) == host.host) else {
            failed = failed.or(Some(DnsFailure::AddressLookupsMissing));
            continue;
        };
        match addresses(&host.host, Some(evidence.a), Some(evidence.aaaa)) {
            Ok(Addresses::Found(ttl)) => {
                let ttl = route.ttl.map(|t| t.min(ttl));
                return decision(route.route, ttl);
            }
            Ok(Addresses::None(ttl)) => negative_ttl = min_known(negative_ttl, ttl),
            Err(f) => failed = failed.or(Some(f)),
        }
    }
    match failed {
        Some(f) => failure(f),
        None => decision(MailRoute::NoMailServer, negative_ttl),
    }
}

/// The addresses of `host` in its A and AAAA answers (`None`: not asked, or no answer), IPv4
/// first, following CNAME records (RFC 1034 §3.6.2).
pub fn host_addresses(host: &str, a: Option<&Message>, aaaa: Option<&Message>) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for (answer, rtype) in [(a, RecordType::A), (aaaa, RecordType::Aaaa)] {
        let Some(answer) = answer else { continue };
        for record in answer.answers_for(host, rtype) {
            match record.data {
                RData::A(ip) => out.push(IpAddr::V4(ip)),
                RData::Aaaa(ip) => out.push(IpAddr::V6(ip)),
                _ => {}
            }
        }
    }
    out
}

/// How long one response may be kept in a cache, in seconds; `None` when it may not be.
///
/// An answer is kept for the smallest TTL of its answer section (RFC 2181 §5.2). A negative
/// answer (NXDOMAIN, or NOERROR without records of the type asked, RFC 2308 §1), also at the end
/// of a CNAME chain, is kept for the SOA's negative TTL (RFC 2308 §5), and not at all without an
/// SOA. Truncated answers and every other RCODE are not kept: RFC 2308 §7.1 allows a short
/// cache of a server failure but does not ask for one, and another try may well succeed.
pub fn cache_ttl(m: &Message) -> Option<u32> {
    if m.truncated {
        return None;
    }
    let negative = match (m.rcode, m.questions.as_slice()) {
        (Rcode::NxDomain, _) => true,
        (Rcode::NoError, [q]) => m.answers_for(&q.name, q.rtype).is_empty(),
        // Without the question echoed (see `checked`), any record is taken as the answer.
        (Rcode::NoError, _) => m.answers.is_empty(),
        _ => return None,
    };
    let answer_ttl = m.min_ttl();
    if negative {
        let soa = m.negative_ttl()?;
        Some(answer_ttl.map_or(soa, |t| t.min(soa)))
    } else {
        answer_ttl
    }
}

/// What the A and AAAA lookups of one name say.
enum Addresses {
    /// At least one address; the smallest TTL of the address records.
    Found(u32),
    /// Every lookup made says there is none; how long that may be cached (RFC 2308 §5).
    None(Option<u32>),
}

/// Reads the A and AAAA lookups of `name` (`None`: not made). An address in either is enough;
/// "none" needs every lookup made to say so, since one family answering "none" while the other
/// failed proves nothing. The first failure is the one reported.
fn addresses(
    name: &str,
    a: Option<Lookup<'_>>,
    aaaa: Option<Lookup<'_>>,
) -> Result<Addresses, DnsFailure> {
    let mut negative_ttl = Some(u32::MAX);
    let mut address_ttl: Option<u32> = None;
    let mut failed = None;
    for (lookup, rtype) in [(a, RecordType::A), (aaaa, RecordType::Aaaa)] {
        let Some(lookup) = lookup else { continue };
        let m = match lookup {
            Lookup::Answer(m) => m,
            Lookup::Failed => {
                failed = failed.or(Some(DnsFailure::NoAnswer));
                continue;
            }
        };
        if let Err(f) = checked(m, name, rtype) {
            failed = failed.or(Some(f));
            continue;
        }
        match m.rcode {
            Rcode::NoError | Rcode::NxDomain => {}
            other => {
                failed = failed.or(Some(DnsFailure::Rcode(other)));
                continue;
            }
        }
        if m.answers_for(name, rtype).is_empty() {
            negative_ttl = min_known(negative_ttl, m.negative_ttl());
        } else {
            let ttl = m.min_ttl().unwrap_or(0);
            address_ttl = Some(address_ttl.map_or(ttl, |t| t.min(ttl)));
        }
    }
    match (address_ttl, failed) {
        (Some(ttl), _) => Ok(Addresses::Found(ttl)),
        (None, Some(f)) => Err(f),
        (None, None) => Ok(Addresses::None(negative_ttl)),
    }
}

/// The MX records for `domain` that carry MX data. A record of the MX type in another class than
/// IN (RFC 1035 §3.2.4) is read as `RData::Other` and names no host, so it does not count: an
/// answer holding only such records has no MX, and the implicit MX rule applies.
fn mx_records<'m>(mx: &'m Message, domain: &str) -> Vec<&'m Record> {
    let mut records = mx.answers_for(domain, RecordType::Mx);
    records.retain(|r| matches!(r.data, RData::Mx { .. }));
    records
}

fn explicit_route(records: &[&Record], ttl: Option<u32>) -> RouteDecision {
    let mut hosts: Vec<MxHost> = Vec::with_capacity(records.len().min(MAX_HOSTS));
    for record in records {
        if let RData::Mx {
            preference,
            exchange,
        } = &record.data
        {
            // RFC 7505 §3: a null MX is the root as exchange, and "a domain that advertises a
            // null MX MUST NOT advertise any other MX RR". A set that breaks that rule still
            // states that the domain accepts no mail, and the root is never a host to contact,
            // so any root exchange makes the route a null MX, whatever its preference.
            if exchange.is_empty() {
                return decision(MailRoute::NullMx, ttl);
            }
            insert_host(&mut hosts, *preference, exchange);
        }
    }
    decision(MailRoute::Hosts(hosts), ttl)
}

/// MX hosts that someone else found (the Worker names them to the prober), made into a route's
/// hosts by the rules an MX answer follows: names in presentation form, each once at its best
/// preference, by preference then name, at most [`MAX_HOSTS`]. The root (a null MX) names no
/// host to contact and is left out.
pub fn named_hosts<'n>(named: impl IntoIterator<Item = (u16, &'n str)>) -> Vec<MxHost> {
    let mut hosts = Vec::new();
    for (preference, name) in named {
        let name = normalize_name(name);
        if !name.is_empty() {
            insert_host(&mut hosts, preference, &name);
        }
    }
    hosts
}

/// Inserts a host into `hosts`, kept sorted by preference then name, holding each host once
/// (at its best preference) and at most [`MAX_HOSTS`] of them. Linear in `MAX_HOSTS`, so a
/// hostile answer with thousands of MX records costs little.
fn insert_host(hosts: &mut Vec<MxHost>, preference: u16, exchange: &str) {
    if let Some(i) = hosts.iter().position(|h| h.host == exchange) {
        if hosts[i].preference <= preference {
            return;
        }
        hosts.remove(i);
    }
    let key = (preference, exchange);
    let at = hosts
        .iter()
        .position(|h| key < (h.preference, h.host.as_str()))
        .unwrap_or(hosts.len());
    if at < MAX_HOSTS {
        hosts.insert(
            at,
            MxHost {
                preference,
                host: exchange.to_owned(),
                implicit: false,
            },
        );
        hosts.truncate(MAX_HOSTS);
    }
}

/// The TC bit and the question come before anything else is believed.
fn checked(m: &Message, domain: &str, rtype: RecordType) -> Result<(), DnsFailure> {
    if m.truncated {
        return Err(DnsFailure::Truncated);
    }
    if m.echoes(domain, rtype) {
        Ok(())
    } else {
        Err(DnsFailure::WrongQuestion)
    }
}

/// The smaller of two TTLs; `None` (do not cache) wins.
fn min_known(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    Some(a?.min(b?))
}

fn decision(route: MailRoute, ttl: Option<u32>) -> RouteDecision {
    RouteDecision { route, ttl }
}

fn failure(f: DnsFailure) -> RouteDecision {
    decision(MailRoute::DnsFailure(f), None)
}

impl MailRoute {
    /// A stable snake_case code for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            MailRoute::Hosts(_) => "mail_hosts",
            MailRoute::NullMx => "null_mx",
            MailRoute::NoMailServer => "no_mail_server",
            MailRoute::DomainNotFound => "domain_not_found",
            MailRoute::DnsFailure(_) => "dns_failure",
        }
    }
}

impl fmt::Display for MailRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailRoute::Hosts(hosts) if hosts.iter().any(|h| h.implicit) => {
                f.write_str("The domain has no MX record; mail goes to the domain's own address.")
            }
            MailRoute::Hosts(_) => f.write_str("The domain has mail servers."),
            MailRoute::NullMx => f.write_str("The domain states that it accepts no email."),
            MailRoute::NoMailServer => f.write_str("The domain has no mail server."),
            MailRoute::DomainNotFound => f.write_str("The domain does not exist."),
            MailRoute::DnsFailure(failure) => fmt::Display::fmt(failure, f),
        }
    }
}

impl DnsFailure {
    /// A stable snake_case code for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            DnsFailure::Rcode(Rcode::ServFail) => "dns_servfail",
            DnsFailure::Rcode(Rcode::Refused) => "dns_refused",
            DnsFailure::Rcode(_) => "dns_error_rcode",
            DnsFailure::Truncated => "dns_truncated",
            DnsFailure::WrongQuestion => "dns_wrong_question",
            DnsFailure::NoAnswer => "dns_no_answer",
            DnsFailure::AddressLookupsMissing => "dns_address_lookups_missing",
            DnsFailure::LookupLimit => "dns_lookup_limit",
        }
    }
}

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsFailure::Rcode(rcode) => write!(f, "The DNS resolver answered {rcode}."),
            DnsFailure::Truncated => f.write_str("The DNS answer was cut short."),
            DnsFailure::WrongQuestion => {
                f.write_str("The DNS answer was for a different question.")
            }
            DnsFailure::NoAnswer => f.write_str("The DNS resolver could not be reached."),
            DnsFailure::AddressLookupsMissing => {
                f.write_str("The domain's address records were not looked up.")
            }
            DnsFailure::LookupLimit => {
                f.write_str("Finding the domain's mail servers took too many DNS queries.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::dns::{Question, Record, Soa, parse_response};

    const DOMAIN: &str = "example.com";

    fn message(
        rcode: Rcode,
        rtype: RecordType,
        answers: Vec<Record>,
        soa: Option<(u32, u32)>,
    ) -> Message {
        let authorities = soa
            .map(|(ttl, minimum)| {
                vec![Record {
                    name: DOMAIN.into(),
                    rtype: RecordType::Soa,
                    ttl,
                    data: RData::Soa(Soa {
                        mname: "ns1.example.com".into(),
                        rname: "hostmaster.example.com".into(),
                        serial: 1,
                        refresh: 7200,
                        retry: 3600,
                        expire: 1209600,
                        minimum,
                    }),
                }]
            })
            .unwrap_or_default();
        Message {
            id: 0,
            rcode,
            truncated: false,
            authoritative: false,
            recursion_available: true,
            questions: vec![Question {
                name: DOMAIN.into(),
                rtype,
            }],
            answers,
            authorities,
            additionals: Vec::new(),
        }
    }

    fn mx(preference: u16, exchange: &str, ttl: u32) -> Record {
        Record {
            name: DOMAIN.into(),
            rtype: RecordType::Mx,
            ttl,
            data: RData::Mx {
                preference,
                exchange: exchange.into(),
            },
        }
    }

    fn a(ttl: u32) -> Record {
        Record {
            name: DOMAIN.into(),
            rtype: RecordType::A,
            ttl,
            data: RData::A(Ipv4Addr::new(192, 0, 2, 25)),
        }
    }

    fn aaaa(ttl: u32) -> Record {
        Record {
            name: DOMAIN.into(),
            rtype: RecordType::Aaaa,
            ttl,
            data: RData::Aaaa(Ipv6Addr::LOCALHOST),
        }
    }

    fn nodata(rtype: RecordType, soa_ttl: u32) -> Message {
        message(Rcode::NoError, rtype, Vec::new(), Some((soa_ttl, soa_ttl)))
    }

    fn route_mx(m: &Message) -> RouteDecision {
        mail_route(&RouteEvidence::mx_only(DOMAIN, Lookup::Answer(m)))
    }

    fn route_all(m: &Message, a: Option<Lookup<'_>>, aaaa: Option<Lookup<'_>>) -> RouteDecision {
        mail_route(&RouteEvidence {
            domain: DOMAIN,
            mx: Lookup::Answer(m),
            a,
            aaaa,
        })
    }

    fn host(preference: u16, name: &str) -> MxHost {
        MxHost {
            preference,
            host: name.into(),
            implicit: false,
        }
    }

    /// Found by the `dns_message` fuzz target: an MX record of class 3 (CH) gave `Hosts([])`.
    #[test]
    fn mx_records_outside_class_in_are_no_mx() {
        let hex = "000081800001000100000001076578616d706c6503636f6d00000f0001c00c000f00030000003c0003000a0000002904d0000000000000";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let m = parse_response(&bytes).unwrap();
        assert_eq!(follow_up_queries("example.com", &m), ADDRESS_TYPES);
        assert_eq!(
            route_mx(&m).route,
            MailRoute::DnsFailure(DnsFailure::AddressLookupsMissing)
        );
    }

    #[test]
    fn hosts_sorted_by_preference_then_name_without_duplicates() {
        let m = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![
                mx(20, "mx3.example.com", 3600),
                mx(10, "mx2.example.com", 300),
                mx(10, "mx1.example.com", 3600),
                mx(30, "mx1.example.com", 3600),
            ],
            None,
        );
        assert_eq!(follow_up_queries(DOMAIN, &m), &[] as &[RecordType]);
        let d = route_mx(&m);
        assert_eq!(
            d.route,
            MailRoute::Hosts(vec![
                host(10, "mx1.example.com"),
                host(10, "mx2.example.com"),
                host(20, "mx3.example.com"),
            ])
        );
        assert_eq!(d.ttl, Some(300));
        assert_eq!(d.route.code(), "mail_hosts");
    }

    #[test]
    fn many_mx_records_keep_the_best_hosts() {
        // 3000 records: preferences 2999 down to 0, every host listed twice.
        let mut answers = Vec::new();
        for i in (0..3000u16).rev() {
            answers.push(mx(i, &format!("mx{i}.example.com"), 60));
            answers.push(mx(i + 1, &format!("mx{i}.example.com"), 60));
        }
        let m = message(Rcode::NoError, RecordType::Mx, answers, None);
        let MailRoute::Hosts(hosts) = route_mx(&m).route else {
            panic!()
        };
        let expected: Vec<MxHost> = (0..MAX_HOSTS as u16)
            .map(|i| host(i, &format!("mx{i}.example.com")))
            .collect();
        assert_eq!(hosts, expected);
        // A null MX late in a long set still wins.
        let mut answers: Vec<Record> = (0..200)
            .map(|i| mx(i, &format!("mx{i}.example.com"), 60))
            .collect();
        answers.push(mx(0, "", 60));
        let m = message(Rcode::NoError, RecordType::Mx, answers, None);
        assert_eq!(route_mx(&m).route, MailRoute::NullMx);
    }

    #[test]
    fn null_mx_in_every_shape_is_null_mx() {
        // RFC 7505 §3 form: a single MX 0 ".".
        let m = message(Rcode::NoError, RecordType::Mx, vec![mx(0, "", 86400)], None);
        assert_eq!(
            route_mx(&m),
            RouteDecision {
                route: MailRoute::NullMx,
                ttl: Some(86400)
            }
        );
        assert!(
            follow_up_queries(DOMAIN, &m).is_empty(),
            "a null MX needs no A/AAAA"
        );
        // A root exchange with a non-zero preference is no host either.
        let m = message(Rcode::NoError, RecordType::Mx, vec![mx(10, "", 600)], None);
        assert_eq!(route_mx(&m).route, MailRoute::NullMx);
        // Mixed with real hosts, before or after them (see explicit_route).
        for answers in [
            vec![mx(0, "", 600), mx(10, "mx.example.com", 600)],
            vec![mx(10, "mx.example.com", 600), mx(0, "", 600)],
        ] {
            let m = message(Rcode::NoError, RecordType::Mx, answers, None);
            assert_eq!(route_mx(&m).route, MailRoute::NullMx);
        }
    }

    #[test]
    fn nxdomain_is_domain_not_found_with_negative_ttl() {
        let m = message(
            Rcode::NxDomain,
            RecordType::Mx,
            Vec::new(),
            Some((3600, 900)),
        );
        assert_eq!(follow_up_queries(DOMAIN, &m), &[] as &[RecordType]);
        assert_eq!(
            route_mx(&m),
            RouteDecision {
                route: MailRoute::DomainNotFound,
                ttl: Some(900)
            }
        );
        // RFC 2308 §5: without an SOA the negative answer is not cached.
        let m = message(Rcode::NxDomain, RecordType::Mx, Vec::new(), None);
        assert_eq!(
            route_mx(&m),
            RouteDecision {
                route: MailRoute::DomainNotFound,
                ttl: None
            }
        );
    }

    #[test]
    fn resolver_errors_are_failures_never_absence() {
        for rcode in [
            Rcode::ServFail,
            Rcode::Refused,
            Rcode::FormErr,
            Rcode::NotImp,
            Rcode::Other(16),
        ] {
            let m = message(rcode, RecordType::Mx, Vec::new(), Some((60, 60)));
            assert!(follow_up_queries(DOMAIN, &m).is_empty());
            let d = route_mx(&m);
            assert_eq!(d.route, MailRoute::DnsFailure(DnsFailure::Rcode(rcode)));
            assert_eq!(d.ttl, None);
            assert_eq!(d.route.code(), "dns_failure");
        }
        let d = mail_route(&RouteEvidence::mx_only(DOMAIN, Lookup::Failed));
        assert_eq!(d.route, MailRoute::DnsFailure(DnsFailure::NoAnswer));
    }

    #[test]
    fn truncated_and_mismatched_answers_are_failures() {
        let mut m = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![mx(10, "mx.example.com", 60)],
            None,
        );
        m.truncated = true;
        assert_eq!(
            route_mx(&m).route,
            MailRoute::DnsFailure(DnsFailure::Truncated)
        );
        assert!(follow_up_queries(DOMAIN, &nodata_truncated()).is_empty());

        let mut m = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![mx(10, "mx.example.com", 60)],
            None,
        );
        m.questions[0].name = "example.org".into();
        assert_eq!(
            route_mx(&m).route,
            MailRoute::DnsFailure(DnsFailure::WrongQuestion)
        );
        m.questions[0] = Question {
            name: DOMAIN.into(),
            rtype: RecordType::A,
        };
        assert_eq!(
            route_mx(&m).route,
            MailRoute::DnsFailure(DnsFailure::WrongQuestion)
        );
        // No question echoed, and the name in another case with a trailing dot: both accepted.
        m.questions.clear();
        assert_eq!(
            route_mx(&m).route,
            MailRoute::Hosts(vec![host(10, "mx.example.com")])
        );
        let m = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![mx(10, "mx.example.com", 60)],
            None,
        );
        let d = mail_route(&RouteEvidence::mx_only("Example.COM.", Lookup::Answer(&m)));
        assert_eq!(d.route, MailRoute::Hosts(vec![host(10, "mx.example.com")]));
    }

    fn nodata_truncated() -> Message {
        let mut m = nodata(RecordType::Mx, 60);
        m.truncated = true;
        m
    }

    #[test]
    fn empty_mx_answer_asks_for_addresses() {
        let m = nodata(RecordType::Mx, 300);
        assert_eq!(
            follow_up_queries(DOMAIN, &m),
            &[RecordType::A, RecordType::Aaaa]
        );
        assert_eq!(
            route_mx(&m).route,
            MailRoute::DnsFailure(DnsFailure::AddressLookupsMissing)
        );
    }

    #[test]
    fn address_records_make_an_implicit_mx() {
        let m = nodata(RecordType::Mx, 300);
        let with_a = message(Rcode::NoError, RecordType::A, vec![a(120)], None);
        let no_aaaa = nodata(RecordType::Aaaa, 30);
        let d = route_all(
            &m,
            Some(Lookup::Answer(&with_a)),
            Some(Lookup::Answer(&no_aaaa)),
        );
        let implicit = MailRoute::Hosts(vec![MxHost {
            preference: 0,
            host: DOMAIN.into(),
            implicit: true,
        }]);
        assert_eq!(
            d,
            RouteDecision {
                route: implicit.clone(),
                ttl: Some(120)
            }
        );

        // AAAA only, A failed: the address that answered is enough.
        let with_aaaa = message(Rcode::NoError, RecordType::Aaaa, vec![aaaa(600)], None);
        let d = route_all(&m, Some(Lookup::Failed), Some(Lookup::Answer(&with_aaaa)));
        assert_eq!(
            d,
            RouteDecision {
                route: implicit.clone(),
                ttl: Some(300)
            }
        );

        // The MX absence without an SOA may not be cached, so neither may the route.
        let m = message(Rcode::NoError, RecordType::Mx, Vec::new(), None);
        let d = route_all(&m, Some(Lookup::Answer(&with_a)), None);
        assert_eq!(
            d,
            RouteDecision {
                route: implicit,
                ttl: None
            }
        );
    }

    #[test]
    fn no_mx_and_no_address_is_no_mail_server() {
        let m = nodata(RecordType::Mx, 300);
        let no_a = nodata(RecordType::A, 100);
        let no_aaaa = nodata(RecordType::Aaaa, 200);
        let d = route_all(
            &m,
            Some(Lookup::Answer(&no_a)),
            Some(Lookup::Answer(&no_aaaa)),
        );
        assert_eq!(
            d,
            RouteDecision {
                route: MailRoute::NoMailServer,
                ttl: Some(100)
            }
        );
        assert_eq!(d.route.code(), "no_mail_server");

        let no_a_without_soa = message(Rcode::NoError, RecordType::A, Vec::new(), None);
        let d = route_all(
            &m,
            Some(Lookup::Answer(&no_a_without_soa)),
            Some(Lookup::Answer(&no_aaaa)),
        );
        assert_eq!(
            d,
            RouteDecision {
                route: MailRoute::NoMailServer,
                ttl: None
            }
        );
    }

    #[test]
    fn a_failed_address_lookup_without_addresses_is_a_failure() {
        let m = nodata(RecordType::Mx, 300);
        let servfail = message(Rcode::ServFail, RecordType::A, Vec::new(), None);
        let no_aaaa = nodata(RecordType::Aaaa, 200);
        let d = route_all(
            &m,
            Some(Lookup::Answer(&servfail)),
            Some(Lookup::Answer(&no_aaaa)),
        );
        assert_eq!(
            d.route,
            MailRoute::DnsFailure(DnsFailure::Rcode(Rcode::ServFail))
        );
        let d = route_all(&m, Some(Lookup::Answer(&no_aaaa)), Some(Lookup::Failed));
        assert_eq!(d.route, MailRoute::DnsFailure(DnsFailure::WrongQuestion));
        let no_a = nodata(RecordType::A, 200);
        let d = route_all(&m, Some(Lookup::Answer(&no_a)), Some(Lookup::Failed));
        assert_eq!(d.route, MailRoute::DnsFailure(DnsFailure::NoAnswer));
    }

    #[test]
    fn mx_behind_a_cname_is_followed() {
        let mut m = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![mx(5, "mx.provider.example", 3600)],
            None,
        );
        m.answers[0].name = "mail.provider.example".into();
        m.answers.insert(
            0,
            Record {
                name: DOMAIN.into(),
                rtype: RecordType::Cname,
                ttl: 60,
                data: RData::Cname("mail.provider.example".into()),
            },
        );
        let d = route_mx(&m);
        assert_eq!(
            d,
            RouteDecision {
                route: MailRoute::Hosts(vec![host(5, "mx.provider.example")]),
                ttl: Some(60)
            }
        );
        // MX records for some other name in the answer are not ours.
        m.answers.remove(0);
        assert_eq!(
            follow_up_queries(DOMAIN, &m),
            &[RecordType::A, RecordType::Aaaa]
        );
    }

    /// `m`, but asking about and answering for `name` (an MX host) instead of the domain.
    fn about(name: &str, mut m: Message) -> Message {
        m.questions[0].name = name.into();
        for r in &mut m.answers {
            r.name = name.into();
        }
        m
    }

    fn two_hosts() -> RouteDecision {
        route_mx(&message(
            Rcode::NoError,
            RecordType::Mx,
            vec![
                mx(10, "mx1.example.com", 300),
                mx(20, "mx2.example.com", 300),
            ],
            None,
        ))
    }

    #[test]
    fn mx_hosts_without_addresses_leave_no_mail_server() {
        let nx = |rtype| {
            let m = message(Rcode::NxDomain, rtype, Vec::new(), Some((600, 120)));
            about("mx1.example.com", m)
        };
        let (nx_a, nx_aaaa) = (nx(RecordType::A), nx(RecordType::Aaaa));
        let none_a = about("mx2.example.com", nodata(RecordType::A, 90));
        let none_aaaa = about("mx2.example.com", nodata(RecordType::Aaaa, 90));
        let dangling = [
            HostEvidence {
                host: "mx1.example.com",
                a: Lookup::Answer(&nx_a),
                aaaa: Lookup::Answer(&nx_aaaa),
            },
            // Names compare in presentation form.
            HostEvidence {
                host: "MX2.example.com.",
                a: Lookup::Answer(&none_a),
                aaaa: Lookup::Answer(&none_aaaa),
            },
        ];
        assert_eq!(
            check_mx_hosts(two_hosts(), &dangling),
            RouteDecision {
                route: MailRoute::NoMailServer,
                ttl: Some(90)
            }
        );
        // The second host was not looked up: it might have an address.
        assert_eq!(
            check_mx_hosts(two_hosts(), &dangling[..1]).route,
            MailRoute::DnsFailure(DnsFailure::AddressLookupsMissing)
        );
        // A failed lookup proves nothing either, even beside an answer of "none".
        let servfail = about(
            "mx2.example.com",
            message(Rcode::ServFail, RecordType::A, Vec::new(), None),
        );
        let failed = [
            dangling[0],
            HostEvidence {
                host: "mx2.example.com",
                a: Lookup::Answer(&servfail),
                aaaa: Lookup::Answer(&none_aaaa),
            },
        ];
        assert_eq!(
            check_mx_hosts(two_hosts(), &failed).route,
            MailRoute::DnsFailure(DnsFailure::Rcode(Rcode::ServFail))
        );
    }

    #[test]
    fn one_mx_host_with_an_address_makes_the_route_usable() {
        let v6 = about(
            "mx2.example.com",
            message(Rcode::NoError, RecordType::Aaaa, vec![aaaa(120)], None),
        );
        let none_a = about("mx2.example.com", nodata(RecordType::A, 90));
        let second_only = [HostEvidence {
            host: "mx2.example.com",
            a: Lookup::Answer(&none_a),
            aaaa: Lookup::Answer(&v6),
        }];
        let usable = check_mx_hosts(two_hosts(), &second_only);
        assert_eq!(usable.route, two_hosts().route);
        assert_eq!(usable.ttl, Some(120));

        let v4 = about(
            "mx1.example.com",
            message(Rcode::NoError, RecordType::A, vec![a(600)], None),
        );
        let first_only = [HostEvidence {
            host: "mx1.example.com",
            a: Lookup::Answer(&v4),
            aaaa: Lookup::Failed,
        }];
        assert_eq!(check_mx_hosts(two_hosts(), &first_only), two_hosts());

        // Routes without named hosts need no host lookups.
        let implicit = RouteDecision {
            route: MailRoute::Hosts(vec![MxHost {
                preference: 0,
                host: DOMAIN.into(),
                implicit: true,
            }]),
            ttl: Some(60),
        };
        assert_eq!(check_mx_hosts(implicit.clone(), &[]), implicit);
        let null = route_mx(&message(
            Rcode::NoError,
            RecordType::Mx,
            vec![mx(0, "", 60)],
            None,
        ));
        assert_eq!(check_mx_hosts(null.clone(), &[]), null);
    }

    #[test]
    fn host_addresses_come_ipv4_first() {
        let v4 = message(Rcode::NoError, RecordType::A, vec![a(60)], None);
        let v6 = message(Rcode::NoError, RecordType::Aaaa, vec![aaaa(60)], None);
        assert_eq!(
            host_addresses(DOMAIN, Some(&v4), Some(&v6)),
            [
                IpAddr::from(Ipv4Addr::new(192, 0, 2, 25)),
                IpAddr::from(Ipv6Addr::LOCALHOST)
            ]
        );
        assert_eq!(
            host_addresses("other.example", Some(&v4), None),
            Vec::<IpAddr>::new()
        );
        assert!(host_addresses(DOMAIN, None, None).is_empty());
    }

    #[test]
    fn cache_ttl_of_positive_and_negative_answers() {
        let positive = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![
                mx(10, "mx1.example.com", 3600),
                mx(20, "mx2.example.com", 300),
            ],
            None,
        );
        assert_eq!(cache_ttl(&positive), Some(300));
        let mut bare = positive.clone();
        bare.questions.clear();
        assert_eq!(cache_ttl(&bare), Some(300));
        // RFC 2308 §5: the smaller of the SOA's TTL and its MINIMUM.
        let nodata = message(Rcode::NoError, RecordType::Mx, Vec::new(), Some((600, 60)));
        assert_eq!(cache_ttl(&nodata), Some(60));
        let nx = message(Rcode::NxDomain, RecordType::Mx, Vec::new(), Some((45, 900)));
        assert_eq!(cache_ttl(&nx), Some(45));
        let nx_without_soa = message(Rcode::NxDomain, RecordType::Mx, Vec::new(), None);
        assert_eq!(cache_ttl(&nx_without_soa), None);

        // A CNAME chain ending without the type asked is a negative answer too.
        let cname = Record {
            name: DOMAIN.into(),
            rtype: RecordType::Cname,
            ttl: 300,
            data: RData::Cname("target.example.com".into()),
        };
        let chain = message(
            Rcode::NoError,
            RecordType::Mx,
            vec![cname.clone()],
            Some((3600, 120)),
        );
        assert_eq!(cache_ttl(&chain), Some(120));
        let chain = message(Rcode::NoError, RecordType::Mx, vec![cname], None);
        assert_eq!(cache_ttl(&chain), None);

        let servfail = message(Rcode::ServFail, RecordType::Mx, Vec::new(), Some((60, 60)));
        assert_eq!(cache_ttl(&servfail), None);
        let mut truncated = positive;
        truncated.truncated = true;
        assert_eq!(cache_ttl(&truncated), None);
    }

    #[test]
    fn decides_from_parsed_wire_answers() {
        let mut wire = vec![0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        wire.extend_from_slice(b"\x07example\x03com\x00\x00\x0F\x00\x01");
        wire.extend_from_slice(b"\xC0\x0C\x00\x0F\x00\x01\x00\x00\x0E\x10\x00\x03\x00\x00\x00");
        let m = parse_response(&wire).unwrap();
        assert_eq!(
            route_mx(&m),
            RouteDecision {
                route: MailRoute::NullMx,
                ttl: Some(3600)
            }
        );
    }

    #[test]
    fn named_hosts_follow_the_rules_of_an_mx_answer() {
        let named = [
            (20, "MX2.example."),
            (10, "mx1.example"),
            (30, "mx2.example"),
            (5, ""),
            (5, "."),
        ];
        assert_eq!(
            named_hosts(named),
            [host(10, "mx1.example"), host(20, "mx2.example")]
        );
        let many: Vec<(u16, String)> = (0..40)
            .map(|i| (40 - i, format!("mx{i}.example")))
            .collect();
        let hosts = named_hosts(many.iter().map(|(p, n)| (*p, n.as_str())));
        assert_eq!(hosts.len(), MAX_HOSTS);
        assert_eq!(hosts[0], host(1, "mx39.example"));
    }

    #[test]
    fn codes_and_sentences() {
        let routes = [
            MailRoute::Hosts(vec![host(1, "mx.example.com")]),
            MailRoute::NullMx,
            MailRoute::NoMailServer,
            MailRoute::DomainNotFound,
            MailRoute::DnsFailure(DnsFailure::NoAnswer),
        ];
        let mut codes: Vec<&str> = routes.iter().map(MailRoute::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), routes.len());
        for route in &routes {
            assert!(route.to_string().ends_with('.'));
        }
        let failures = [
            DnsFailure::Rcode(Rcode::ServFail),
            DnsFailure::Rcode(Rcode::Refused),
            DnsFailure::Rcode(Rcode::FormErr),
            DnsFailure::Truncated,
            DnsFailure::WrongQuestion,
            DnsFailure::NoAnswer,
            DnsFailure::AddressLookupsMissing,
            DnsFailure::LookupLimit,
        ];
        let mut codes: Vec<&str> = failures.iter().map(DnsFailure::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), failures.len());
        assert_eq!(
            DnsFailure::Rcode(Rcode::ServFail).to_string(),
            "The DNS resolver answered SERVFAIL."
        );
    }
}
