//! `smtp::Reply::parse` as a caller drives it: bytes arrive in chunks, the buffer grows, and
//! each complete reply is taken off its front. It must never panic, and where the reads split
//! the stream must not change which replies come out.
//!
//! Input: the first byte is `n`; the next `n % 16` bytes are chunk lengths (each byte `b` is a
//! read of `b + 1` octets, used in turn and repeated); the rest is what the server sent.
//! `n % 16 == 0` delivers the whole stream in one read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::smtp::{Capabilities, MAX_LINE, Outcome, Reply, ReplyError, Stage, classify};

const STAGES: [Stage; 3] = [Stage::Greeting, Stage::MailFrom, Stage::RcptTo];

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(n % 16).min(rest.len());
    let (lengths, stream) = rest.split_at(count);

    let chunked = read(stream, lengths);
    let whole = read(stream, &[]);
    assert_eq!(
        chunked.replies, whole.replies,
        "replies depend on the reads"
    );
    // Only whether the stream broke is compared, not why: an over-long line whose first octets
    // are no reply code is `BadCode` when read in short chunks and `LineTooLong` when read at once.
    assert_eq!(
        chunked.error.is_some(),
        whole.error.is_some(),
        "chunked {:?}, whole {:?}",
        chunked.error,
        whole.error
    );

    for reply in &whole.replies {
        check(reply);
    }
});

struct Read {
    replies: Vec<Reply>,
    error: Option<ReplyError>,
}

/// Feeds `stream` to the parser in reads of the given lengths (one read when there are none),
/// taking replies off the buffer as they complete, until the stream ends or is broken.
fn read(stream: &[u8], lengths: &[u8]) -> Read {
    let mut replies = Vec::new();
    let mut buf = Vec::new();
    let mut sizes = lengths.iter().map(|&b| usize::from(b) + 1).cycle();
    let mut rest = stream;
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        buf.extend_from_slice(chunk);
        rest = tail;
        loop {
            match Reply::parse(&buf) {
                Ok(Some((reply, used))) => {
                    assert!(
                        used > 0 && used <= buf.len(),
                        "used {used} of {}",
                        buf.len()
                    );
                    replies.push(reply);
                    buf.drain(..used);
                }
                Ok(None) => break,
                Err(error) => {
                    return Read {
                        replies,
                        error: Some(error),
                    };
                }
            }
        }
    }
    Read {
        replies,
        error: None,
    }
}

fn check(reply: &Reply) {
    assert!((200..=559).contains(&reply.code), "code {}", reply.code);
    assert!(!reply.lines.is_empty());
    if let Some(status) = reply.enhanced {
        // RFC 2034 §4: the class of an enhanced status code matches the reply code's.
        assert_eq!(u16::from(status.class), reply.code / 100);
    }

    for stage in STAGES {
        let outcome = classify(reply, stage);
        match reply.code / 100 {
            2 => assert_eq!(outcome, Outcome::Deliverable),
            3 => assert_eq!(outcome, Outcome::Unexpected),
            // The classification's promise: a 4yz is never permanent, a 5yz never temporary.
            4 => assert!(
                !matches!(
                    outcome,
                    Outcome::MailboxNotFound
                        | Outcome::MailboxDisabled
                        | Outcome::UnknownPermanent
                        | Outcome::Deliverable
                        | Outcome::Unexpected
                ),
                "{reply:?} at {stage:?} is {outcome:?}"
            ),
            _ => assert!(
                !matches!(
                    outcome,
                    Outcome::TemporaryFailure | Outcome::Deliverable | Outcome::Unexpected
                ),
                "{reply:?} at {stage:?} is {outcome:?}"
            ),
        }
        outcome.code();
    }

    let caps = Capabilities::from_ehlo(reply);
    if reply.code != 250 {
        assert_eq!(caps, Capabilities::default());
    }

    // The text of a reply, written back out, reads as the same reply, unless invalid UTF-8 was
    // replaced (U+FFFD may be longer than what it replaced) or CRLF makes a line too long.
    // Display separates lines with LF alone; a text may end in CR, so every line gets CRLF.
    let text = format!("{reply}\n").replace('\n', "\r\n");
    let fits = text
        .split_inclusive('\n')
        .all(|line| line.len() <= MAX_LINE);
    if fits && !reply.lines.iter().any(|line| line.contains('\u{FFFD}')) {
        let again = Reply::parse(text.as_bytes());
        assert_eq!(
            again,
            Ok(Some((reply.clone(), text.len()))),
            "{text:?} does not read back"
        );
    }
}
