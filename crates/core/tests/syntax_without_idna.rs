//! The parser built without the feature `idna`: ASCII addresses as ever, Unicode only through
//! the back end the caller registers. One test, because registration is for the whole process.
#![cfg(not(feature = "idna"))]

use mailvet_core::syntax::{self, GeneralCategory, SyntaxErrorCode as C, Unicode};

/// A back end that knows one domain and two letters: enough to see that the parser asks it.
#[derive(Debug)]
struct OneDomain;

impl Unicode for OneDomain {
    fn uts46(&self, domain: &str) -> Option<(String, String)> {
        (domain == "Bücher.example").then(|| {
            (
                "bücher.example".to_owned(),
                "xn--bcher-kva.example".to_owned(),
            )
        })
    }

    fn punycode_encode(&self, label: &str) -> Option<String> {
        (label == "bücher").then(|| "bcher-kva".to_owned())
    }

    fn nfc(&self, text: &str) -> String {
        text.replace("o\u{308}", "ö")
    }

    fn general_category(&self, c: char) -> GeneralCategory {
        match c {
            'ö' | 'ü' => GeneralCategory::LowercaseLetter,
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

    assert!(!syntax::set_unicode(&OneDomain), "the first back end stays");
}
