//! Runs the built `mailvet` binary and reads its JSON lines.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary, with an environment that cannot change what it does: no proxy, no colour.
pub fn mailvet() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailvet"));
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "NO_COLOR",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs `mailvet ARGS` with `stdin` as standard input, to the end.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = mailvet()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mailvet");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    // Written from a thread: a large input would otherwise fill the pipe while the output does.
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let output = child.wait_with_output().expect("wait for mailvet");
    writer.join().expect("writer").expect("write stdin");
    output
}

/// The JSON lines of a run that succeeded.
pub fn reports(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "status {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The reason codes of a report.
pub fn codes(report: &Value) -> Vec<&str> {
    report["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("code"))
        .collect()
}
