//! How long a cache keeps what DNS said: one policy for every cache, in seconds, 0 meaning not
//! at all. The Worker keeps answers (the Cache API, per query); the CLI keeps answers and
//! routes (per query, per domain).
//!
//! - An answer lives as long as its TTL says ([`cache_ttl`]: the smallest TTL of the answer,
//!   RFC 2181 §5.2, or for a negative answer the SOA's negative TTL, RFC 2308 §5), and a route
//!   as long as the shortest-lived answer it rests on ([`RouteDecision::ttl`]).
//! - At most [`MAX_LIFETIME`], an hour: `mailvet serve` runs for weeks and the Worker's cache is
//!   shared by every request, so a domain that fixes or drops its mail servers is seen within
//!   the hour whatever TTL it published. An hour also sits within the one to three hours that
//!   RFC 2308 §5 reports working well for negative answers. The cost is one query per name and
//!   hour.
//! - No minimum: a TTL of 0 asks that the answer serve only the query in progress (RFC 1035
//!   §3.2.1). The CLI still shares one lookup among the addresses waiting on it.
//! - An answer that may not be cached (SERVFAIL and other error RCODEs, a truncated answer, a
//!   negative answer without SOA), or no answer at all, is not kept: resolvers fail briefly,
//!   and the next lookup, or the next resolver, often answers.
//! - A route that failed is kept [`FAILURE_LIFETIME`]. RFC 2308 §7.1 and §7.2 allow five
//!   minutes for a server failure or a dead server; thirty seconds keep a list full of one
//!   domain from asking, and waiting out every timeout, again for each address, and are short
//!   enough for a retry to see the resolver back. The answers it rests on are not kept, so the
//!   next lookup of the route asks again.
//!
//! [`cache_ttl`]: super::cache_ttl

use super::message::Message;
use super::route::{MailRoute, RouteDecision, cache_ttl};

/// The longest anything is kept, in seconds.
pub const MAX_LIFETIME: u32 = 3600;

/// How long a route that DNS could not decide is kept, in seconds.
pub const FAILURE_LIFETIME: u32 = 30;

/// How long to keep `answer`, the response to one query.
pub fn answer_lifetime(answer: &Message) -> u32 {
    bounded(cache_ttl(answer))
}

/// How long to keep a decided route.
pub fn route_lifetime(decision: &RouteDecision) -> u32 {
    match decision.route {
        MailRoute::DnsFailure(_) => FAILURE_LIFETIME,
        _ => bounded(decision.ttl),
    }
}

fn bounded(ttl: Option<u32>) -> u32 {
    ttl.map_or(0, |t| t.min(MAX_LIFETIME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsFailure, RData, Rcode, Record, RecordType};

    fn a(ttl: u32) -> Message {
        let mut m = Message::response_to(0, "h.example", RecordType::A);
        m.answers.push(Record {
            name: "h.example".into(),
            rtype: RecordType::A,
            ttl,
            data: RData::A([192, 0, 2, 1].into()),
        });
        m
    }

    #[test]
    fn answers_live_for_their_ttl_up_to_an_hour() {
        assert_eq!(answer_lifetime(&a(0)), 0);
        assert_eq!(answer_lifetime(&a(300)), 300);
        assert_eq!(answer_lifetime(&a(86_400)), MAX_LIFETIME);
        let mut servfail = a(300);
        servfail.rcode = Rcode::ServFail;
        assert_eq!(answer_lifetime(&servfail), 0);
        // A negative answer without SOA.
        let nodata = Message::response_to(0, "h.example", RecordType::A);
        assert_eq!(answer_lifetime(&nodata), 0);
    }

    #[test]
    fn routes_live_for_their_ttl_and_failures_briefly() {
        let route = |route, ttl| route_lifetime(&RouteDecision { route, ttl });
        assert_eq!(route(MailRoute::NullMx, Some(7200)), MAX_LIFETIME);
        assert_eq!(route(MailRoute::DomainNotFound, Some(60)), 60);
        assert_eq!(route(MailRoute::NoMailServer, None), 0);
        let servfail = MailRoute::DnsFailure(DnsFailure::Rcode(Rcode::ServFail));
        assert_eq!(route(servfail, None), FAILURE_LIFETIME);
        let unreachable = MailRoute::DnsFailure(DnsFailure::NoAnswer);
        assert_eq!(route(unreachable, None), FAILURE_LIFETIME);
    }
}
