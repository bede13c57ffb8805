//! DNS lookups as sans-io machines: a machine says which queries it needs, takes what came back,
//! and ends in a decision. The transport only runs the queries (DoH over `fetch` in the Worker,
//! over reqwest in the CLI) and keeps its caches.
//!
//! [`MailRouteLookup`] finds where mail for a domain goes (RFC 5321 §5.1, RFC 7505): the MX
//! query, the domain's own A and AAAA when the MX answer calls for them, then the addresses of
//! the MX hosts until one has an address. Every query it makes is paid from a
//! [`LookupBudget`], the counter that the SPF checks use for the limits of RFC 7208 §4.6.4.
//!
//! A transport with async I/O hands [`MailRouteLookup::run`] a function that runs one query;
//! one without drives the machine itself:
//!
//! ```
//! use mailvet_core::dns::resolve::{LookupBudget, MailRouteLookup, Pace, Step};
//! use mailvet_core::dns::{Message, RouteDecision};
//!
//! /// `ask` stands for the transport; `None` is a query no resolver answered.
//! fn route(domain: &str, ask: impl Fn(&str, mailvet_core::dns::RecordType) -> Option<Message>)
//!     -> RouteDecision {
//!     let mut lookup = MailRouteLookup::new(domain, Pace::FewestQueries, LookupBudget::MAIL_ROUTE);
//!     loop {
//!         match lookup.poll() {
//!             // A transport may run these concurrently and answer them in any order.
//!             Step::Ask(queries) => {
//!                 for q in queries {
//!                     lookup.answer(q.id, ask(&q.name, q.rtype));
//!                 }
//!             }
//!             Step::Wait => lookup.give_up(),
//!             Step::Done(decision) => return decision,
//!         }
//!     }
//! }
//! ```

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;

use super::message::Message;
use super::route::{
    DnsFailure, HostEvidence, Lookup, MAX_HOSTS, MailRoute, RouteDecision, RouteEvidence,
    check_mx_hosts, follow_up_queries, mail_route,
};
use super::{Rcode, RecordType};

/// How many DNS lookups a piece of work may still make, and how many of them may come back
/// empty.
///
/// RFC 7208 §4.6.4 bounds an SPF evaluation to 10 terms that query DNS and to 2 "void
/// lookups", answers that are NOERROR without records or NXDOMAIN: `LookupBudget::new(10, 2)`,
/// charged once per term. A mail route charges every query it makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupBudget {
    lookups: u16,
    voids: u16,
}

/// Which limit of a [`LookupBudget`] ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    Lookups,
    VoidLookups,
}

impl LookupBudget {
    /// Enough for any mail route: the MX, the domain's A and AAAA, and both address queries of
    /// each of the [`MAX_HOSTS`] hosts a route lists. A route has no limit on void answers:
    /// "no such host" is evidence it weighs, not a sign of abuse.
    pub const MAIL_ROUTE: LookupBudget = LookupBudget::new(3 + 2 * MAX_HOSTS as u16, u16::MAX);

    /// At most `lookups` lookups, of which at most `voids` may be void.
    pub const fn new(lookups: u16, voids: u16) -> LookupBudget {
        LookupBudget { lookups, voids }
    }

    /// The lookups still allowed.
    pub fn lookups_left(&self) -> u16 {
        self.lookups
    }

    /// Pays for one lookup.
    pub fn spend(&mut self) -> Result<(), Exhausted> {
        self.lookups = self.lookups.checked_sub(1).ok_or(Exhausted::Lookups)?;
        Ok(())
    }

    /// Counts `answer`, the response to a query for `name` and `rtype`, against the void
    /// lookups when it is void (RFC 7208 §4.6.4).
    pub fn record(
        &mut self,
        answer: &Message,
        name: &str,
        rtype: RecordType,
    ) -> Result<(), Exhausted> {
        let void = match answer.rcode {
            Rcode::NxDomain => true,
            Rcode::NoError => answer.answers_for(name, rtype).is_empty(),
            _ => false,
        };
        if void {
            self.voids = self.voids.checked_sub(1).ok_or(Exhausted::VoidLookups)?;
        }
        Ok(())
    }
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exhausted::Lookups => "Too many DNS lookups were needed.",
            Exhausted::VoidLookups => "Too many DNS lookups found nothing.",
        })
    }
}

