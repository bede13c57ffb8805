//! The [`Unicode`] back end of the default build (feature `idna`): ICU4X data compiled in.

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory as Gc};
use icu_properties::{CodePointMapData, CodePointSetData};
use idna::uts46::{AsciiDenyList, ErrorPolicy, Hyphens, ProcessingSuccess, Uts46};

use super::unicode::{GeneralCategory, Unicode};

/// ICU4X through the `idna`, `icu_normalizer` and `icu_properties` crates.
#[derive(Debug)]
pub(super) struct Icu4x;

const UTS46: Uts46 = Uts46::new();

impl Unicode for Icu4x {
    /// Also applies `UseSTD3ASCIIRules` ([`AsciiDenyList::STD3`]) and `CheckHyphens`
    /// ([`Hyphens::Check`]), which the parser checks again; `CheckBidi` and `CheckJoiners` are
    /// always on in `idna` 1.x.
    fn uts46(&self, domain: &str) -> Option<(String, String)> {
        let mut unicode = String::new();
        let mut ascii = String::new();
        match UTS46.process(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
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
        idna::punycode::encode_str(label)
    }

    fn nfc(&self, text: &str) -> String {
        ComposingNormalizerBorrowed::new_nfc()
            .normalize(text)
            .into_owned()
    }

    fn general_category(&self, c: char) -> GeneralCategory {
        use GeneralCategory as G;
        match CodePointMapData::<Gc>::new().get(c) {
            Gc::UppercaseLetter => G::UppercaseLetter,
            Gc::LowercaseLetter => G::LowercaseLetter,
            Gc::TitlecaseLetter => G::TitlecaseLetter,
            Gc::ModifierLetter => G::ModifierLetter,
            Gc::OtherLetter => G::OtherLetter,
            Gc::NonspacingMark => G::NonspacingMark,
            Gc::SpacingMark => G::SpacingMark,
            Gc::EnclosingMark => G::EnclosingMark,
            Gc::DecimalNumber => G::DecimalNumber,
            Gc::LetterNumber => G::LetterNumber,
            Gc::OtherNumber => G::OtherNumber,
            Gc::ConnectorPunctuation => G::ConnectorPunctuation,
            Gc::DashPunctuation => G::DashPunctuation,
            Gc::OpenPunctuation => G::OpenPunctuation,
            Gc::ClosePunctuation => G::ClosePunctuation,
            Gc::InitialPunctuation => G::InitialPunctuation,
            Gc::FinalPunctuation => G::FinalPunctuation,
            Gc::OtherPunctuation => G::OtherPunctuation,
            Gc::MathSymbol => G::MathSymbol,
            Gc::CurrencySymbol => G::CurrencySymbol,
            Gc::ModifierSymbol => G::ModifierSymbol,
            Gc::OtherSymbol => G::OtherSymbol,
            Gc::SpaceSeparator => G::SpaceSeparator,
            Gc::LineSeparator => G::LineSeparator,
            Gc::ParagraphSeparator => G::ParagraphSeparator,
            Gc::Control => G::Control,
            Gc::Format => G::Format,
            Gc::Surrogate => G::Surrogate,
            Gc::PrivateUse => G::PrivateUse,
            Gc::Unassigned => G::Unassigned,
        }
    }

    fn is_default_ignorable(&self, c: char) -> bool {
        CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
    }
}
