//! Runs the address syntax corpora in `tests/data/syntax*.tsv` (format in their header) and
//! feeds every prefix and many mutations of their inputs to the parser.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use mailvet_core::syntax::{self, Address, SyntaxError, SyntaxErrorCode, Warning};

/// The parser under test. Without the feature `idna` it asks a back end that runs UTS-46 the
/// way browsers do for URLs, like the widget's: the corpora then show that the parser restores
/// the rules such a back end leaves out.
fn parse(input: &str) -> Result<Address, SyntaxError> {
    #[cfg(not(feature = "idna"))]
    syntax::set_unicode(&browser_like::BrowserLike);
    syntax::parse(input)
}

// The default build's ICU4X back end, for the one below.
#[cfg(not(feature = "idna"))]
mod unicode {
    pub use mailvet_core::syntax::{GeneralCategory, Unicode};
}
#[cfg(not(feature = "idna"))]
#[path = "../src/syntax/icu4x.rs"]
mod icu4x;

#[cfg(not(feature = "idna"))]
mod browser_like {
    use idna::uts46::{AsciiDenyList, ErrorPolicy, Hyphens, ProcessingSuccess, Uts46};
    use mailvet_core::syntax::{GeneralCategory, Unicode};

    use crate::icu4x::Icu4x;

    /// ICU4X, with UTS-46 configured as the WHATWG URL Standard asks of browsers: no
    /// `UseSTD3ASCIIRules` (its forbidden domain code points instead) and no `CheckHyphens`.
    #[derive(Debug)]
    pub struct BrowserLike;

    impl Unicode for BrowserLike {
        fn uts46(&self, domain: &str) -> Option<(String, String)> {
            let mut unicode = String::new();
            let mut ascii = String::new();
            match Uts46::new().process(
                domain.as_bytes(),
                AsciiDenyList::URL,
                Hyphens::Allow,
                ErrorPolicy::FailFast,
                |_, _, _| true,
                &mut unicode,
                Some(&mut ascii),
            ) {
                Ok(ProcessingSuccess::Passthrough) => Some((domain.to_owned(), domain.to_owned())),
                Ok(ProcessingSuccess::WroteToSink) => {
                    if ascii.is_empty() {
                        ascii.clone_from(&unicode);
                    }
                    Some((unicode, ascii))
                }
                Err(_) => None,
            }
        }

        fn punycode_encode(&self, label: &str) -> Option<String> {
            Icu4x.punycode_encode(label)
        }

        fn nfc(&self, text: &str) -> String {
            Icu4x.nfc(text)
        }

        fn general_category(&self, c: char) -> GeneralCategory {
            Icu4x.general_category(c)
        }

        fn is_default_ignorable(&self, c: char) -> bool {
            Icu4x.is_default_ignorable(c)
        }
    }
}

#[derive(Debug)]
struct Row {
    file: String,
    line: usize,
    input: String,
    expectation: String,
    source: String,
    normalized: Option<String>,
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// Decodes the escapes of the corpus format: `\t`, `\n`, `\r`, `\\`, `\xNN` (one byte; the
/// bytes of a row must make UTF-8), `\u{X}` (a code point) and `\*N{text}` (text N times).
fn unescape(field: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    let mut rest = field;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = rest.chars().next() else {
            return Err("a lone backslash at the end".into());
        };
        rest = &rest[e.len_utf8()..];
        match e {
            't' => bytes.push(b'\t'),
            'n' => bytes.push(b'\n'),
            'r' => bytes.push(b'\r'),
            '\\' => bytes.push(b'\\'),
            'x' => {
                let hex = rest.get(..2).ok_or("\\x needs two hex digits")?;
                bytes.push(u8::from_str_radix(hex, 16).map_err(|e| format!("\\x{hex}: {e}"))?);
                rest = &rest[2..];
            }
            'u' => {
                let close = rest.find('}').ok_or("\\u{ without }")?;
                let hex = rest.get(1..close).ok_or("\\u needs {")?;
                let code =
                    u32::from_str_radix(hex, 16).map_err(|e| format!("\\u{{{hex}}}: {e}"))?;
                let c = char::from_u32(code).ok_or(format!("\\u{{{hex}}} is no char"))?;
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                rest = &rest[close + 1..];
            }
            '*' => {
                let open = rest.find('{').ok_or("\\* without {")?;
                let close = rest.find('}').ok_or("\\* without }")?;
                let count: usize = rest[..open]
                    .parse()
                    .map_err(|e| format!("\\* count: {e}"))?;
                let text = unescape(&rest[open + 1..close])?;
                bytes.extend_from_slice(text.repeat(count).as_bytes());
                rest = &rest[close + 1..];
            }
            other => return Err(format!("unknown escape \\{other}")),
        }
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))
}

