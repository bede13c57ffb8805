//! One SMTP conversation with one mail server, up to `RCPT TO` and never further, as a state
//! machine without I/O.
//!
//! The caller owns the connection, TLS, timeouts and the order of the mailboxes. It asks
//! [`Conversation::step`] what to do, does it, and reports what came back:
//!
//! - [`Step::Read`]: read one reply (the greeting) and give it to [`Conversation::reply`];
//! - [`Step::Send`]: send the command, read its one reply, give it to [`Conversation::reply`];
//! - [`Step::StartTls`]: run the TLS handshake and report with [`Conversation::tls`];
//! - [`Step::Tell`]: an [`Event`] for the caller: ready for a mailbox, an answer, the end.
//!
//! A step the transport could not carry (no reply in time, a closed connection, bytes that
//! are no reply) is reported with [`Conversation::broken`].
//!
//! ```text
//! greeting ─► EHLO ─┬──────────────────────────────────────────────────┬─► ready
//!                   ├─(5yz)─► HELO ─────────────────────────────────────┤
//!                   └─(STARTTLS offered)─► STARTTLS ─(220)─► TLS ─► EHLO ┘
//! ready ─ask─► [RSET] ─► [MAIL FROM] ─► RCPT TO ─(2yz)─► RCPT TO <random> ─► answer ─► ready
//! ready ─end─► QUIT
//! ```
//!
//! There is no `DATA`: every command is a [`Command`], which cannot express one.

use super::{Capabilities, Command, Mailbox, Outcome, Reply, Stage, classify};
use crate::report::{MailboxEvidence, NotAsked};

/// The conversation with one server: what was learnt and where it stands.
#[derive(Debug)]
pub struct Conversation {
    host: String,
    helo: String,
    sender: String,
    /// Whether STARTTLS is tried when offered: off on a second connection after a failed
    /// handshake (RFC 7435 §3).
    starttls: bool,
    tls: bool,
    capabilities: Capabilities,
    /// `Some(smtputf8)` once `MAIL FROM` was accepted: a transaction is open, with or without
    /// SMTPUTF8.
    transaction: Option<bool>,
    /// `RCPT TO` sent in this session, catch-all probes included.
    recipients: usize,
    /// An event to tell before anything else.
    event: Option<Event>,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Handshake,
    Ready,
    Reset(Question),
    MailFrom(Question),
    RcptTo(Question),
    /// The catch-all probe is out; the reply to the mailbox's own `RCPT TO` waits for it.
    CatchAll {
        probe: String,
        reply: Reply,
    },
    Quit,
    Close,
}

/// A mailbox being asked about.
#[derive(Clone, Debug)]
struct Question {
    mailbox: Mailbox,
    catch_all: CatchAll,
    asked_before: bool,
}

/// What to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Read one reply without sending anything.
    Read,
    /// Send the command and read its one reply.
    Send(Command<'a>),
    /// The server said 220 to STARTTLS: run the TLS handshake on the connection, dropping any
    /// bytes read before it (RFC 3207 §4.2).
    StartTls,
    Tell(Event),
}

/// What the conversation has to tell its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Ready for a mailbox: [`Conversation::ask`], or [`Conversation::end`].
    Ready(Idle),
    /// What the server said about the mailbox asked.
    Answer(Answer),
    /// The server took no more recipients, or the connection broke: ask about the mailbox
    /// again in a new session.
    AskElsewhere,
    /// This server gives no session; the evidence is its part in [`super::Attempts`].
    NoSession(MailboxEvidence),
    /// The TLS handshake failed after the server's 220: connect again and go on in cleartext,
    /// with a conversation made with `starttls` off (RFC 7435 §3).
    Reconnect,
    /// Send `QUIT` (RFC 5321 §4.1.1.10) and close; its reply tells nothing.
    Quit,
    /// Close without a word: the server closed, or the connection cannot go on.
    Close,
}

