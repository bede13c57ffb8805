//! The mailbox layer: asks a domain's mail servers whether they take mail for an address, over
//! SMTP up to `RCPT TO` and never further. The core decides what every reply means
//! ([`mailvet_core::smtp::classify`]); this module owns sockets, TLS, time and randomness.
//!
//! A conversation (RFC 5321 §3):
//!
//! 1. The MX hosts in order of preference, hosts of equal preference shuffled (RFC 5321 §5.1);
//!    each host's addresses, A before AAAA. Addresses that are loopback, private or otherwise
//!    special-purpose are skipped unless allowed ([`special::special_purpose`]). A host that
//!    refuses the connection, does not greet in time or greets with a 4yz is left for the next.
//! 2. `EHLO`, or `HELO` when the server does not know EHLO (RFC 5321 §3.2); `STARTTLS` when
//!    offered (RFC 3207), unauthenticated ([`tls`]), then `EHLO` again.
//! 3. `MAIL FROM`, with `SMTPUTF8` when the address needs it (RFC 6531 §3.4), then `RCPT TO`
//!    for each address of the domain waiting, and for one random local part per domain to learn
//!    whether the domain accepts everything (cached for [`CATCH_ALL_TTL`]).
//! 4. `QUIT`. There is no `DATA`: [`mailvet_core::smtp::Command`] cannot express it.
//!
//! Addresses of one domain share sessions: they queue per domain, and up to `--per-host`
//! sessions per domain take them in turn, each sending at most `--rcpt-per-session` recipients
//! and lingering briefly for more. Every read and write has a deadline: the step timeout, capped
//! by the deadline of the address being asked, so a tarpit holds nobody longer than that.

mod session;
mod socks;
pub mod special;
mod tls;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use clap::Args;
use mailvet_core::dns::MxHost;
use mailvet_core::report::{MailboxEvidence, MxSummary, NotAsked};
use mailvet_core::smtp::{Capabilities, Command, Outcome, Reply, Stage, classify};
use mailvet_core::syntax::Address;
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

use crate::Failure;
use crate::doh::Resolver;
use crate::metrics::{Metrics, OpenSession};
use session::{Session, SessionError};

/// How long a domain's catch-all answer is reused. Catch-all settings change rarely; an hour
/// keeps a long list from asking the same server the same question again and again.
pub const CATCH_ALL_TTL: Duration = Duration::from_secs(3600);
/// The most domains whose catch-all answer is remembered.
const CATCH_ALL_ENTRIES: usize = 100_000;
/// How long a session with nothing to do waits for another address of its domain before QUIT.
const LINGER: Duration = Duration::from_millis(100);
/// How long a QUIT may wait for its reply. It runs after the session's permits are released.
const QUIT_WAIT: Duration = Duration::from_secs(2);
/// How much later than the deadline the caller stops waiting for the session's own answer (which
/// names the host that timed out).
const ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// The options of the mailbox layer, shared by `mailvet check` and `mailvet serve`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The TCP port of mail servers. SMTP relay between servers is port 25 (RFC 5321 §4.5.4.2
    /// and the IANA registry); other values are for test set-ups.
    #[arg(long, value_name = "PORT", default_value_t = 25)]
    smtp_port: u16,

    /// How long a mail server has for each step: connecting, greeting, each reply.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::parse_secs)]
    smtp_timeout: Duration,

    /// How long one address may take in all, waiting for a session included.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = crate::parse_secs)]
    smtp_deadline: Duration,

    /// The name given in EHLO/HELO. Mail servers compare it with the reverse DNS of the address
    /// mailvet connects from, so give that name. Default: this machine's host name.
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,

    /// The sender in MAIL FROM. Default: the null sender <> (RFC 5321 §4.5.5), since no message
    /// ever follows; some servers refuse it, so give an address of a domain you control.
    #[arg(long, value_name = "ADDRESS")]
    mail_from: Option<String>,

    /// Connect to mail servers on loopback, private, link-local, shared (CGNAT), unspecified,
    /// multicast, documentation or other special-purpose addresses. Without it such servers are
    /// never contacted: the evidence is `not_asked` / `private_address`.
    #[arg(long)]
    allow_private: bool,

    /// How many SMTP sessions may be open at once to one mail host (and for one domain).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=4096))]
    per_host: u16,

    /// How many RCPT TO one session sends before it ends. Addresses of one domain share
    /// sessions; servers slow down or drop clients after a few unknown recipients.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    rcpt_per_session: u16,

    /// A SOCKS5 proxy (RFC 1928, no authentication) for networks that block outgoing port 25.
    #[arg(long, value_name = "HOST:PORT")]
    socks5: Option<String>,
}

