use super::*;

use super::parse_in_tests as parse;

fn error(input: &str) -> (SyntaxErrorCode, usize) {
    let e = parse(input).expect_err(input);
    (e.kind(), e.position())
}

#[test]
fn positions_point_at_the_offending_character() {
    use SyntaxErrorCode as C;
    let cases: &[(&str, SyntaxErrorCode, usize)] = &[
        ("", C::Empty, 0),
        ("abc", C::MissingAt, 3),
        ("a b@example.com", C::Whitespace, 1),
        ("a@example.com ", C::SurroundingWhitespace, 13),
        ("  a@example.com", C::SurroundingWhitespace, 0),
        ("Ann <a@example.com>", C::DisplayName, 4),
        ("ab(c)@example.com", C::Comment, 2),
        ("a.b..c@example.com", C::ConsecutiveDots, 4),
        ("ab.@example.com", C::TrailingDot, 2),
        ("ü,@example.com", C::InvalidCharacter, 2),
        ("üü\u{200B}@example.com", C::UnsafeCharacter, 4),
        ("me.\u{37E}@example.com", C::InvalidCharacter, 3),
        ("a.\u{301}@example.com", C::LeadingCombiningMark, 2),
        ("\"ab", C::UnclosedQuote, 0),
        ("\"a\\é\"@example.com", C::InvalidQuotedPair, 2),
        ("\"a\".b@example.com", C::ObsoleteSyntax, 3),
        ("a@ex_ample.com", C::DomainInvalidCharacter, 4),
        ("a@example..com", C::DomainConsecutiveDots, 10),
        ("a@ü。。com", C::DomainConsecutiveDots, 7),
        ("a@example.com.", C::DomainTrailingDot, 13),
        ("a@example.com\u{3002}", C::DomainTrailingDot, 13),
        ("a@b.-c.com", C::DomainLabelHyphen, 4),
        ("a@b.c-.com", C::DomainLabelHyphen, 5),
        ("a@b.cd--e.com", C::DomainLabelDoubleHyphen, 6),
        ("a@b.üü--e.com", C::DomainLabelDoubleHyphen, 8),
        ("a@b.c@d", C::MultipleAt, 5),
        ("a@ok.xn--0.com", C::InvalidALabel, 5),
        ("a@ok.b😀.com", C::InvalidIdna, 5),
        ("a@ok.1", C::NumericTld, 5),
        ("a@shop.local", C::SpecialUseDomain, 7),
        ("a@[1.2.3]", C::InvalidAddressLiteral, 3),
        ("a@[1.2.3.4", C::InvalidAddressLiteral, 10),
        ("a@[x:y]", C::UnsupportedAddressLiteral, 3),
    ];
    for &(input, kind, position) in cases {
        assert_eq!(error(input), (kind, position), "{input:?}");
    }
}

#[test]
fn limits_are_checked_at_the_start_of_the_part() {
    let long_local = format!("{}@example.com", "a".repeat(65));
    assert_eq!(error(&long_local), (SyntaxErrorCode::LocalPartTooLong, 0));
    let long_label = format!("a@b.{}.com", "c".repeat(64));
    assert_eq!(error(&long_label), (SyntaxErrorCode::DomainLabelTooLong, 4));
    let long_domain = format!("a@{}", vec!["x".repeat(63); 4].join("."));
    assert_eq!(error(&long_domain), (SyntaxErrorCode::DomainTooLong, 2));
}

#[test]
fn a_cross_label_bidi_error_points_at_the_domain() {
    // Each label passes alone; together they make a Bidi domain in which `1a` may not start
    // with a digit (RFC 5893 §2, rule 1).
    assert_eq!(
        error("a@x.1a.\u{5D0}\u{5D1}"),
        (SyntaxErrorCode::InvalidIdna, 2)
    );
}

#[test]
fn forms_of_an_internationalised_address() {
    let address = parse("Jöran@Bücher.example").expect("valid");
    assert_eq!(address.local_part(), "Jöran");
    assert_eq!(address.domain(), "bücher.example");
    assert_eq!(address.ascii_domain(), "xn--bcher-kva.example");
    assert_eq!(address.normalized(), "Jöran@bücher.example");
    assert_eq!(address.ascii(), None);
    assert!(address.needs_smtputf8());
    assert_eq!(address.warnings(), &[Warning::NeedsSmtpUtf8]);
    assert_eq!(address.to_string(), "Jöran@bücher.example");

    let address = parse("a@ÖL.example").expect("valid");
    assert_eq!(address.domain(), "öl.example");
    assert_eq!(address.warnings(), &[Warning::DomainNormalized]);

    let address = parse("joran@xn--bcher-kva.example").expect("valid");
    assert_eq!(address.normalized(), "joran@bücher.example");
    assert_eq!(
        address.ascii().as_deref(),
        Some("joran@xn--bcher-kva.example")
    );
    assert!(!address.needs_smtputf8());
    assert!(address.warnings().is_empty());
}

