//! The IDNA2008 rules that UTS-46 leaves out, applied to labels UTS-46 has already mapped and
//! validated.
//!
//! UTS-46 keeps symbols and punctuation that IDNA2003 allowed (its `NV8` characters: emoji,
//! `♥`, `⌘`...), which RFC 5892 derives as DISALLOWED, and it does not check CONTEXTO rules.
//! After UTS-46 mapping, a label's characters are stable under NFKC_Casefold (RFC 5892 §2.2
//! `Unstable`) and have no unassigned code points, so the remaining steps of the derivation
//! (RFC 5892 §3) are the ones below.

use super::unicode::{GeneralCategory as Gc, backend};

/// RFC 5892 §3 derived property values, as far as they matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pvalid,
    /// Checked by UTS-46 in `idna` (RFC 5892 Appendix A.1, A.2).
    ContextJ,
    ContextO,
    Disallowed,
}

fn category(c: char) -> Gc {
    backend().general_category(c)
}

/// Whether `c` is a `Default_Ignorable_Code_Point` (invisible: format characters, fillers,
/// variation selectors).
pub(super) fn is_ignorable(c: char) -> bool {
    backend().is_default_ignorable(c)
}

/// RFC 5892 §3, for a code point that UTS-46 mapping produced.
fn status(c: char) -> Status {
    match c {
        // §2.5 LDH (K)
        'a'..='z' | '0'..='9' | '-' => Status::Pvalid,
        // §2.6 Exceptions (F)
        '\u{00DF}' | '\u{03C2}' | '\u{06FD}' | '\u{06FE}' | '\u{0F0B}' | '\u{3007}' => {
            Status::Pvalid
        }
        '\u{00B7}'
        | '\u{0375}'
        | '\u{05F3}'
        | '\u{05F4}'
        | '\u{30FB}'
        | '\u{0660}'..='\u{0669}'
        | '\u{06F0}'..='\u{06F9}' => Status::ContextO,
        '\u{0640}'
        | '\u{07FA}'
        | '\u{302E}'
        | '\u{302F}'
        | '\u{3031}'..='\u{3035}'
        | '\u{303B}' => Status::Disallowed,
        // §2.8 JoinControl (H)
        '\u{200C}' | '\u{200D}' => Status::ContextJ,
        // §2.3 IgnorableProperties (C): Noncharacter_Code_Point and Default_Ignorable_Code_Point
        // (White_Space never gets this far).
        '\u{FDD0}'..='\u{FDEF}' => Status::Disallowed,
        _ if (c as u32) & 0xFFFE == 0xFFFE => Status::Disallowed,
        _ if is_ignorable(c) => Status::Disallowed,
        // §2.4 IgnorableBlocks (D): Combining Diacritical Marks for Symbols, Musical Symbols,
        // Ancient Greek Musical Notation.
        '\u{20D0}'..='\u{20FF}' | '\u{1D100}'..='\u{1D24F}' => Status::Disallowed,
        // §2.9 OldHangulJamo (I): the conjoining Jamo blocks (Hangul_Syllable_Type L, V, T).
        '\u{1100}'..='\u{11FF}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}' => {
            Status::Disallowed
        }
        // §2.1 LetterDigits (A)
        _ => match category(c) {
            Gc::LowercaseLetter
            | Gc::UppercaseLetter
            | Gc::OtherLetter
            | Gc::DecimalNumber
            | Gc::ModifierLetter
            | Gc::NonspacingMark
            | Gc::SpacingMark => Status::Pvalid,
            _ => Status::Disallowed,
        },
    }
}

