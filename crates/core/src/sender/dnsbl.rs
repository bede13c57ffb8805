//! DNS blocklists (RFC 5782): the name to ask for an address or a domain, what the answer
//! means per list, and the findings.
//!
//! A list answers a listed name with A records in 127.0.0.0/8 whose value says why, and
//! NXDOMAIN for a name it does not list. Some lists also answer queries they refuse to serve
//! (through public resolvers, or past a free quota) with codes of their own; those are
//! [`Status::Refused`] or [`Status::Error`], never [`Status::Listed`].
//!
//! ```
//! use mailvet_core::sender::dnsbl;
//!
//! let ip = "192.0.2.99".parse().unwrap();
//! assert_eq!(dnsbl::ip_query_name(ip, "zen.spamhaus.org"), "99.2.0.192.zen.spamhaus.org");
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::spf::{Answer, Rdata};
use super::{Finding, FindingCode};

/// The IP blocklists asked by default.
pub const DEFAULT_IP_LISTS: &[&str] = &[
    "zen.spamhaus.org",
    "b.barracudacentral.org",
    "bl.spamcop.net",
    "psbl.surriel.com",
];

/// The domain blocklists asked by default.
pub const DEFAULT_DOMAIN_LISTS: &[&str] = &["dbl.spamhaus.org", "multi.uribl.com"];

/// The name to ask (type A) to look `ip` up on the list `zone`: an IPv4 address's octets
/// reversed (§2.1), an IPv6 address's 32 nibbles reversed (§2.4), then the zone. An
/// IPv4-mapped IPv6 address is looked up as the IPv4 address it is.
pub fn ip_query_name(ip: IpAddr, zone: &str) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{}", normalise(zone))
        }
        IpAddr::V6(v6) => nibble_name(v6, zone),
    }
}

/// An IPv6 address's 32 nibbles, lowest first, then the zone (§2.4).
fn nibble_name(v6: Ipv6Addr, zone: &str) -> String {
    let zone = normalise(zone);
    let mut name = String::with_capacity(64 + zone.len());
    for byte in v6.octets().iter().rev() {
        for nibble in [byte & 0x0f, byte >> 4] {
            name.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            name.push('.');
        }
    }
    name.push_str(&zone);
    name
}

/// The name to ask (type A) to look `domain` up on the domain list `zone` (§3: the domain,
/// then the zone).
pub fn domain_query_name(domain: &str, zone: &str) -> String {
    format!("{}.{}", normalise(domain), normalise(zone))
}

/// What a list lists, for its test points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// IPv4 addresses (`zen.spamhaus.org`).
    Ipv4,
    /// IPv6 addresses.
    Ipv6,
    /// Domains (`dbl.spamhaus.org`).
    Domain,
}

/// The test points of §5 for a list: a name the list must list and one it must not. An IPv4
/// list lists 127.0.0.2 and not 127.0.0.1; an IPv6 list ::ffff:7f00:2 and not ::ffff:7f00:1
/// (asked in nibble form, though they are IPv4-mapped); a domain list `test` and not
/// `invalid`. A list that answers both the same way (or refuses both) cannot be trusted from
/// the resolver asked.
pub fn test_query_names(zone: &str, kind: ListKind) -> (String, String) {
    let v4 = |last| Ipv4Addr::new(127, 0, 0, last);
    match kind {
        ListKind::Ipv4 => (
            ip_query_name(IpAddr::V4(v4(2)), zone),
            ip_query_name(IpAddr::V4(v4(1)), zone),
        ),
        ListKind::Ipv6 => (
            nibble_name(v4(2).to_ipv6_mapped(), zone),
            nibble_name(v4(1).to_ipv6_mapped(), zone),
        ),
        ListKind::Domain => (
            domain_query_name("test", zone),
            domain_query_name("invalid", zone),
        ),
    }
}

fn normalise(name: &str) -> String {
    name.trim_matches('.').to_ascii_lowercase()
}

/// What a list said about a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The list lists the target.
    Listed,
    /// The list does not (NXDOMAIN).
    NotListed,
    /// The list refused to answer: the query came through a public resolver, or past the
    /// list's free quota. Whether the target is listed is unknown.
    Refused,
    /// No usable answer: a DNS failure, or an answer that is no listing.
    Error,
}

/// One list's answer about one target, as the JSON shows it (and the prober's `POST /v1/dnsbl`
/// answers it to the Worker).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The list's zone (`zen.spamhaus.org`).
    pub zone: String,
    /// The address or domain looked up.
    pub target: String,
    /// What the list said.
    pub status: Status,
    /// The A records of the answer.
    pub codes: Vec<Ipv4Addr>,
    /// What the answer means, in words.
    pub meaning: String,
}

