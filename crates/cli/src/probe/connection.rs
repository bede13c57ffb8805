//! Finding a mail server that gives a session: the hosts in order, their addresses, TCP (or
//! SOCKS5), and the conversation driven up to where a mailbox may be asked about.
//!
//! The MX hosts go in the core's order ([`try_order`]: by preference, ties shuffled with
//! randomness drawn here); each host's addresses, A before AAAA. Addresses that are loopback, private or otherwise
//! special-purpose are skipped unless allowed ([`special::special_purpose`]). What each host
//! said is kept by the core's [`Attempts`], which answers when none gives a session.

use std::io;
use std::net::{IpAddr, SocketAddr};

use mailvet_core::report::MailboxEvidence;
use mailvet_core::smtp::{Attempts, Conversation, Event, Idle, try_order};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::schedule::HostPermit;
use super::session::Session;
use super::{Inner, MailHost, socks, special};
use crate::metrics::OpenSession;

/// A session ready for a mailbox, and what it holds.
pub(super) struct Open<'a> {
    pub(super) session: Session,
    pub(super) conversation: Conversation,
    pub(super) ready: Idle,
    pub(super) host: String,
    pub(super) ip: IpAddr,
    /// Held until the session ends: its place in the host's limit and in the open sessions.
    pub(super) permit: HostPermit,
    pub(super) counted: OpenSession<'a>,
}

/// Why one address of a host gave no session.
enum Attempt {
    Failed(MailboxEvidence),
    /// The conversation asks for a new connection without STARTTLS.
    Reconnect,
}

impl Inner {
    /// A session with the first host that gives one, or the evidence of those tried.
    pub(super) async fn open(
        &self,
        hosts: &[MailHost],
        deadline: Instant,
    ) -> Result<Open<'_>, MailboxEvidence> {
        let mut attempts = Attempts::default();
        for host in shuffled(hosts) {
            let addresses = match host.literal {
                Some(ip) => vec![ip],
                None => match timeout_at(deadline, self.resolver.host_ips(&host.name)).await {
                    Ok(addresses) => addresses,
                    Err(_) => {
                        attempts.failed(MailboxEvidence::Timeout { host: None });
                        break;
                    }
                },
            };
            let (usable, special): (Vec<IpAddr>, Vec<IpAddr>) =
                addresses.into_iter().partition(|&ip| {
                    self.config.allow_private || special::special_purpose(ip).is_none()
                });
            if usable.is_empty() {
                if !special.is_empty() {
                    attempts.private(&host.name);
                }
                continue;
            }
            let Ok(Some(permit)) =
                timeout_at(deadline, self.limits.acquire(&host.name, &self.metrics)).await
            else {
                attempts.failed(MailboxEvidence::Timeout {
                    host: Some(host.name.clone()),
                });
                break;
            };
            for ip in usable {
                let mut attempt = self.attempt(&host.name, ip, deadline, true).await;
                if let Err(Attempt::Reconnect) = attempt {
                    attempt = self.attempt(&host.name, ip, deadline, false).await;
                }
                match attempt {
                    Ok((session, conversation, ready)) => {
                        return Ok(Open {
                            session,
                            conversation,
                            ready,
                            host: host.name.clone(),
                            ip,
                            permit,
                            counted: self.metrics.session_opened(),
                        });
                    }
                    Err(Attempt::Failed(evidence)) => attempts.failed(evidence),
                    Err(Attempt::Reconnect) => attempts.failed(MailboxEvidence::Unreachable),
                }
            }
        }
        Err(attempts.finish())
    }

    /// Connects to `ip` and converses up to where a mailbox may be asked about.
    async fn attempt(
        &self,
        host: &str,
        ip: IpAddr,
        deadline: Instant,
        starttls: bool,
    ) -> Result<(Session, Conversation, Idle), Attempt> {
        let tcp = match timeout_at(self.step(deadline), self.connect(ip)).await {
            Ok(Ok(tcp)) => tcp,
            _ => return Err(Attempt::Failed(MailboxEvidence::Unreachable)),
        };
        let mut session = Session::new(tcp);
        let config = &self.config;
        let mut conversation = Conversation::new(host, &config.helo, &config.mail_from, starttls);
        let mut evidence = MailboxEvidence::Unreachable;
        loop {
            let event = self
                .drive(&mut conversation, &mut session, host, ip, deadline)
                .await;
            match event {
                Event::Ready(ready) => return Ok((session, conversation, ready)),
                Event::NoSession(said) => evidence = said,
                Event::Reconnect => return Err(Attempt::Reconnect),
                Event::Quit => {
                    self.quit_later(session);
                    return Err(Attempt::Failed(evidence));
                }
                Event::Close => return Err(Attempt::Failed(evidence)),
                // Only a mailbox asked about is answered or sent elsewhere: none is, yet.
                Event::Answer(_) | Event::AskElsewhere => {}
            }
        }
    }

    async fn connect(&self, ip: IpAddr) -> io::Result<TcpStream> {
        let target = SocketAddr::new(ip, self.config.port);
        let tcp = match self.config.socks5 {
            Some(proxy) => socks::connect(proxy, target).await?,
            None => TcpStream::connect(target).await?,
        };
        // Each command is one write that waits for its reply: nothing to gain from Nagle.
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }
}

/// The hosts in the order to try them, with this machine's randomness (RFC 5321 §5.1).
pub(super) fn shuffled(hosts: &[MailHost]) -> Vec<MailHost> {
    let mut out = hosts.to_vec();
    try_order(&mut out, |h| h.preference, random_below);
    out
}

/// A random number below `n` (the bias of the modulo is nil for the handful of MX hosts); 0 when
/// the system has no randomness to give.
fn random_below(n: usize) -> usize {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return 0;
    }
    let n = n as u64;
    usize::try_from(u64::from_le_bytes(bytes) % n.max(1)).unwrap_or(0)
}
