use super::*;
use crate::lists::Lists;
use crate::report::Check;
use crate::verdict::Policy;

/// The awkward list the CLI and the Worker are tested with too: BOM, CRLF, quoted commas and
/// line breaks, a blank line, garbage, a duplicate with the domain in another case, a zh-Hant
/// name column, formula cells, a short row.
const AWKWARD: &[u8] = include_bytes!("../../../../tests/data/lists/awkward.csv");

fn rows(text: &str) -> Vec<Row> {
    read_all(Dialect::sniff(text.as_bytes()), text.as_bytes()).unwrap()
}

fn report(input: &str) -> Report {
    Check::new(input, &Lists::new())
        .syntax_only()
        .finish(&Policy::default())
}

#[test]
fn the_awkward_list_reads_as_its_rows() {
    let rows = read_all(Dialect::sniff(AWKWARD), AWKWARD).unwrap();
    assert_eq!(Dialect::sniff(AWKWARD), Dialect::Csv(b','));
    // The header and 8 data rows: the blank line is one, the quoted line break is not.
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[0].fields, ["姓名", "E-Mail Address", "公司", "備註"]);
    assert_eq!(rows[2].fields[3], "line one\r\nline two");
    assert_eq!(rows[3].fields, [""]);
    assert_eq!(rows[6].fields[1], "=HYPERLINK(\"http://x.test\")");
    assert_eq!(rows[8].fields, ["Wu \"Bob\"", "bob@example.org"]);
    let layout = Layout::detect(&rows, None).unwrap();
    assert_eq!(
        layout,
        Layout {
            column: 1,
            header: true
        }
    );
}

#[test]
fn the_address_column_is_found_by_name_number_or_content() {
    let with_header = rows("name,Work E-mail,phone\nJane,jane@x.org,1\n");
    assert_eq!(Layout::detect(&with_header, None).unwrap().column, 1);
    for (header, column) in [("電郵", 0), ("電子郵件", 0), ("郵箱", 0), ("信箱", 0)] {
        let rows = rows(&format!("{header},名字\njane@x.org,Jane\n"));
        assert_eq!(
            Layout::detect(&rows, None).unwrap(),
            Layout {
                column,
                header: true
            },
            "{header}"
        );
    }
    // No header: the column of addresses, and the first row is data.
    let bare = rows("Jane,jane@x.org\nBob,bob@x.org\n");
    assert_eq!(
        Layout::detect(&bare, None).unwrap(),
        Layout {
            column: 1,
            header: false
        }
    );
    // A header that names nothing known, over a column of addresses.
    let other = rows("who,where\nJane,jane@x.org\n");
    assert_eq!(
        Layout::detect(&other, None).unwrap(),
        Layout {
            column: 1,
            header: true
        }
    );
    // Asked for by name (any case) or number.
    assert_eq!(Layout::detect(&other, Some("WHERE")).unwrap().column, 1);
    assert_eq!(Layout::detect(&other, Some("2")).unwrap().column, 1);
    assert!(!Layout::detect(&bare, Some("2")).unwrap().header);
    // One column without any address: it is the column, all data.
    let garbage = rows("hello\nworld\n");
    assert_eq!(
        Layout::detect(&garbage, None).unwrap(),
        Layout {
            column: 0,
            header: false
        }
    );
}

#[test]
fn no_address_column_names_the_headers_it_saw() {
    let rows = rows("name,phone\nJane,1\n");
    let error = Layout::detect(&rows, None).unwrap_err();
    assert_eq!(error.code(), "csv_no_email_column");
    assert!(error.to_string().contains("\"name\", \"phone\""), "{error}");
    let error = Layout::detect(&rows, Some("mail")).unwrap_err();
    assert_eq!(error.code(), "csv_no_email_column");
    assert!(error.to_string().contains("no column \"mail\""), "{error}");
    assert_eq!(
        Layout::detect(&rows, Some("3")).unwrap_err().code(),
        "csv_no_email_column"
    );
    assert_eq!(
        Layout::detect(&rows, Some("0")).unwrap_err().code(),
        "csv_no_email_column"
    );
}

#[test]
fn a_duplicate_is_the_same_address_with_the_domain_in_any_case() {
    let mut dedupe = Dedupe::default();
    assert_eq!(dedupe.first_of("Jane@Example.com", 1), None);
    assert_eq!(dedupe.first_of("Jane@EXAMPLE.COM", 2), Some(1));
    // The local part is the mailbox's own: another case is another address (RFC 5321 §2.4).
    assert_eq!(dedupe.first_of("jane@example.com", 3), None);
    // Rows without an address never repeat one.
    assert_eq!(dedupe.first_of("", 4), None);
    assert_eq!(dedupe.first_of("", 5), None);
    assert_eq!(dedupe.first_of("not an address", 6), None);
    assert_eq!(dedupe.first_of("not an address", 7), None);
    assert_eq!(dedupe.unique(), 2);
}

#[test]
fn appended_cells_say_the_verdict_reasons_suggestion_score_and_first_row() {
    let typo = report("jane@gmial.com");
    let cells = appended(&typo, None);
    assert_eq!(cells[0], typo.verdict.as_str());
    assert_eq!(cells[2], "jane@gmail.com");
    assert_eq!(cells[3], typo.score.to_string());
    assert_eq!(cells[4], "");
    let blank = appended(&report(""), Some(3));
    assert_eq!(blank[0], "invalid");
    assert_eq!(blank[1], "invalid_syntax");
    assert_eq!(blank[4], "3");
    let disposable = appended(&report("info@mailinator.com"), None);
    assert_eq!(disposable[1], "disposable;role_account");
}

