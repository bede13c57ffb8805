//! Byte-level transcripts, one row per case of the mail world (tests/world/README.md) and per
//! server behaviour the world does not show. No sockets: the table plays the server.
//!
//! A transcript has one line per event on the wire: `S: text` a line from the server (the lines
//! up to the next `C:` or marker make one reply), `C: text` a line the client must send, `TLS ok`
//! or `TLS fails` the handshake's result, `timeout` or `lost` a step the transport could not
//! carry. Every reply is fed to the push parser one octet at a time.

use super::*;
use crate::smtp::Stage;
use crate::syntax::parse_in_tests as parse;

#[path = "rules.rs"]
mod rules;

/// The random local part the caller draws for the catch-all probe.
const RANDOM: &str = "mailvet-0123456789abcdef0123";

/// What the caller knows about the domain accepting anything.
#[derive(Clone, Copy)]
enum Cache {
    Miss,
    Hit(bool),
    /// No randomness to draw a local part from.
    NoRandom,
}

struct Ask {
    address: &'static str,
    cache: Cache,
    asked_before: bool,
}

const fn ask(address: &'static str) -> Ask {
    Ask {
        address,
        cache: Cache::Miss,
        asked_before: false,
    }
}

const fn cached(address: &'static str, catch_all: bool) -> Ask {
    Ask {
        address,
        cache: Cache::Hit(catch_all),
        asked_before: false,
    }
}

const fn again(address: &'static str) -> Ask {
    Ask {
        address,
        cache: Cache::Hit(false),
        asked_before: true,
    }
}

struct Case {
    name: &'static str,
    starttls: bool,
    asks: &'static [Ask],
    transcript: &'static str,
    /// What the conversation told, in order: see [`told`].
    told: &'static [&'static str],
}

/// The world's exim greeting and its EHLO reply before and after STARTTLS.
macro_rules! exim_ehlo {
    () => {
        "S: 250-mx.world.test Hello probe.test [127.0.0.1]
         S: 250-SIZE 52428800
         S: 250-8BITMIME
         S: 250-PIPELINING
         S: 250-STARTTLS
         S: 250-SMTPUTF8
         S: 250 HELP"
    };
    (tls) => {
        "S: 250-mx.world.test Hello probe.test [127.0.0.1]
         S: 250-SIZE 52428800
         S: 250-8BITMIME
         S: 250-PIPELINING
         S: 250-SMTPUTF8
         S: 250 HELP"
    };
}

/// Greeting, EHLO, STARTTLS and EHLO again, as the world's exim does them.
macro_rules! world {
    ($($rest:expr),* $(,)?) => {
        concat!(
            "S: 220 mx.world.test ESMTP Exim 4.96\n",
            "C: EHLO probe.test\n",
            exim_ehlo!(), "\n",
            "C: STARTTLS\n",
            "S: 220 TLS go ahead\n",
            "TLS ok\n",
            "C: EHLO probe.test\n",
            exim_ehlo!(tls), "\n",
            $($rest, "\n"),*
        )
    };
}

/// A server with no extension, greeted and ready for a mailbox.
macro_rules! plain {
    ($($rest:expr),* $(,)?) => {
        concat!(
            "S: 220 fake.test\n",
            "C: EHLO probe.test\n",
            "S: 250 fake.test\n",
            $($rest, "\n"),*
        )
    };
}

/// The same, with a transaction opened for the null sender.
macro_rules! opened {
    ($($rest:expr),* $(,)?) => {
        plain!("C: MAIL FROM:<>", "S: 250 OK", $($rest),*)
    };
}

