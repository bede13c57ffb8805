//! `table::RowReader` must never panic, and the rows must not depend on how the bytes come in:
//! the whole input at once and the same input in pieces (split where the first byte says) give
//! the same rows, or the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::table::{Dialect, RowReader, read_all};

fuzz_target!(|input: &[u8]| {
    let Some((&first, bytes)) = input.split_first() else {
        return;
    };
    let dialect = match first % 4 {
        0 => Dialect::Lines,
        1 => Dialect::Csv(b';'),
        2 => Dialect::Csv(b'\t'),
        _ => Dialect::sniff(bytes),
    };
    let whole = read_all(dialect, bytes);
    let step = usize::from(first / 4).max(1);
    let mut reader = RowReader::new(dialect);
    let mut rows = Vec::new();
    let mut pieces = Ok(());
    'read: for piece in bytes.chunks(step) {
        reader.push(piece);
        loop {
            match reader.next_row() {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => break,
                Err(e) => {
                    pieces = Err(e);
                    break 'read;
                }
            }
        }
    }
    if pieces.is_ok() {
        reader.finish();
        loop {
            match reader.next_row() {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => break,
                Err(e) => {
                    pieces = Err(e);
                    break;
                }
            }
        }
    }
    match (whole, pieces) {
        (Ok(whole), Ok(())) => assert_eq!(whole, rows),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        (whole, pieces) => panic!("at once {whole:?}, in pieces of {step} {pieces:?}"),
    }
});
