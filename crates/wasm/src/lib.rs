//! The browser face of mailvet-core, for the signup-form widget (`www/`).
//!
//! [`check`] runs the layers that need nothing but the text (syntax, the risk lists, a typo
//! hint) through the core's [`Check`], exactly as the edge Worker starts its answer to
//! `/v1/verify`, and returns the [`Report`](mailvet_core::report::Report) as JSON.
//!
//! The core is built without its Unicode tables (feature `idna` off: about 90 KB gzipped) and
//! with the small disposable list (feature `full-lists` off). [`BrowserUnicode`] lends the
//! parser the browser's own Unicode support instead (`js/unicode.js`).

use mailvet_core::lists::Lists;
use mailvet_core::report::{Check, Report};
use mailvet_core::syntax::{self, GeneralCategory, Unicode};
use mailvet_core::verdict::Policy;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(module = "/js/unicode.js")]
extern "C" {
    fn to_ascii(domain: &str) -> Option<String>;
    fn punycode_decode(label: &str) -> Option<String>;
    fn punycode_encode(label: &str) -> Option<String>;
    fn nfc(text: &str) -> String;
    fn general_category(code: u32) -> u32;
    fn is_default_ignorable(code: u32) -> bool;
}

/// The core's [`Unicode`] questions, answered by the browser.
#[derive(Debug)]
pub struct BrowserUnicode;

impl Unicode for BrowserUnicode {
    fn uts46(&self, domain: &str) -> Option<(String, String)> {
        let ascii = to_ascii(domain)?;
        // UTS #46 §4.2 ToUnicode: the A-labels of ToASCII's result, decoded.
        let mut unicode = String::with_capacity(ascii.len());
        for (i, label) in ascii.split('.').enumerate() {
            if i > 0 {
                unicode.push('.');
            }
            match label.strip_prefix("xn--") {
                Some(encoded) => unicode.push_str(&punycode_decode(encoded)?),
                None => unicode.push_str(label),
            }
        }
        Some((unicode, ascii))
    }

    fn punycode_encode(&self, label: &str) -> Option<String> {
        punycode_encode(label)
    }

    fn nfc(&self, text: &str) -> String {
        nfc(text)
    }

    fn general_category(&self, c: char) -> GeneralCategory {
        let index = general_category(u32::from(c));
        usize::try_from(index)
            .ok()
            .and_then(|i| GeneralCategory::ALL.get(i))
            .copied()
            .unwrap_or(GeneralCategory::Unassigned)
    }

    fn is_default_ignorable(&self, c: char) -> bool {
        is_default_ignorable(u32::from(c))
    }
}

/// The local checks for `input`, weighed with the same (default) policy as the Worker's: the
/// JSON of the parts of a [`Report`] that the widget shows, named and shaped as in the
/// Worker's answer to `/v1/verify?checks=syntax` (written here: `serde_json` would cost the
/// widget 4 KB gzipped).
#[wasm_bindgen]
pub fn check(input: &str) -> String {
    syntax::set_unicode(&BrowserUnicode);
    let lists = Lists::new();
    to_json(
        &Check::new(input, &lists)
            .syntax_only()
            .finish(&Policy::default()),
    )
}

/// `{"address", "verdict", "reasons": [{"code", "message"}], "suggestion", "score",
/// "checks": {"syntax": {"warnings", "error": {"code", "position"}}}}`.
fn to_json(report: &Report) -> String {
    let mut json = String::with_capacity(256);
    json.push_str("{\"address\":");
    push_string(&mut json, report.address.as_deref());
    json.push_str(",\"verdict\":");
    push_string(&mut json, Some(report.verdict.as_str()));
    json.push_str(",\"reasons\":[");
    for (i, reason) in report.reasons.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"code\":");
        push_string(&mut json, Some(reason.code.as_str()));
        json.push_str(",\"message\":");
        push_string(&mut json, Some(&reason.message));
        json.push('}');
    }
    json.push_str("],\"suggestion\":");
    push_string(&mut json, report.suggestion.as_deref());
    json.push_str(",\"score\":");
    json.push_str(&report.score.to_string());
    json.push_str(",\"checks\":{\"syntax\":{\"warnings\":[");
    for (i, warning) in report.checks.syntax.warnings.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_string(&mut json, Some(warning.code()));
    }
    json.push(']');
    if let Some(error) = &report.checks.syntax.error {
        json.push_str(",\"error\":{\"code\":");
        push_string(&mut json, Some(error.code));
        json.push_str(",\"position\":");
        json.push_str(&error.position.to_string());
        json.push('}');
    }
    json.push_str("}}}");
    json
}