impl ProbeArgs {
    /// The configuration, checked; `sessions` bounds the SMTP sessions open at once.
    pub fn config(&self, sessions: usize) -> Result<ProbeConfig, Failure> {
        let helo = match &self.helo {
            Some(name) => name.clone(),
            None => host_name(),
        };
        Command::Ehlo(&helo)
            .to_bytes()
            .map_err(|e| Failure(format!("--helo {helo:?}: {e}")))?;
        let mail_from = self.mail_from.clone().unwrap_or_default();
        if !mail_from.is_empty() && mailvet_core::syntax::parse(&mail_from).is_err() {
            return Err(Failure(format!(
                "--mail-from {mail_from:?} is not an email address"
            )));
        }
        Command::MailFrom {
            address: &mail_from,
            smtputf8: false,
        }
        .to_bytes()
        .map_err(|e| Failure(format!("--mail-from {mail_from:?}: {e}")))?;
        let socks5 = match &self.socks5 {
            None => None,
            Some(text) => Some(
                text.to_socket_addrs()
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .ok_or_else(|| {
                        Failure(format!("--socks5 {text:?} is not a reachable HOST:PORT"))
                    })?,
            ),
        };
        Ok(ProbeConfig {
            port: self.smtp_port,
            step_timeout: self.smtp_timeout,
            deadline: self.smtp_deadline,
            helo,
            mail_from,
            allow_private: self.allow_private,
            per_host: usize::from(self.per_host),
            sessions: sessions.max(1),
            rcpt_per_session: usize::from(self.rcpt_per_session),
            socks5,
        })
    }
}

/// This machine's name for EHLO, or `localhost` when it has none.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| Command::Ehlo(name).to_bytes().is_ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// How the prober talks to mail servers.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    pub port: u16,
    pub step_timeout: Duration,
    pub deadline: Duration,
    pub helo: String,
    /// Empty for the null reverse-path `<>`.
    pub mail_from: String,
    pub allow_private: bool,
    pub per_host: usize,
    /// SMTP sessions open at once, over all hosts.
    pub sessions: usize,
    pub rcpt_per_session: usize,
    pub socks5: Option<SocketAddr>,
}

/// An address as it goes into `RCPT TO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    rcpt: String,
    smtputf8: bool,
    /// The domain in A-labels (or the address literal): sessions and catch-all answers are kept
    /// per domain.
    domain: String,
}

impl Mailbox {
    /// The domain always goes in A-labels, which every server takes; only a non-ASCII local
    /// part needs SMTPUTF8 (RFC 6531 §3.2).
    pub fn new(address: &Address) -> Mailbox {
        let domain = address.ascii_domain().to_ascii_lowercase();
        match address.ascii() {
            Some(ascii) => Mailbox {
                rcpt: ascii.into_owned(),
                smtputf8: false,
                domain,
            },
            None => Mailbox {
                rcpt: format!("{}@{domain}", address.local_part()),
                smtputf8: true,
                domain,
            },
        }
    }

    /// The domain, in A-labels.
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

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

    /// The hosts a caller named, by preference, each once.
    pub fn from_summaries(hosts: &[MxSummary]) -> Vec<MailHost> {
        let mut out: Vec<MailHost> = Vec::with_capacity(hosts.len());
        for h in hosts {
            let name = h.host.trim_end_matches('.').to_ascii_lowercase();
            if !out.iter().any(|o| o.name == name) {
                out.push(MailHost {
                    preference: h.preference,
                    name,
                    literal: None,
                });
            }
        }
        out.sort_by_key(|h| h.preference);
        out
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

/// The addresses of one domain waiting for a session, and the sessions serving them.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    sessions: usize,
    /// Sessions waiting for another address before they QUIT.
    idle: usize,
    notify: Arc<Notify>,
}

struct Job {
    mailbox: Mailbox,
    hosts: Arc<[MailHost]>,
    deadline: Instant,
    reply: oneshot::Sender<MailboxEvidence>,
    /// Sent back once already (a server that took no more recipients, a connection lost).
    retried: bool,
}

impl Job {
    fn answer(self, evidence: MailboxEvidence) {
        // The caller may have stopped waiting at its deadline: nobody to tell.
        let _ = self.reply.send(evidence);
    }