#[test]
fn formula_cells_are_guarded_and_quoting_round_trips() {
    for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert_eq!(guard(cell), format!("'{cell}"));
        assert_eq!(unguard(&guard(cell)), cell);
    }
    assert_eq!(unguard("'x"), "'x");
    for cell in ["", "jane@x.org", "a=b", "'=x"] {
        assert_eq!(guard(cell), cell);
    }
    let mut out = String::new();
    let cells = ["a,b", "say \"hi\"", "two\nlines", "=cmd", "陳"];
    write_csv_row(&mut out, cells, b',');
    assert_eq!(
        out,
        "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",'=cmd,陳\r\n"
    );
    let back = read_all(Dialect::Csv(b','), out.as_bytes()).unwrap();
    assert_eq!(
        back[0].fields,
        ["a,b", "say \"hi\"", "two\nlines", "'=cmd", "陳"]
    );
    let mut semicolons = String::new();
    write_csv_row(&mut semicolons, ["a;b", "c,d"], b';');
    assert_eq!(semicolons, "\"a;b\";c,d\r\n");
}

#[test]
fn a_tally_counts_rows_reasons_and_domains() {
    let mut tally = Tally::default();
    let inputs = [
        ("jane@example.com", false),
        ("bob@Example.com", false),
        ("jane@EXAMPLE.com", true),
        ("info@mailinator.com", false),
        ("", false),
    ];
    for (input, duplicate) in inputs {
        tally.add(&report(input), duplicate);
    }
    let summary = tally.summary();
    assert_eq!(summary.total_rows, 5);
    assert_eq!(summary.duplicates, 1);
    assert_eq!(summary.unique_addresses, 4);
    assert_eq!(summary.counts.total(), 5);
    assert_eq!(summary.counts.invalid, 1);
    assert_eq!(summary.reasons.get(&ReasonCode::InvalidSyntax), Some(&1));
    assert_eq!(summary.reasons.get(&ReasonCode::Disposable), Some(&1));
    assert_eq!(summary.top_domains[0].domain, "example.com");
    assert_eq!(summary.top_domains[0].rows, 3);
    assert_eq!(summary.top_domains[1].domain, "mailinator.com");
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["reasons"]["invalid_syntax"], 1);
    assert_eq!(json["top_domains"][0]["valid"], 3);
    assert_eq!(json["counts"]["valid"], 3);
}

#[test]
fn error_codes_and_sentences() {
    assert_eq!(TableError::empty().code(), "empty_list");
    let too_many = TableError::too_many_rows();
    assert_eq!(too_many.code(), "too_many_rows");
    assert!(too_many.to_string().contains("1000000"), "{too_many}");
}

#[test]
fn a_json_row_keeps_every_cell_under_a_name_of_its_own() {
    let header: Vec<String> = ["email", "name", "name", ""].map(String::from).to_vec();
    let names = column_names(&header);
    assert_eq!(names, ["email", "name", "name_2", "column_4"]);
    let values: Vec<String> = ["=x@y.org", "a", "b", "c", "extra"]
        .map(String::from)
        .to_vec();
    let report = report("=x@y.org");
    let row = RowReport {
        row: 7,
        columns: Columns {
            names: &names,
            values: &values,
        },
        duplicate_of: Some(2),
        report: &report,
    };
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(json["row"], 7);
    assert_eq!(json["duplicate_of"], 2);
    // Never guarded: JSON is not opened by spreadsheets.
    assert_eq!(json["columns"]["email"], "=x@y.org");
    assert_eq!(json["columns"]["name_2"], "b");
    assert_eq!(json["columns"]["column_5"], "extra");
    assert_eq!(json["report"]["input"], "=x@y.org");
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(timestamp(1_796_035_261), "2026-11-30T10:41:01Z");
    assert_eq!(timestamp(4_107_542_399), "2100-02-28T23:59:59Z");
}

#[test]
fn a_tally_of_written_rows_equals_the_tally_of_their_reports() {
    let inputs = [
        "jane@example.com",
        "info@mailinator.com",
        "",
        "Jane@EXAMPLE.com",
    ];
    let (mut direct, mut written) = (Tally::default(), Tally::default());
    for (i, input) in inputs.iter().enumerate() {
        let report = report(input);
        let duplicate = (i == 3).then_some(1);
        direct.add(&report, duplicate.is_some());
        let cells = appended(&report, duplicate);
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        assert!(written.add_written(input, &cells));
    }
    assert_eq!(written.summary(), direct.summary());
    assert!(!written.add_written("x@y.org", &["maybe", "", "", "", ""]));
    assert!(!written.add_written("x@y.org", &["valid", "no_such_code", "", "", ""]));
    assert!(!written.add_written("x@y.org", &["valid"]));
}

#[test]
fn a_row_layout_pads_appends_and_overwrites_its_own_columns() {
    let header: Vec<String> = ["name", "email", "mailvet_score"]
        .map(String::from)
        .to_vec();
    let layout = RowLayout::new(&header);
    assert_eq!(
        layout.header(),
        [
            "name",
            "email",
            "mailvet_score",
            "mailvet_verdict",
            "mailvet_reasons",
            "mailvet_suggestion",
            "mailvet_duplicate_of"
        ]
    );
    assert_eq!(layout.appended_at(), [3, 4, 5, 2, 6]);
    let appended = ["valid", "", "", "70", "1"].map(String::from);
    let short = vec!["Short".to_owned()];
    assert_eq!(
        layout.cells(&short, &appended),
        ["Short", "", "70", "valid", "", "", "1"]
    );
    let long: Vec<String> = ["a", "b", "old", "extra"].map(String::from).to_vec();
    assert_eq!(
        layout.cells(&long, &appended),
        ["a", "b", "70", "valid", "", "", "1", "extra"]
    );
}
