//! `syntax::parse` must never panic, and what it returns must hold together: a normalized
//! address is a fixed point of the parser, the ASCII form parses back to the same address,
//! and an error points at a character of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::syntax;

fuzz_target!(|input: &str| {
    match syntax::parse(input) {
        Ok(address) => {
            let normalized = address.normalized();
            assert_eq!(
                format!("{}@{}", address.local_part(), address.domain()),
                normalized
            );
            let again = syntax::parse(normalized).unwrap_or_else(|e| {
                panic!("normalized form {normalized:?} of {input:?} is rejected: {e:?}")
            });
            assert_eq!(
                again.normalized(),
                normalized,
                "normalizing {input:?} twice"
            );
            assert_eq!(again.ascii_domain(), address.ascii_domain());

            assert_eq!(address.ascii().is_none(), address.needs_smtputf8());
            if let Some(ascii) = address.ascii() {
                assert!(ascii.is_ascii(), "ascii form {ascii:?} of {input:?}");
                let from_ascii = syntax::parse(&ascii).unwrap_or_else(|e| {
                    panic!("ascii form {ascii:?} of {input:?} is rejected: {e:?}")
                });
                assert_eq!(from_ascii.normalized(), normalized, "ascii form {ascii:?}");
                assert!(ascii.len() <= syntax::MAX_ADDRESS_OCTETS);
            }
            assert!(address.local_part().len() <= syntax::MAX_LOCAL_PART_OCTETS);
            assert!(address.ascii_domain().len() <= syntax::MAX_DOMAIN_OCTETS);
            assert!(address.ascii_domain().is_ascii());
            assert_eq!(
                address.address_literal().is_some(),
                address.has_warning(syntax::Warning::AddressLiteral)
            );
        }
        Err(error) => {
            let position = error.position();
            assert!(
                position <= input.len(),
                "position {position} past the end of {input:?} ({error:?})"
            );
            assert!(
                input.is_char_boundary(position),
                "position {position} inside a character of {input:?} ({error:?})"
            );
        }
    }
});
