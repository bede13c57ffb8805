//! The parser built without the feature `idna`: ASCII addresses as ever, Unicode only through
//! the back end the caller registers. One test, because registration is for the whole process.
#![cfg(not(feature = "idna"))]

use mailvet_core::syntax::{self, GeneralCategory, SyntaxErrorCode as C, Unicode};

/// A back end that knows a few domains and letters: enough to see that the parser asks it.
/// Like browsers today, it lets through A-labels that decode to ASCII or to a mapped character.
#[derive(Debug)]
struct OneDomain;

impl Unicode for OneDomain {
    fn uts46(&self, domain: &str) -> Option<(String, String)> {
        let (unicode, ascii) = match domain {
            "Bücher.example" => ("bücher.example", "xn--bcher-kva.example"),
            "bücher" => ("bücher", "xn--bcher-kva"),
            "xn--abc-.example" => ("abc.example", "xn--abc-.example"),
            "xn--ber-goa.example" => ("Über.example", "xn--ber-goa.example"),
            _ => return None,
        };
        Some((unicode.to_owned(), ascii.to_owned()))
    }

    fn punycode_encode(&self, label: &str) -> Option<String> {
        match label {
            "bücher" => Some("bcher-kva".to_owned()),
            "abc" => Some("abc-".to_owned()),
            "Über" => Some("ber-goa".to_owned()),
            _ => None,
        }
    }

    fn nfc(&self, text: &str) -> String {
        text.replace("o\u{308}", "ö")
    }

    fn general_category(&self, c: char) -> GeneralCategory {
        match c {
            'ö' | 'ü' => GeneralCategory::LowercaseLetter,
            'Ü' => GeneralCategory::UppercaseLetter,
            '\u{308}' => GeneralCategory::NonspacingMark,
            _ => GeneralCategory::Unassigned,
        }
    }

    fn is_default_ignorable(&self, _: char) -> bool {
        false
    }
}

fn code(input: &str) -> (C, usize) {
    let e = syntax::parse(input).expect_err(input);
    (e.kind(), e.position())
}

#[test]
fn ascii_alone_until_a_back_end_is_registered() {
    let address = syntax::parse("John.Doe@Example.COM").expect("valid");
    assert_eq!(address.normalized(), "John.Doe@example.com");
    assert_eq!(code("a@b..c"), (C::DomainConsecutiveDots, 4));
    assert_eq!(code("Jöran@example.com"), (C::UnsafeCharacter, 1));
    assert_eq!(code("a@Bücher.example"), (C::InvalidIdna, 2));
    assert_eq!(code("a@xn--bcher-kva.example"), (C::InvalidALabel, 2));

    assert!(syntax::set_unicode(&OneDomain));
    let address = syntax::parse("Jo\u{308}ran@Bücher.example").expect("valid");
    assert_eq!(address.normalized(), "Jöran@bücher.example");
    assert_eq!(address.ascii_domain(), "xn--bcher-kva.example");
    assert_eq!(code("a@Bücher.test"), (C::InvalidIdna, 2));
    assert_eq!(code("a@xn--bcher-kva.example"), (C::InvalidALabel, 2));
    // UTS #46 §4 step 4: not empty, not all ASCII; the parser checks what a back end may not.
    assert_eq!(code("a@xn--abc-.example"), (C::InvalidALabel, 2));
    // UTS #46 §4.1: an A-label decodes to a valid label, one that processing leaves alone.
    assert_eq!(code("a@xn--ber-goa.example"), (C::InvalidALabel, 2));

    assert!(!syntax::set_unicode(&OneDomain), "the first back end stays");
}