/// The lists whose codes this module knows; any other list is read by §2.1's convention alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// zen.spamhaus.org and its parts (sbl, xbl, pbl), also through the Data Query Service.
    SpamhausIp,
    SpamhausDomain,
    Uribl,
    Other,
}

fn kind(zone: &str) -> Kind {
    let zone = normalise(zone);
    let under = |suffix: &str| zone == suffix || zone.ends_with(&format!(".{suffix}"));
    let spamhaus = under("spamhaus.org") || under("spamhaus.net");
    if spamhaus && (zone.starts_with("dbl.") || zone.contains(".dbl.")) {
        Kind::SpamhausDomain
    } else if spamhaus {
        Kind::SpamhausIp
    } else if under("uribl.com") {
        Kind::Uribl
    } else {
        Kind::Other
    }
}

/// Whether `zone` lists domains rather than addresses (Spamhaus DBL, URIBL, SURBL): those are
/// asked for the domain; any other zone for addresses.
pub fn is_domain_list(zone: &str) -> bool {
    let zone = normalise(zone);
    matches!(kind(&zone), Kind::SpamhausDomain | Kind::Uribl)
        || zone == "multi.surbl.org"
        || zone.ends_with(".surbl.org")
}

/// What one code means on a list.
fn meaning(kind: Kind, code: Ipv4Addr) -> (Status, String) {
    let [a, b, c, d] = code.octets();
    // RFC 5782 §2.1: list entries are addresses in 127.0.0.0/8 (loopback, never a sender); any
    // other answer comes from a resolver that rewrites NXDOMAIN, not from the list.
    if a != 127 {
        return (
            Status::Error,
            format!(
                "{code} is no blocklist code (not in 127.0.0.0/8): the resolver rewrites answers"
            ),
        );
    }
    let listed = |what: &str| (Status::Listed, what.to_owned());
    match kind {
        // Spamhaus's return codes for public mirrors and the Data Query Service.
        Kind::SpamhausIp | Kind::SpamhausDomain if (b, c) == (255, 255) => match d {
            254 => (
                Status::Refused,
                "Spamhaus refuses queries through public or open resolvers (127.255.255.254)"
                    .to_owned(),
            ),
            255 => (
                Status::Refused,
                "Spamhaus refuses this resolver's queries: too many of them (127.255.255.255)"
                    .to_owned(),
            ),
            252 => (
                Status::Error,
                "Spamhaus says the list name is mistyped (127.255.255.252)".to_owned(),
            ),
            _ => (
                Status::Error,
                format!("Spamhaus answered {code}, an error code"),
            ),
        },
        Kind::SpamhausIp => match (b, c, d) {
            (0, 0, 2) => listed("Spamhaus SBL: a known spam source or spam operation"),
            (0, 0, 3) => listed("Spamhaus SBL CSS: a source of snowshoe spam"),
            (0, 0, 4..=7) => {
                listed("Spamhaus XBL: a hijacked or infected host (exploits, bots, open proxies)")
            }
            (0, 0, 9) => listed("Spamhaus DROP: a network hijacked or run by criminals"),
            (0, 0, 10) => {
                listed("Spamhaus PBL: its provider says the address should not send mail directly")
            }
            (0, 0, 11) => {
                listed("Spamhaus PBL: an end-user address that should not send mail directly")
            }
            _ => (
                Status::Error,
                format!("Spamhaus answered {code}, which is not one of its IP list codes"),
            ),
        },
        Kind::SpamhausDomain => match (b, c, d) {
            (0, 1, 2) => listed("Spamhaus DBL: a spam domain"),
            (0, 1, 4) => listed("Spamhaus DBL: a phishing domain"),
            (0, 1, 5) => listed("Spamhaus DBL: a malware domain"),
            (0, 1, 6) => listed("Spamhaus DBL: a botnet command-and-control domain"),
            (0, 1, 102) => listed("Spamhaus DBL: an abused legitimate domain, used for spam"),
            (0, 1, 103) => {
                listed("Spamhaus DBL: an abused legitimate domain, a redirector used in spam")
            }
            (0, 1, 104) => listed("Spamhaus DBL: an abused legitimate domain, used for phishing"),
            (0, 1, 105) => listed("Spamhaus DBL: an abused legitimate domain, used for malware"),
            (0, 1, 106) => listed(
                "Spamhaus DBL: an abused legitimate domain, used for botnet command and control",
            ),
            (0, 1, 255) => (
                Status::Error,
                "Spamhaus DBL does not list IP addresses (127.0.1.255)".to_owned(),
            ),
            _ => (
                Status::Error,
                format!("Spamhaus answered {code}, which is not one of its DBL codes"),
            ),
        },
        // URIBL: 127.0.0.1 is its refusal; otherwise the last octet is a mask of its lists.
        Kind::Uribl if (b, c, d) == (0, 0, 1) => (
            Status::Refused,
            "URIBL refuses the query: public resolvers and resolvers over the free quota are \
             blocked (127.0.0.1)"
                .to_owned(),
        ),
        Kind::Uribl if (b, c) == (0, 0) && d & 0x0e != 0 => {
            let lists: Vec<&str> = [(2, "black"), (4, "grey"), (8, "red")]
                .iter()
                .filter(|(bit, _)| d & bit != 0)
                .map(|(_, name)| *name)
                .collect();
            (
                Status::Listed,
                format!("URIBL {} list", lists.join(" and ")),
            )
        }
        Kind::Uribl => (
            Status::Error,
            format!("URIBL answered {code}, which is not one of its codes"),
        ),
        Kind::Other => (Status::Listed, format!("listed (code {code})")),
    }
}