fn load() -> Vec<Row> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("syntax") && name.ends_with(".tsv"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no tests/data/syntax*.tsv");
    let mut rows = Vec::new();
    let mut problems = String::new();
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("corpus is UTF-8");
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            if !(3..=4).contains(&fields.len()) {
                let _ = writeln!(problems, "{file}:{}: {} columns", index + 1, fields.len());
                continue;
            }
            match unescape(fields[0]) {
                Ok(input) => rows.push(Row {
                    file: file.clone(),
                    line: index + 1,
                    input,
                    expectation: fields[1].to_owned(),
                    source: fields[2].to_owned(),
                    normalized: fields
                        .get(3)
                        .map(|n| unescape(n).expect("normalized unescapes")),
                }),
                Err(e) => {
                    let _ = writeln!(problems, "{file}:{}: {e}", index + 1);
                }
            }
        }
    }
    assert!(problems.is_empty(), "malformed corpus rows:\n{problems}");
    rows
}

/// What the parser says about `input`, in the corpus notation.
fn verdict(input: &str) -> (String, Option<String>) {
    match parse(input) {
        Ok(address) => {
            let warnings: Vec<&str> = address.warnings().iter().map(|w| w.code()).collect();
            let verdict = if warnings.is_empty() {
                "valid".to_owned()
            } else {
                format!("valid:{}", warnings.join(","))
            };
            (verdict, Some(address.normalized().to_owned()))
        }
        Err(e) => (format!("{}@{}", e.code(), e.position()), None),
    }
}

fn matches(expectation: &str, verdict: &str) -> bool {
    if expectation.contains('@') || verdict.starts_with("valid") {
        return expectation == verdict;
    }
    verdict.split('@').next() == Some(expectation)
}

#[test]
fn corpora() {
    let rows = load();
    let sources = [
        "own",
        "isemail",
        "python-email-validator",
        "rfc3696",
        "rfc3696-errata",
    ];
    let mut failures = String::new();
    let mut codes_seen = BTreeSet::new();
    let mut warnings_seen = BTreeSet::new();
    let mut inputs = BTreeSet::new();
    for row in &rows {
        let at = format!("{}:{}", row.file, row.line);
        if !sources.contains(&row.source.as_str()) {
            let _ = writeln!(failures, "{at}: unknown source {:?}", row.source);
        }
        if !inputs.insert(row.input.clone()) {
            let _ = writeln!(failures, "{at}: duplicate input {:?}", row.input);
        }
        let (verdict, normalized) = verdict(&row.input);
        if !matches(&row.expectation, &verdict) {
            let _ = writeln!(
                failures,
                "{at}: {:?}: expected {}, got {verdict}",
                row.input, row.expectation
            );
        }
        if let Some(expected) = &row.normalized
            && normalized.as_ref() != Some(expected)
        {
            let _ = writeln!(
                failures,
                "{at}: {:?}: expected normalized {expected:?}, got {normalized:?}",
                row.input
            );
        }
        match row.expectation.split_once(':') {
            Some(("valid", warnings)) => {
                warnings_seen.extend(warnings.split(',').map(str::to_owned))
            }
            _ if row.expectation != "valid" => {
                codes_seen.insert(row.expectation.split('@').next().unwrap_or("").to_owned());
            }
            _ => {}
        }
    }
    // A row is text (the browser test reads the same rows as JavaScript strings), so bytes that
    // are not UTF-8 are tested with `parse_bytes` in the unit tests instead.
    for code in SyntaxErrorCode::ALL {
        if code != SyntaxErrorCode::InvalidUtf8 && !codes_seen.contains(code.code()) {
            let _ = writeln!(failures, "no row expects the error {}", code.code());
        }
    }
    for warning in Warning::ALL {
        if !warnings_seen.contains(warning.code()) {
            let _ = writeln!(failures, "no row expects the warning {}", warning.code());
        }
    }
    let failed = failures.lines().count();
    eprintln!("{} rows, {} problems", rows.len(), failed);
    assert!(failures.is_empty(), "{failed} problems:\n{failures}");
}

