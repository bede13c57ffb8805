//! The edge Worker under `wrangler dev`, for end-to-end tests and the benchmark.
//!
//! It runs the Worker that `scripts/build-worker` last built into `build/` (`--env e2e` in
//! wrangler.toml skips the rebuild: a running `cargo test` holds the build directory's lock),
//! on a free loopback port, resolving through the world's DNS-over-HTTPS server unless the
//! variables name another `DOH_URL`. Each Worker keeps its local state (the Cache API) in a
//! directory of its own under the world's, so it starts with an empty cache.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::World;
use crate::http::{self, HttpResponse};

/// How long wrangler may take to say the Worker is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The start of wrangler dev's own 503 when it lost its connection to the Worker.
const PROXY_LOST_CONNECTION: &str = "Your worker restarted mid-request";
/// How often a request is sent when wrangler dev answers that.
const PROXY_ATTEMPTS: u32 = 3;

/// A running Worker; stopped (wrangler and workerd, by process group) when dropped.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    state: PathBuf,
    /// The jobs engine's configuration (a copy with the variables) and the environment, for
    /// [`Worker::d1`].
    jobs: PathBuf,
    env: String,
}

/// How to start a Worker, beyond its variables.
#[derive(Debug, Clone)]
pub struct Options {
    /// The wrangler environment (wrangler.toml `[env.NAME]`, which must skip the build).
    pub env: String,
    /// Where wrangler keeps D1, R2 and the Cache API (`--persist-to`); a fresh directory under
    /// the world's when `None`. A Worker started again on the same directory finds its state.
    pub state: Option<PathBuf>,
    /// Applies the D1 migrations (`migrations/`) to the state first, for the jobs engine.
    pub migrate: bool,
    /// Names that workerd's `fetch` should find at these addresses (name, address). workerd
    /// resolves with the system's resolver, not the world's DNS, so wrangler then runs in a
    /// mount namespace of its own (`unshare --mount`, which needs root, as CI has) where
    /// `/etc/hosts` has these lines too. The machine's own `/etc/hosts` is not touched.
    pub hosts: Vec<(String, String)>,
    /// A PEM file of certificate authorities that workerd's `fetch` trusts as well
    /// (`NODE_EXTRA_CA_CERTS`, which miniflare reads): the world's test CA.
    pub ca_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            env: "e2e".into(),
            state: None,
            migrate: false,
            hosts: Vec::new(),
            ca_file: None,
        }
    }
}

impl Worker {
    /// Starts `wrangler dev --env e2e` for the built Worker with `DOH_URL` pointing at `world`,
    /// plus `vars`.
    pub fn start(world: &World, vars: &[(&str, &str)]) -> Result<Worker, String> {
        Worker::start_in("e2e", world, vars)
    }

    /// Starts the built Worker in the wrangler environment `env` (wrangler.toml `[env.NAME]`,
    /// which must skip the build). `vars` may set `DOH_URL`; otherwise it is the world's.
    pub fn start_in(env: &str, world: &World, vars: &[(&str, &str)]) -> Result<Worker, String> {
        let options = Options {
            env: env.into(),
            ..Options::default()
        };
        Worker::start_with(world, vars, &options)
    }