/// Reads a list's answer to the A query for `target` (the address or domain as the user gave
/// it) on `zone`.
pub fn decode(zone: &str, target: &str, answer: &Answer) -> Entry {
    let zone_name = normalise(zone);
    let entry = |status, codes, meaning: String| Entry {
        zone: zone_name.clone(),
        target: target.to_owned(),
        status,
        codes,
        meaning,
    };
    let records = match answer {
        // §2.1: a name the list does not list does not exist.
        Answer::NoSuchName => return entry(Status::NotListed, Vec::new(), "not listed".to_owned()),
        Answer::Failed => {
            return entry(
                Status::Error,
                Vec::new(),
                "the query failed (timeout or server failure)".to_owned(),
            );
        }
        Answer::Records(records) => records,
    };
    let codes: Vec<Ipv4Addr> = records
        .iter()
        .filter_map(|r| match r {
            Rdata::A(a) => Some(*a),
            _ => None,
        })
        .collect();
    if codes.is_empty() {
        return entry(Status::NotListed, codes, "not listed".to_owned());
    }
    let kind = kind(zone);
    let read: Vec<(Status, String)> = codes.iter().map(|&code| meaning(kind, code)).collect();
    // A refusal or an error anywhere makes the whole answer one: it is no listing.
    let status = [Status::Refused, Status::Error, Status::Listed]
        .into_iter()
        .find(|s| read.iter().any(|(status, _)| status == s))
        .unwrap_or(Status::Error);
    let meanings: Vec<String> = read
        .into_iter()
        .filter(|(s, _)| *s == status)
        .map(|(_, m)| m)
        .collect();
    entry(status, codes, meanings.join("; "))
}

/// Whether a list answers its §5 test points as it must from this resolver: the listed name
/// listed, the other not. Give the answers to [`test_query_names`].
pub fn passes_test_points(zone: &str, listed: &Answer, not_listed: &Answer) -> bool {
    decode(zone, "test point", listed).status == Status::Listed
        && decode(zone, "test point", not_listed).status == Status::NotListed
}

/// The findings of the blocklist entries: `dnsbl_listed` for each listing, `dnsbl_refused`
/// once per list that refused.
pub fn findings(entries: &[Entry]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut refused: Vec<&str> = Vec::new();
    for entry in entries {
        match entry.status {
            Status::Listed => out.push(Finding::new(
                FindingCode::DnsblListed,
                format!(
                    "{} is listed on {}: {}.",
                    entry.target, entry.zone, entry.meaning
                ),
                delisting(entry),
            )),
            Status::Refused if !refused.contains(&entry.zone.as_str()) => {
                refused.push(&entry.zone);
                out.push(Finding::new(
                    FindingCode::DnsblRefused,
                    format!(
                        "{} did not answer for {}: {}. Whether it is listed there is unknown.",
                        entry.zone, entry.target, entry.meaning
                    ),
                    "Query blocklists through your own recursive resolver (mailvet --dns \
                     HOST:PORT) rather than a public one; for Spamhaus, a free Data Query Service \
                     (DQS) key gives you a zone of your own."
                        .to_owned(),
                ));
            }
            _ => {}
        }
    }
    out
}

