//! The transport loop around the core's [`Conversation`]: it moves the bytes the conversation
//! asks for, each step under a deadline, and hands the conversation's events to the scheduler.
//! Every SMTP decision (what to send, what a reply means, when to stop) is the core's.

use std::net::IpAddr;
use std::time::Duration;

use mailvet_core::smtp::{Broken, CatchAll, Command, Conversation, Event, Step};
use tokio::time::Instant;

use super::connection::Open;
use super::schedule::{Job, Running, Worker};
use super::session::{Session, SessionError};
use super::{Inner, tls};

/// How long a QUIT may wait for its reply. It runs after the session's permits are released.
pub(super) const QUIT_WAIT: Duration = Duration::from_secs(2);

impl Inner {
    /// A step's deadline: the step timeout, capped by the address's deadline.
    pub(super) fn step(&self, deadline: Instant) -> Instant {
        (Instant::now() + self.config.step_timeout).min(deadline)
    }

    /// Moves the bytes `conversation` asks for until it has something to tell. The TLS
    /// handshake names `host` (or `ip`, for an address literal) in SNI.
    pub(super) async fn drive(
        &self,
        conversation: &mut Conversation,
        session: &mut Session,
        host: &str,
        ip: IpAddr,
        deadline: Instant,
    ) -> Event {
        loop {
            let until = self.step(deadline);
            let result = match conversation.step() {
                Step::Tell(event) => return event,
                Step::Read => session.read_reply(until).await,
                Step::Send(command) => session.command(command, until).await,
                Step::StartTls => {
                    let name = tls::server_name(host, ip);
                    let handshake = session.start_tls(&self.tls, name, until).await;
                    conversation.tls(handshake.is_ok());
                    continue;
                }
            };
            match result {
                Ok(reply) => conversation.reply(reply),
                Err(SessionError::Timeout) => conversation.broken(Broken::Timeout),
                Err(_) => conversation.broken(Broken::Lost),
            }
        }
    }

    /// Says QUIT (RFC 5321 §4.1.1.10) when the conversation ends with [`Event::Quit`], and
    /// waits for the reply in the background, so that the session's limits are free at once
    /// (some servers wait before they answer QUIT).
    pub(super) fn quit_later(&self, mut session: Session) {
        let running = Running::start(&self.tasks);
        tokio::spawn(async move {
            let _ = session
                .command(Command::Quit, Instant::now() + QUIT_WAIT)
                .await;
            drop(running);
        });
    }
}

impl Worker {
    /// Asks the open session about `first` and the addresses of the domain that come after it.
    /// Returns an address to ask again in a new session.
    pub(super) async fn converse(&self, open: Open<'_>, first: Job) -> Option<Job> {
        let Open {
            mut session,
            mut conversation,
            ready,
            host,
            ip,
            permit,
            counted,
        } = open;
        let inner = &self.inner;
        let mut first = Some(first);
        let mut asking: Option<Job> = None;
        let mut carry = None;
        let mut event = Event::Ready(ready);
        loop {
            match event {
                Event::Ready(ready) => {
                    let recipients = conversation.recipients();
                    match self.next_job(&mut first, recipients).await {
                        Some(job) => {
                            let catch_all = match inner.cached_catch_all(job.mailbox.domain()) {
                                Some(known) => CatchAll::Known(known),
                                None => {
                                    random_local_part().map_or(CatchAll::Unknown, CatchAll::Probe)
                                }
                            };
                            let mailbox = job.mailbox.clone();
                            conversation.ask(ready, mailbox, catch_all, job.retried);
                            asking = Some(job);
                        }
                        None => conversation.end(ready),
                    }
                }
                Event::Answer(answer) => {
                    if let Some(job) = asking.take() {
                        if let Some(learnt) = answer.learnt_catch_all {
                            inner.remember_catch_all(job.mailbox.domain(), learnt);
                        }
                        if answer.everyone {
                            self.answer_all(job, answer.evidence);
                        } else {
                            job.answer(answer.evidence);
                        }
                    }
                }
                Event::AskElsewhere => {
                    carry = asking.take().map(|mut job| {
                        job.retried = true;
                        job
                    });
                }
                Event::Quit => {
                    // The limits are free before the QUIT, which may wait for its reply.
                    drop((permit, counted));
                    inner.quit_later(session);
                    break;
                }
                // A session that was ready neither fails to open nor reconnects.
                Event::Close | Event::NoSession(_) | Event::Reconnect => break,
            }
            let deadline = asking
                .as_ref()
                .map_or_else(Instant::now, |job| job.deadline);
            event = inner
                .drive(&mut conversation, &mut session, &host, ip, deadline)
                .await;
        }
        carry
    }
}

/// A local part no one has, for the catch-all probe: 20 random hex digits.
pub(super) fn random_local_part() -> Option<String> {
    let mut bytes = [0u8; 10];
    getrandom::getrandom(&mut bytes).ok()?;
    let mut out = String::from("mailvet-");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Some(out)
}