/// Names one query of a machine, for its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueryId(usize);

/// A query to run: `name` (A-labels) and `rtype`, class IN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub id: QueryId,
    pub name: String,
    pub rtype: RecordType,
}

/// What a machine needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run these queries, at once if the transport can, and [answer](MailRouteLookup::answer)
    /// each one.
    Ask(Vec<Query>),
    /// Nothing new to ask: some answers have not come back yet.
    Wait,
    /// The decision. Answers still outstanding are not needed.
    Done(RouteDecision),
}

/// How a transport wants the queries spread over round trips. The decision does not depend on
/// it, only how many queries and round trips it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// The domain's A and AAAA with its MX, needed or not, and after the first MX host all the
    /// others at once. For a caller waiting on each answer, such as the Worker behind a person
    /// typing, where a round trip costs more than a query.
    FewestRoundTrips,
    /// A and AAAA only when the MX answer calls for them, MX hosts one at a time. For a caller
    /// resolving many domains, such as the CLI over a list, where the resolvers' capacity runs
    /// out first.
    FewestQueries,
}

/// Where mail for one domain goes, found query by query.
#[derive(Debug)]
pub struct MailRouteLookup {
    domain: String,
    pace: Pace,
    budget: LookupBudget,
    queries: Vec<Slot>,
    stage: Stage,
    /// Set by [`MailRouteLookup::give_up`].
    closed: bool,
}

#[derive(Debug)]
struct Slot {
    name: String,
    rtype: RecordType,
    /// Handed to the transport by [`MailRouteLookup::poll`].
    asked: bool,
    /// `None` until answered; then the response, or `None` when there was none.
    answer: Option<Option<Message>>,
}

#[derive(Debug)]
enum Stage {
    /// The MX query, and the domain's A and AAAA when asked.
    Domain {
        mx: usize,
        a: Option<usize>,
    },
    /// Address queries of the MX hosts; `asked` are the slots of the A query of each host
    /// looked up so far, its AAAA query in the next slot.
    Hosts {
        route: RouteDecision,
        hosts: Vec<String>,
        asked: Vec<usize>,
    },
    Done(RouteDecision),
}

impl MailRouteLookup {
    /// Starts the lookup of `domain` (A-labels).
    pub fn new(domain: &str, pace: Pace, budget: LookupBudget) -> MailRouteLookup {
        let mut lookup = MailRouteLookup {
            domain: domain.to_owned(),
            pace,
            budget,
            queries: Vec::new(),
            stage: Stage::Done(failure(DnsFailure::LookupLimit)),
            closed: false,
        };
        let stage = match lookup.add(domain, RecordType::Mx) {
            Some(mx) => {
                let a = match pace {
                    Pace::FewestRoundTrips => lookup.add_addresses(domain),
                    Pace::FewestQueries => None,
                };
                Stage::Domain { mx, a }
            }
            None => Stage::Done(failure(DnsFailure::LookupLimit)),
        };
        lookup.stage = stage;
        lookup
    }