/// Proof that the conversation was ready for a mailbox when it was asked about one.
#[derive(Debug, PartialEq, Eq)]
pub struct Idle(());

/// The answer about one mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub evidence: MailboxEvidence,
    /// The answer holds for every mailbox waiting for this server, not only the one asked: the
    /// server refused our sender before any recipient was named.
    pub everyone: bool,
    /// What the catch-all probe learnt about the domain, for the caller to remember; `None`
    /// when it did not ask, or learnt nothing.
    pub learnt_catch_all: Option<bool>,
}

/// What the caller knows about the domain accepting any local part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatchAll {
    /// Known already (the caller's cache).
    Known(bool),
    /// Ask, after an accepted recipient, with this local part, which no one should have: a
    /// random one, drawn by the caller.
    Probe(String),
    /// Neither known nor to be asked.
    Unknown,
}

/// Why the transport could not carry a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broken {
    /// No reply (or no room for our bytes) before the deadline.
    Timeout,
    /// The connection closed or failed, or the server sent bytes that are no reply.
    Lost,
}

impl Conversation {
    /// A conversation with `host` (its name, for the evidence) about to read its greeting,
    /// introducing itself as `helo` and sending from `sender` (empty for `<>`).
    pub fn new(host: &str, helo: &str, sender: &str, starttls: bool) -> Conversation {
        Conversation {
            host: host.to_owned(),
            helo: helo.to_owned(),
            sender: sender.to_owned(),
            starttls,
            tls: false,
            capabilities: Capabilities::default(),
            transaction: None,
            recipients: 0,
            event: None,
            state: State::Greeting,
        }
    }