    /// Starts the built Worker as `options` say. `vars` may set `DOH_URL`; otherwise it is the
    /// world's. `--test-scheduled` is on, so [`Worker::cron`] can fire the cron.
    pub fn start_with(
        world: &World,
        vars: &[(&str, &str)],
        options: &Options,
    ) -> Result<Worker, String> {
        let env = options.env.as_str();
        let root = crate::repo_root();
        let wrangler = root.join("node_modules/.bin/wrangler");
        for built in ["build/worker/shim.mjs", "build/jobs/worker/shim.mjs"] {
            if !root.join(built).exists() {
                return Err(format!(
                    "{built} is missing: run scripts/build-worker first"
                ));
            }
        }
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        // Each wrangler opens a debugger port too (9229 unless told): several Workers at once
        // need one each.
        let inspector = free_port().map_err(|e| format!("no free port: {e}"))?;
        let log = world.dir().join(format!("wrangler-{port}.log"));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let state = options
            .state
            .clone()
            .unwrap_or_else(|| world.dir().join(format!("wrangler-state-{port}")));
        let mut all_vars: Vec<(&str, String)> =
            vars.iter().map(|(n, v)| (*n, v.to_string())).collect();
        if !vars.iter().any(|(name, _)| *name == "DOH_URL") {
            all_vars.push(("DOH_URL", world.doh_url().to_owned()));
        }
        let jobs = world.dir().join(format!("jobs-{port}.toml"));
        write_jobs_config(&jobs, &all_vars)?;
        if options.migrate {
            migrate(&wrangler, env, &jobs, &state)?;
        }
        let mut command = if options.hosts.is_empty() {
            Command::new(&wrangler)
        } else {
            let hosts = world.dir().join(format!("hosts-{port}"));
            let mut lines = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            for (name, address) in &options.hosts {
                lines.push_str(&format!("\n{address} {name}"));
            }
            lines.push('\n');
            std::fs::write(&hosts, lines).map_err(|e| format!("{}: {e}", hosts.display()))?;
            // Private mount propagation is unshare's default: the bind stays in the namespace.
            let mut command = Command::new("unshare");
            command
                .args(["--mount", "--", "sh", "-c"])
                .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
                .arg(&hosts)
                .arg(&wrangler);
            command
        };
        if let Some(ca) = &options.ca_file {
            command.env("NODE_EXTRA_CA_CERTS", ca);
        }
        command
            .current_dir(&root)
            // The front Worker first (it gets the port), then the jobs engine behind its binding.
            .args(["dev", "-c", "wrangler.toml", "-c"])
            .arg(&jobs)
            .args(["--env", env, "--local", "--ip", "127.0.0.1"])
            .args([
                "--port",
                &port.to_string(),
                "--show-interactive-dev-session=false",
            ])
            .args(["--inspector-port", &inspector.to_string()])
            .arg("--test-scheduled")
            .arg("--persist-to")
            .arg(&state);
        for (name, value) in &all_vars {
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
            state,
            jobs,
            env: env.to_owned(),
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

    /// The process group of wrangler and its workerd (the group's id is wrangler's pid).
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where this Worker keeps its D1, R2 and cache state.
    pub fn state(&self) -> &Path {
        &self.state
    }

    /// Kills wrangler and workerd at once (SIGKILL to the process group), as a crash would:
    /// queued messages are lost, D1 and R2 keep what was written.
    pub fn kill(mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }

    /// Runs `sql` on the jobs engine's local D1 (`wrangler d1 execute --local`), as time passing
    /// or an operator would change it; its JSON output.
    pub fn d1(&self, sql: &str) -> Result<String, String> {
        let wrangler = crate::repo_root().join("node_modules/.bin/wrangler");
        d1_local(
            &wrangler,
            &["execute"],
            &["--json", "--command", sql],
            &self.env,
            &self.jobs,
            &self.state,
        )
    }

    /// Fires the cron trigger (wrangler.toml `[triggers]`) once and waits for it to end.
    pub fn cron(&self) -> io::Result<HttpResponse> {
        self.get("/__scheduled?cron=0+*+*+*+*")
    }

    /// The Worker's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> io::Result<HttpResponse> {
        self.request("GET", path, &[], None)
    }

    /// `METHOD path` with `headers` and an optional body.
    ///
    /// wrangler dev's proxy sometimes loses its kept-alive connection to the Worker and answers
    /// a request other than GET or HEAD with its own 503 "Your worker restarted mid-request",
    /// although nothing restarted (cloudflare/workers-sdk#14641, fixed after the wrangler we
    /// pin). The Worker itself never answers 503, so that answer is sent again, a few times.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> io::Result<HttpResponse> {
        let mut attempts = 1;
        loop {
            let response = http::request(method, &self.url(path), headers, body)?;
            let lost = response.status == 503 && response.text().starts_with(PROXY_LOST_CONNECTION);
            if !lost || attempts == PROXY_ATTEMPTS {
                return Ok(response);
            }
            attempts += 1;
        }
    }

    /// The last lines wrangler and the Worker wrote (its `console` output included).
    pub fn log_tail(&self) -> String {
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

/// Writes a copy of `jobs/wrangler.toml` (the jobs engine) to `path` with its paths made absolute
/// and `vars` as its `[vars]`: `--var` reaches only the first Worker of a `wrangler dev`.
fn write_jobs_config(path: &Path, vars: &[(&str, String)]) -> Result<(), String> {
    let root = crate::repo_root();
    let source = root.join("jobs/wrangler.toml");
    let text =
        std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    // `[vars]` is the file's last table, replaced whole.
    let base = text.split("\n[vars]\n").next().unwrap_or(&text);
    let mut config = base.replace("\"../", &format!("\"{}/", root.display()));
    config.push_str("\n[vars]\n");
    for (name, value) in vars {
        config.push_str(&format!("{name} = {}\n", toml_string(value)));
    }
    std::fs::write(path, config).map_err(|e| format!("{}: {e}", path.display()))
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `wrangler d1 migrations apply DB --local` on `state`, for the jobs engine's database.
fn migrate(wrangler: &Path, env: &str, jobs: &Path, state: &Path) -> Result<(), String> {
    d1_local(wrangler, &["migrations", "apply"], &[], env, jobs, state).map(drop)
}

/// `wrangler d1 VERB… DB --local … OPTIONS…` for the jobs engine's database (configuration
/// `jobs`, environment `env`) kept in `state`; its standard output.
fn d1_local(
    wrangler: &Path,
    verb: &[&str],
    options: &[&str],
    env: &str,
    jobs: &Path,
    state: &Path,
) -> Result<String, String> {
    let what = format!("wrangler d1 {}", verb.join(" "));
    let output = Command::new(wrangler)
        .current_dir(crate::repo_root())
        .arg("d1")
        .args(verb)
        .args(["DB", "--local", "--env", env, "-c"])
        .arg(jobs)
        .arg("--persist-to")
        .arg(state)
        .args(options)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A loopback port that is free now, for wrangler to bind a moment later. It is picked below the
/// kernel's ephemeral range (`ip_local_port_range`), where every outgoing connection of this
/// machine takes its local port: a port from inside it (what binding port 0 gives) can be taken
/// by some client's `connect()` before wrangler binds it. `tests/world/world.sh` picks its
/// ports the same way.
fn free_port() -> io::Result<u16> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    if ephemeral_low > 12_000 {
        // No random crate here: the clock's nanoseconds and the PID spread the picks.
        let span = ephemeral_low - 10_000;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            ^ std::process::id().wrapping_mul(2_654_435_761);
        for i in 0..200u32 {
            let port = 10_000 + (seed.wrapping_add(i.wrapping_mul(7_919))) % span;
            let port = u16::try_from(port).expect("below the ephemeral range");
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
