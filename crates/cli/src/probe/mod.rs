//! The mailbox layer: asks a domain's mail servers whether they take mail for an address, over
//! SMTP up to `RCPT TO` and never further. The core's [`Conversation`] makes every SMTP decision
//! (what to send, what each reply means, which evidence wins); this module owns sockets, TLS,
//! time and randomness:
//!
//! - `options`: the command line and the checked configuration;
//! - `schedule`: per-domain queues, the session limits, lingering, the catch-all cache;
//! - `connection`: the hosts in order, TCP or SOCKS5 (`socks`), STARTTLS (`tls`), each socket
//!   owned by a `session`;
//! - `transport`: the loop that moves the conversation's bytes under deadlines.
//!
//! Addresses of one domain share sessions: they queue per domain, and up to `--per-host`
//! sessions per domain take them in turn, each sending at most `--rcpt-per-session` recipients
//! and lingering briefly for more. Every read and write has a deadline: the step timeout, capped
//! by the deadline of the address being asked, so a tarpit holds nobody longer than that. There
//! is no `DATA`: [`mailvet_core::smtp::Command`] cannot express it.
//!
//! [`Conversation`]: mailvet_core::smtp::Conversation

mod connection;
mod options;
mod schedule;
mod session;
mod socks;
pub mod special;
mod tls;
mod transport;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mailvet_core::dns::MxHost;
use mailvet_core::dns::route::named_hosts;
use mailvet_core::report::{MailboxEvidence, MxSummary};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

use crate::Failure;
use crate::doh::Resolver;
use crate::metrics::Metrics;
pub use mailvet_core::smtp::Mailbox;
pub use options::{ProbeArgs, ProbeConfig, host_name};
pub use schedule::CATCH_ALL_TTL;
use schedule::{HostLimits, Job, LINGER, Queue, Tasks};
use transport::QUIT_WAIT;

/// How much later than the deadline the caller stops waiting for the session's own answer (which
/// names the host that timed out).
const ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// A mail server to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailHost {
    pub preference: u16,
    pub name: String,
    /// The address of an address literal (`jane@[192.0.2.1]`), which has no name to resolve.
    pub literal: Option<IpAddr>,
}

impl MailHost {
    pub fn from_route(hosts: &[MxHost]) -> Vec<MailHost> {
        hosts
            .iter()
            .map(|h| MailHost {
                preference: h.preference,
                name: h.host.clone(),
                literal: None,
            })
            .collect()
    }

    /// The hosts a caller named, by the rules of an MX answer (`dns::route::named_hosts`).
    pub fn from_summaries(hosts: &[MxSummary]) -> Vec<MailHost> {
        let named = named_hosts(hosts.iter().map(|h| (h.preference, h.host.as_str())));
        MailHost::from_route(&named)
    }

    /// The host of an address literal, named as in the address (`[192.0.2.1]`).
    pub fn literal(ip: IpAddr, name: &str) -> MailHost {
        MailHost {
            preference: 0,
            name: name.to_owned(),
            literal: Some(ip),
        }
    }
}

/// Asks mail servers about mailboxes. Cheap to clone; clones share sessions, limits and caches.
#[derive(Clone, Debug)]
pub struct Prober {
    inner: Arc<Inner>,
}

struct Inner {
    config: ProbeConfig,
    resolver: Arc<Resolver>,
    tls: TlsConnector,
    metrics: Arc<Metrics>,
    sessions: Arc<Semaphore>,
    limits: Arc<HostLimits>,
    queues: Mutex<HashMap<String, Queue>>,
    catch_all: Mutex<HashMap<String, (bool, Instant)>>,
    tasks: Arc<Tasks>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Prober {
    pub fn new(
        config: ProbeConfig,
        resolver: Arc<Resolver>,
        metrics: Arc<Metrics>,
    ) -> Result<Prober, Failure> {
        Ok(Prober {
            inner: Arc::new(Inner {
                tls: tls::connector()?,
                sessions: Arc::new(Semaphore::new(config.sessions)),
                limits: Arc::new(HostLimits {
                    per_host: config.per_host,
                    hosts: Mutex::default(),
                }),
                config,
                resolver,
                metrics,
                queues: Mutex::default(),
                catch_all: Mutex::default(),
                tasks: Arc::default(),
            }),
        })
    }

    pub fn config(&self) -> &ProbeConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Waits (a few seconds at most) for the sessions to say QUIT and get its reply, so that a
    /// run that ends cuts no session off. Call it when no probe is running.
    pub async fn finish(&self) {
        let tasks = &self.inner.tasks;
        let all_done = async {
            loop {
                let done = tasks.done.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                if tasks.running.load(Ordering::Relaxed) == 0 {
                    return;
                }
                done.await;
            }
        };
        let _ = tokio::time::timeout(LINGER + QUIT_WAIT, all_done).await;
    }

    /// What the mail servers `hosts` say about `mailbox`, within the configured deadline.
    pub async fn probe(&self, mailbox: Mailbox, hosts: Vec<MailHost>) -> MailboxEvidence {
        let inner = &self.inner;
        let started = Instant::now();
        let deadline = started + inner.config.deadline;
        let _flying = inner.metrics.in_flight();
        let (reply, answer) = oneshot::channel();
        inner.submit(Job {
            mailbox,
            hosts: hosts.into(),
            deadline,
            reply,
            retried: false,
        });
        let evidence = match timeout_at(deadline + ANSWER_MARGIN, answer).await {
            Ok(Ok(evidence)) => evidence,
            // The session ended without an answer, which only a panic does.
            Ok(Err(_)) => MailboxEvidence::Unreachable,
            Err(_) => MailboxEvidence::Timeout { host: None },
        };
        inner.metrics.probed(&evidence, started.elapsed());
        evidence
    }
}

#[cfg(test)]
mod tests;
