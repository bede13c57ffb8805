//! A small test runner for end-to-end binaries (`harness = false`).
//!
//! libtest has no hook that runs after the last test, so a server started for a whole binary
//! would never be stopped. This runner sets up a context once, runs each test on its own thread
//! (a panicking test fails alone), tears the context down, prints `N passed, N failed, N skipped`
//! and returns a failing exit code on any failure.
//!
//! A test that cannot run on this machine calls [`skip`] with the reason: it is counted as
//! skipped, in its own count, never as passed.
//!
//! Arguments: `WORD` runs the tests whose name contains WORD; `--list` lists them.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::any::Any;
use std::process::ExitCode;
use std::time::Instant;

/// A test: a name and a function of the shared context.
pub type Test<C> = (&'static str, fn(&C));

/// The reason a test gave to [`skip`].
#[derive(Debug)]
struct Skip(String);

/// Ends the calling test as skipped: what it needs is not on this machine. The runner reports
/// the reason and counts the test apart from the passed and the failed ones.
pub fn skip(reason: impl Into<String>) -> ! {
    std::panic::panic_any(Skip(reason.into()))
}

enum Outcome {
    Passed,
    Failed,
    Skipped(String),
}

fn outcome(joined: Result<(), Box<dyn Any + Send>>) -> Outcome {
    match joined {
        Ok(()) => Outcome::Passed,
        Err(payload) => match payload.downcast::<Skip>() {
            Ok(skip) => Outcome::Skipped(skip.0),
            Err(_) => Outcome::Failed,
        },
    }
}

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

    // A skip is no failure: keep the panic message of the default hook for real panics only.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<Skip>().is_none() {
            default_hook(info);
        }
    }));

    let results: Vec<(&str, Outcome)> = std::thread::scope(|scope| {
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
                let outcome = match handle {
                    Ok(handle) => outcome(handle.join()),
                    Err(e) => {
                        println!("{name}: could not start a thread: {e}");
                        Outcome::Failed
                    }
                };
                (name, outcome)
            })
            .collect()
    });

    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, outcome) in &results {
        let said = match outcome {
            Outcome::Passed => {
                passed += 1;
                "ok".to_owned()
            }
            Outcome::Failed => {
                failed += 1;
                "FAILED".to_owned()
            }
            Outcome::Skipped(reason) => {
                skipped += 1;
                format!("skipped: {reason}")
            }
        };
        println!("test {name} ... {said}");
    }
    if failed > 0 {
        on_failure(&mut context);
    }
    drop(context);
    println!("finished in {:?}", started.elapsed());
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
