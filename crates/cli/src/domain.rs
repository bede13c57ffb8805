//! `mailvet domain NAME`: the sender health of a domain (SPF, MX, …) with a fix for every
//! finding. The checks are the core's (`mailvet_core::sender`); this module asks DNS for them,
//! over DNS-over-HTTPS or, with `--dns`, a recursive resolver over UDP (TCP when an answer is
//! truncated): blocklists refuse queries that come through public resolvers.

use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use mailvet_core::dns::route::{MailRoute, MxHost};
use mailvet_core::dns::{Message, RData, Rcode, RecordType, build_query, parse_response};
use mailvet_core::sender::report::{self, MxReport, SpfIpResult, SpfReport};
use mailvet_core::sender::spf::tree::SpfTree;
use mailvet_core::sender::spf::{Answer, CheckHost, QueryType, Rdata};
use mailvet_core::sender::{Finding, FindingCode, Severity};
use mailvet_core::smtp::{Capabilities, Command, Reply};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::Failure;
use crate::doh::{DnsArgs, Resolver};
use crate::probe::special::special_purpose;

#[derive(Debug, Args)]
pub struct DomainArgs {
    /// The sending domain to check.
    name: String,

    /// A sending IP address: SPF is evaluated for it (check_host, RFC 7208). Repeatable.
    #[arg(long = "ip", value_name = "IP")]
    ips: Vec<IpAddr>,

    /// A recursive resolver to ask over UDP (and TCP for long answers) instead of
    /// DNS-over-HTTPS, e.g. 127.0.0.1:53.
    #[arg(long, value_name = "HOST:PORT")]
    dns: Option<SocketAddr>,

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

/// Where the queries go.
enum Dns {
    Doh(Resolver),
    Plain {
        server: SocketAddr,
        timeout: Duration,
    },
}

impl Dns {
    async fn lookup(&self, name: &str, rtype: RecordType) -> Option<Message> {
        match self {
            Dns::Doh(resolver) => resolver.answer(name, rtype).await,
            Dns::Plain { server, timeout } => {
                // Twice over UDP, as stub resolvers do; then nothing.
                for _ in 0..2 {
                    if let Ok(Some(message)) =
                        tokio::time::timeout(*timeout, plain_query(*server, name, rtype)).await
                    {
                        return Some(message);
                    }
                }
                None
            }
        }
    }

    async fn answer(&self, name: &str, kind: QueryType) -> Answer {
        let message = self.lookup(name, kind.record_type()).await;
        Answer::from_message(name, kind, message.as_ref())
    }
}

/// One query to a recursive resolver over UDP, again over TCP when the answer is truncated
/// (RFC 1035 §4.2.1, RFC 7766). The message ID is random: it is what tells our answer from a
/// forged one on UDP.
async fn plain_query(server: SocketAddr, name: &str, rtype: RecordType) -> Option<Message> {
    let mut id = [0; 2];
    getrandom::getrandom(&mut id).ok()?;
    let id = u16::from_be_bytes(id);
    let query = build_query(id, name, rtype).ok()?;
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let socket = UdpSocket::bind(local).await.ok()?;
    socket.connect(server).await.ok()?;
    socket.send(&query).await.ok()?;
    let mut buffer = vec![0; 65_535];
    let message = loop {
        let n = socket.recv(&mut buffer).await.ok()?;
        if let Ok(message) = parse_response(&buffer[..n])
            && message.answers_query(id, name, rtype)
        {
            break message;
        }
    };
    if !message.truncated {
        return Some(message);
    }
    let mut stream = TcpStream::connect(server).await.ok()?;
    let mut framed = u16::try_from(query.len()).ok()?.to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed).await.ok()?;
    let mut length = [0; 2];
    stream.read_exact(&mut length).await.ok()?;
    let mut body = vec![0; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut body).await.ok()?;
    parse_response(&body)
        .ok()
        .filter(|m| m.answers_query(id, name, rtype))
}