    /// Runs the lookup to its decision with `ask`, the transport's share of the work: it runs
    /// one query and returns its answer, `None` where there was none. The queries of a step run
    /// together, and each answer is taken as it comes.
    pub async fn run<F, Fut>(mut self, mut ask: F) -> RouteDecision
    where
        F: FnMut(Query) -> Fut,
        Fut: Future<Output = Option<Message>>,
    {
        loop {
            match self.poll() {
                Step::Ask(queries) => {
                    let mut running: Vec<(QueryId, Pin<Box<Fut>>)> = queries
                        .into_iter()
                        .map(|q| (q.id, Box::pin(ask(q))))
                        .collect();
                    poll_fn(|context| {
                        running.retain_mut(|(id, query)| match query.as_mut().poll(context) {
                            Poll::Ready(answer) => {
                                self.answer(*id, answer);
                                false
                            }
                            Poll::Pending => true,
                        });
                        if running.is_empty() {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })
                    .await;
                }
                // Every query asked has been answered: nothing more will come.
                Step::Wait => self.give_up(),
                Step::Done(decision) => return decision,
            }
        }
    }

    /// The budget left.
    pub fn budget(&self) -> LookupBudget {
        self.budget
    }

    /// What to do next. Answers taken since the last call may settle the route; otherwise the
    /// queries not handed out yet, or [`Step::Wait`].
    pub fn poll(&mut self) -> Step {
        self.advance();
        if let Stage::Done(decision) = &self.stage {
            return Step::Done(decision.clone());
        }
        let mut fresh = Vec::new();
        for (index, slot) in self.queries.iter_mut().enumerate() {
            if !slot.asked {
                slot.asked = true;
                fresh.push(Query {
                    id: QueryId(index),
                    name: slot.name.clone(),
                    rtype: slot.rtype,
                });
            }
        }
        if fresh.is_empty() {
            Step::Wait
        } else {
            Step::Ask(fresh)
        }
    }

    /// Takes the response to query `id`: `None` when there was none usable (the transport
    /// failed, no resolver answered in time, or the bytes were not an answer). Only the first
    /// answer to a query counts.
    pub fn answer(&mut self, id: QueryId, response: Option<Message>) {
        let Some(slot) = self.queries.get_mut(id.0) else {
            return;
        };
        if slot.answer.is_some() {
            return;
        }
        if let Some(m) = &response
            && self.budget.record(m, &slot.name, slot.rtype).is_err()
        {
            self.stage = Stage::Done(failure(DnsFailure::LookupLimit));
        }
        slot.answer = Some(response);
    }

    /// Settles for what has been answered: every query still out counts as failed, and no
    /// more are asked. For a transport out of time, or one that lost a query; the next
    /// [`poll`](MailRouteLookup::poll) is [`Step::Done`].
    pub fn give_up(&mut self) {
        self.closed = true;
        for slot in &mut self.queries {
            if slot.answer.is_none() {
                slot.answer = Some(None);
            }
        }
    }

    fn add(&mut self, name: &str, rtype: RecordType) -> Option<usize> {
        if self.closed {
            return None;
        }
        self.budget.spend().ok()?;
        self.queries.push(Slot {
            name: name.to_owned(),
            rtype,
            asked: false,
            answer: None,
        });
        Some(self.queries.len() - 1)
    }

    /// Adds the A and AAAA queries of `name`, in adjacent slots; the slot of the A query.
    fn add_addresses(&mut self, name: &str) -> Option<usize> {
        if self.budget.lookups_left() < 2 {
            return None;
        }
        let a = self.add(name, RecordType::A)?;
        self.add(name, RecordType::Aaaa)?;
        Some(a)
    }

    /// Why no more queries can be asked.
    fn stopped(&self) -> RouteDecision {
        failure(if self.closed {
            DnsFailure::NoAnswer
        } else {
            DnsFailure::LookupLimit
        })
    }

    fn answered(&self, index: usize) -> Option<Lookup<'_>> {
        let answer = self.queries[index].answer.as_ref()?;
        Some(answer.as_ref().map_or(Lookup::Failed, Lookup::Answer))
    }

    /// Moves on as far as the answers so far allow.
    fn advance(&mut self) {
        loop {
            let next = match &self.stage {
                Stage::Done(_) => return,
                Stage::Domain { mx, a } => match self.domain_route(*mx, *a) {
                    Some(next) => next,
                    None => return,
                },
                Stage::Hosts { .. } => match self.host_step() {
                    Some(next) => next,
                    None => return,
                },
            };
            self.stage = next;
        }
    }