#[test]
fn ascii_addresses_keep_local_case_and_lowercase_the_domain() {
    let address = parse("John.Doe@Example.COM").expect("valid");
    assert_eq!(address.local_part(), "John.Doe");
    assert_eq!(address.domain(), "example.com");
    assert_eq!(address.ascii_domain(), "example.com");
    assert_eq!(address.ascii().as_deref(), Some("John.Doe@example.com"));
    assert_eq!(address.address_literal(), None);
}

#[test]
fn address_literals_carry_their_ip() {
    let address = parse("a@[IPv6:2001:DB8:0:0:0:0:0:1]").expect("valid");
    assert_eq!(
        address.address_literal(),
        Some("2001:db8::1".parse().expect("an IPv6 address"))
    );
    assert_eq!(address.domain(), "[IPv6:2001:db8::1]");
    assert!(address.has_warning(Warning::AddressLiteral));
    assert!(address.has_warning(Warning::DomainNormalized));
    let address = parse("a@[192.0.2.1]").expect("valid");
    assert_eq!(
        address.address_literal(),
        Some("192.0.2.1".parse().expect("an IPv4 address"))
    );
}

#[test]
fn quoted_local_parts_are_canonical() {
    let address = parse(r#""a\ b\"c"@example.com"#).expect("valid");
    assert_eq!(address.local_part(), r#""a b\"c""#);
    assert!(address.has_warning(Warning::QuotedLocalPart));
    assert!(address.has_warning(Warning::LocalPartNormalized));
    let address = parse(r#""abc"@example.com"#).expect("valid");
    assert_eq!(address.local_part(), "abc");
    assert!(!address.has_warning(Warning::QuotedLocalPart));
}

#[cfg(feature = "idna")]
#[test]
fn the_built_in_back_end_stays() {
    assert!(!set_unicode(&icu4x::Icu4x));
    assert_eq!(
        parse("a@Bücher.example").map(|a| a.ascii_domain().to_owned()),
        Ok("xn--bcher-kva.example".to_owned())
    );
}

#[test]
fn codes_are_unique_and_match_serde() {
    let mut codes: Vec<&str> = SyntaxErrorCode::ALL.iter().map(|c| c.code()).collect();
    for code in SyntaxErrorCode::ALL {
        let json = serde_json::to_string(&code).expect("serialises");
        assert_eq!(json, format!("\"{}\"", code.code()));
        assert!(code.message().ends_with('.'), "{code}");
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), SyntaxErrorCode::ALL.len());
    for warning in Warning::ALL {
        let json = serde_json::to_string(&warning).expect("serialises");
        assert_eq!(json, format!("\"{}\"", warning.code()));
        assert!(warning.message().ends_with('.'), "{warning:?}");
    }
}

#[test]
fn serialises_for_json_callers() {
    let address = parse("\"x\"@[192.0.2.1]").expect("valid");
    let json = serde_json::to_value(&address).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({
            "normalized": "x@[192.0.2.1]",
            "ascii": "x@[192.0.2.1]",
            "local_part": "x",
            "domain": "[192.0.2.1]",
            "ascii_domain": "[192.0.2.1]",
            "address_literal": "192.0.2.1",
            "warnings": ["local_part_normalized", "address_literal"],
        })
    );
    let e = parse("a@b..c").expect_err("invalid");
    assert_eq!(
        serde_json::to_value(e).expect("serialises"),
        serde_json::json!({
            "code": "domain_consecutive_dots",
            "position": 4,
            "message": "The part after the @-sign cannot have two dots in a row.",
        })
    );
    assert_eq!(e.to_string(), e.message());
}

#[test]
fn bytes_that_are_not_utf8_are_invalid_utf8_at_the_first_bad_byte() {
    let error = parse_bytes(b"jane\xff@example.com").expect_err("not UTF-8");
    assert_eq!(error.code(), "invalid_utf8");
    assert_eq!(error.position(), 4);
    assert_eq!(
        parse_bytes("jane@bücher.example".as_bytes()).map(|a| a.ascii_domain().to_owned()),
        Ok("xn--bcher-kva.example".to_owned())
    );
}

#[path = "../../../../tests/support/rng.rs"]
mod rng;

/// The shortcut for plain addresses ([`plain`]) against the full parser: where it says yes,
/// the full parser gives the same address; corpora inputs and generated near-misses of each
/// rule it checks (lengths at their limits, hyphens, `--`, A-labels, dots, numeric and
/// special-use top-level labels, case, characters outside `atext` or the labels).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn plain_addresses_are_what_the_full_parser_makes_of_them() {
    #[cfg(not(feature = "idna"))]
    set_unicode(&icu4x::Icu4x);
    let mut inputs: Vec<String> = [
        include_str!("../../../../tests/data/syntax.tsv"),
        include_str!("../../../../tests/data/syntax-domain.tsv"),
        include_str!("../../../../tests/data/syntax-limits.tsv"),
        include_str!("../../../../tests/data/syntax-literal.tsv"),
    ]
    .iter()
    .flat_map(|corpus| corpus.lines())
    .filter(|line| !line.starts_with('#') && !line.contains('\\'))
    .filter_map(|line| line.split('\t').next().map(str::to_owned))
    .collect();
    let corpus_inputs = inputs.len();
    assert!(corpus_inputs > 300, "{corpus_inputs} corpus inputs");

    // Each part is good or, now and then, breaks a rule.
    let atoms = [
        "a",
        "john",
        "J.Smith",
        "x_y",
        "o'neil",
        "a+tag",
        "!#$%&'*+-/=?^_`{|}~",
        "Z9",
    ];
    let bad_atoms = ["é", "a b", "\"q\"", "a\\b", "(c)", "a,b", ""];
    let labels = [
        "example", "EXAMPLE", "Gmail", "a", "1", "42", "a-b", "a--b", "com", "COM", "test", "io",
        "0x1", "co",
    ];
    let bad_labels = [
        "-a",
        "a-",
        "ab--c",
        "xn--a",
        "XN--bcher-kva",
        "xn--bcher-kva",
        "ex_ample",
        "ü",
        "",
        "local",
        "LOCAL",
        "invalid",
        "localhost",
        "onion",
        "arpa",
        "123",
    ];
    let mut rng = rng::Rng(0x706c_6169_6e21_0001);
    for _ in 0..60_000 {
        let mut s = String::new();
        for i in 0..=rng.below(3) {
            if i > 0 {
                s.push_str(if rng.chance(5) { ".." } else { "." });
            }
            match rng.below(12) {
                0 => s.push_str(&"l".repeat(20 + rng.below(50))),
                1 => s.push_str(rng.pick(&bad_atoms)),
                _ => s.push_str(rng.pick(&atoms)),
            }
        }
        if rng.chance(3) {
            s.insert(0, '.');
        }
        if rng.chance(3) {
            s.push('.');
        }
        s.push_str(if rng.chance(2) { "@@" } else { "@" });
        for i in 0..=rng.below(4) {
            if i > 0 {
                s.push_str(if rng.chance(3) { ".." } else { "." });
            }
            match rng.below(12) {
                0 => s.push_str(&"d".repeat(60 + rng.below(6))),
                1 => s.push_str(&"e".repeat(50 + rng.below(14)).repeat(1 + rng.below(4))),
                2 => s.push_str(rng.pick(&bad_labels)),
                _ => s.push_str(rng.pick(&labels)),
            }
        }
        if rng.chance(2) {
            s.push(
                rng.pick(&[" ", ".", "-", ">", "]"])
                    .chars()
                    .next()
                    .unwrap_or('.'),
            );
        }
        inputs.push(s);
    }

    let (mut plain_count, mut full_only) = (0, 0);
    for input in &inputs {
        let full = parse_in_full(input, String::new());
        match plain::at(input.as_bytes()) {
            Some(at) => {
                plain_count += 1;
                assert_eq!(
                    Ok(plain::address(input, at, "spare".into())),
                    full,
                    "{input:?}"
                );
            }
            None => full_only += usize::from(full.is_ok()),
        }
        assert_eq!(parse(input), full, "{input:?}");
    }
    eprintln!(
        "{plain_count} plain, {full_only} valid but not plain, of {}",
        inputs.len()
    );
    // Both ways were taken often, so the comparison above says something.
    assert!(
        plain_count > 10_000,
        "{plain_count} plain of {}",
        inputs.len()
    );
    assert!(full_only > 1_000, "{full_only} valid but not plain");
}