    fn wanted(&self) -> bool {
        !self.reply.is_closed()
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

impl Inner {
    /// Queues `job` for its domain, waking an idle session or starting one within the limit.
    fn submit(self: &Arc<Self>, job: Job) {
        let key = job.mailbox.domain.clone();
        let mut queues = lock(&self.queues);
        let queue = queues.entry(key.clone()).or_default();
        queue.jobs.push_back(job);
        if queue.idle > 0 {
            queue.notify.notify_one();
        }
        if queue.jobs.len() > queue.idle && queue.sessions < self.config.per_host {
            queue.sessions += 1;
            let worker = Worker {
                inner: Arc::clone(self),
                notify: Arc::clone(&queue.notify),
                key,
            };
            let running = Running::start(&self.tasks);
            tokio::spawn(async move {
                worker.run().await;
                drop(running);
            });
        }
    }

    /// A step's deadline: the step timeout, capped by the address's deadline.
    fn step(&self, deadline: Instant) -> Instant {
        (Instant::now() + self.config.step_timeout).min(deadline)
    }

    /// A greeted, EHLO'd (and if possible encrypted) session with the first host that takes one.
    async fn open(
        &self,
        hosts: &[MailHost],
        deadline: Instant,
    ) -> Result<Open<'_>, MailboxEvidence> {
        let mut best: Option<MailboxEvidence> = None;
        let mut private: Option<String> = None;
        for host in shuffled(hosts) {
            let addresses = match host.literal {
                Some(ip) => vec![ip],
                None => match timeout_at(deadline, self.resolver.host_ips(&host.name)).await {
                    Ok(addresses) => addresses,
                    Err(_) => {
                        best = better(best, MailboxEvidence::Timeout { host: None });
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
                    private.get_or_insert_with(|| host.name.clone());
                }
                continue;
            }
            let Ok(Some(permit)) =
                timeout_at(deadline, self.limits.acquire(&host.name, &self.metrics)).await
            else {
                best = better(
                    best,
                    MailboxEvidence::Timeout {
                        host: Some(host.name.clone()),
                    },
                );
                break;
            };
            for ip in usable {
                let mut attempt = self.attempt(&host.name, ip, deadline, true).await;
                if let Err(Attempt::TlsFailed) = attempt {
                    // RFC 7435 §3: opportunistic TLS that fails falls back to cleartext.
                    attempt = self.attempt(&host.name, ip, deadline, false).await;
                }
                match attempt {
                    Ok((session, capabilities)) => {
                        return Ok(Open {
                            session,
                            capabilities,
                            host: host.name.clone(),
                            permit,
                            counted: self.metrics.session_opened(),
                        });
                    }
                    Err(Attempt::Failed(evidence)) => best = better(best, evidence),
                    Err(Attempt::TlsFailed) => best = better(best, MailboxEvidence::Unreachable),
                }
            }
        }
        Err(best
            .or_else(|| {
                private.map(|host| MailboxEvidence::NotAsked {
                    host: Some(host),
                    why: NotAsked::PrivateAddress,
                })
            })
            .unwrap_or(MailboxEvidence::Unreachable))
    }

    /// Connects to `ip` and runs the session up to a state where MAIL FROM may follow.
    async fn attempt(
        &self,
        host: &str,
        ip: IpAddr,
        deadline: Instant,
        starttls: bool,
    ) -> Result<(Session, Capabilities), Attempt> {
        let tcp = match timeout_at(self.step(deadline), self.connect(ip)).await {
            Ok(Ok(tcp)) => tcp,
            _ => return Err(Attempt::Failed(MailboxEvidence::Unreachable)),
        };
        let failed = |e: SessionError| Attempt::Failed(session_failure(host, &e));
        let mut session = Session::new(tcp);
        let greeting = session
            .read_reply(self.step(deadline))
            .await
            .map_err(failed)?;
        if !greeting.is_positive() {
            // RFC 5321 §3.1: 554 is "no SMTP service here", 421 and other 4yz "not now". The
            // next host may serve (RFC 5321 §5.1); the reply is the evidence if none does.
            self.quit_later(session);
            return Err(Attempt::Failed(answered(
                host,
                &greeting,
                Stage::Greeting,
                false,
                None,
            )));
        }
        let mut capabilities = self.hello(&mut session, host, deadline).await?;
        if starttls && capabilities.starttls {
            let reply = session
                .command(Command::StartTls, self.step(deadline))
                .await
                .map_err(failed)?;
            // RFC 3207 §4: another reply (454 TLS not available) leaves the session in cleartext.
            if reply.code == 220 {
                session = session
                    .start_tls(&self.tls, tls::server_name(host, ip), self.step(deadline))
                    .await
                    .map_err(|_| Attempt::TlsFailed)?;
                // RFC 3207 §4.2: the client discards what it learnt before TLS and says EHLO again.
                capabilities = self.hello(&mut session, host, deadline).await?;
            }
        }
        Ok((session, capabilities))
    }

    /// EHLO, or HELO when the server does not know EHLO (RFC 5321 §3.2).
    async fn hello(
        &self,
        session: &mut Session,
        host: &str,
        deadline: Instant,
    ) -> Result<Capabilities, Attempt> {
        let failed = |e: SessionError| Attempt::Failed(session_failure(host, &e));
        let helo = self.config.helo.as_str();
        let ehlo = session
            .command(Command::Ehlo(helo), self.step(deadline))
            .await
            .map_err(failed)?;
        if ehlo.is_positive() {
            return Ok(Capabilities::from_ehlo(&ehlo));
        }
        let refused =
            |reply: &Reply, tls| Attempt::Failed(answered(host, reply, Stage::Greeting, tls, None));
        if !ehlo.is_permanent() {
            return Err(refused(&ehlo, session.tls()));
        }
        let reply = session
            .command(Command::Helo(helo), self.step(deadline))
            .await
            .map_err(failed)?;
        if reply.is_positive() {
            Ok(Capabilities::default())
        } else {
            Err(refused(&reply, session.tls()))
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

    /// Says QUIT (RFC 5321 §4.1.1.10) and waits for the reply in the background, so that the
    /// session's limits are free at once (some servers wait before they answer QUIT).
    fn quit_later(&self, mut session: Session) {
        let running = Running::start(&self.tasks);
        tokio::spawn(async move {
            let _ = session
                .command(Command::Quit, Instant::now() + QUIT_WAIT)
                .await;
            drop(running);
        });
    }

    fn cached_catch_all(&self, domain: &str) -> Option<bool> {
        let cache = lock(&self.catch_all);
        let &(answer, at) = cache.get(domain)?;
        (at.elapsed() < CATCH_ALL_TTL).then_some(answer)
    }

    fn remember_catch_all(&self, domain: &str, answer: bool) {
        let mut cache = lock(&self.catch_all);
        if cache.len() >= CATCH_ALL_ENTRIES {
            cache.retain(|_, (_, at)| at.elapsed() < CATCH_ALL_TTL);
            if cache.len() >= CATCH_ALL_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(domain.to_owned(), (answer, Instant::now()));
    }
}

/// A session ready for MAIL FROM, and what it holds.
struct Open<'a> {
    session: Session,
    capabilities: Capabilities,
    host: String,
    /// Held until the session ends: its place in the host's limit and in the open sessions.
    permit: HostPermit,
    counted: OpenSession<'a>,
}

/// Why a host gave no session.
enum Attempt {
    Failed(MailboxEvidence),
    /// STARTTLS was accepted but the handshake failed: try again in cleartext.
    TlsFailed,
}

/// What a failed step says: a timeout is a timeout; anything else means the server could not be
/// talked to.
fn session_failure(host: &str, error: &SessionError) -> MailboxEvidence {
    match error {
        SessionError::Timeout => MailboxEvidence::Timeout {
            host: Some(host.to_owned()),
        },
        _ => MailboxEvidence::Unreachable,
    }
}

/// The evidence that says most: a server's answer, then a timeout (a server was there), then
/// nothing.
fn better(current: Option<MailboxEvidence>, new: MailboxEvidence) -> Option<MailboxEvidence> {
    let rank = |e: &MailboxEvidence| match e {
        MailboxEvidence::Answered { .. } => 3,
        MailboxEvidence::Timeout { .. } => 2,
        MailboxEvidence::NotAsked { .. } => 1,
        MailboxEvidence::Unreachable => 0,
    };
    match current {
        Some(c) if rank(&c) >= rank(&new) => Some(c),
        _ => Some(new),
    }
}

fn answered(
    host: &str,
    reply: &Reply,
    stage: Stage,
    tls: bool,
    catch_all: Option<bool>,
) -> MailboxEvidence {
    MailboxEvidence::Answered {
        host: host.to_owned(),
        code: reply.code,
        enhanced: reply.enhanced.map(|e| e.to_string()),
        message: reply.lines.join(" "),
        outcome: classify(reply, stage),
        tls,
        catch_all,
    }
}

/// The sessions still open and the QUITs still waiting for their reply.
#[derive(Debug, Default)]
struct Tasks {
    running: AtomicUsize,
    done: Notify,
}

/// Counts a task as running until dropped.
struct Running(Arc<Tasks>);

impl Running {
    fn start(tasks: &Arc<Tasks>) -> Running {
        tasks.running.fetch_add(1, Ordering::Relaxed);
        Running(Arc::clone(tasks))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

/// The hosts by preference, those of equal preference in random order (RFC 5321 §5.1).
fn shuffled(hosts: &[MailHost]) -> Vec<MailHost> {
    let mut out = hosts.to_vec();
    out.sort_by_key(|h| h.preference);
    let mut start = 0;
    while start < out.len() {
        let preference = out[start].preference;
        let end = start
            + out[start..]
                .iter()
                .take_while(|h| h.preference == preference)
                .count();
        let group = &mut out[start..end];
        for i in (1..group.len()).rev() {
            group.swap(i, random_below(i + 1));
        }
        start = end;
    }
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

/// A local part no one has: 20 random hex digits.
fn random_local_part() -> Option<String> {
    let mut bytes = [0u8; 10];
    getrandom::getrandom(&mut bytes).ok()?;
    let mut out = String::from("mailvet-");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Some(out)
}

/// The sessions to each MX host, bounded by `--per-host`.
#[derive(Debug)]
struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A session's place in its host's limit; forgets the host when it is the last.
#[derive(Debug)]
struct HostPermit {
    limits: Arc<HostLimits>,
    host: String,
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl HostLimits {
    async fn acquire(self: &Arc<Self>, host: &str, metrics: &Metrics) -> Option<HostPermit> {
        let semaphore = {
            let mut hosts = lock(&self.hosts);
            Arc::clone(
                hosts
                    .entry(host.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        let permit = match Arc::clone(&semaphore).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics.host_wait();
                Arc::clone(&semaphore).acquire_owned().await.ok()?
            }
        };
        Some(HostPermit {
            limits: Arc::clone(self),
            host: host.to_owned(),
            semaphore,
            permit: Some(permit),
        })
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        self.permit.take();
        let mut hosts = lock(&self.limits.hosts);
        // Held by the map and by this permit only: nobody else uses or waits for the host.
        if Arc::strong_count(&self.semaphore) == 2 {
            hosts.remove(&self.host);
        }
    }
}

/// Serves the queue of one domain, one session after another.
struct Worker {
    inner: Arc<Inner>,
    notify: Arc<Notify>,
    key: String,
}

/// What asking about one address led to.
enum Asked {
    /// The answer for this address; `true` when the server closes the connection.
    Answer(MailboxEvidence, bool),
    /// An answer that holds for every address waiting for these hosts (our sender was refused).
    Everyone(MailboxEvidence, bool),
    /// The server takes no more recipients: ask again in a new session.
    NewSession,
}

/// The transaction of a session.
struct Transaction {
    /// `Some(smtputf8)` once MAIL FROM was accepted.
    open: Option<bool>,
    recipients: usize,
}

impl Worker {
    async fn run(self) {
        let mut carry = None;
        loop {
            let job = match carry.take() {
                Some(job) => job,
                None => match self.take() {
                    Some(job) => job,
                    None => return,
                },
            };
            carry = self.session(job).await;
        }
    }

    /// The next address; when there is none, this session ends, counted out under the lock.
    fn take(&self) -> Option<Job> {
        let mut queues = lock(&self.inner.queues);
        let queue = queues.get_mut(&self.key)?;
        if let Some(job) = queue.jobs.pop_front() {
            return Some(job);
        }
        queue.sessions -= 1;
        if queue.sessions == 0 {
            queues.remove(&self.key);
        }
        None
    }

    /// The next address, waiting up to [`LINGER`] for one, unless every session place is taken:
    /// another domain may be waiting for this one's.
    async fn next_or_linger(&self) -> Option<Job> {
        {
            let mut queues = lock(&self.inner.queues);
            let queue = queues.get_mut(&self.key)?;
            if let Some(job) = queue.jobs.pop_front() {
                return Some(job);
            }
            if self.inner.sessions.available_permits() == 0 {
                return None;
            }
            queue.idle += 1;
        }
        let _ = tokio::time::timeout(LINGER, self.notify.notified()).await;
        let mut queues = lock(&self.inner.queues);
        let queue = queues.get_mut(&self.key)?;
        queue.idle -= 1;
        queue.jobs.pop_front()
    }

    /// One session, for `job` and whoever comes after it. Returns a job to ask again in a new
    /// session.
    async fn session(&self, job: Job) -> Option<Job> {
        if !job.wanted() {
            return None;
        }
        let sessions = Arc::clone(&self.inner.sessions);
        let Ok(Ok(_global)) = timeout_at(job.deadline, sessions.acquire_owned()).await else {
            job.answer(MailboxEvidence::Timeout { host: None });
            return None;
        };
        match self.inner.open(&job.hosts, job.deadline).await {
            Ok(open) => self.converse(open, job).await,
            Err(evidence) => {
                self.answer_all(job, evidence);
                None
            }
        }
    }

    /// Answers `job`, and every address waiting for the same hosts when the answer is not about
    /// one address: the hosts are unreachable, private, or refused us before any recipient.
    fn answer_all(&self, job: Job, evidence: MailboxEvidence) {
        let shared = matches!(
            evidence,
            MailboxEvidence::Unreachable
                | MailboxEvidence::Answered { .. }
                | MailboxEvidence::NotAsked {
                    why: NotAsked::PrivateAddress,
                    ..
                }
        );
        let mut others = VecDeque::new();
        if shared {
            let mut queues = lock(&self.inner.queues);
            if let Some(queue) = queues.get_mut(&self.key) {
                let (same, rest) = std::mem::take(&mut queue.jobs)
                    .into_iter()
                    .partition(|j: &Job| j.hosts == job.hosts);
                queue.jobs = rest;
                others = same;
            }
        }
        for other in others {
            other.answer(evidence.clone());
        }
        job.answer(evidence);
    }

    async fn converse(&self, open: Open<'_>, first: Job) -> Option<Job> {
        let Open {
            mut session,
            capabilities,
            host,
            permit,
            counted,
        } = open;
        let mut transaction = Transaction {
            open: None,
            recipients: 0,
        };
        let mut job = first;
        let (carry, alive) = loop {
            if Instant::now() >= job.deadline {
                // Its time ran out while it waited for this session: no step left to take.
                job.answer(MailboxEvidence::Timeout { host: None });
            } else if job.wanted() {
                let asked = self
                    .ask(&mut session, &host, capabilities, &mut transaction, &job)
                    .await;
                match asked {
                    Ok(Asked::Answer(evidence, closing)) => {
                        job.answer(evidence);
                        if closing {
                            break (None, false);
                        }
                    }
                    Ok(Asked::Everyone(evidence, closing)) => {
                        self.answer_all(job, evidence);
                        break (None, !closing);
                    }
                    Ok(Asked::NewSession) => {
                        job.retried = true;
                        break (Some(job), true);
                    }
                    Err(SessionError::Timeout) => {
                        job.answer(MailboxEvidence::Timeout {
                            host: Some(host.clone()),
                        });
                        break (None, false);
                    }
                    // Only an address the syntax check let through and RFC 5321 §4.1.2 does not:
                    // it cannot be asked about, and the session is fine.
                    Err(SessionError::Command) => job.answer(MailboxEvidence::Unreachable),
                    Err(_) if !job.retried => {
                        job.retried = true;
                        break (Some(job), false);
                    }
                    Err(_) => {
                        job.answer(MailboxEvidence::Unreachable);
                        break (None, false);
                    }
                }
            }
            if transaction.recipients >= self.inner.config.rcpt_per_session {
                break (None, true);
            }
            match self.next_or_linger().await {
                Some(next) => job = next,
                None => break (None, true),
            }
        };
        // The limits are free before the QUIT, which may wait for its reply.
        drop((permit, counted));
        if alive {
            self.inner.quit_later(session);
        }
        carry
    }

    /// MAIL FROM when no transaction is open, then RCPT TO for `job`, then the catch-all probe
    /// when the address was accepted.
    async fn ask(
        &self,
        session: &mut Session,
        host: &str,
        capabilities: Capabilities,
        transaction: &mut Transaction,
        job: &Job,
    ) -> Result<Asked, SessionError> {
        let inner = &self.inner;
        let mailbox = &job.mailbox;
        let tls = session.tls();
        if mailbox.smtputf8 && !capabilities.smtputf8 {
            let evidence = MailboxEvidence::NotAsked {
                host: Some(host.to_owned()),
                why: NotAsked::NeedsSmtputf8,
            };
            return Ok(Asked::Answer(evidence, false));
        }
        if mailbox.smtputf8 && transaction.open == Some(false) {
            // RFC 5321 §4.1.1.5: RSET ends the transaction, so that MAIL FROM can open one with
            // SMTPUTF8 (RFC 6531 §3.4).
            let reset = session
                .command(Command::Rset, inner.step(job.deadline))
                .await?;
            if !reset.is_positive() {
                let evidence = answered(host, &reset, Stage::MailFrom, tls, None);
                return Ok(Asked::Everyone(evidence, true));
            }
            transaction.open = None;
        }
        if transaction.open.is_none() {
            let command = Command::MailFrom {
                address: &inner.config.mail_from,
                smtputf8: mailbox.smtputf8,
            };
            let mail = session.command(command, inner.step(job.deadline)).await?;
            if !mail.is_positive() {
                let closing = mail.closes_connection();
                let evidence = answered(host, &mail, Stage::MailFrom, tls, None);
                return Ok(Asked::Everyone(evidence, closing));
            }
            transaction.open = Some(mailbox.smtputf8);
        }
        let reply = session
            .command(Command::RcptTo(&mailbox.rcpt), inner.step(job.deadline))
            .await?;
        transaction.recipients += 1;
        let outcome = classify(&reply, Stage::RcptTo);
        // RFC 5321 §4.5.3.1.10: a server may take fewer recipients than a client names; the
        // rest go to a new session (once: a server that takes none gets its answer reported).
        if outcome == Outcome::TooManyRecipients && transaction.recipients > 1 && !job.retried {
            return Ok(Asked::NewSession);
        }
        let mut closing = reply.closes_connection();
        let catch_all = if outcome == Outcome::Deliverable && !closing {
            match self.catch_all(session, transaction, job).await {
                Ok(answer) => answer,
                Err(_) => {
                    // The address was answered; the session is not fit for another.
                    closing = true;
                    None
                }
            }
        } else {
            None
        };
        let evidence = answered(host, &reply, Stage::RcptTo, tls, catch_all);
        Ok(Asked::Answer(evidence, closing))
    }

    /// Whether the domain accepts any local part: remembered, or asked with a random one.
    async fn catch_all(
        &self,
        session: &mut Session,
        transaction: &mut Transaction,
        job: &Job,
    ) -> Result<Option<bool>, SessionError> {
        let inner = &self.inner;
        let domain = &job.mailbox.domain;
        if let Some(known) = inner.cached_catch_all(domain) {
            return Ok(Some(known));
        }
        let Some(local) = random_local_part() else {
            return Ok(None);
        };
        let rcpt = format!("{local}@{domain}");
        let reply = session
            .command(Command::RcptTo(&rcpt), inner.step(job.deadline))
            .await?;
        transaction.recipients += 1;
        let known = match classify(&reply, Stage::RcptTo) {
            Outcome::Deliverable => Some(true),
            Outcome::MailboxNotFound | Outcome::MailboxDisabled | Outcome::UnknownPermanent => {
                Some(false)
            }
            _ => None,
        };
        if let Some(answer) = known {
            inner.remember_catch_all(domain, answer);
        }
        Ok(known)
    }
}

#[cfg(test)]
mod tests;