    /// The stage after the domain's own answers, once they are in.
    fn domain_route(&mut self, mx: usize, a: Option<usize>) -> Option<Stage> {
        let domain = self.domain.as_str();
        let mx_answer = self.answered(mx)?;
        let Lookup::Answer(mx_message) = mx_answer else {
            return Some(Stage::Done(mail_route(&RouteEvidence::mx_only(
                domain,
                Lookup::Failed,
            ))));
        };
        let wanted = follow_up_queries(domain, mx_message);
        let route = if wanted.is_empty() {
            mail_route(&RouteEvidence::mx_only(domain, mx_answer))
        } else {
            let Some(a) = a else {
                let domain = self.domain.clone();
                return Some(match self.add_addresses(&domain) {
                    Some(a) => Stage::Domain { mx, a: Some(a) },
                    None => Stage::Done(self.stopped()),
                });
            };
            mail_route(&RouteEvidence {
                domain,
                mx: mx_answer,
                a: Some(self.answered(a)?),
                aaaa: Some(self.answered(a + 1)?),
            })
        };
        Some(match &route.route {
            MailRoute::Hosts(hosts) if !hosts.iter().any(|h| h.implicit) => Stage::Hosts {
                hosts: hosts.iter().map(|h| h.host.clone()).collect(),
                route,
                asked: Vec::new(),
            },
            _ => Stage::Done(route),
        })
    }

    /// The stage after the host answers so far: done once a host has an address or every
    /// host has answered, else more hosts to ask, or nothing new (`None`) while answers are
    /// out.
    fn host_step(&mut self) -> Option<Stage> {
        let Stage::Hosts {
            route,
            hosts,
            asked,
        } = &self.stage
        else {
            return None;
        };
        let mut evidence = Vec::with_capacity(asked.len());
        let mut outstanding = false;
        for (host, &a) in hosts.iter().zip(asked) {
            match (self.answered(a), self.answered(a + 1)) {
                (Some(a), Some(aaaa)) => evidence.push(HostEvidence { host, a, aaaa }),
                _ => outstanding = true,
            }
        }
        let decided = check_mx_hosts(route.clone(), &evidence);
        if matches!(decided.route, MailRoute::Hosts(_)) || evidence.len() == hosts.len() {
            return Some(Stage::Done(decided));
        }
        if outstanding {
            return None;
        }
        let batch = match (self.pace, asked.len()) {
            (Pace::FewestRoundTrips, 0) | (Pace::FewestQueries, _) => 1,
            (Pace::FewestRoundTrips, _) => hosts.len() - asked.len(),
        };
        let next: Vec<String> = hosts[asked.len()..asked.len() + batch].to_vec();
        let placeholder = Stage::Done(failure(DnsFailure::LookupLimit));
        let Stage::Hosts {
            route,
            hosts,
            mut asked,
        } = core::mem::replace(&mut self.stage, placeholder)
        else {
            return None;
        };
        let answered = asked.len();
        for host in &next {
            match self.add_addresses(host) {
                Some(a) => asked.push(a),
                // Out of budget: wait for the hosts just asked, which may have an address.
                None if asked.len() > answered => break,
                None => return Some(Stage::Done(self.stopped())),
            }
        }
        Some(Stage::Hosts {
            route,
            hosts,
            asked,
        })
    }
}

