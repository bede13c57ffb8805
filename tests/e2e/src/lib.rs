//! The local mail world (`tests/world`), started and stopped for end-to-end tests, and two small
//! blocking clients to talk to it: [`dns_client`] (DNS-over-HTTPS over HTTP/1.1, plain DNS) and
//! [`smtp`].
//!
//! [`World::start`] runs `tests/world/world.sh up` in a fresh directory and stops the world again
//! when the [`World`] is dropped. [`World::from_env`] attaches to a world someone else started.

pub mod dns_client;
pub mod hooks;
pub mod http;
pub mod mta_sts;
pub mod prober;
pub mod runner;
pub mod smtp;
pub mod worker;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use std::{fs, io};

/// Names a `world.env` to attach to instead of starting a world.
pub const ENV_FILE_VAR: &str = "MAILVET_WORLD_ENV";

/// The variables of `world.sh up` that fix ports. A world started by [`World::start`] must not
/// inherit them: they may name the ports of a world already running.
const FIXED_PORT_VARS: [&str; 4] = [
    "MAILVET_WORLD_DOH_PORT",
    "MAILVET_WORLD_DNS_PORT",
    "MAILVET_WORLD_SMTP_PORT",
    "MAILVET_WORLD_UNBOUND_PORT",
];

/// A running mail world: where its servers listen and where its SMTP log is.
///
/// Every field comes from the `world.env` that `world.sh up` writes; `tests/world/README.md`
/// describes the zones and mailboxes behind them.
#[derive(Debug)]
pub struct World {
    dir: PathBuf,
    vars: BTreeMap<String, String>,
    doh_url: String,
    doh_addr: SocketAddr,
    dns_addr: SocketAddr,
    smtp_addr: SocketAddr,
    tarpit_addr: SocketAddr,
    refused_addr: SocketAddr,
    smtp_ipv6: bool,
    smtp_log: PathBuf,
    /// Whether this value started the world, and so stops it and removes its directory.
    owned: bool,
    keep_dir: bool,
}

/// How many times [`World::start`] tries to start a world.
pub const START_ATTEMPTS: u32 = 3;