const CASES: &[Case] = &[
    Case {
        name: "valid mailbox over STARTTLS, the catch-all probe refused",
        starttls: true,
        asks: &[ask("alice@valid.test")],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<alice@valid.test>",
            "S: 250 Accepted",
            "C: RCPT TO:<mailvet-0123456789abcdef0123@valid.test>",
            "S: 550 5.1.1 No such user here",
        ),
        told: &["250 deliverable tls catch_all=false learnt=false", "quit"],
    },
    Case {
        name: "unknown, disabled and full mailboxes in one session",
        starttls: true,
        asks: &[
            ask("carol@valid.test"),
            ask("disabled@valid.test"),
            ask("full@valid.test"),
        ],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<carol@valid.test>",
            "S: 550 5.1.1 No such user here",
            "C: RCPT TO:<disabled@valid.test>",
            "S: 550 5.2.1 Mailbox disabled, not accepting messages",
            "C: RCPT TO:<full@valid.test>",
            "S: 452 4.2.2 Mailbox full, try again later",
        ),
        told: &[
            "550 mailbox_not_found tls",
            "550 mailbox_disabled tls",
            "452 mailbox_full tls",
            "quit",
        ],
    },
    Case {
        name: "catch-all domain",
        starttls: true,
        asks: &[ask("anything@catchall.test")],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<anything@catchall.test>",
            "S: 250 Accepted",
            "C: RCPT TO:<mailvet-0123456789abcdef0123@catchall.test>",
            "S: 250 Accepted",
        ),
        told: &["250 deliverable tls catch_all=true learnt=true", "quit"],
    },
    Case {
        name: "a catch-all answer already known sends no probe",
        starttls: true,
        asks: &[cached("other@catchall.test", true)],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<other@catchall.test>",
            "S: 250 Accepted",
        ),
        told: &["250 deliverable tls catch_all=true", "quit"],
    },
    Case {
        name: "greylisting, 450 and 451",
        starttls: true,
        asks: &[ask("a@greylist.test"), ask("a@greylist-451.test")],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<a@greylist.test>",
            "S: 450 4.2.0 Greylisted, try again later",
            "C: RCPT TO:<a@greylist-451.test>",
            "S: 451 4.7.1 Greylisted, please try again in 5 minutes",
        ),
        told: &[
            "450 temporary_failure tls",
            "451 temporary_failure tls",
            "quit",
        ],
    },
    Case {
        name: "tarpit: the greeting never comes",
        starttls: true,
        asks: &[ask("a@tarpit.test")],
        transcript: "timeout",
        told: &["no_session timeout mx.world.test", "close"],
    },
    Case {
        name: "tarpit: RCPT TO never answered",
        starttls: true,
        asks: &[ask("a@tarpit-rcpt.test"), ask("b@tarpit-rcpt.test")],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<a@tarpit-rcpt.test>",
            "timeout",
        ),
        told: &["timeout mx.world.test", "close"],
    },
    Case {
        name: "policy block is no missing mailbox",
        starttls: true,
        asks: &[ask("a@blocked.test")],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<a@blocked.test>",
            "S: 550 5.7.1 Service unavailable; client [127.0.0.1] blocked using dnsbl.test",
        ),
        told: &["550 blocked tls", "quit"],
    },
    Case {
        name: "UTF-8 mailbox on an IDN domain, with SMTPUTF8",
        starttls: true,
        asks: &[ask("jörg@bücher.test")],
        transcript: world!(
            "C: MAIL FROM:<> SMTPUTF8",
            "S: 250 OK",
            "C: RCPT TO:<jörg@xn--bcher-kva.test>",
            "S: 250 Accepted",
            "C: RCPT TO:<mailvet-0123456789abcdef0123@xn--bcher-kva.test>",
            "S: 550 5.1.1 No such user here",
        ),
        told: &["250 deliverable tls catch_all=false learnt=false", "quit"],
    },
    Case {
        name: "RSET opens a transaction with SMTPUTF8 after one without",
        starttls: true,
        asks: &[
            cached("info@bücher.test", false),
            cached("jörg@bücher.test", false),
            cached("info@bücher.test", false),
        ],
        transcript: world!(
            "C: MAIL FROM:<>",
            "S: 250 OK",
            "C: RCPT TO:<info@xn--bcher-kva.test>",
            "S: 250 Accepted",
            "C: RSET",
            "S: 250 Reset OK",
            "C: MAIL FROM:<> SMTPUTF8",
            "S: 250 OK",
            "C: RCPT TO:<jörg@xn--bcher-kva.test>",
            "S: 250 Accepted",
            // An ASCII mailbox fits a transaction opened with SMTPUTF8.
            "C: RCPT TO:<info@xn--bcher-kva.test>",
            "S: 250 Accepted",
        ),
        told: &[
            "250 deliverable tls catch_all=false",
            "250 deliverable tls catch_all=false",
            "250 deliverable tls catch_all=false",
            "quit",
        ],
    },
    Case {
        name: "a refused RSET answers everyone",
        starttls: false,
        asks: &[cached("info@bücher.test", false), ask("jörg@bücher.test")],
        transcript: "S: 220 mx ESMTP
             C: EHLO probe.test
             S: 250-mx
             S: 250 SMTPUTF8
             C: MAIL FROM:<>
             S: 250 OK
             C: RCPT TO:<info@xn--bcher-kva.test>
             S: 250 OK
             C: RSET
             S: 502 5.5.1 RSET not implemented",
        told: &[
            "250 deliverable catch_all=false",
            "502 unknown_permanent_failure everyone",
            "quit",
        ],
    },
    Case {
        name: "no SMTPUTF8: a UTF-8 mailbox is not named, an ASCII one is",
        starttls: false,
        asks: &[ask("jörg@bücher.test"), cached("info@bücher.test", false)],
        transcript: "S: 220 mx ESMTP
             C: EHLO probe.test
             S: 250-mx
             S: 250 PIPELINING
             C: MAIL FROM:<>
             S: 250 OK
             C: RCPT TO:<info@xn--bcher-kva.test>
             S: 250 OK",
        told: &[
            "not_asked needs_smtputf8 mx.world.test",
            "250 deliverable catch_all=false",
            "quit",
        ],
    },
    Case {
        name: "HELO when EHLO is not known: no extensions",
        starttls: true,
        asks: &[ask("jörg@bücher.test"), ask("someone@example.test")],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             S: 502 5.5.2 EHLO not implemented
             C: HELO probe.test
             S: 250 fake.test
             C: MAIL FROM:<>
             S: 250 2.0.0 OK
             C: RCPT TO:<someone@example.test>
             S: 250 2.1.5 OK
             C: RCPT TO:<mailvet-0123456789abcdef0123@example.test>
             S: 550 5.1.1 No such user",
        told: &[
            "not_asked needs_smtputf8 mx.world.test",
            "250 deliverable catch_all=false learnt=false",
            "quit",
        ],
    },
    Case {
        name: "a 4yz to EHLO is no HELO",
        starttls: true,
        asks: &[ask("a@example.test")],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             S: 451 4.3.0 Try later",
        told: &["no_session 451 temporary_failure", "quit"],
    },
    Case {
        name: "HELO refused too",
        starttls: true,
        asks: &[ask("a@example.test")],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             S: 500 5.5.1 What?
             C: HELO probe.test
             S: 550 5.7.1 Go away, you are on our blocklist",
        told: &["no_session 550 blocked", "quit"],
    },
    Case {
        name: "421 greeting: no session, nothing said",
        starttls: true,
        asks: &[ask("a@example.test")],
        transcript: "S: 421 4.3.2 Too busy, try later",
        told: &["no_session 421 temporary_failure", "close"],
    },
    Case {
        name: "554 greeting: no SMTP service here",
        starttls: true,
        asks: &[ask("a@example.test")],
        transcript: "S: 554-mx.example No SMTP service here
             S: 554 Your host is listed at dnsbl.test",
        told: &["no_session 554 blocked", "quit"],
    },
    Case {
        name: "a refused sender answers everyone",
        starttls: false,
        asks: &[ask("a@example.test")],
        transcript: plain!("C: MAIL FROM:<>", "S: 550 5.7.1 Sender rejected by policy"),
        told: &["550 blocked everyone", "quit"],
    },
    Case {
        name: "a sender refused with 421: the server closes",
        starttls: false,
        asks: &[ask("a@example.test")],
        transcript: plain!("C: MAIL FROM:<>", "S: 421 4.7.0 Too many errors, closing"),
        told: &["421 temporary_failure everyone", "close"],
    },
    Case {
        name: "452 4.5.3 after a recipient: the next one goes to a new session",
        starttls: false,
        asks: &[cached("a@example.test", false), ask("b@example.test")],
        transcript: opened!(
            "C: RCPT TO:<a@example.test>",
            "S: 250 OK",
            "C: RCPT TO:<b@example.test>",
            "S: 452 4.5.3 Too many recipients",
        ),
        told: &["250 deliverable catch_all=false", "ask_elsewhere", "quit"],
    },
    Case {
        name: "452 4.5.3 in the new session too: reported, not sent away again",
        starttls: false,
        asks: &[cached("a@example.test", false), again("b@example.test")],
        transcript: opened!(
            "C: RCPT TO:<a@example.test>",
            "S: 250 OK",
            "C: RCPT TO:<b@example.test>",
            "S: 452 4.5.3 Too many recipients",
        ),
        told: &[
            "250 deliverable catch_all=false",
            "452 too_many_recipients",
            "quit",
        ],
    },
    Case {
        name: "452 4.5.3 to the first recipient is its answer",
        starttls: false,
        asks: &[ask("a@example.test")],
        transcript: opened!(
            "C: RCPT TO:<a@example.test>",
            "S: 452 4.5.3 Too many recipients",
        ),
        told: &["452 too_many_recipients", "quit"],
    },
    Case {
        name: "the catch-all probe meets the recipient limit: unknown, not false",
        starttls: false,
        asks: &[ask("a@example.test")],
        transcript: opened!(
            "C: RCPT TO:<a@example.test>",
            "S: 250 OK",
            "C: RCPT TO:<mailvet-0123456789abcdef0123@example.test>",
            "S: 452 4.5.3 Too many recipients",
        ),
        told: &["250 deliverable", "quit"],
    },
    Case {
        name: "no randomness: no catch-all probe",
        starttls: false,
        asks: &[Ask {
            address: "a@example.test",
            cache: Cache::NoRandom,
            asked_before: false,
        }],
        transcript: opened!("C: RCPT TO:<a@example.test>", "S: 250 OK"),
        told: &["250 deliverable", "quit"],
    },
    Case {
        name: "STARTTLS refused with 454: on in cleartext",
        starttls: true,
        asks: &[cached("a@example.test", false)],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             S: 250-fake.test
             S: 250 STARTTLS
             C: STARTTLS
             S: 454 4.7.0 TLS not available due to temporary reason
             C: MAIL FROM:<>
             S: 250 OK
             C: RCPT TO:<a@example.test>
             S: 250 OK",
        told: &["250 deliverable catch_all=false", "quit"],
    },
    Case {
        name: "a failed TLS handshake: connect again",
        starttls: true,
        asks: &[ask("a@example.test")],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             S: 250-fake.test
             S: 250 STARTTLS
             C: STARTTLS
             S: 220 2.0.0 Go ahead
             TLS fails",
        told: &["reconnect", "close"],
    },
    Case {
        name: "the second connection does not try STARTTLS",
        starttls: false,
        asks: &[cached("a@example.test", false)],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             S: 250-fake.test
             S: 250 STARTTLS
             C: MAIL FROM:<>
             S: 250 OK
             C: RCPT TO:<a@example.test>
             S: 250 OK",
        told: &["250 deliverable catch_all=false", "quit"],
    },
    Case {
        name: "a connection lost at RCPT TO: ask again elsewhere, once",
        starttls: false,
        asks: &[ask("drop@example.test")],
        transcript: opened!("C: RCPT TO:<drop@example.test>", "lost"),
        told: &["ask_elsewhere", "close"],
    },
    Case {
        name: "lost again in the second session: unreachable",
        starttls: false,
        asks: &[again("drop@example.test")],
        transcript: plain!("C: MAIL FROM:<>", "lost"),
        told: &["unreachable", "close"],
    },
    Case {
        name: "lost before the session was ready",
        starttls: false,
        asks: &[ask("a@example.test")],
        transcript: "S: 220 fake.test
             C: EHLO probe.test
             lost",
        told: &["no_session unreachable", "close"],
    },
    Case {
        name: "a 421 to RCPT TO ends the session without QUIT",
        starttls: false,
        asks: &[ask("a@example.test"), ask("b@example.test")],
        transcript: opened!(
            "C: RCPT TO:<a@example.test>",
            "S: 421 4.7.0 Too many connections, closing",
        ),
        told: &["421 temporary_failure", "close"],
    },
    Case {
        name: "the catch-all probe times out: the mailbox keeps its answer, the session ends",
        starttls: false,
        asks: &[ask("a@example.test"), ask("b@example.test")],
        transcript: opened!(
            "C: RCPT TO:<a@example.test>",
            "S: 250 OK",
            "C: RCPT TO:<mailvet-0123456789abcdef0123@example.test>",
            "timeout",
        ),
        told: &["250 deliverable", "close"],
    },
];