/// Whether a label that UTS-46 accepted (lowercase, mapped) is an IDNA2008 U-label: every code
/// point PVALID, or CONTEXTO with its rule satisfied (RFC 5891 §5.4 asks lookups to check
/// CONTEXTO too), or CONTEXTJ (already checked by UTS-46).
pub(super) fn is_valid_u_label(label: &str) -> bool {
    let chars: Vec<char> = label.chars().collect();
    chars.iter().enumerate().all(|(i, &c)| match status(c) {
        Status::Pvalid | Status::ContextJ => true,
        Status::ContextO => context_o(&chars, i),
        Status::Disallowed => false,
    })
}

/// The CONTEXTO rules of RFC 5892 Appendix A.3 to A.9 for `label[i]`.
fn context_o(label: &[char], i: usize) -> bool {
    let before = i.checked_sub(1).and_then(|b| label.get(b)).copied();
    let after = label.get(i + 1).copied();
    match label.get(i) {
        // A.3 MIDDLE DOT: between two `l` (Catalan `l·l`).
        Some('\u{00B7}') => before == Some('l') && after == Some('l'),
        // A.4 GREEK LOWER NUMERAL SIGN (KERAIA): followed by a Greek character.
        Some('\u{0375}') => after.is_some_and(is_greek),
        // A.5, A.6 HEBREW PUNCTUATION GERESH and GERSHAYIM: preceded by a Hebrew character.
        Some('\u{05F3}' | '\u{05F4}') => before.is_some_and(is_hebrew),
        // A.7 KATAKANA MIDDLE DOT: the label has a Hiragana, Katakana or Han character.
        Some('\u{30FB}') => label
            .iter()
            .any(|&c| is_hiragana(c) || is_katakana(c) || is_han(c)),
        // A.8, A.9: Arabic-Indic and Extended Arabic-Indic digits do not mix.
        Some('\u{0660}'..='\u{0669}') => {
            !label.iter().any(|c| matches!(c, '\u{06F0}'..='\u{06F9}'))
        }
        Some('\u{06F0}'..='\u{06F9}') => {
            !label.iter().any(|c| matches!(c, '\u{0660}'..='\u{0669}'))
        }
        _ => false,
    }
}

// Script tests for A.4 to A.7. Rather than the 26 KB Script table, the ranges where each
// script's characters are (Unicode Scripts.txt), leaving out the Common and Inherited characters
// inside them and the ranges UTS-46 maps away (so they never reach these tests).

fn is_greek(c: char) -> bool {
    matches!(c,
        '\u{0370}'..='\u{0373}'
        | '\u{0375}'..='\u{0377}'
        | '\u{037A}'..='\u{037D}'
        | '\u{037F}'
        | '\u{0384}'
        | '\u{0386}'
        | '\u{0388}'..='\u{03E1}'
        | '\u{03F0}'..='\u{03FF}'
        | '\u{1D26}'..='\u{1D2A}'
        | '\u{1F00}'..='\u{1FFE}'
        | '\u{AB65}'
        | '\u{10140}'..='\u{1018E}'
        | '\u{1D200}'..='\u{1D245}')
}

fn is_hebrew(c: char) -> bool {
    matches!(c, '\u{0591}'..='\u{05F4}' | '\u{FB1D}'..='\u{FB4F}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{3096}'
        | '\u{309D}'..='\u{309F}'
        | '\u{1B001}'..='\u{1B11F}'
        | '\u{1B132}'
        | '\u{1B150}'..='\u{1B152}')
}

fn is_katakana(c: char) -> bool {
    matches!(c,
        '\u{30A1}'..='\u{30FA}'
        | '\u{30FD}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{1AFF0}'..='\u{1AFFE}'
        | '\u{1B000}'
        | '\u{1B120}'..='\u{1B122}'
        | '\u{1B155}'
        | '\u{1B164}'..='\u{1B167}')
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3005}'
        | '\u{3007}'
        | '\u{3021}'..='\u{3029}'
        | '\u{3038}'..='\u{303B}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{16FE2}'..='\u{16FE3}'
        | '\u{16FF0}'..='\u{16FF1}'
        | '\u{20000}'..='\u{3FFFF}')
}
