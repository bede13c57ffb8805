//! The rules a conversation keeps whatever a server sends, checked by playing a server. Shared
//! by the unit tests (every short behaviour) and the fuzz target `smtp_conversation`, which
//! includes this file: the including module provides the conversation's types and `parse`.

use super::{Broken, CatchAll, Conversation, Event, Mailbox, Reply, Step, parse};

const ASKED: [&str; 3] = ["a@example.test", "jörg@bücher.test", "b@example.test"];

/// Plays a server that sends `stream`: each reply the conversation waits for is the next one
/// there, and when the stream breaks or ends, the step is broken. `flags`: bit 0, STARTTLS may
/// be tried; bit 1, the TLS handshake succeeds; bit 2, a broken step is a timeout, not a lost
/// connection. Panics when the conversation sends `MAIL FROM` before a greeting and a hello were
/// accepted or `RCPT TO` outside an accepted transaction, leaves a mailbox it was asked about
/// without an answer (or a send-elsewhere), or does not end.
pub fn play(flags: u8, mut stream: &[u8]) {
    let mut conversation = Conversation::new("mx.example", "probe.example", "", flags & 1 != 0);
    let mut asks = ASKED.into_iter();
    let (mut greeted, mut hello, mut transaction) = (false, false, false);
    let (mut asked, mut answered) = (0, 0);
    // Every step but an event takes a reply off the stream or ends it, and each mailbox brings
    // a handful of events: this bounds any conversation that ends.
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
                        let address = parse(text).expect("a valid address");
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
                conversation.broken(if flags & 4 != 0 {
                    Broken::Timeout
                } else {
                    Broken::Lost
                });
            }
        }
    }
    panic!("the conversation did not end");
}