#[test]
fn transcripts() {
    for case in CASES {
        assert_eq!(told(case), case.told, "{}", case.name);
    }
}

/// Plays `case`, checking every octet the client sends, and says what the conversation told.
fn told(case: &Case) -> Vec<String> {
    let mut wire = case
        .transcript
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .peekable();
    let mut asks = case.asks.iter();
    let mut told = Vec::new();
    let mut conversation = Conversation::new("mx.world.test", "probe.test", "", case.starttls);
    loop {
        match conversation.step() {
            Step::Read => {}
            Step::Send(command) => {
                let sent = String::from_utf8(command.to_bytes().unwrap()).unwrap();
                let expected = wire.next().and_then(|l| l.strip_prefix("C: "));
                assert_eq!(
                    Some(sent.as_str()),
                    expected.map(|l| format!("{l}\r\n")).as_deref(),
                    "{}",
                    case.name
                );
            }
            Step::StartTls => {
                match wire.next() {
                    Some("TLS ok") => conversation.tls(true),
                    Some("TLS fails") => conversation.tls(false),
                    other => panic!("{}: a TLS handshake, not {other:?}", case.name),
                }
                continue;
            }
            Step::Tell(Event::Ready(idle)) => {
                match asks.next() {
                    Some(ask) => {
                        let address = parse(ask.address).unwrap();
                        let catch_all = match ask.cache {
                            Cache::Miss => CatchAll::Probe(RANDOM.to_owned()),
                            Cache::Hit(known) => CatchAll::Known(known),
                            Cache::NoRandom => CatchAll::Unknown,
                        };
                        conversation.ask(idle, Mailbox::new(&address), catch_all, ask.asked_before);
                    }
                    None => conversation.end(idle),
                }
                continue;
            }
            Step::Tell(event) => {
                let end = matches!(event, Event::Quit | Event::Close);
                told.push(describe(event));
                if end {
                    break;
                }
                continue;
            }
        }
        match wire.peek().copied() {
            Some("timeout") => conversation.broken(Broken::Timeout),
            Some("lost") => conversation.broken(Broken::Lost),
            _ => {
                let mut bytes = Vec::new();
                while let Some(line) = wire.peek().and_then(|l| l.strip_prefix("S: ")) {
                    bytes.extend_from_slice(line.as_bytes());
                    bytes.extend_from_slice(b"\r\n");
                    wire.next();
                }
                assert!(!bytes.is_empty(), "{}: the server says nothing", case.name);
                conversation.reply(parse_octet_by_octet(&bytes));
                continue;
            }
        }
        wire.next();
    }
    assert_eq!(wire.next(), None, "{}: left on the wire", case.name);
    told
}

