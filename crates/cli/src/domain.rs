//! `mailvet domain NAME`: the sender health of a domain (SPF, MX, …) with a fix for every
//! finding. The checks are the core's (`mailvet_core::sender`); this module asks DNS for them,
//! over DNS-over-HTTPS or, with `--dns`, a recursive resolver over UDP (TCP when an answer is
//! truncated): blocklists refuse queries that come through public resolvers.

use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use mailvet_core::sender::domain::DomainReport;
use mailvet_core::sender::spf::{Answer, QueryType};
use mailvet_core::sender::{self, Severity};
use mailvet_core::smtp::{Capabilities, Command, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Failure;
use crate::doh::DnsArgs;
use crate::plain_dns::Dns;
use crate::probe::special::special_purpose;

#[derive(Debug, Args)]
pub struct DomainArgs {
    /// The sending domain to check.
    name: String,

    /// A sending IP address: SPF is evaluated for it (check_host, RFC 7208). Repeatable.
    #[arg(long = "ip", value_name = "IP")]
    ips: Vec<IpAddr>,

    /// A DKIM selector to look up (`S._domainkey.NAME`). Repeatable. Default: the common ones.
    #[arg(long = "dkim-selector", value_name = "S")]
    selectors: Vec<String>,

    /// Blocklist zones to ask, comma-separated, instead of the default ones (IP lists for the
    /// sending and MX addresses; the domain lists dbl.spamhaus.org and multi.uribl.com for the
    /// domain). Blocklists refuse queries through public resolvers: use --dns with your own.
    #[arg(long, value_name = "ZONE,...", value_delimiter = ',')]
    dnsbl: Vec<String>,

    /// A recursive resolver to ask over UDP (and TCP for long answers) instead of
    /// DNS-over-HTTPS, e.g. 127.0.0.1:53.
    #[arg(long, value_name = "HOST:PORT")]
    dns: Option<SocketAddr>,

    /// A PEM file of certificate authorities to trust for the MTA-STS policy besides the
    /// public ones (tests).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,

    #[command(flatten)]
    doh: DnsArgs,

    /// Do not ask the mail hosts whether they offer STARTTLS (port 25 is often blocked on
    /// home and cloud networks).
    #[arg(long)]
    no_smtp: bool,

    /// The port the mail hosts are asked on.
    #[arg(long, value_name = "PORT", default_value_t = 25)]
    smtp_port: u16,

    /// How long a mail host has to greet and answer EHLO.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::parse_secs)]
    smtp_timeout: Duration,

    /// The name given in EHLO. Default: this machine's name.
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,

    /// Ask mail hosts at private, loopback and other special addresses too (tests).
    #[arg(long)]
    allow_private: bool,

    /// Output format. Default: table on a terminal, else json.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<DomainFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DomainFormat {
    Json,
    Table,
}

pub fn run(args: DomainArgs) -> Result<ExitCode, Failure> {
    let domain = args.name.trim().trim_end_matches('.').to_ascii_lowercase();
    if mailvet_core::syntax::parse(&format!("postmaster@{domain}")).is_err() {
        return Err(Failure(format!("{:?} is not a domain name", args.name)));
    }
    let dns = match args.dns {
        Some(server) => Dns::Plain {
            server,
            timeout: Duration::from_secs(5),
        },
        None => Dns::Doh(args.doh.resolver()?),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("starting the runtime: {e}")))?;
    let helo = args.helo.clone().unwrap_or_else(crate::probe::host_name);
    Command::Ehlo(&helo)
        .to_bytes()
        .map_err(|e| Failure(format!("--helo {helo:?}: {e}")))?;
    let smtp = (!args.no_smtp).then_some(Smtp {
        port: args.smtp_port,
        timeout: args.smtp_timeout,
        helo,
        allow_private: args.allow_private,
    });
    let blocklists = if args.dnsbl.is_empty() {
        sender::domain::Blocklists::default_lists()
    } else {
        // Domain lists by what the core knows of them; any other zone is an IP list.
        let (domain, ip): (Vec<String>, Vec<String>) = args
            .dnsbl
            .iter()
            .map(|z| z.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|z| !z.is_empty())
            .partition(|z| sender::dnsbl::is_domain_list(z));
        sender::domain::Blocklists::Ask { ip, domain }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let options = sender::domain::Options {
        ips: args.ips.clone(),
        selectors: args.selectors.clone(),
        blocklists,
        now,
    };
    let ca = read_ca(args.ca_file.as_deref())?;
    let net = CliNet { dns: &dns, ca };
    let report = runtime.block_on(check(&net, &domain, &options, smtp.as_ref()));
    let terminal = io::stdout().is_terminal();
    let format = args.format.unwrap_or(if terminal {
        DomainFormat::Table
    } else {
        DomainFormat::Json
    });
    let text = match format {
        DomainFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure(format!("writing the report: {e}")))?;
            text.push('\n');
            text
        }
        DomainFormat::Table => table(&report),
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Failure(format!("writing the report: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// The network of the checks: DNS as `--dns` or `--doh` say, HTTPS for MTA-STS policies.
struct CliNet<'a> {
    dns: &'a Dns,
    /// Certificate authorities trusted besides the public ones (`--ca-file`).
    ca: Vec<reqwest::Certificate>,
}

impl sender::domain::Net for CliNet<'_> {
    async fn dns(&self, name: String, kind: QueryType) -> Answer {
        self.dns.answer(&name, kind).await
    }

    async fn https(&self, url: String) -> Result<Vec<u8>, String> {
        // The host is looked up through the same DNS as everything else (not the system's).
        let host = url
            .strip_prefix("https://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| format!("{url} is not an https URL"))?
            .to_owned();
        let mut addresses = Vec::new();
        for kind in [QueryType::A, QueryType::Aaaa] {
            if let Answer::Records(records) = self.dns.answer(&host, kind).await {
                addresses.extend(records.into_iter().filter_map(|r| match r {
                    sender::spf::Rdata::A(a) => Some(SocketAddr::from((a, 443))),
                    sender::spf::Rdata::Aaaa(a) => Some(SocketAddr::from((a, 443))),
                    _ => None,
                }));
            }
        }
        if addresses.is_empty() {
            return Err(format!("{host} has no address, so {url} cannot be fetched"));
        }
        let client = https_client(&self.ca)
            .resolve_to_addrs(&host, &addresses)
            .build()
            .map_err(|e| format!("setting up HTTPS: {e}"))?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url} could not be fetched: {}", describe(&e)))?;
        let status = response.status();
        if !status.is_success() || status.as_u16() != 200 {
            return Err(format!("{url} answered HTTP {}", status.as_u16()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("{url}: {}", describe(&e)))?;
        Ok(body.to_vec())
    }
}

/// What went wrong with an HTTPS fetch, in words.
fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut text = String::new();
    while let Some(error) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&error.to_string());
        source = error.source();
    }
    text
}

