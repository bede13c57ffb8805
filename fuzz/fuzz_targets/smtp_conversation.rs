//! `smtp::Conversation` driven by whatever a server sends: each reply the conversation waits
//! for is the next one in the stream, and when the stream breaks or ends the step is broken. It
//! must never panic, and it must keep its rules: no `MAIL FROM` before a greeting and a hello
//! were accepted, no `RCPT TO` outside an accepted transaction, nothing sent after it ended, one
//! answer (or a send-elsewhere) for every mailbox asked, and an end.
//!
//! Input: the first byte holds flags (bit 0: STARTTLS may be tried; bit 1: the TLS handshake
//! succeeds; bit 2: a broken step is a timeout rather than a lost connection); the rest is what
//! the server sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::smtp::{Broken, CatchAll, Conversation, Event, Mailbox, Reply, Step};

const ASKED: [&str; 3] = ["a@example.test", "jörg@bücher.test", "b@example.test"];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut stream)) = data.split_first() else {
        return;
    };
    let mut conversation = Conversation::new("mx.example", "probe.example", "", flags & 1 != 0);
    let mut asks = ASKED.into_iter();
    let (mut greeted, mut hello, mut transaction) = (false, false, false);
    let (mut asked, mut answered) = (0, 0);
    // Every step either consumes a reply or ends the stream, and a mailbox takes at most five
    // replies (RSET, MAIL FROM, RCPT TO and the probe), so this bounds any honest conversation.
    for _ in 0..stream.len() + 64 {
        let sent = match conversation.step() {
            Step::Read => None,
            Step::Send(command) => Some(command.to_bytes().expect("a command the machine made")),
            Step::StartTls => {
                conversation.tls(flags & 2 != 0);
                continue;
            }
            Step::Tell(Event::Ready(idle)) => {
                match asks.next() {
                    Some(text) => {
                        let address = mailvet_core::syntax::parse(text).expect("a valid address");
                        let probe = CatchAll::Probe("mailvet-0123456789abcdef0123".into());
                        conversation.ask(idle, Mailbox::new(&address), probe, false);
                        asked += 1;
                    }
                    None => conversation.end(idle),
                }
                continue;
            }
            Step::Tell(Event::Answer(_) | Event::AskElsewhere) => {
                answered += 1;
                continue;
            }
            Step::Tell(Event::NoSession(_) | Event::Reconnect) => {
                assert_eq!(asked, 0, "a session that was ready failed to open");
                continue;
            }
            Step::Tell(Event::Quit | Event::Close) => {
                assert_eq!(asked, answered, "a mailbox asked and never answered");
                return;
            }
        };
        let verb = sent.as_deref().and_then(|s| s.get(..4));
        match verb {
            Some(b"MAIL") => assert!(greeted && hello, "MAIL FROM before the hello"),
            Some(b"RCPT") => assert!(transaction, "RCPT TO outside a transaction"),
            Some(b"RSET") => transaction = false,
            _ => {}
        }
        match Reply::parse(stream) {
            Ok(Some((reply, used))) => {
                stream = &stream[used..];
                match verb {
                    None if reply.is_positive() => greeted = true,
                    Some(b"EHLO" | b"HELO") if reply.is_positive() => hello = true,
                    Some(b"MAIL") => transaction = reply.is_positive(),
                    _ => {}
                }
                conversation.reply(reply);
            }
            _ => {
                stream = &[];
                let why = if flags & 4 != 0 {
                    Broken::Timeout
                } else {
                    Broken::Lost
                };
                conversation.broken(why);
            }
        }
    }
    panic!("the conversation did not end");
});