/// The reply in `bytes`, checking that no shorter prefix is taken for a whole reply.
fn parse_octet_by_octet(bytes: &[u8]) -> Reply {
    for end in 0..bytes.len() {
        assert_eq!(Reply::parse(&bytes[..end]), Ok(None), "{:?}", &bytes[..end]);
    }
    let (reply, used) = Reply::parse(bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    reply
}

fn describe(event: Event) -> String {
    match event {
        Event::Ready(_) => "ready".into(),
        Event::Answer(Answer {
            evidence,
            everyone,
            learnt_catch_all,
        }) => {
            let mut out = evidence_text(&evidence);
            if everyone {
                out.push_str(" everyone");
            }
            if let Some(learnt) = learnt_catch_all {
                out.push_str(&format!(" learnt={learnt}"));
            }
            out
        }
        Event::AskElsewhere => "ask_elsewhere".into(),
        Event::NoSession(evidence) => format!("no_session {}", evidence_text(&evidence)),
        Event::Reconnect => "reconnect".into(),
        Event::Quit => "quit".into(),
        Event::Close => "close".into(),
    }
}

fn evidence_text(evidence: &MailboxEvidence) -> String {
    match evidence {
        MailboxEvidence::Answered {
            host,
            code,
            outcome,
            tls,
            catch_all,
            ..
        } => {
            assert_eq!(host, "mx.world.test");
            let mut out = format!("{code} {}", outcome.code());
            if *tls {
                out.push_str(" tls");
            }
            if let Some(catch_all) = catch_all {
                out.push_str(&format!(" catch_all={catch_all}"));
            }
            out
        }
        MailboxEvidence::Timeout { host } => {
            format!("timeout {}", host.as_deref().unwrap_or("-"))
        }
        MailboxEvidence::Unreachable => "unreachable".into(),
        MailboxEvidence::NotAsked { host, why } => {
            let why = match why {
                NotAsked::PrivateAddress => "private_address",
                NotAsked::NeedsSmtputf8 => "needs_smtputf8",
                NotAsked::ProberListed => "prober_listed",
            };
            format!("not_asked {why} {}", host.as_deref().unwrap_or("-"))
        }
    }
}

#[test]
fn the_evidence_carries_the_reply() {
    let mut conversation = Conversation::new("mx.world.test", "probe.test", "", false);
    conversation.reply(reply("220 hi\r\n"));
    conversation.reply(reply("250 mx\r\n"));
    let Step::Tell(Event::Ready(idle)) = conversation.step() else {
        panic!("not ready");
    };
    let address = parse("carol@valid.test").unwrap();
    conversation.ask(idle, Mailbox::new(&address), CatchAll::Unknown, false);
    conversation.reply(reply("250 OK\r\n"));
    conversation.reply(reply(
        "550-5.1.1 No such user here\r\n550 5.1.1 Try another\r\n",
    ));
    let Step::Tell(Event::Answer(answer)) = conversation.step() else {
        panic!("no answer");
    };
    assert_eq!(
        answer.evidence,
        MailboxEvidence::Answered {
            host: "mx.world.test".into(),
            code: 550,
            enhanced: Some("5.1.1".into()),
            message: "5.1.1 No such user here 5.1.1 Try another".into(),
            outcome: classify(&reply("550 5.1.1 No such user here\r\n"), Stage::RcptTo),
            tls: false,
            catch_all: None,
        }
    );
    // The session stays ready for the next mailbox.
    assert!(matches!(conversation.step(), Step::Tell(Event::Ready(_))));
    assert_eq!(conversation.recipients(), 1);
}

#[test]
fn the_sender_goes_into_mail_from() {
    let mut conversation =
        Conversation::new("mx.world.test", "probe.test", "probe@sender.test", false);
    conversation.reply(reply("220 hi\r\n"));
    conversation.reply(reply("250 mx\r\n"));
    let Step::Tell(Event::Ready(idle)) = conversation.step() else {
        panic!("not ready");
    };
    let address = parse("postmaster@sender.test").unwrap();
    conversation.ask(idle, Mailbox::new(&address), CatchAll::Unknown, false);
    assert_eq!(
        conversation.step(),
        Step::Send(Command::MailFrom {
            address: "probe@sender.test",
            smtputf8: false
        })
    );
}

fn reply(text: &str) -> Reply {
    Reply::parse(text.as_bytes()).unwrap().unwrap().0
}

/// Every server behaviour of up to five replies keeps the rules of [`rules::play`]: with TLS that
/// works and a stream that ends in a lost connection, and with TLS that fails and a stream that
/// ends in a timeout. The fuzz target `smtp_conversation` plays everything else.
#[test]
fn any_server_behaviour_keeps_the_rules() {
    const REPLIES: &[&str] = &[
        "220 hi\r\n",
        "250 OK\r\n",
        "250-mx\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n",
        "421 4.3.2 Bye\r\n",
        "452 4.5.3 Too many recipients\r\n",
        "454 4.7.0 No TLS\r\n",
        "502 5.5.2 What?\r\n",
        "550 5.1.1 No such user\r\n",
    ];
    let depth = 5;
    for flags in [0b011, 0b101] {
        for mut seed in 0..REPLIES.len().pow(depth) {
            let mut stream = Vec::new();
            for _ in 0..depth {
                stream.extend_from_slice(REPLIES[seed % REPLIES.len()].as_bytes());
                seed /= REPLIES.len();
            }
            // Whole, and cut short in the middle of a reply.
            rules::play(flags, &stream);
            rules::play(flags, &stream[..stream.len() / 2]);
        }
    }
}
