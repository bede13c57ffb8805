//! The Unicode services that address syntax needs beyond ASCII, behind one trait.
//!
//! With the default feature `idna` they come from ICU4X (the `idna`, `icu_normalizer` and
//! `icu_properties` crates) and nothing needs to be done. Their tables cost about 90 KB of
//! gzipped Wasm, more than the browser widget may weigh, so without the feature the core carries
//! none: ASCII addresses (nearly all of them) are parsed exactly as before, and for the rest the
//! parser asks the [`Unicode`] back end the caller registered with [`set_unicode`] (in the
//! browser: the URL parser, `String.prototype.normalize` and regular expressions with Unicode
//! property escapes). Until one is registered only ASCII is accepted: a non-ASCII local part is
//! `unsafe_character`, a non-ASCII or `xn--` domain `invalid_idna` or `invalid_a_label`.
//!
//! Every rule stays in the core: a back end answers questions about code points and runs UTS-46,
//! and the parser decides what the answers mean.

/// The Unicode services the parser asks for. A back end must be pure (the same answer to the same
/// question, no I/O): the core's decisions depend on it.
pub trait Unicode: Sync {
    /// UTS #46 processing of a whole domain (UTS #46 §4): nontransitional, `CheckBidi`,
    /// `CheckJoiners`; the Unicode form and the ASCII (A-label) form, both lowercase, or `None`
    /// when processing fails. The parser applies `UseSTD3ASCIIRules` and `CheckHyphens` to the
    /// result itself, so a back end may leave them off, as the WHATWG URL Standard does.
    /// `VerifyDnsLength` must be off: the parser checks lengths with codes of their own.
    fn uts46(&self, domain: &str) -> Option<(String, String)>;

    /// The Punycode encoding of `label` (RFC 3492), without the `xn--` prefix.
    fn punycode_encode(&self, label: &str) -> Option<String>;

    /// `text` in Normalization Form C (UAX #15).
    fn nfc(&self, text: &str) -> String;

    /// The `General_Category` of `c` (UAX #44 §5.7.1).
    fn general_category(&self, c: char) -> GeneralCategory;

    /// Whether `c` has the property `Default_Ignorable_Code_Point` (UAX #44).
    fn is_default_ignorable(&self, c: char) -> bool;
}

/// The values of the Unicode `General_Category` property (UAX #44 §5.7.1), in the order of that
/// table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum GeneralCategory {
    UppercaseLetter,
    LowercaseLetter,
    TitlecaseLetter,
    ModifierLetter,
    OtherLetter,
    NonspacingMark,
    SpacingMark,
    EnclosingMark,
    DecimalNumber,
    LetterNumber,
    OtherNumber,
    ConnectorPunctuation,
    DashPunctuation,
    OpenPunctuation,
    ClosePunctuation,
    InitialPunctuation,
    FinalPunctuation,
    OtherPunctuation,
    MathSymbol,
    CurrencySymbol,
    ModifierSymbol,
    OtherSymbol,
    SpaceSeparator,
    LineSeparator,
    ParagraphSeparator,
    Control,
    Format,
    Surrogate,
    PrivateUse,
    Unassigned,
}

impl GeneralCategory {
    /// Every value, in the order of UAX #44's table.
    pub const ALL: [GeneralCategory; 30] = {
        use GeneralCategory as G;
        [
            G::UppercaseLetter,
            G::LowercaseLetter,
            G::TitlecaseLetter,
            G::ModifierLetter,
            G::OtherLetter,
            G::NonspacingMark,
            G::SpacingMark,
            G::EnclosingMark,
            G::DecimalNumber,
            G::LetterNumber,
            G::OtherNumber,
            G::ConnectorPunctuation,
            G::DashPunctuation,
            G::OpenPunctuation,
            G::ClosePunctuation,
            G::InitialPunctuation,
            G::FinalPunctuation,
            G::OtherPunctuation,
            G::MathSymbol,
            G::CurrencySymbol,
            G::ModifierSymbol,
            G::OtherSymbol,
            G::SpaceSeparator,
            G::LineSeparator,
            G::ParagraphSeparator,
            G::Control,
            G::Format,
            G::Surrogate,
            G::PrivateUse,
            G::Unassigned,
        ]
    };
}

/// The back end the parser asks.
#[cfg(feature = "idna")]
pub(super) fn backend() -> &'static dyn Unicode {
    &super::icu4x::Icu4x
}

#[cfg(not(feature = "idna"))]
static BACKEND: std::sync::OnceLock<&'static dyn Unicode> = std::sync::OnceLock::new();

/// The back end the parser asks: the registered one, else one that knows no Unicode.
#[cfg(not(feature = "idna"))]
pub(super) fn backend() -> &'static dyn Unicode {
    BACKEND.get().copied().unwrap_or(&AsciiOnly)
}

/// Registers the back end that parsing asks about non-ASCII text. The first registration
/// stays; returns whether this one was it.
#[cfg(not(feature = "idna"))]
pub fn set_unicode(backend: &'static dyn Unicode) -> bool {
    BACKEND.set(backend).is_ok()
}

/// With the feature `idna` the ICU4X back end is built in and stays: registering another does
/// nothing and returns false. (A build that unifies the features of several packages may turn
/// `idna` on under a caller that registers its own.)
#[cfg(feature = "idna")]
pub fn set_unicode(_: &'static dyn Unicode) -> bool {
    false
}

/// What the parser asks until a back end is registered: every question about Unicode fails.
#[cfg(not(feature = "idna"))]
#[derive(Debug)]
struct AsciiOnly;

#[cfg(not(feature = "idna"))]
impl Unicode for AsciiOnly {
    fn uts46(&self, _: &str) -> Option<(String, String)> {
        None
    }

    fn punycode_encode(&self, _: &str) -> Option<String> {
        None
    }

    fn nfc(&self, text: &str) -> String {
        text.to_owned()
    }

    fn general_category(&self, _: char) -> GeneralCategory {
        GeneralCategory::Unassigned
    }

    fn is_default_ignorable(&self, _: char) -> bool {
        false
    }
}
