//! Sender health: what a sending domain publishes for receivers to trust its mail. Each check
//! is sans-io, like the rest of the core: it says which DNS queries it needs and decides from
//! the answers.
//!
//! - `spf`: SPF records and `check_host()` (RFC 7208).

pub mod spf;