/// The report of `mailvet domain`.
#[derive(Debug, Serialize)]
pub struct DomainReport {
    pub domain: String,
    pub grade: char,
    /// The findings to fix for an A, most important first.
    pub to_reach_a: Vec<FindingCode>,
    pub spf: SpfReport,
    pub mx: Vec<MxReport>,
    pub findings: Vec<Finding>,
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
    let report = runtime.block_on(check(&dns, &domain, &args.ips, smtp.as_ref()));
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

/// Every check of `domain`, its DNS asked through `dns`.
async fn check(dns: &Dns, domain: &str, ips: &[IpAddr], smtp: Option<&Smtp>) -> DomainReport {
    let ask = |name: String, kind: QueryType| async move { dns.answer(&name, kind).await };
    let analysis = SpfTree::new(domain).run(ask).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut results = Vec::new();
    for &ip in ips {
        let evaluation = CheckHost::new(ip, domain, &format!("postmaster@{domain}"), domain)
            .at(now)
            .run(ask)
            .await;
        results.push(SpfIpResult::new(ip, evaluation));
    }
    let (route, hosts) = mail_hosts(dns, domain).await;
    let mut starttls = Vec::with_capacity(hosts.len());
    for (_, addresses) in &hosts {
        let offered = match (smtp, addresses.first()) {
            (Some(smtp), Some(&address)) => smtp.offers_starttls(address).await,
            _ => None,
        };
        starttls.push(offered);
    }
    let mut findings = analysis.findings.clone();
    if let Some(route) = &route {
        findings.extend(report::mx_findings(domain, route, &hosts));
    }
    for ((host, _), offered) in hosts.iter().zip(&starttls) {
        if *offered == Some(false) {
            findings.push(Finding::new(
                FindingCode::MxNoStarttls,
                format!("The mail host {} of {domain} does not offer STARTTLS, so mail to it travels unencrypted (RFC 3207).", host.host),
                format!("Turn on STARTTLS on {} with a certificate for its name.", host.host),
            ));
        }
    }
    DomainReport {
        domain: domain.to_owned(),
        grade: report::grade(&findings),
        to_reach_a: report::to_reach_a(&findings),
        spf: SpfReport {
            record: analysis.root.record.clone(),
            lookups: analysis.root.total,
            void_lookups: analysis.root.void_lookups,
            tree: analysis.root,
            results,
        },
        mx: hosts
            .into_iter()
            .zip(starttls)
            .map(|((host, addresses), starttls)| MxReport {
                host: host.host,
                preference: host.preference,
                implicit: host.implicit,
                addresses,
                starttls,
            })
            .collect(),
        findings,
    }
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

/// The domain's mail hosts as its MX records name them (an MX host without an address is
/// kept, unlike for delivery), each with its addresses; `None` when DNS gave no answer.
async fn mail_hosts(dns: &Dns, domain: &str) -> (Option<MailRoute>, Vec<(MxHost, Vec<IpAddr>)>) {
    let Some(message) = dns.lookup(domain, RecordType::Mx).await else {
        return (None, Vec::new());
    };
    match message.rcode {
        Rcode::NoError => {}
        Rcode::NxDomain => return (Some(MailRoute::DomainNotFound), Vec::new()),
        _ => return (None, Vec::new()),
    }
    let mut mx: Vec<MxHost> = message
        .answers_for(domain, RecordType::Mx)
        .into_iter()
        .filter_map(|record| match &record.data {
            RData::Mx {
                preference,
                exchange,
            } => Some(MxHost {
                preference: *preference,
                host: exchange.trim_end_matches('.').to_ascii_lowercase(),
                implicit: false,
            }),
            _ => None,
        })
        .collect();
    mx.sort_by(|a, b| (a.preference, &a.host).cmp(&(b.preference, &b.host)));
    mx.dedup_by(|a, b| a.host == b.host);
    // RFC 7505 §3: a single MX of preference 0 naming the root.
    if let [only] = mx.as_slice()
        && only.host.is_empty()
    {
        return (Some(MailRoute::NullMx), Vec::new());
    }
    if mx.is_empty() {
        // RFC 5321 §5.1: without MX records, the domain itself is the mail host.
        mx.push(MxHost {
            preference: 0,
            host: domain.to_owned(),
            implicit: true,
        });
    }
    let mut hosts = Vec::new();
    for host in mx {
        let mut addresses = Vec::new();
        for kind in [QueryType::A, QueryType::Aaaa] {
            if let Answer::Records(records) = dns.answer(&host.host, kind).await {
                addresses.extend(records.iter().filter_map(|r| match r {
                    Rdata::A(a) => Some(IpAddr::V4(*a)),
                    Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
                    _ => None,
                }));
            }
        }
        hosts.push((host, addresses));
    }
    if let [(host, addresses)] = hosts.as_slice()
        && host.implicit
        && addresses.is_empty()
    {
        return (Some(MailRoute::NoMailServer), Vec::new());
    }
    let route = MailRoute::Hosts(hosts.iter().map(|(h, _)| h.clone()).collect());
    (Some(route), hosts)
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
