//! mailvet-core: every decision mailvet makes, with no I/O.
//!
//! The core turns bytes and strings into decisions. It never opens a socket, reads the clock or
//! draws random numbers: callers (the edge Worker, the native binary, the browser widget) pass
//! those in. It builds for native targets and for `wasm32-unknown-unknown`.
//!
//! See `ARCHITECTURE.md` at the repository root for where each part lives.

pub mod auth;
pub mod dns;
pub mod hash;
pub mod lists;
pub mod rendezvous;
pub mod report;
pub mod sender;
pub mod smtp;
pub mod suggest;
pub mod syntax;
pub mod table;
pub mod verdict;
pub mod webhook;
