//! SMTP without I/O: commands to send, replies to read, what a reply means for a mailbox, and
//! the conversation that strings them together.
//!
//! The caller owns the connection, TLS and timeouts. A [`Conversation`] says what to do next;
//! the caller renders its [`Command`] to bytes, reads bytes into a buffer and calls
//! [`Reply::parse`] until a whole reply is there, and gives the reply back. The conversation asks
//! [`classify`] what each reply says, reads EHLO replies as [`Capabilities`], and ends in
//! evidence about [`Mailbox`]es; [`Attempts`] keeps the most telling evidence of the hosts tried
//! when none gives a session.
//!
//! mailvet never sends `DATA`: a conversation ends after `RCPT TO` with `RSET` or `QUIT`, so no
//! message is ever delivered. [`Command`] has no variant that could start one.

mod attempts;
mod classify;
mod command;
mod conversation;
mod ehlo;
mod mailbox;
mod reply;

pub use attempts::{Attempts, holds_for_the_hosts, try_order};
pub use classify::{Outcome, Stage, classify};
pub use command::{Command, CommandError};
pub use conversation::{Answer, Broken, CatchAll, Conversation, Event, Idle, Step};
pub use ehlo::Capabilities;
pub use mailbox::Mailbox;
pub use reply::{EnhancedStatus, MAX_LINE, MAX_LINES, Reply, ReplyError};