/// A JSON string (RFC 8259 §7), or `null`.
fn push_string(json: &mut String, text: Option<&str>) {
    let Some(text) = text else {
        json.push_str("null");
        return;
    };
    json.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                json.push('\\');
                json.push(c);
            }
            '\u{0}'..='\u{1F}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                json.push_str("\\u00");
                json.push(char::from(HEX[(c as usize) >> 4]));
                json.push(char::from(HEX[(c as usize) & 15]));
            }
            _ => json.push(c),
        }
    }
    json.push('"');
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports for ASCII inputs (the Unicode back end is the browser's, absent here).
    fn report(input: &str) -> Report {
        let lists = Lists::new();
        Check::new(input, &lists)
            .syntax_only()
            .finish(&Policy::default())
    }

    #[test]
    fn the_json_is_the_workers_report_less_what_the_widget_does_not_read() {
        for input in [
            "jane@gmial.com",
            "info@mailinator.com",
            "\"a\\\\b\\\"c\"@example.com",
            "jane",
            "a@[IPv6:2001:db8::1]",
            "bad\u{1}@example.com",
        ] {
            let report = report(input);
            let full = serde_json::to_value(&report).expect("serialises");
            assert_says_what(input, &full, input);
        }
    }

    /// The widget's JSON for `input` has the fields of `full` (a whole report's JSON) that the
    /// widget reads, with the same values.
    fn assert_says_what(input: &str, full: &serde_json::Value, name: &str) {
        let ours: serde_json::Value = serde_json::from_str(&to_json(&report(input))).expect(name);
        for field in ["address", "verdict", "reasons", "suggestion", "score"] {
            assert_eq!(ours[field], full[field], "{name}: {field}");
        }
        let syntax = &full["checks"]["syntax"];
        assert_eq!(
            ours["checks"]["syntax"]["warnings"], syntax["warnings"],
            "{name}"
        );
        for field in ["code", "position"] {
            assert_eq!(
                ours["checks"]["syntax"]["error"][field], syntax["error"][field],
                "{name}: {field}"
            );
        }
    }

    /// The widget's JSON says what the contract's golden files say (crates/core/tests/contract.rs)
    /// for every report the widget can make: syntax and the lists, from text.
    #[test]
    fn the_json_agrees_with_the_golden_reports() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/golden");
        let mut compared = 0;
        for entry in std::fs::read_dir(dir).expect("tests/data/golden") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("golden file");
            let golden: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let syntax_only = golden["checks"]["dns"]["skipped"] == "syntax_only";
            // Text from a browser is always UTF-8: the widget never meets `invalid_utf8`.
            let syntax_error = golden["checks"]["syntax"]["status"] == "failed"
                && golden["checks"]["syntax"]["error"]["code"] != "invalid_utf8";
            if !syntax_only && !syntax_error {
                continue;
            }
            let input = golden["input"].as_str().expect("input");
            assert_says_what(input, &golden, &path.display().to_string());
            compared += 1;
        }
        assert!(
            compared >= 4,
            "only {compared} golden reports are the widget's kind"
        );
    }

    #[test]
    fn strings_are_escaped_for_json() {
        for text in [
            "plain",
            "q\"uote",
            "back\\slash",
            "\u{0}\u{1f}\n\t",
            "ünï😀",
            "\u{7f}",
        ] {
            let mut json = String::new();
            push_string(&mut json, Some(text));
            assert_eq!(serde_json::from_str::<String>(&json).expect(text), text);
        }
        let mut json = String::new();
        push_string(&mut json, None);
        assert_eq!(json, "null");
    }
}
