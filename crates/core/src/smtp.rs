//! SMTP without I/O: commands to send, replies to read, and what a reply means for a mailbox.
//!
//! The caller owns the connection, TLS and timeouts. It renders a [`Command`] to bytes, reads
//! bytes into a buffer and calls [`Reply::parse`] until a whole reply is there, and then asks
//! [`classify`] what that reply says. EHLO replies become [`Capabilities`].
//!
//! mailvet never sends `DATA`: a conversation ends after `RCPT TO` with `RSET` or `QUIT`, so no
//! message is ever delivered. [`Command`] has no variant that could start one.

mod classify;
mod command;
mod ehlo;
mod reply;

pub use classify::{Outcome, Stage, classify};
pub use command::{Command, CommandError};
pub use ehlo::Capabilities;
pub use reply::{EnhancedStatus, MAX_LINE, MAX_LINES, Reply, ReplyError};
