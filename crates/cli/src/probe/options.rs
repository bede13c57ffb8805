//! The options of the mailbox layer: the command line (`ProbeArgs`) and the checked
//! configuration the prober runs with (`ProbeConfig`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::Args;
use mailvet_core::smtp::Command;

use crate::Failure;

/// The options of the mailbox layer, shared by `mailvet check` and `mailvet serve`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The TCP port of mail servers. SMTP relay between servers is port 25 (RFC 5321 §4.5.4.2
    /// and the IANA registry); other values are for test set-ups.
    #[arg(long, value_name = "PORT", default_value_t = 25)]
    smtp_port: u16,

    /// How long a mail server has for each step: connecting, greeting, each reply.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::parse_secs)]
    smtp_timeout: Duration,

    /// How long one address may take in all, waiting for a session included.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = crate::parse_secs)]
    smtp_deadline: Duration,

    /// The name given in EHLO/HELO. Mail servers compare it with the reverse DNS of the address
    /// mailvet connects from, so give that name. Default: this machine's host name.
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,

    /// The sender in MAIL FROM. Default: the null sender <> (RFC 5321 §4.5.5), since no message
    /// ever follows; some servers refuse it, so give an address of a domain you control.
    #[arg(long, value_name = "ADDRESS")]
    mail_from: Option<String>,

    /// Connect to mail servers on loopback, private, link-local, shared (CGNAT), unspecified,
    /// multicast, documentation or other special-purpose addresses. Without it such servers are
    /// never contacted: the evidence is `not_asked` / `private_address`.
    #[arg(long)]
    allow_private: bool,

    /// How many SMTP sessions may be open at once to one mail host (and for one domain).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=4096))]
    per_host: u16,

    /// How many RCPT TO one session sends before it ends. Addresses of one domain share
    /// sessions; servers slow down or drop clients after a few unknown recipients.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    rcpt_per_session: u16,

    /// A SOCKS5 proxy (RFC 1928, no authentication) for networks that block outgoing port 25.
    #[arg(long, value_name = "HOST:PORT")]
    socks5: Option<String>,
}

impl ProbeArgs {
    /// The configuration, checked; `sessions` bounds the SMTP sessions open at once.
    pub fn config(&self, sessions: usize) -> Result<ProbeConfig, Failure> {
        let helo = match &self.helo {
            Some(name) => name.clone(),
            None => host_name(),
        };
        Command::Ehlo(&helo)
            .to_bytes()
            .map_err(|e| Failure(format!("--helo {helo:?}: {e}")))?;
        let mail_from = self.mail_from.clone().unwrap_or_default();
        if !mail_from.is_empty() && mailvet_core::syntax::parse(&mail_from).is_err() {
            return Err(Failure(format!(
                "--mail-from {mail_from:?} is not an email address"
            )));
        }
        Command::MailFrom {
            address: &mail_from,
            smtputf8: false,
        }
        .to_bytes()
        .map_err(|e| Failure(format!("--mail-from {mail_from:?}: {e}")))?;
        let socks5 = match &self.socks5 {
            None => None,
            Some(text) => Some(
                text.to_socket_addrs()
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .ok_or_else(|| {
                        Failure(format!("--socks5 {text:?} is not a reachable HOST:PORT"))
                    })?,
            ),
        };
        Ok(ProbeConfig {
            port: self.smtp_port,
            step_timeout: self.smtp_timeout,
            deadline: self.smtp_deadline,
            helo,
            mail_from,
            allow_private: self.allow_private,
            per_host: usize::from(self.per_host),
            sessions: sessions.max(1),
            rcpt_per_session: usize::from(self.rcpt_per_session),
            socks5,
        })
    }
}

/// This machine's name for EHLO, or `localhost` when it has none.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| Command::Ehlo(name).to_bytes().is_ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// How the prober talks to mail servers.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    pub port: u16,
    pub step_timeout: Duration,
    pub deadline: Duration,
    pub helo: String,
    /// Empty for the null reverse-path `<>`.
    pub mail_from: String,
    pub allow_private: bool,
    pub per_host: usize,
    /// SMTP sessions open at once, over all hosts.
    pub sessions: usize,
    pub rcpt_per_session: usize,
    pub socks5: Option<SocketAddr>,
}
