//! `mailvet check` as a user runs it. Everything here stays on this machine: `--syntax-only`
//! opens no socket, and the DNS cases talk to listeners on 127.0.0.1 that this test owns.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{codes, mailvet, reports, run};

fn syntax_only(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["check", "--syntax-only"];
    all.extend_from_slice(args);
    reports(&run(&all, b""))
}

fn one(address: &str) -> Value {
    let mut reports = syntax_only(&[address]);
    assert_eq!(reports.len(), 1);
    reports.remove(0)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_valid_address_is_valid_on_syntax_alone() {
    let r = one("Jane.Doe@Example.COM");
    assert_eq!(r["input"], "Jane.Doe@Example.COM");
    assert_eq!(r["address"], "Jane.Doe@example.com");
    assert_eq!(r["verdict"], "valid");
    assert_eq!(r["reasons"], json!([]));
    assert_eq!(r["suggestion"], Value::Null);
    assert_eq!(r["score"], 70);
    assert_eq!(r["checks"]["syntax"]["status"], "passed");
    for layer in ["dns", "smtp"] {
        assert_eq!(r["checks"][layer]["status"], "skipped", "{layer}");
        assert_eq!(r["checks"][layer]["skipped"], "syntax_only", "{layer}");
    }
}

#[test]
fn an_invalid_address_names_the_rule_it_breaks() {
    let r = one("jane.example.com");
    assert_eq!(r["verdict"], "invalid");
    assert_eq!(r["address"], Value::Null);
    assert_eq!(codes(&r), ["invalid_syntax"]);
    assert_eq!(r["score"], 0);
    assert_eq!(r["checks"]["syntax"]["error"]["code"], "missing_at");
    assert_eq!(r["checks"]["dns"]["skipped"], "not_needed");

    let r = one("jane@@example.com");
    assert_eq!(r["checks"]["syntax"]["error"]["code"], "multiple_at");
    assert_eq!(r["checks"]["syntax"]["error"]["position"], 5);
}

#[test]
fn disposable_and_role_accounts_are_risky() {
    let r = one("someone@mailinator.com");
    assert_eq!(
        (r["verdict"].clone(), codes(&r)),
        (json!("risky"), vec!["disposable"])
    );
    let r = one("info@example.com");
    assert_eq!(
        (r["verdict"].clone(), codes(&r)),
        (json!("risky"), vec!["role_account"])
    );
    let r = one("jane@gmail.com");
    assert_eq!(
        (r["verdict"].clone(), codes(&r)),
        (json!("valid"), vec!["free_provider"])
    );
}

#[test]
fn a_typo_gets_a_suggestion() {
    let r = one("jane@gamil.com");
    assert_eq!(r["suggestion"], "jane@gmail.com");
    // Without DNS nothing says that gamil.com takes no mail: a hint, not a reason.
    assert_eq!(r["verdict"], "valid");
    assert_eq!(one("jane@hotmial.com")["suggestion"], "jane@hotmail.com");
    assert_eq!(one("jane@example.com")["suggestion"], Value::Null);
}

#[test]
fn every_line_gets_a_report_in_order_exactly_as_given() {
    let stdin = b"\xEF\xBB\xBFa@example.com\r\n\n  b@example.com \nj\xF6rg@example.com\n\tc@example.com\r\nlast@example.com";
    let reports = reports(&run(&["check", "--syntax-only"], stdin));
    let inputs: Vec<&str> = reports
        .iter()
        .map(|r| r["input"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        [
            "a@example.com",
            "",
            "  b@example.com ",
            "j\u{FFFD}rg@example.com",
            "\tc@example.com",
            "last@example.com"
        ]
    );
    let syntax_codes: Vec<&str> = reports
        .iter()
        .map(|r| {
            r["checks"]["syntax"]["error"]["code"]
                .as_str()
                .unwrap_or("-")
        })
        .collect();
    assert_eq!(
        syntax_codes,
        [
            "-",
            "empty",
            "surrounding_whitespace",
            "invalid_utf8",
            "surrounding_whitespace",
            "-"
        ]
    );
    let not_utf8 = &reports[3];
    assert_eq!(not_utf8["verdict"], "invalid");
    assert_eq!(codes(not_utf8), ["invalid_syntax"]);
    assert_eq!(not_utf8["checks"]["syntax"]["error"]["position"], 1);
    assert_eq!(reports[1]["verdict"], "invalid");
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_reported() {
    use std::os::unix::ffi::OsStrExt;
    let output = mailvet()
        .args(["check", "--syntax-only", "ok@example.com"])
        .arg(std::ffi::OsStr::from_bytes(b"bad\xFF@example.com"))
        .output()
        .expect("run mailvet");
    let reports = reports(&output);
    assert_eq!(reports[0]["verdict"], "valid");
    assert_eq!(reports[1]["input"], "bad\u{FFFD}@example.com");
    assert_eq!(
        reports[1]["checks"]["syntax"]["error"]["code"],
        "invalid_utf8"
    );
    assert_eq!(reports[1]["checks"]["syntax"]["error"]["position"], 3);
}

#[test]
fn jsonl_is_the_default_off_a_terminal_with_exactly_the_public_fields() {
    let output = run(&["check", "--syntax-only"], b"a@example.com\nnope\n");
    for r in reports(&output) {
        let mut keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "address",
                "checks",
                "input",
                "reasons",
                "score",
                "suggestion",
                "verdict"
            ]
        );
        let mut layers: Vec<&String> = r["checks"].as_object().unwrap().keys().collect();
        layers.sort();
        assert_eq!(layers, ["dns", "smtp", "syntax"]);
    }
}

#[test]
fn csv_has_a_header_and_one_row_per_input() {
    let output = run(
        &["check", "--syntax-only", "--format", "csv"],
        b"info@mailinator.com\n\n\"a,b\"@example.com\njane@gamil.com\n",
    );
    assert!(output.status.success());
    let mut csv = csv::Reader::from_reader(output.stdout.as_slice());
    assert_eq!(
        csv.headers().unwrap(),
        vec![
            "input",
            "address",
            "verdict",
            "reasons",
            "suggestion",
            "score",
            "message"
        ]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        &rows[0],
        vec![
            "info@mailinator.com",
            "info@mailinator.com",
            "risky",
            "disposable;role_account",
            "",
            "30",
            "The address belongs to a disposable (throwaway) email provider."
        ]
    );
    let empty: Vec<&str> = rows[1].iter().take(4).collect();
    assert_eq!(empty, ["", "", "invalid", "invalid_syntax"]);
    assert!(!rows[1][6].is_empty());
    assert_eq!(&rows[2][0], "\"a,b\"@example.com");
    assert_eq!((&rows[3][2], &rows[3][4]), ("valid", "jane@gmail.com"));
}

#[test]
fn table_is_aligned_and_plain_off_a_terminal() {
    let output = run(
        &["check", "--syntax-only", "--format", "table"],
        b"jane@gamil.com\n\nbad\n",
    );
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let notes = lines[0].find("NOTES").unwrap();
    assert!(lines[1].starts_with("valid       70  jane@gamil.com "));
    assert_eq!(lines[1].find("did you mean jane@gmail.com?"), Some(notes));
    assert!(
        lines[2].starts_with("invalid      0  \"\" "),
        "{}",
        lines[2]
    );
    assert!(!text.contains('\x1b'));
}

#[test]
fn a_policy_file_reweighs_reasons() {
    let dir = std::env::temp_dir().join(format!("mailvet-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.json");
    std::fs::write(&path, r#"{"role_account":"info","free_provider":"risky"}"#).unwrap();
    let path = path.to_str().unwrap();
    let reports = syntax_only(&["--policy", path, "info@example.com", "jane@gmail.com"]);
    assert_eq!(reports[0]["verdict"], "valid");
    assert_eq!(codes(&reports[0]), ["role_account"]);
    assert_eq!(reports[1]["verdict"], "risky");

    let bad = dir.join("bad.json");
    for (content, says) in [
        ("{\"no_such_code\":\"info\"}", "unknown variant"),
        ("{\"role_account\":\"fatal\"}", "unknown variant"),
        ("not json", "expected"),
    ] {
        std::fs::write(&bad, content).unwrap();
        let output = run(
            &[
                "check",
                "--syntax-only",
                "--policy",
                bad.to_str().unwrap(),
                "a@b.org",
            ],
            b"",
        );
        assert_eq!(output.status.code(), Some(2), "{content}");
        assert!(output.stdout.is_empty());
        let err = stderr(&output);
        assert!(err.starts_with("error: the policy file "), "{err}");
        assert!(err.contains(says), "{err}");
    }
    let missing = dir.join("missing.json");
    let output = run(
        &[
            "check",
            "--syntax-only",
            "--policy",
            missing.to_str().unwrap(),
            "a@b.org",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("error: cannot read the policy file "));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_users_domain_lists_win() {
    let reports = syntax_only(&[
        "--allow-domain",
        "mailinator.com",
        "--deny-domain",
        "Example.ORG",
        "a@mailinator.com",
        "a@sub.example.org",
        "a@example.com",
    ]);
    let verdicts: Vec<&str> = reports
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["valid", "risky", "valid"]);
    assert_eq!(codes(&reports[1]), ["disposable"]);

    let output = run(
        &[
            "check",
            "--syntax-only",
            "--deny-domain",
            "bücher.de",
            "a@b.org",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.starts_with("error: --deny-domain: \"bücher.de\""),
        "{err}"
    );
    assert!(err.contains("A-labels"), "{err}");
}

#[test]
fn bad_arguments_are_errors_with_status_2() {
    for args in [
        &["check", "--no-such-flag"][..],
        &["check", "--concurrency", "0"],
        &["check", "--dns-timeout", "0"],
        &["check", "--dns-timeout", "soon"],
        &["check", "--format", "xml"],
        &["check", "--doh", "ftp://127.0.0.1/dns-query", "a@b.org"],
        &["check", "--doh", "dns.google", "a@b.org"],
        &["frobnicate"],
    ] {
        let output = run(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).starts_with("error: "),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn fail_on_sets_the_exit_status() {
    let status = |args: &[&str]| {
        let mut all = vec!["check", "--syntax-only"];
        all.extend_from_slice(args);
        run(&all, b"").status.code()
    };
    assert_eq!(status(&["a@example.com", "bad"]), Some(0));
    assert_eq!(
        status(&["--fail-on", "invalid", "a@example.com", "bad"]),
        Some(1)
    );
    assert_eq!(
        status(&["--fail-on", "invalid", "info@example.com"]),
        Some(0)
    );
    assert_eq!(status(&["--fail-on", "risky", "info@example.com"]), Some(1));
    assert_eq!(status(&["--fail-on", "risky", "bad"]), Some(1));
    assert_eq!(status(&["--fail-on", "unknown", "a@example.com"]), Some(0));
}

#[test]
fn help_names_the_mailbox_options() {
    let output = run(&["check", "--help"], b"");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for option in [
        "--no-smtp",
        "--syntax-only",
        "--doh <URL>",
        "--smtp-port <PORT>",
        "--smtp-timeout <SECS>",
        "--smtp-deadline <SECS>",
        "--helo <NAME>",
        "--mail-from <ADDRESS>",
        "--allow-private",
        "--per-host <N>",
        "--socks5 <HOST:PORT>",
        "--input <FILE>",
        "--column <C>",
        "--split <DIR>",
        "--encoding <NAME>",
        "--output <FILE>",
    ] {
        assert!(help.contains(option), "{option} missing from\n{help}");
    }
}

#[test]
fn files_in_and_out() {
    let dir = std::env::temp_dir().join(format!("mailvet-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lines = dir.join("lines.txt");
    std::fs::write(&lines, "a@example.com\n\nnope").unwrap();
    let out = dir.join("out.jsonl");
    let output = run(
        &[
            "check",
            "--syntax-only",
            "--input",
            lines.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    let inputs: Vec<String> = written
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["input"].to_string())
        .collect();
    assert_eq!(inputs, ["\"a@example.com\"", "\"\"", "\"nope\""]);

    // CSV from standard input, by column: the rows come back as CSV with five columns more.
    let output = run(
        &["check", "--syntax-only", "--column", "mail"],
        b"id,mail\n1,info@mailinator.com\n2,jane@gamil.com\n3\n4,Jane@GAMIL.com\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "id,mail,mailvet_verdict,mailvet_reasons,mailvet_suggestion,mailvet_score,mailvet_duplicate_of\r\n\
         1,info@mailinator.com,risky,disposable;role_account,,30,\r\n\
         2,jane@gamil.com,valid,,jane@gmail.com,70,\r\n\
         3,,invalid,invalid_syntax,,0,\r\n\
         4,Jane@GAMIL.com,valid,,Jane@gmail.com,70,\r\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_and_probe_options_are_errors() {
    let closed = closed_port_url();
    for (args, says) in [
        (
            &["check", "--syntax-only", "--column", "email"][..],
            "csv_no_email_column: The list has no column \"email\": it has the columns \"id\", \"mail\"",
        ),
        (
            &["check", "--syntax-only", "--input", "/nonexistent/list.txt"],
            "cannot read the input file /nonexistent/list.txt",
        ),
        (
            &["check", "--doh", &closed, "--helo", "two words", "a@b.org"],
            "--helo \"two words\"",
        ),
        (
            &[
                "check",
                "--doh",
                &closed,
                "--mail-from",
                "nobody",
                "a@b.org",
            ],
            "--mail-from \"nobody\" is not an email address",
        ),
        (
            &["check", "--doh", &closed, "--socks5", "nowhere", "a@b.org"],
            "--socks5 \"nowhere\"",
        ),
        (
            &["check", "--column", "mail", "a@b.org"],
            "cannot be used with",
        ),
    ] {
        // Only the missing column is found by reading standard input; the other runs end
        // before anything could be written to it.
        let stdin: &[u8] = if args.contains(&"email") {
            b"id,mail\n1,a@b.org\n"
        } else {
            b""
        };
        let output = run(args, stdin);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let err = stderr(&output);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// An address on a loopback port where nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let address = listener.local_addr().expect("local address");
    format!("http://{address}/dns-query")
}

#[test]
fn an_unreachable_doh_server_is_a_verdict_not_an_error() {
    // Accepts connections (the kernel completes them) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/dns-query", silent.local_addr().unwrap());
    let closed_url = closed_port_url();
    let started = Instant::now();
    let output = run(
        &[
            "check",
            "--no-smtp",
            "--dns-timeout",
            "0.5",
            "--doh",
            &closed_url,
            "--doh",
            &silent_url,
            "secret.person@valid.test",
            "another.one@nullmx.test",
        ],
        b"",
    );
    let elapsed = started.elapsed();
    let reports = reports(&output);
    for r in &reports {
        assert_eq!(r["verdict"], "unknown");
        assert_eq!(codes(r), ["dns_failure"]);
        assert_eq!(r["checks"]["dns"]["status"], "inconclusive");
        assert_eq!(r["checks"]["dns"]["route"], "dns_failure");
        assert_eq!(r["checks"]["smtp"]["skipped"], "dns_unavailable");
    }
    // Both domains at once, each waiting once for the silent server.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let err = stderr(&output);
    assert!(
        err.contains(&closed_url) && err.contains(&silent_url),
        "{err}"
    );
    assert!(
        err.contains("could not connect") && err.contains("no answer in time"),
        "{err}"
    );
    for secret in ["secret.person", "another.one", "valid.test", "nullmx.test"] {
        assert!(!err.contains(secret), "{err}");
    }
}

#[test]
fn each_report_is_written_before_the_next_line_arrives() {
    let closed = closed_port_url();
    for args in [
        vec!["check", "--syntax-only"],
        vec!["check", "--doh", &closed],
    ] {
        let mut child = mailvet()
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        for input in ["first@example.com", "second@example.com"] {
            writeln!(stdin, "{input}").unwrap();
            stdin.flush().unwrap();
            let line = received
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|e| {
                    panic!("{args:?}: no report for {input} while the input stays open: {e}")
                });
            let report: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(report["input"], input);
        }
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

#[test]
fn a_long_input_keeps_its_order() {
    let mut stdin = String::new();
    let mut expected = Vec::new();
    for i in 0..3000 {
        let line = match i % 4 {
            0 => format!("user{i}@example.com"),
            1 => format!("user{i}@mailinator.com"),
            2 => String::new(),
            _ => format!("user{i}"),
        };
        stdin.push_str(&line);
        stdin.push('\n');
        expected.push(line);
    }
    let closed = closed_port_url();
    for args in [
        vec!["check", "--syntax-only"],
        vec!["check", "--doh", &closed, "--concurrency", "7"],
    ] {
        let reports = reports(&run(&args, stdin.as_bytes()));
        let inputs: Vec<&str> = reports
            .iter()
            .map(|r| r["input"].as_str().unwrap())
            .collect();
        assert_eq!(inputs, expected, "{args:?}");
    }
}

#[test]
fn closing_the_output_early_is_not_an_error() {
    let mut child = mailvet()
        .args(["check", "--syntax-only"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "a@example.com").unwrap();
    stdin.flush().unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("a@example.com"));
    drop(stdout);
    // The next reports go nowhere: mailvet stops quietly.
    let _ = stdin.write_all("b@example.com\n".repeat(10_000).as_bytes());
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
}
