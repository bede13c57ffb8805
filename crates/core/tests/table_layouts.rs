//! The core's delimiter and column rules against `tests/data/layouts.json`, the list of tables
//! that the dashboard's preview (www/dashboard/table.js) is held to as well.

use mailvet_core::table::{Dialect, Layout, read_all};
use serde_json::Value;

#[test]
fn the_core_finds_each_tables_delimiter_column_and_header() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/layouts.json");
    let corpus: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect(path)).expect("JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let text = case["text"].as_str().expect("text");
        let dialect = Dialect::sniff(text.as_bytes());
        let delimiter = case["delimiter"].as_str().expect("delimiter").as_bytes();
        assert_eq!(dialect, Dialect::Csv(delimiter[0]), "{name}");
        let rows = read_all(dialect, text.as_bytes()).expect(name);
        let layout = Layout::detect(&rows, None);
        match case["column"].as_u64() {
            Some(column) => {
                let layout = layout.expect(name);
                assert_eq!(layout.column as u64, column, "{name}");
                assert_eq!(Value::Bool(layout.header), case["header"], "{name}");
            }
            None => assert!(layout.is_err(), "{name}: {layout:?}"),
        }
    }
}
