//! The widget in a real browser: starts the local mail world and two edge Workers (which serve
//! `www/`), one open and one with a public key for a customer's site, then runs
//! `node tests/browser/run.mjs WORKER_URL KEYED_WORKER_URL [WORD…]` (Debian's Chromium through
//! playwright-core) and passes on its exit code. Its output, with the closing
//! `N passed, N failed`, goes straight to stdout.
//!
//! Needs the Worker built (`scripts/build-worker`) and the widget built (`scripts/build-widget`).
#![allow(clippy::print_stdout, reason = "a test binary reports on stdout")]

use std::process::{Command, ExitCode};

use mailvet_e2e::World;
use mailvet_e2e::worker::Worker;

/// The public key of the customer's site in tests/browser/run.mjs.
const PUBLIC_KEYS: &str = r#"{"pk_test_widget": ["http://shop.localhost"]}"#;

/// The files `scripts/build-widget` writes into `www/`.
const BUILT: [&str; 3] = ["mailvet.js", "mailvet.mjs", "mailvet_bg.wasm"];

fn main() -> ExitCode {
    let root = mailvet_e2e::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // One runner for the whole file; `cargo test -- --list` must not start a browser.
        println!("browser: test");
        return ExitCode::SUCCESS;
    }
    let words: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let fail = |why: String| {
        println!("set-up failed: {why}");
        println!("0 passed, 1 failed");
        ExitCode::FAILURE
    };
    if let Some(missing) = BUILT.iter().find(|f| !root.join("www").join(f).exists()) {
        return fail(format!(
            "www/{missing} is missing: run scripts/build-widget first"
        ));
    }
    let mut world = match World::from_env_or_start() {
        Ok(world) => world,
        Err(e) => return fail(format!("the mail world: {e}")),
    };
    let (open, keyed) = std::thread::scope(|scope| {
        let keyed = scope.spawn(|| Worker::start(&world, &[("PUBLIC_KEYS", PUBLIC_KEYS)]));
        let open = Worker::start(&world, &[]);
        (open, keyed.join())
    });
    let (open, keyed) = match (open, keyed) {
        (Ok(open), Ok(Ok(keyed))) => (open, keyed),
        (Err(e), _) | (_, Ok(Err(e))) => return fail(format!("a Worker: {e}")),
        (_, Err(_)) => return fail("starting the keyed Worker panicked".into()),
    };
    let status = Command::new("node")
        .current_dir(&root)
        .arg("tests/browser/run.mjs")
        .arg(open.url(""))
        .arg(keyed.url(""))
        .args(words)
        .status();
    drop((open, keyed));
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            world.keep_dir();
            println!(
                "browser tests: node exited with {status}; logs kept in {}",
                world.dir().display()
            );
            ExitCode::FAILURE
        }
        Err(e) => fail(format!("running node: {e}")),
    }
}