    /// What to do now. An event is told once; the step after it says what follows.
    pub fn step(&mut self) -> Step<'_> {
        if let Some(event) = self.event.take() {
            return Step::Tell(event);
        }
        match &self.state {
            State::Greeting => Step::Read,
            State::Ehlo => Step::Send(Command::Ehlo(&self.helo)),
            State::Helo => Step::Send(Command::Helo(&self.helo)),
            State::StartTls => Step::Send(Command::StartTls),
            State::Handshake => Step::StartTls,
            State::Ready => Step::Tell(Event::Ready(Idle(()))),
            State::Reset(_) => Step::Send(Command::Rset),
            State::MailFrom(question) => Step::Send(Command::MailFrom {
                address: &self.sender,
                smtputf8: question.mailbox.smtputf8(),
            }),
            State::RcptTo(question) => Step::Send(Command::RcptTo(question.mailbox.rcpt())),
            State::CatchAll { probe, .. } => Step::Send(Command::RcptTo(probe)),
            State::Quit => Step::Tell(Event::Quit),
            State::Close => Step::Tell(Event::Close),
        }
    }

    /// How many `RCPT TO` this session sent, catch-all probes included.
    pub fn recipients(&self) -> usize {
        self.recipients
    }

    /// The server's reply to the last [`Step::Read`] or [`Step::Send`].
    pub fn reply(&mut self, reply: Reply) {
        match std::mem::replace(&mut self.state, State::Close) {
            State::Greeting if reply.is_positive() => self.state = State::Ehlo,
            // RFC 5321 §3.1: 554 is "no SMTP service here", 421 and other 4yz "not now". The
            // next host may serve (RFC 5321 §5.1); this reply is the evidence if none does.
            State::Greeting => self.no_session(&reply),
            State::Ehlo if reply.is_positive() => {
                self.capabilities = Capabilities::from_ehlo(&reply);
                self.state = if self.starttls && !self.tls && self.capabilities.starttls {
                    State::StartTls
                } else {
                    State::Ready
                };
            }
            // RFC 5321 §3.2: a server that does not know EHLO answers it with a 5yz; HELO then.
            State::Ehlo if reply.is_permanent() => self.state = State::Helo,
            State::Helo if reply.is_positive() => {
                self.capabilities = Capabilities::default();
                self.state = State::Ready;
            }
            State::Ehlo | State::Helo => self.no_session(&reply),
            State::StartTls if reply.code == 220 => self.state = State::Handshake,
            // RFC 3207 §4: any other reply (454 TLS not available) leaves the session in
            // cleartext, with what the EHLO reply offered.
            State::StartTls => self.state = State::Ready,
            State::Reset(question) if reply.is_positive() => {
                self.transaction = None;
                self.state = State::MailFrom(question);
            }
            State::MailFrom(question) if reply.is_positive() => {
                self.transaction = Some(question.mailbox.smtputf8());
                self.state = State::RcptTo(question);
            }
            // RFC 5321 §4.1.1.2, §4.1.1.5: without a transaction no recipient can be named, so
            // the refusal (of our sender, or of this client) is the answer for everyone.
            State::Reset(_) | State::MailFrom(_) => {
                let evidence = self.answered(Stage::MailFrom, &reply, None);
                self.event = Some(answer(evidence, true, None));
                self.state = after(&reply, State::Quit);
            }
            State::RcptTo(question) => self.recipient(question, reply),
            State::CatchAll { reply: first, .. } => {
                self.recipients += 1;
                let learnt = catch_all(&reply);
                let evidence = self.answered(Stage::RcptTo, &first, learnt);
                self.event = Some(answer(evidence, false, learnt));
                self.state = after(&reply, State::Ready);
            }
            // Nothing was asked: a server out of step is not talked to any further.
            State::Handshake | State::Ready | State::Quit | State::Close => {}
        }
    }

    /// The result of the TLS handshake after [`Step::StartTls`].
    pub fn tls(&mut self, established: bool) {
        if !matches!(self.state, State::Handshake) {
            return;
        }
        if established {
            // RFC 3207 §4.2: the client discards what it learnt before TLS and says EHLO again.
            self.tls = true;
            self.capabilities = Capabilities::default();
            self.state = State::Ehlo;
        } else {
            self.event = Some(Event::Reconnect);
            self.state = State::Close;
        }
    }

    /// The transport could not carry the last step.
    pub fn broken(&mut self, why: Broken) {
        let lost = |this: &Conversation| match why {
            Broken::Timeout => MailboxEvidence::Timeout {
                host: Some(this.host.clone()),
            },
            Broken::Lost => MailboxEvidence::Unreachable,
        };
        let event = match std::mem::replace(&mut self.state, State::Close) {
            State::Greeting | State::Ehlo | State::Helo | State::StartTls => {
                Event::NoSession(lost(self))
            }
            State::Handshake => Event::Reconnect,
            State::Reset(question) | State::MailFrom(question) | State::RcptTo(question) => {
                if why == Broken::Lost && !question.asked_before {
                    Event::AskElsewhere
                } else {
                    answer(lost(self), false, None)
                }
            }
            // The mailbox was answered; only the probe is lost, and the session with it.
            State::CatchAll { reply, .. } => {
                answer(self.answered(Stage::RcptTo, &reply, None), false, None)
            }
            State::Ready | State::Quit | State::Close => Event::Close,
        };
        self.event = Some(event);
    }

    /// Asks about `mailbox`. `asked_before` when a session already sent it away with
    /// [`Event::AskElsewhere`]: it is not sent away twice.
    pub fn ask(&mut self, _ready: Idle, mailbox: Mailbox, catch_all: CatchAll, asked_before: bool) {
        if mailbox.smtputf8() && !self.capabilities.smtputf8 {
            // RFC 6531 §3.2: without SMTPUTF8 a UTF-8 mailbox cannot be named.
            let evidence = MailboxEvidence::NotAsked {
                host: Some(self.host.clone()),
                why: NotAsked::NeedsSmtputf8,
            };
            self.event = Some(answer(evidence, false, None));
            return;
        }
        if Command::RcptTo(mailbox.rcpt()).to_bytes().is_err() {
            // An address the syntax check let through and RFC 5321 §4.1.2 does not: it cannot
            // be asked about, and the session is fine.
            self.event = Some(answer(MailboxEvidence::Unreachable, false, None));
            return;
        }
        let smtputf8 = mailbox.smtputf8();
        let question = Question {
            mailbox,
            catch_all,
            asked_before,
        };
        self.state = match self.transaction {
            // RFC 5321 §4.1.1.5: RSET ends the transaction, so that MAIL FROM can open one
            // with SMTPUTF8 (RFC 6531 §3.4).
            Some(false) if smtputf8 => State::Reset(question),
            Some(_) => State::RcptTo(question),
            None => State::MailFrom(question),
        };
    }

    /// Ends the conversation when there is nothing more to ask.
    pub fn end(&mut self, _ready: Idle) {
        self.state = State::Quit;
    }

    fn recipient(&mut self, question: Question, reply: Reply) {
        self.recipients += 1;
        let outcome = classify(&reply, Stage::RcptTo);
        // RFC 5321 §4.5.3.1.10: a server may take fewer recipients than a client names; the
        // rest go to a new session. Once: a server that takes none gets its answer reported.
        if outcome == Outcome::TooManyRecipients && self.recipients > 1 && !question.asked_before {
            self.event = Some(Event::AskElsewhere);
            self.state = State::Quit;
            return;
        }
        let probe = match &question.catch_all {
            _ if outcome != Outcome::Deliverable || reply.closes_connection() => None,
            CatchAll::Known(known) => {
                let evidence = self.answered(Stage::RcptTo, &reply, Some(*known));
                self.event = Some(answer(evidence, false, None));
                self.state = State::Ready;
                return;
            }
            CatchAll::Probe(local) => Some(format!("{local}@{}", question.mailbox.domain())),
            CatchAll::Unknown => None,
        };
        match probe {
            // A probe that cannot be sent (too long for the domain) is no reason to end.
            Some(probe) if Command::RcptTo(&probe).to_bytes().is_ok() => {
                self.state = State::CatchAll { probe, reply };
            }
            _ => {
                let evidence = self.answered(Stage::RcptTo, &reply, None);
                self.event = Some(answer(evidence, false, None));
                self.state = after(&reply, State::Ready);
            }
        }
    }

    /// The session ends before it was ready: `reply` is this host's evidence.
    fn no_session(&mut self, reply: &Reply) {
        let evidence = self.answered(Stage::Greeting, reply, None);
        self.event = Some(Event::NoSession(evidence));
        self.state = after(reply, State::Quit);
    }

    fn answered(&self, stage: Stage, reply: &Reply, catch_all: Option<bool>) -> MailboxEvidence {
        MailboxEvidence::Answered {
            host: self.host.clone(),
            code: reply.code,
            enhanced: reply.enhanced.map(|e| e.to_string()),
            message: reply.lines.join(" "),
            outcome: classify(reply, stage),
            tls: self.tls,
            catch_all,
        }
    }
}

fn answer(evidence: MailboxEvidence, everyone: bool, learnt_catch_all: Option<bool>) -> Event {
    Event::Answer(Answer {
        evidence,
        everyone,
        learnt_catch_all,
    })
}

/// What follows `reply`: `next`, unless the server is closing the connection (421, RFC 5321
/// §3.8), when there is nothing to say QUIT to.
fn after(reply: &Reply, next: State) -> State {
    if reply.closes_connection() {
        State::Close
    } else {
        next
    }
}

/// What the reply to a random local part says about the domain: accepted, it takes any
/// address; refused as unknown, it checks its mailboxes. Anything else (a limit, greylisting,
/// a block) says nothing.
fn catch_all(reply: &Reply) -> Option<bool> {
    match classify(reply, Stage::RcptTo) {
        Outcome::Deliverable => Some(true),
        Outcome::MailboxNotFound | Outcome::MailboxDisabled | Outcome::UnknownPermanent => {
            Some(false)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
