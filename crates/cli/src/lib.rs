//! mailvet's native side: `mailvet check` for people and scripts, and `mailvet serve`, the SMTP
//! prober the edge Worker calls. The only part of mailvet that opens port 25.
//!
//! The binary (`src/main.rs`) parses the command line; everything else is here, so that the
//! benchmarks drive the same code.

pub mod check;
pub mod doh;
pub mod domain;
mod input;
pub mod list;
mod memo;
pub mod metrics;
mod output;
mod plain_dns;
pub mod probe;
mod progress;
pub mod serve;

use std::fmt;
use std::time::Duration;

/// Why mailvet could not do its job, as a sentence for `error: …`.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A positive number of seconds, fractions allowed, for `--…-timeout` and `--…-deadline`.
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}
