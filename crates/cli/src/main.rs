//! `mailvet`: the native binary. The only part of mailvet that opens port 25.
//!
//! Exit status: 0 when every input got a report (whatever its verdict), 1 when `--fail-on`
//! matched a verdict, 2 when mailvet could not do its job (bad arguments, an unreadable policy
//! file, unreadable input, a port it cannot listen on). An address is never an error: an
//! unreachable DNS server makes a verdict `unknown` with the reason `dns_failure`. Nothing
//! printed on standard error names an address.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mailvet::{check, domain, serve};

#[derive(Debug, Parser)]
#[command(
    name = "mailvet",
    version,
    about = "Checks email addresses: syntax, risk lists, DNS and the mail server."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks addresses and writes one report per address, in input order.
    Check(check::CheckArgs),
    /// Answers the edge Worker's mailbox probes over HTTP (POST /v1/probe).
    Serve(serve::ServeArgs),
    /// Checks a sending domain's health: SPF, MX, …, with a fix for every finding.
    Domain(domain::DomainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Domain(args) => domain::run(args),
    };
    result.unwrap_or_else(|failure| {
        eprintln!("error: {failure}");
        ExitCode::from(2)
    })
}
