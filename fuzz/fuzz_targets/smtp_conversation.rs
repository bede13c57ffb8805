//! `smtp::Conversation` driven by whatever a server sends. It must never panic and must keep the
//! rules that `rules.rs` (shared with the core's unit tests) checks: no `MAIL FROM` before an
//! accepted greeting and hello, no `RCPT TO` outside an accepted transaction, one answer (or a
//! send-elsewhere) for every mailbox asked, and an end.
//!
//! Input: the first byte holds flags (bit 0: STARTTLS may be tried; bit 1: the TLS handshake
//! succeeds; bit 2: a broken step is a timeout rather than a lost connection); the rest is what
//! the server sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::smtp::{Broken, CatchAll, Conversation, Event, Mailbox, Reply, Step};
use mailvet_core::syntax::parse;

#[path = "../../crates/core/src/smtp/conversation/rules.rs"]
mod rules;

fuzz_target!(|data: &[u8]| {
    if let Some((&flags, stream)) = data.split_first() {
        rules::play(flags, stream);
    }
});