#[path = "../../../tests/support/rng.rs"]
#[allow(dead_code, reason = "the mutations need only `below`")]
mod rng;

use rng::Rng;

/// Checks what must hold for any input: no panic, an error position on a char boundary within
/// the input, and a normalised address that parses to itself.
fn check_invariants(input: &str) -> Result<(), String> {
    match parse(input) {
        Err(e) => {
            if e.position() > input.len() || !input.is_char_boundary(e.position()) {
                return Err(format!("{input:?}: position {} is off", e.position()));
            }
        }
        Ok(address) => {
            let again = parse(address.normalized()).map_err(|e| {
                format!(
                    "{input:?}: normalized {:?} fails: {}",
                    address.normalized(),
                    e.code()
                )
            })?;
            if again.normalized() != address.normalized() || again.ascii() != address.ascii() {
                return Err(format!("{input:?}: normalizing is not idempotent"));
            }
            if let Some(ascii) = address.ascii() {
                let ascii_again = parse(&ascii)
                    .map_err(|e| format!("{input:?}: ascii {ascii:?} fails: {}", e.code()))?;
                if ascii_again.normalized() != address.normalized() {
                    return Err(format!("{input:?}: ascii form normalizes differently"));
                }
            }
            if address.ascii_domain().len() > syntax::MAX_DOMAIN_OCTETS
                || address.local_part().len() > syntax::MAX_LOCAL_PART_OCTETS
            {
                return Err(format!("{input:?}: a limit was not enforced"));
            }
        }
    }
    Ok(())
}

const INSERTIONS: &[&str] = &[
    "@", ".", "\"", "\\", " ", "\t", "\n", "\0", "(", ")", "<", ">", "[", "]", ":", "-", "_",
    "xn--", "ü", "\u{3002}", "\u{FF0E}", "\u{200D}", "\u{200B}", "\u{0301}", "😀", "ß", "1",
    "IPv6:", "::", "\u{7F}", "\u{85}", "\u{A0}", "a", "Z",
];

#[test]
fn never_panics_on_prefixes_and_mutations() {
    let rows = load();
    let mut rng = Rng(0x6d61_696c_7665_7421);
    let mut failures = String::new();
    let mut checked = 0usize;
    for row in &rows {
        let input = &row.input;
        let boundaries: Vec<usize> = input
            .char_indices()
            .map(|(i, _)| i)
            .chain([input.len()])
            .collect();
        for &end in &boundaries {
            if let Err(e) = check_invariants(&input[..end]) {
                let _ = writeln!(failures, "{e}");
            }
            checked += 1;
        }
        for _ in 0..200 {
            let mut mutated = input.clone();
            for _ in 0..=rng.below(3) {
                let bounds: Vec<usize> = mutated
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([mutated.len()])
                    .collect();
                let at = bounds[rng.below(bounds.len())];
                let next = bounds.iter().copied().find(|&b| b > at).unwrap_or(at);
                match rng.below(4) {
                    0 => mutated.insert_str(at, INSERTIONS[rng.below(INSERTIONS.len())]),
                    1 => mutated.replace_range(at..next, ""),
                    2 => mutated.replace_range(at..next, INSERTIONS[rng.below(INSERTIONS.len())]),
                    _ => {
                        let piece = mutated[at..next].to_owned();
                        mutated.insert_str(at, &piece);
                    }
                }
            }
            if let Err(e) = check_invariants(&mutated) {
                let _ = writeln!(failures, "{e}");
            }
            checked += 1;
        }
    }
    eprintln!("{checked} inputs checked");
    assert!(failures.is_empty(), "{}", failures);
}
