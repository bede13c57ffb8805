//! `mailvet check` on lists: the awkward CSV through --output as CSV and JSON lines, --split,
//! a Big5 file, standard input. Syntax only: the same rows through DNS and the prober are in
//! tests/smtp (`csv_file_gains_mailbox_columns`).

#[allow(dead_code, reason = "the helpers of tests/check.rs, some unused here")]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use encoding_rs::BIG5;
use mailvet_core::table::{self, Dialect};
use serde_json::Value;
use support::run;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/lists")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailvet-list-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn check(args: &[&str]) {
    let output = run(args, b"");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The rows of a CSV file by the core's reader.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).expect("written file");
    table::read_all(Dialect::Csv(b','), &bytes)
        .expect("rows")
        .into_iter()
        .map(|r| r.fields)
        .collect()
}

#[test]
fn the_awkward_list_comes_back_row_for_row() {
    let dir = scratch("awkward");
    let input = data("awkward.csv");
    let out = dir.join("checked.csv");
    let split = dir.join("split");
    check(&[
        "check",
        "--syntax-only",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--split",
        split.to_str().unwrap(),
    ]);
    // Exactly the reviewed file: every row in order (the blank one too), the cells as given
    // but for the formula guard, five columns appended, the byte order mark kept for Excel.
    let want = std::fs::read(data("awkward.checked.csv")).unwrap();
    assert_eq!(
        String::from_utf8(std::fs::read(&out).unwrap()).unwrap(),
        String::from_utf8(want).unwrap()
    );
    let given = rows(&input);
    let written = rows(&out);
    assert_eq!(written.len(), given.len());
    for (given, written) in given.iter().zip(&written).skip(1) {
        for (i, cell) in given.iter().enumerate() {
            assert_eq!(&written[i], &table::guard(cell), "{given:?}");
        }
    }

    // Each bucket has its verdict's rows, in order; together they are every row once.
    let mut all = Vec::new();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(split.join("summary.json")).unwrap())
            .unwrap();
    for verdict in ["valid", "risky", "invalid", "unknown"] {
        let rows = rows(&split.join(format!("{verdict}.csv")));
        assert_eq!(rows[0], written[0]);
        assert!(rows[1..].iter().all(|r| r[4] == verdict), "{verdict}");
        assert_eq!(summary["counts"][verdict], rows.len() - 1, "{verdict}");
        all.extend(rows.into_iter().skip(1));
    }
    all.sort();
    let mut every: Vec<_> = written[1..].to_vec();
    every.sort();
    assert_eq!(all, every);
    assert_eq!(summary["total_rows"], 8);
    assert_eq!(summary["duplicates"], 1);
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["checks"], "syntax");
    assert_eq!(summary["reasons"]["invalid_syntax"], 3);

    // JSON lines: every row, its cells under their headers exactly as given (no guard).
    let jsonl = dir.join("checked.jsonl");
    check(&[
        "check",
        "--syntax-only",
        "--input",
        input.to_str().unwrap(),
        "--output",
        jsonl.to_str().unwrap(),
    ]);
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    let header = &given[0];
    for (i, (line, cells)) in lines.iter().zip(&given[1..]).enumerate() {
        assert_eq!(line["row"], i + 1);
        let columns: BTreeMap<String, String> =
            serde_json::from_value(line["columns"].clone()).unwrap();
        let want: BTreeMap<String, String> =
            header.iter().cloned().zip(cells.iter().cloned()).collect();
        assert_eq!(columns, want);
        assert_eq!(
            line["report"]["input"],
            cells.get(1).cloned().unwrap_or_default()
        );
    }
    // The duplicate has its first row's result, under its own input.
    assert_eq!(lines[4]["duplicate_of"], 1);
    let mut first = lines[0]["report"].clone();
    first["input"] = "david.chan@EXAMPLE.COM".into();
    assert_eq!(lines[4]["report"], first);
    assert_eq!(lines[5]["columns"]["備註"], "=1+1");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_big5_list_is_read_with_its_encoding() {
    let dir = scratch("big5");
    let text = "姓名,電郵\r\n陳大文,david.chan@example.com\r\n林美玲,mei@example.org\r\n";
    let (bytes, _, unmappable) = BIG5.encode(text);
    assert!(!unmappable);
    let input = dir.join("big5.csv");
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.join("out.csv");
    let args = [
        "check",
        "--syntax-only",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    // As UTF-8 it is not text: the error says so, where, and what to do.
    let output = run(&args, b"");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("csv_encoding"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    let mut with = args.to_vec();
    with.extend(["--encoding", "big5"]);
    check(&with);
    let rows = rows(&out);
    assert_eq!(rows[0][..2], ["姓名", "電郵"]);
    assert_eq!(rows[1][..2], ["陳大文", "david.chan@example.com"]);
    assert_eq!(rows[2][..3], ["林美玲", "mei@example.org", "valid"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_list_from_standard_input_marks_duplicates_too() {
    let output = run(
        &[
            "check",
            "--syntax-only",
            "--column",
            "2",
            "--format",
            "jsonl",
        ],
        b"Jane,jane@Example.com\nJ.,jane@EXAMPLE.com\n,\n",
    );
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // No header: the first row is data, and the columns are named for it.
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["columns"]["email"], "jane@Example.com");
    assert_eq!(lines[0]["columns"]["column_1"], "Jane");
    assert_eq!(lines[1]["duplicate_of"], 1);
    assert_eq!(lines[2]["report"]["verdict"], "invalid");
}

#[test]
fn lists_that_cannot_be_read_say_why() {
    for (stdin, args, code) in [
        (&b""[..], &["--column", "email"][..], "empty_list"),
        (
            b"name,phone\nJane,1\n",
            &["--column", "email"],
            "csv_no_email_column",
        ),
        (
            b"name,phone\nJane,1\n",
            &["--split", "/dev/null/split"],
            "cannot create",
        ),
    ] {
        let mut all = vec!["check", "--syntax-only"];
        all.extend(args);
        let output = run(&all, stdin);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(code), "{args:?}: {err}");
    }
}

/// A list of `rows` rows with names, some blank rows, duplicates and formula cells.
fn big_list(rows: usize) -> String {
    let mut text = String::from("name;note;e-mail\r\n");
    for i in 0..rows {
        match i % 50 {
            7 => text.push_str("\r\n"),
            13 => text.push_str(&format!("N{i};=cmd;user{}@Example.com\r\n", i - 13)),
            _ => text.push_str(&format!("N{i};\"a;b\";user{i}@example.com\r\n")),
        }
    }
    text
}

/// Runs `mailvet check --syntax-only` over `input` into `out` (and `split`), with `extra`.
fn clean(input: &Path, out: &Path, split: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "check",
        "--syntax-only",
        "--input",
        input.to_str().expect("path"),
        "--output",
        out.to_str().expect("path"),
        "--split",
        split.to_str().expect("path"),
    ];
    args.extend(extra);
    run(&args, b"")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read")
}

#[test]
fn resume_after_a_stop_anywhere_loses_and_repeats_nothing() {
    let dir = scratch("resume");
    let input = dir.join("list.csv");
    std::fs::write(&input, big_list(3_000)).unwrap();
    let (whole, whole_split) = (dir.join("whole.csv"), dir.join("whole"));
    assert!(clean(&input, &whole, &whole_split, &[]).status.success());
    let want = read(&whole);
    let buckets = ["valid.csv", "risky.csv", "invalid.csv", "unknown.csv"];
    let (out, split) = (dir.join("out.csv"), dir.join("split"));
    // Cut where a stop may leave the file: nothing written, inside the header, at a row's end,
    // inside a quoted field, inside a CRLF, one byte short of the end.
    let row_end = want.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let quoted = want.iter().rposition(|&b| b == b'"').unwrap();
    let crlf = want.len() / 2
        + want[want.len() / 2..]
            .iter()
            .position(|&b| b == b'\r')
            .unwrap()
        + 1;
    for cut in [
        0,
        5,
        row_end,
        want.len() / 3,
        quoted,
        crlf,
        want.len() - 1,
        want.len(),
    ] {
        std::fs::write(&out, &want[..cut]).unwrap();
        let output = clean(&input, &out, &split, &["--resume"]);
        assert!(
            output.status.success(),
            "cut at {cut}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(read(&out) == want, "cut at {cut}");
        for bucket in buckets {
            assert!(
                read(&split.join(bucket)) == read(&whole_split.join(bucket)),
                "{bucket}, cut at {cut}"
            );
        }
        let summary = |dir: &Path| -> Value {
            let mut v: Value = serde_json::from_slice(&read(&dir.join("summary.json"))).unwrap();
            for time in ["created_at", "started_at", "finished_at"] {
                v[time] = Value::Null;
            }
            v
        };
        assert_eq!(summary(&split), summary(&whole_split), "cut at {cut}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_after_sigkill_loses_and_repeats_nothing() {
    let dir = scratch("sigkill");
    let input = dir.join("list.csv");
    std::fs::write(&input, big_list(150_000)).unwrap();
    let (whole, whole_split) = (dir.join("whole.csv"), dir.join("whole"));
    assert!(clean(&input, &whole, &whole_split, &[]).status.success());
    let (out, split) = (dir.join("out.csv"), dir.join("split"));
    let args = [
        "check",
        "--syntax-only",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--split",
        split.to_str().unwrap(),
    ];
    let mut child = support::mailvet()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some rows are out, and before the end.
    let whole_len = read(&whole).len() as u64;
    let started = std::time::Instant::now();
    loop {
        let written = std::fs::metadata(&out).map_or(0, |m| m.len());
        if written > 1 << 20 || started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left = std::fs::metadata(&out).unwrap().len();
    assert!(
        left > 0 && left < whole_len,
        "killed with {left} of {whole_len} bytes written"
    );
    let output = clean(&input, &out, &split, &["--resume"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        read(&out) == read(&whole),
        "the resumed output differs from a whole run"
    );
    for bucket in ["valid.csv", "risky.csv", "invalid.csv", "unknown.csv"] {
        assert!(
            read(&split.join(bucket)) == read(&whole_split.join(bucket)),
            "{bucket}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