fn failure(f: DnsFailure) -> RouteDecision {
    RouteDecision {
        route: MailRoute::DnsFailure(f),
        ttl: None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::dns::route::MxHost;
    use crate::dns::{RData, Record, Soa};

    fn response(name: &str, rtype: RecordType, rcode: Rcode, data: Vec<(u32, RData)>) -> Message {
        let mut m = Message::response_to(0, name, rtype);
        m.rcode = rcode;
        m.answers = data
            .into_iter()
            .map(|(ttl, data)| Record {
                name: name.into(),
                rtype,
                ttl,
                data,
            })
            .collect();
        if m.answers.is_empty() {
            m.authorities.push(Record {
                name: "example".into(),
                rtype: RecordType::Soa,
                ttl: 600,
                data: RData::Soa(Soa {
                    mname: "ns.example".into(),
                    rname: "hostmaster.example".into(),
                    serial: 1,
                    refresh: 7200,
                    retry: 3600,
                    expire: 1209600,
                    minimum: 60,
                }),
            });
        }
        m
    }

    fn mx(hosts: &[&str]) -> Message {
        let records = hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let preference = 10 * (i as u16 + 1);
                let exchange = (*host).to_owned();
                (
                    300,
                    RData::Mx {
                        preference,
                        exchange,
                    },
                )
            })
            .collect();
        response("mail.example", RecordType::Mx, Rcode::NoError, records)
    }

    fn address(name: &str, rtype: RecordType) -> Message {
        let data = match rtype {
            RecordType::A => vec![(120, RData::A(Ipv4Addr::new(192, 0, 2, 25)))],
            _ => Vec::new(),
        };
        response(name, rtype, Rcode::NoError, data)
    }

    fn nxdomain(name: &str, rtype: RecordType) -> Message {
        response(name, rtype, Rcode::NxDomain, Vec::new())
    }

    /// The queries of one `Ask`, as (name, type).
    fn asked(step: &Step) -> Vec<(String, RecordType)> {
        match step {
            Step::Ask(queries) => queries.iter().map(|q| (q.name.clone(), q.rtype)).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn q(name: &str, rtype: RecordType) -> (String, RecordType) {
        (name.to_owned(), rtype)
    }

    /// Answers every query of `step` with `reply`.
    fn reply_all(
        lookup: &mut MailRouteLookup,
        step: Step,
        reply: impl Fn(&str, RecordType) -> Option<Message>,
    ) {
        let Step::Ask(queries) = step else {
            panic!("{step:?}")
        };
        for query in queries {
            lookup.answer(query.id, reply(&query.name, query.rtype));
        }
    }

    /// `mx1` has no address, `mx2` has an IPv4 one, `mx3` is never reached.
    fn world(name: &str, rtype: RecordType) -> Option<Message> {
        Some(match (name, rtype) {
            ("mail.example", RecordType::Mx) => mx(&["mx1.example", "mx2.example", "mx3.example"]),
            ("mx1.example", _) => nxdomain(name, rtype),
            (_, RecordType::Mx) => nxdomain(name, rtype),
            _ => address(name, rtype),
        })
    }

    fn hosts(names: &[&str]) -> MailRoute {
        MailRoute::Hosts(
            names
                .iter()
                .enumerate()
                .map(|(i, host)| MxHost {
                    preference: 10 * (i as u16 + 1),
                    host: (*host).to_owned(),
                    implicit: false,
                })
                .collect(),
        )
    }

    #[test]
    fn fewest_queries_asks_hosts_one_at_a_time() {
        let mut lookup = MailRouteLookup::new(
            "mail.example",
            Pace::FewestQueries,
            LookupBudget::MAIL_ROUTE,
        );
        let step = lookup.poll();
        assert_eq!(asked(&step), [q("mail.example", RecordType::Mx)]);
        assert_eq!(lookup.poll(), Step::Wait);
        reply_all(&mut lookup, step, world);
        let step = lookup.poll();
        assert_eq!(
            asked(&step),
            [
                q("mx1.example", RecordType::A),
                q("mx1.example", RecordType::Aaaa)
            ]
        );
        reply_all(&mut lookup, step, world);
        let step = lookup.poll();
        assert_eq!(
            asked(&step),
            [
                q("mx2.example", RecordType::A),
                q("mx2.example", RecordType::Aaaa)
            ]
        );
        reply_all(&mut lookup, step, world);
        let route = hosts(&["mx1.example", "mx2.example", "mx3.example"]);
        assert_eq!(
            lookup.poll(),
            Step::Done(RouteDecision {
                route,
                ttl: Some(120)
            })
        );
        assert_eq!(
            lookup.budget().lookups_left(),
            LookupBudget::MAIL_ROUTE.lookups_left() - 5
        );
    }

    #[test]
    fn fewest_round_trips_asks_ahead() {
        let mut lookup = MailRouteLookup::new(
            "mail.example",
            Pace::FewestRoundTrips,
            LookupBudget::MAIL_ROUTE,
        );
        let step = lookup.poll();
        assert_eq!(
            asked(&step),
            [
                q("mail.example", RecordType::Mx),
                q("mail.example", RecordType::A),
                q("mail.example", RecordType::Aaaa)
            ]
        );
        reply_all(&mut lookup, step, world);
        let step = lookup.poll();
        assert_eq!(asked(&step).len(), 2);
        reply_all(&mut lookup, step, world);
        // The first host has no address: every other one at once.
        let step = lookup.poll();
        assert_eq!(
            asked(&step),
            [
                q("mx2.example", RecordType::A),
                q("mx2.example", RecordType::Aaaa),
                q("mx3.example", RecordType::A),
                q("mx3.example", RecordType::Aaaa)
            ]
        );
        // One host with an address settles it; the other answers are not needed.
        let Step::Ask(queries) = step else {
            unreachable!()
        };
        for query in &queries[..2] {
            lookup.answer(query.id, world(&query.name, query.rtype));
        }
        let decided = lookup.poll();
        assert!(
            matches!(&decided, Step::Done(d) if d.route == hosts(&["mx1.example", "mx2.example", "mx3.example"])),
            "{decided:?}"
        );
    }

    #[test]
    fn an_empty_mx_answer_asks_for_the_domains_addresses() {
        let mut lookup = MailRouteLookup::new(
            "bare.example",
            Pace::FewestQueries,
            LookupBudget::MAIL_ROUTE,
        );
        let step = lookup.poll();
        reply_all(&mut lookup, step, |name, rtype| {
            Some(response(name, rtype, Rcode::NoError, Vec::new()))
        });
        let step = lookup.poll();
        assert_eq!(
            asked(&step),
            [
                q("bare.example", RecordType::A),
                q("bare.example", RecordType::Aaaa)
            ]
        );
        reply_all(&mut lookup, step, |name, rtype| Some(address(name, rtype)));
        let Step::Done(decision) = lookup.poll() else {
            panic!()
        };
        assert!(
            matches!(&decision.route, MailRoute::Hosts(h) if h[0].implicit && h[0].host == "bare.example")
        );
    }

    #[test]
    fn final_answers_and_failures_end_at_once() {
        for (reply, route) in [
            (
                Some(nxdomain("gone.example", RecordType::Mx)),
                MailRoute::DomainNotFound,
            ),
            (None, MailRoute::DnsFailure(DnsFailure::NoAnswer)),
        ] {
            let mut lookup = MailRouteLookup::new(
                "gone.example",
                Pace::FewestQueries,
                LookupBudget::MAIL_ROUTE,
            );
            let step = lookup.poll();
            reply_all(&mut lookup, step, |_, _| reply.clone());
            assert!(matches!(lookup.poll(), Step::Done(d) if d.route == route));
        }
    }

    #[test]
    fn unanswered_queries_can_be_given_up() {
        let mut lookup = MailRouteLookup::new(
            "mail.example",
            Pace::FewestRoundTrips,
            LookupBudget::MAIL_ROUTE,
        );
        let Step::Ask(queries) = lookup.poll() else {
            panic!()
        };
        // The MX answer alone is enough to go on to the hosts.
        lookup.answer(queries[0].id, world("mail.example", RecordType::Mx));
        // A second answer to the same query, and one to no query, change nothing.
        lookup.answer(queries[0].id, None);
        lookup.answer(QueryId(99), None);
        assert_eq!(asked(&lookup.poll()).len(), 2);
        assert_eq!(lookup.poll(), Step::Wait);
        lookup.give_up();
        assert_eq!(lookup.poll(), Step::Done(failure(DnsFailure::NoAnswer)));
    }

    #[test]
    fn a_lookup_stops_at_its_budget() {
        let mut lookup =
            MailRouteLookup::new("mail.example", Pace::FewestQueries, LookupBudget::new(3, 9));
        for _ in 0..2 {
            let step = lookup.poll();
            reply_all(&mut lookup, step, world);
        }
        // MX and the first host spent it; the second host cannot be asked.
        assert_eq!(lookup.poll(), Step::Done(failure(DnsFailure::LookupLimit)));
        let mut broke =
            MailRouteLookup::new("mail.example", Pace::FewestQueries, LookupBudget::new(0, 0));
        assert_eq!(broke.poll(), Step::Done(failure(DnsFailure::LookupLimit)));
    }

    /// Polls a future that never waits, as `run` is when every answer is at hand.
    fn now<T>(future: impl Future<Output = T>) -> T {
        let mut future = core::pin::pin!(future);
        let mut context = core::task::Context::from_waker(core::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn run_drives_a_lookup_through_its_steps() {
        let mut asked = Vec::new();
        let lookup = MailRouteLookup::new(
            "mail.example",
            Pace::FewestQueries,
            LookupBudget::MAIL_ROUTE,
        );
        let decision = now(lookup.run(|q| {
            asked.push((q.name.clone(), q.rtype));
            core::future::ready(world(&q.name, q.rtype))
        }));
        assert_eq!(asked.len(), 5);
        assert_eq!(
            decision.route,
            hosts(&["mx1.example", "mx2.example", "mx3.example"])
        );
        let lookup = MailRouteLookup::new(
            "mail.example",
            Pace::FewestQueries,
            LookupBudget::MAIL_ROUTE,
        );
        let decision = now(lookup.run(|_| core::future::ready(None)));
        assert_eq!(decision, failure(DnsFailure::NoAnswer));
    }

    #[test]
    fn run_waits_for_every_query_of_a_step() {
        // The MX query is answered only on the second poll.
        let lookup = MailRouteLookup::new(
            "gone.example",
            Pace::FewestQueries,
            LookupBudget::MAIL_ROUTE,
        );
        let mut run = core::pin::pin!(lookup.run(|q| {
            let mut first = true;
            poll_fn(move |_| {
                if core::mem::take(&mut first) {
                    Poll::Pending
                } else {
                    Poll::Ready(Some(nxdomain(&q.name, q.rtype)))
                }
            })
        }));
        let mut context = core::task::Context::from_waker(core::task::Waker::noop());
        assert!(run.as_mut().poll(&mut context).is_pending());
        let Poll::Ready(decision) = run.as_mut().poll(&mut context) else {
            panic!("still waiting")
        };
        assert_eq!(decision.route, MailRoute::DomainNotFound);
    }

    #[test]
    fn budgets_count_lookups_and_void_answers() {
        // RFC 7208 §4.6.4: ten lookups, two of them void.
        let mut spf = LookupBudget::new(10, 2);
        for _ in 0..10 {
            assert_eq!(spf.spend(), Ok(()));
        }
        assert_eq!(spf.spend(), Err(Exhausted::Lookups));
        let mut spf = LookupBudget::new(10, 2);
        let found = address("a.example", RecordType::A);
        let empty = address("a.example", RecordType::Aaaa);
        let gone = nxdomain("b.example", RecordType::A);
        let servfail = response("c.example", RecordType::A, Rcode::ServFail, Vec::new());
        assert_eq!(spf.record(&found, "a.example", RecordType::A), Ok(()));
        assert_eq!(spf.record(&servfail, "c.example", RecordType::A), Ok(()));
        assert_eq!(spf.record(&empty, "a.example", RecordType::Aaaa), Ok(()));
        assert_eq!(spf.record(&gone, "b.example", RecordType::A), Ok(()));
        assert_eq!(
            spf.record(&gone, "b.example", RecordType::A),
            Err(Exhausted::VoidLookups)
        );
        assert!(Exhausted::VoidLookups.to_string().ends_with('.'));
    }
}