impl World {
    /// Starts a world in a new directory under [`std::env::temp_dir`], on free ports.
    ///
    /// The world is stopped when the value is dropped. Should this process die without dropping
    /// it, the world stops by itself within a second (`MAILVET_WORLD_OWNER_PID`).
    ///
    /// Free ports are picked before the servers bind them, so another process can take one in
    /// between ("Address already in use"); such a start is tried again on new ports, up to
    /// [`START_ATTEMPTS`] times in all.
    pub fn start() -> Result<World, WorldError> {
        let mut attempt = 1;
        loop {
            match World::start_once() {
                Err(WorldError::Up { stderr, .. })
                    if attempt < START_ATTEMPTS && stderr.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn start_once() -> Result<World, WorldError> {
        let dir = fresh_dir()?;
        let script = world_script();
        let mut command = Command::new(&script);
        command
            .arg("up")
            .arg(&dir)
            .env("MAILVET_WORLD_OWNER_PID", std::process::id().to_string());
        for var in FIXED_PORT_VARS {
            command.env_remove(var);
        }
        let output = command
            .output()
            .map_err(|e| WorldError::Io(format!("running {}", script.display()), e))?;
        if !output.status.success() {
            // `up` stops whatever it started before it fails; the logs stay for reading.
            return Err(WorldError::Up {
                dir,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let mut world = World::from_file(&dir.join("world.env"))?;
        world.owned = true;
        Ok(world)
    }

    /// Attaches to the world whose `world.env` is named by `MAILVET_WORLD_ENV`, if that is set.
    /// Such a world is left running when the value is dropped.
    pub fn from_env() -> Result<Option<World>, WorldError> {
        match std::env::var_os(ENV_FILE_VAR) {
            Some(path) => World::from_file(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }

    /// [`World::from_env`] when `MAILVET_WORLD_ENV` is set, else [`World::start`].
    pub fn from_env_or_start() -> Result<World, WorldError> {
        match World::from_env()? {
            Some(world) => Ok(world),
            None => World::start(),
        }
    }

    fn from_file(path: &Path) -> Result<World, WorldError> {
        let text = fs::read_to_string(path)
            .map_err(|e| WorldError::Io(format!("reading {}", path.display()), e))?;
        let vars = parse_env(&text);
        let get = |key: &str| {
            vars.get(key)
                .map(String::as_str)
                .ok_or_else(|| WorldError::Env(format!("{} has no {key}", path.display())))
        };
        let parse_err = |key: &str, value: &str| {
            WorldError::Env(format!("{}: {key}={value} is not valid", path.display()))
        };
        let port = |key: &str| {
            let value = get(key)?;
            value.parse::<u16>().map_err(|_| parse_err(key, value))
        };
        let host = |key: &str| {
            let value = get(key)?;
            value.parse::<IpAddr>().map_err(|_| parse_err(key, value))
        };
        let loopback = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let smtp_port = port("MAILVET_WORLD_SMTP_PORT")?;
        let ipv6 = get("MAILVET_WORLD_SMTP_IPV6")?;
        Ok(World {
            dir: PathBuf::from(get("MAILVET_WORLD_DIR")?),
            doh_url: get("MAILVET_WORLD_DOH_URL")?.to_owned(),
            doh_addr: loopback(port("MAILVET_WORLD_DOH_PORT")?),
            dns_addr: loopback(port("MAILVET_WORLD_DNS_PORT")?),
            smtp_addr: SocketAddr::new(host("MAILVET_WORLD_SMTP_HOST")?, smtp_port),
            tarpit_addr: SocketAddr::new(host("MAILVET_WORLD_TARPIT_HOST")?, smtp_port),
            refused_addr: SocketAddr::new(host("MAILVET_WORLD_REFUSED_HOST")?, smtp_port),
            smtp_ipv6: match ipv6 {
                "1" => true,
                "0" => false,
                other => return Err(parse_err("MAILVET_WORLD_SMTP_IPV6", other)),
            },
            smtp_log: PathBuf::from(get("MAILVET_WORLD_SMTP_LOG")?),
            owned: false,
            keep_dir: false,
            vars,
        })
    }

    /// The directory holding the world's configuration, logs and `world.env`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every `MAILVET_WORLD_*` variable of `world.env`, e.g. for a child process's environment.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// The DoH endpoint, `http://127.0.0.1:PORT/dns-query` (RFC 8484 over plain HTTP).
    pub fn doh_url(&self) -> &str {
        &self.doh_url
    }

    /// Where the DoH endpoint listens.
    pub fn doh_addr(&self) -> SocketAddr {
        self.doh_addr
    }

    /// Plain DNS over UDP and TCP, answering exactly as the DoH endpoint does.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// The SMTP server every working MX host of the world resolves to.
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp_addr
    }

    /// The same SMTP port on `::1`, where the AAAA-only MX host points; `None` when the machine's
    /// loopback has no IPv6 address.
    pub fn smtp_addr_v6(&self) -> Option<SocketAddr> {
        self.smtp_ipv6
            .then(|| SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, self.smtp_addr.port())))
    }

    /// The tarpit: connections are accepted, the greeting never comes in time.
    pub fn tarpit_addr(&self) -> SocketAddr {
        self.tarpit_addr
    }

    /// An MX address where nothing listens: connections are refused.
    pub fn refused_addr(&self) -> SocketAddr {
        self.refused_addr
    }

    /// The path of exim's main log.
    pub fn smtp_log_path(&self) -> &Path {
        &self.smtp_log
    }

    /// exim's main log as it is now. The world writes a `world: [ADDR]:PORT ...` line for each
    /// connection, HELO/EHLO, STARTTLS, MAIL, RCPT and DATA attempt, before it answers; ADDR and
    /// PORT are the client's, so a test finds its own connection by its local address.
    pub fn smtp_log(&self) -> io::Result<String> {
        let bytes = fs::read(&self.smtp_log)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Leaves the directory (configuration and logs) in place when the world is stopped, for
    /// reading after a failed test.
    pub fn keep_dir(&mut self) {
        self.keep_dir = true;
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let script = world_script();
        let stopped = Command::new(&script)
            .arg("down")
            .arg(&self.dir)
            .status()
            .is_ok_and(|status| status.success());
        // Without a clean stop the logs are all there is to go by.
        if stopped && !self.keep_dir {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Why a world could not be started or attached to.
#[derive(Debug)]
pub enum WorldError {
    /// A file or process operation failed; the string says which.
    Io(String, io::Error),
    /// `world.sh up` failed; `stderr` holds its explanation and the servers' log tails.
    Up { dir: PathBuf, stderr: String },
    /// `world.env` lacks a variable or holds a value that does not parse.
    Env(String),
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorldError::Io(what, e) => write!(f, "{what}: {e}"),
            WorldError::Up { dir, stderr } => {
                write!(f, "world.sh up {} failed:\n{stderr}", dir.display())
            }
            WorldError::Env(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for WorldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorldError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

fn world_script() -> PathBuf {
    repo_root().join("tests/world/world.sh")
}

/// The root of the repository checkout.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory name no other world uses: this process's ID, the time, and a counter for worlds
/// started by one process within the clock's resolution.
fn fresh_dir() -> Result<PathBuf, WorldError> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "mailvet-world-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir).map_err(|e| WorldError::Io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// `KEY=VALUE` lines; anything else is ignored.
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_become_variables() {
        let vars = parse_env("A=1\n\nB = http://x/y?z=1\nnot a line\n");
        assert_eq!(vars.get("A").map(String::as_str), Some("1"));
        assert_eq!(vars.get("B").map(String::as_str), Some("http://x/y?z=1"));
        assert_eq!(vars.len(), 2);
    }

    #[test]
    fn a_world_env_without_a_port_is_an_error() {
        let dir = fresh_dir().expect("temp dir");
        let path = dir.join("world.env");
        fs::write(&path, "MAILVET_WORLD_DIR=/nowhere\n").expect("write");
        let err = World::from_file(&path).expect_err("incomplete world.env");
        fs::remove_dir_all(&dir).expect("cleanup");
        assert!(err.to_string().contains("has no MAILVET_WORLD_"), "{err}");
    }
}