/// How to get off the list an entry is on.
fn delisting(entry: &Entry) -> String {
    let cause = "Find and stop what got it listed (a hijacked account or machine, an open relay, \
                 mail sent to addresses that never asked for it)";
    let zone = entry.zone.as_str();
    match kind(zone) {
        Kind::SpamhausIp if entry.codes.iter().all(|c| matches!(c.octets()[3], 10 | 11)) => {
            format!(
                "Send mail from {} through your provider's mail server instead of directly; if it \
                 is a mail server with a fixed address, ask for its removal from the PBL at \
                 https://check.spamhaus.org/.",
                entry.target
            )
        }
        Kind::SpamhausIp | Kind::SpamhausDomain => {
            format!("{cause}, then ask for removal at https://check.spamhaus.org/.")
        }
        Kind::Uribl => format!("{cause}, then ask for removal at https://admin.uribl.com/."),
        Kind::Other if zone == "b.barracudacentral.org" => format!(
            "{cause}, then ask for removal at https://www.barracudacentral.org/rbl/removal-request."
        ),
        Kind::Other if zone == "bl.spamcop.net" => format!(
            "{cause}; SpamCop drops a listing by itself about a day after the last report \
             (https://www.spamcop.net/bl.shtml)."
        ),
        Kind::Other if zone == "psbl.surriel.com" => {
            format!("{cause}, then remove the address at https://psbl.org/.")
        }
        Kind::Other => {
            format!("{cause}, then ask the operators of {zone} for removal on its website.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(codes: &[[u8; 4]]) -> Answer {
        Answer::Records(codes.iter().map(|&o| Rdata::A(Ipv4Addr::from(o))).collect())
    }

    #[test]
    fn query_names() {
        // RFC 5782 §2.1: 192.0.2.99 under bad.example.com.
        let ip: IpAddr = "192.0.2.99".parse().unwrap();
        assert_eq!(
            ip_query_name(ip, "bad.example.com"),
            "99.2.0.192.bad.example.com"
        );
        // §2.4: 2001:db8:1:2:3:4:567:89ab.
        let ip: IpAddr = "2001:db8:1:2:3:4:567:89ab".parse().unwrap();
        assert_eq!(
            ip_query_name(ip, "ugly.example.com."),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
        );
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            ip_query_name(mapped, "zen.spamhaus.org"),
            "1.2.0.192.zen.spamhaus.org"
        );
        assert_eq!(
            domain_query_name("Example.COM.", "dbl.spamhaus.org"),
            "example.com.dbl.spamhaus.org"
        );
        assert_eq!(
            test_query_names("bl.example", ListKind::Ipv4),
            (
                "2.0.0.127.bl.example".to_owned(),
                "1.0.0.127.bl.example".to_owned()
            )
        );
        let (listed, unlisted) = test_query_names("bl6.example", ListKind::Ipv6);
        assert!(
            listed.starts_with("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0."),
            "{listed}"
        );
        assert!(
            unlisted.starts_with("1.0.0.0.0.0.f.7.f.f.f.f."),
            "{unlisted}"
        );
        assert_eq!(listed.matches('.').count(), 33);
        assert_eq!(
            test_query_names("dbl.example", ListKind::Domain),
            (
                "test.dbl.example".to_owned(),
                "invalid.dbl.example".to_owned()
            )
        );
    }

    #[test]
    fn rfc_5782_test_points() {
        assert!(passes_test_points(
            "bl.example",
            &a(&[[127, 0, 0, 2]]),
            &Answer::NoSuchName
        ));
        assert!(!passes_test_points(
            "bl.example",
            &a(&[[127, 0, 0, 2]]),
            &a(&[[127, 0, 0, 2]])
        ));
        assert!(!passes_test_points(
            "zen.spamhaus.org",
            &a(&[[127, 255, 255, 254]]),
            &a(&[[127, 255, 255, 254]])
        ));
        assert!(!passes_test_points(
            "bl.example",
            &Answer::Failed,
            &Answer::NoSuchName
        ));
    }

    #[test]
    fn spamhaus_codes() {
        for (code, status, says) in [
            ([127, 0, 0, 2], Status::Listed, "SBL"),
            ([127, 0, 0, 3], Status::Listed, "CSS"),
            ([127, 0, 0, 4], Status::Listed, "XBL"),
            ([127, 0, 0, 7], Status::Listed, "XBL"),
            ([127, 0, 0, 9], Status::Listed, "DROP"),
            ([127, 0, 0, 10], Status::Listed, "PBL"),
            ([127, 0, 0, 11], Status::Listed, "PBL"),
            ([127, 0, 0, 8], Status::Error, "not one of"),
            ([127, 255, 255, 254], Status::Refused, "public"),
            ([127, 255, 255, 255], Status::Refused, "too many"),
            ([127, 255, 255, 252], Status::Error, "mistyped"),
            ([10, 0, 0, 1], Status::Error, "rewrites"),
        ] {
            let e = decode("zen.spamhaus.org", "192.0.2.1", &a(&[code]));
            assert_eq!(e.status, status, "{code:?}");
            assert!(e.meaning.contains(says), "{code:?}: {}", e.meaning);
        }
        // The Data Query Service's zones read the same way.
        let e = decode(
            "KEY.zen.dq.spamhaus.net",
            "192.0.2.1",
            &a(&[[127, 0, 0, 4], [127, 0, 0, 10]]),
        );
        assert_eq!((e.status, e.codes.len()), (Status::Listed, 2));
        assert!(e.meaning.contains("XBL") && e.meaning.contains("PBL"));
        // A refusal among other codes is still a refusal.
        let e = decode(
            "zen.spamhaus.org",
            "192.0.2.1",
            &a(&[[127, 0, 0, 2], [127, 255, 255, 254]]),
        );
        assert_eq!(e.status, Status::Refused);
        for (code, status, says) in [
            ([127, 0, 1, 2], Status::Listed, "spam domain"),
            ([127, 0, 1, 4], Status::Listed, "phishing"),
            ([127, 0, 1, 106], Status::Listed, "abused legitimate"),
            ([127, 0, 1, 255], Status::Error, "IP addresses"),
            ([127, 255, 255, 254], Status::Refused, "public"),
            ([127, 0, 0, 2], Status::Error, "not one of"),
        ] {
            let e = decode("dbl.spamhaus.org", "example.com", &a(&[code]));
            assert_eq!(e.status, status, "{code:?}");
            assert!(e.meaning.contains(says), "{code:?}: {}", e.meaning);
        }
    }

    #[test]
    fn uribl_and_other_lists() {
        let e = decode("multi.uribl.com", "example.com", &a(&[[127, 0, 0, 1]]));
        assert_eq!(e.status, Status::Refused);
        let e = decode("multi.uribl.com", "example.com", &a(&[[127, 0, 0, 10]]));
        assert_eq!(
            (e.status, e.meaning.as_str()),
            (Status::Listed, "URIBL black and red list")
        );
        let e = decode("multi.uribl.com", "example.com", &a(&[[127, 0, 0, 64]]));
        assert_eq!(e.status, Status::Error);
        let e = decode("bl.spamcop.net", "192.0.2.1", &a(&[[127, 0, 0, 2]]));
        assert_eq!(e.status, Status::Listed);
        assert_eq!(
            decode("bl.spamcop.net", "192.0.2.1", &Answer::NoSuchName).status,
            Status::NotListed
        );
        assert_eq!(
            decode("bl.spamcop.net", "192.0.2.1", &Answer::Records(vec![])).status,
            Status::NotListed
        );
        assert_eq!(
            decode("bl.spamcop.net", "192.0.2.1", &Answer::Failed).status,
            Status::Error
        );
        assert_eq!(
            decode("psbl.surriel.com", "192.0.2.1", &a(&[[192, 0, 2, 53]])).status,
            Status::Error
        );
        assert_eq!(
            serde_json::to_value(Status::NotListed).unwrap(),
            "not_listed"
        );
    }

    #[test]
    fn findings_for_listings_and_refusals() {
        let entries = [
            decode("zen.spamhaus.org", "192.0.2.1", &a(&[[127, 0, 0, 2]])),
            decode("zen.spamhaus.org", "192.0.2.2", &a(&[[127, 0, 0, 10]])),
            decode(
                "dbl.spamhaus.org",
                "example.com",
                &a(&[[127, 255, 255, 254]]),
            ),
            decode(
                "dbl.spamhaus.org",
                "mail.example.com",
                &a(&[[127, 255, 255, 254]]),
            ),
            decode("bl.spamcop.net", "192.0.2.1", &Answer::NoSuchName),
            decode("b.barracudacentral.org", "192.0.2.1", &Answer::Failed),
            decode("psbl.surriel.com", "192.0.2.1", &a(&[[127, 0, 0, 2]])),
        ];
        let f = findings(&entries);
        let codes: Vec<&str> = f.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "dnsbl_listed",
                "dnsbl_listed",
                "dnsbl_refused",
                "dnsbl_listed"
            ]
        );
        assert!(f[0].fix.contains("check.spamhaus.org"));
        assert!(f[1].fix.contains("provider's mail server"));
        assert!(f[2].fix.contains("--dns") && f[2].fix.contains("DQS"));
        assert!(f[3].fix.contains("psbl.org"));
        let json = serde_json::to_value(&entries[0]).unwrap();
        assert_eq!(json["codes"][0], "127.0.0.2");
        assert_eq!(json["status"], "listed");
    }
}
