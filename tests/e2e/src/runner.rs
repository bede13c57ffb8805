//! A small test runner for end-to-end binaries (`harness = false`).
//!
//! libtest has no hook that runs after the last test, so a server started for a whole binary
//! would never be stopped. This runner sets up a context once, runs each test on its own thread
//! (a panicking test fails alone), tears the context down, prints `N passed, N failed` and
//! returns a failing exit code on any failure.
//!
//! Arguments: `WORD` runs the tests whose name contains WORD; `--list` lists them.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::process::ExitCode;
use std::time::Instant;

/// A test: a name and a function of the shared context.
pub type Test<C> = (&'static str, fn(&C));

/// Runs `tests` against the context `setup` makes. `on_failure` runs before the context is
/// dropped when a test failed (to keep logs, say).
pub fn run<C: Sync>(
    tests: &[Test<C>],
    setup: impl FnOnce() -> Result<C, String>,
    on_failure: impl FnOnce(&mut C),
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<&Test<C>> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();

    let started = Instant::now();
    let mut context = match setup() {
        Ok(context) => context,
        Err(e) => {
            println!("set-up failed: {e}");
            println!("0 passed, {} failed", selected.len().max(1));
            return ExitCode::FAILURE;
        }
    };
    println!(
        "set up in {:?}; running {} tests",
        started.elapsed(),
        selected.len()
    );

    let results: Vec<(&str, bool)> = std::thread::scope(|scope| {
        let context = &context;
        let handles: Vec<_> = selected
            .iter()
            .map(|&&(name, test)| {
                let handle = std::thread::Builder::new()
                    .name(name.to_owned())
                    .spawn_scoped(scope, move || test(context));
                (name, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let passed = match handle {
                    Ok(handle) => handle.join().is_ok(),
                    Err(e) => {
                        println!("{name}: could not start a thread: {e}");
                        false
                    }
                };
                (name, passed)
            })
            .collect()
    });

    let failed = results.iter().filter(|(_, passed)| !passed).count();
    for (name, passed) in &results {
        println!("test {name} ... {}", if *passed { "ok" } else { "FAILED" });
    }
    if failed > 0 {
        on_failure(&mut context);
    }
    drop(context);
    println!("finished in {:?}", started.elapsed());
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
