//! The edge Worker under `wrangler dev`, for end-to-end tests.
//!
//! It runs the Worker that `scripts/build-worker` last built into `build/` (`--env e2e` in
//! wrangler.toml skips the rebuild: a running `cargo test` holds the build directory's lock),
//! on a free loopback port, resolving through the world's DNS-over-HTTPS server.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::World;
use crate::http::{self, HttpResponse};

/// How long wrangler may take to say the Worker is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Worker; stopped (wrangler and workerd, by process group) when dropped.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Worker {
    /// Starts `wrangler dev` for the built Worker with `DOH_URL` pointing at `world`, plus `vars`.
    pub fn start(world: &World, vars: &[(&str, &str)]) -> Result<Worker, String> {
        let root = crate::repo_root();
        let wrangler = root.join("node_modules/.bin/wrangler");
        if !root.join("build/worker/shim.mjs").exists() {
            return Err("build/worker/shim.mjs is missing: run scripts/build-worker first".into());
        }
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let log = world.dir().join(format!("wrangler-{port}.log"));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(&wrangler);
        command
            .current_dir(&root)
            .args(["dev", "--env", "e2e", "--local", "--ip", "127.0.0.1"])
            .args([
                "--port",
                &port.to_string(),
                "--show-interactive-dev-session=false",
            ])
            .args(["--var", &format!("DOH_URL:{}", world.doh_url())]);
        for (name, value) in vars {
            command.args(["--var", &format!("{name}:{value}")]);
        }
        command
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group, so that dropping the Worker also stops workerd.
            .process_group(0);
        let child = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", wrangler.display()))?;
        let mut worker = Worker {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        let started = Instant::now();
        loop {
            if worker.get("/healthz").is_ok_and(|r| r.status == 200) {
                return Ok(worker);
            }
            if let Ok(Some(status)) = worker.child.try_wait() {
                return Err(format!(
                    "wrangler exited ({status}):\n{}",
                    worker.log_tail()
                ));
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "the Worker was not ready in {READY_TIMEOUT:?}:\n{}",
                    worker.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Worker's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> io::Result<HttpResponse> {
        http::request("GET", &self.url(path), &[], None)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