/// The HTTPS client for MTA-STS policies: certificates checked (with `ca`'s authorities
/// too), no redirects (RFC 8461 §3.3), ten seconds.
fn https_client(ca: &[reqwest::Certificate]) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("mailvet/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10));
    for certificate in ca {
        builder = builder.add_root_certificate(certificate.clone());
    }
    builder
}

/// The certificate authorities of `--ca-file`.
fn read_ca(path: Option<&std::path::Path>) -> Result<Vec<reqwest::Certificate>, Failure> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let pem =
        std::fs::read(path).map_err(|e| Failure(format!("--ca-file {}: {e}", path.display())))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| Failure(format!("--ca-file {}: {e}", path.display())))
}

/// Every check of `domain`: the core's over `net`, then STARTTLS of each mail host.
async fn check(
    net: &CliNet<'_>,
    domain: &str,
    options: &sender::domain::Options,
    smtp: Option<&Smtp>,
) -> DomainReport {
    let mut report = sender::domain::check(domain, options, net).await;
    if let Some(smtp) = smtp {
        let mut offered = Vec::with_capacity(report.mx.len());
        for host in &report.mx {
            offered.push(match host.addresses.first() {
                Some(&address) => smtp.offers_starttls(address).await,
                None => None,
            });
        }
        report.add_starttls(&offered);
    }
    report
}

/// How mail hosts are asked whether they offer STARTTLS.
struct Smtp {
    port: u16,
    timeout: Duration,
    helo: String,
    allow_private: bool,
}

impl Smtp {
    /// Whether the mail host at `address` offers STARTTLS in its EHLO reply (RFC 3207 §4);
    /// `None` when it could not be asked (refused as a special address, unreachable, no EHLO).
    async fn offers_starttls(&self, address: IpAddr) -> Option<bool> {
        if !self.allow_private && special_purpose(address).is_some() {
            return None;
        }
        let exchange = async {
            let mut stream = TcpStream::connect((address, self.port)).await.ok()?;
            let greeting = read_reply(&mut stream).await?;
            if greeting.code != 220 {
                return None;
            }
            let ehlo = Command::Ehlo(&self.helo).to_bytes().ok()?;
            stream.write_all(&ehlo).await.ok()?;
            let reply = read_reply(&mut stream).await?;
            let quit = Command::Quit.to_bytes().ok()?;
            let _ = stream.write_all(&quit).await;
            (reply.code == 250).then(|| Capabilities::from_ehlo(&reply).starttls)
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .ok()
            .flatten()
    }
}

/// One SMTP reply from `stream`.
async fn read_reply(stream: &mut TcpStream) -> Option<Reply> {
    let mut buffer = Vec::new();
    loop {
        if let Ok(Some((reply, _))) = Reply::parse(&buffer) {
            return Some(reply);
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// The report for people: the grade, each finding with its fix, then the facts.
fn table(report: &DomainReport) -> String {
    let mut out = format!("{}  grade {}\n", report.domain, report.grade);
    if report.findings.is_empty() {
        out.push_str("\nNothing to fix.\n");
    }
    for finding in &report.findings {
        let severity = match finding.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        };
        out.push_str(&format!("\n{severity:<7}  {}\n", finding.code));
        for line in finding.message.lines() {
            out.push_str(&format!("         {line}\n"));
        }
        out.push_str(&format!("  fix    {}\n", finding.fix));
        if let Some(record) = &finding.record {
            out.push_str(&format!(
                "         {} {} \"{}\"\n",
                record.name, record.kind, record.value
            ));
        }
    }
    out.push_str(&format!(
        "\nSPF      {} ({} lookups)\n",
        report.spf.record.as_deref().unwrap_or("none"),
        report.spf.lookups
    ));
    for result in &report.spf.results {
        out.push_str(&format!("  {}  {}\n", result.ip, result.result));
    }
    for host in &report.mx {
        let addresses: Vec<String> = host.addresses.iter().map(IpAddr::to_string).collect();
        out.push_str(&format!(
            "MX {:>3}   {}  {}\n",
            host.preference,
            host.host,
            addresses.join(" ")
        ));
    }
    out
}
