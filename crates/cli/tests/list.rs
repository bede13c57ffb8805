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
