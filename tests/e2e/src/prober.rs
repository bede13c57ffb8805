//! `mailvet serve`, the real prober, as a child process on a free loopback port that probes the
//! world's exim, stopped when dropped. For the pipeline tests and the Jobs benchmark.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::World;

#[derive(Debug)]
pub struct Prober {
    child: Child,
    url: String,
}

impl Prober {
    /// Starts `binary serve` with `token`, resolving through the world's DoH server and asking
    /// its exim as `helo` (private addresses allowed).
    pub fn start(world: &World, binary: &Path, token: &str, helo: &str) -> Result<Prober, String> {
        Prober::start_with(world, binary, token, helo, &[])
    }

    /// The same with more arguments for `mailvet serve` (`--dnsbl dnsbl.test`, …).
    pub fn start_with(
        world: &World,
        binary: &Path,
        token: &str,
        helo: &str,
        more: &[&str],
    ) -> Result<Prober, String> {
        let smtp_port = world.smtp_addr().port().to_string();
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--token", token])
            .args(["--doh", world.doh_url(), "--smtp-port", &smtp_port])
            .args(["--allow-private", "--helo", helo])
            .args(more)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            return Err("no stderr from the prober".to_owned());
        };
        // The prober says where it listens on its first line; keep draining the rest.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("mailvet serve: listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let mut prober = Prober {
            child,
            url: String::new(),
        };
        prober.url = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "the prober did not say where it listens".to_owned())?;
        Ok(prober)
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `mailvet` binary beside the running test's own directory (`target/debug/mailvet` for
/// `target/debug/deps/TEST`), or why not.
pub fn beside_this_test() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("no target directory")?;
    binary_in(dir)
}

/// The `mailvet` binary in `dir` (built by `cargo build -p mailvet`), or why not.
pub fn binary_in(dir: &Path) -> Result<PathBuf, String> {
    let binary = dir.join("mailvet");
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "{} is missing: run `cargo build -p mailvet` first",
            binary.display()
        ))
    }
}
