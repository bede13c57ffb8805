//! The local part: `Dot-string / Quoted-string` of RFC 5321 §4.1.2, with UTF-8 (RFC 6531 §3.3).

use std::borrow::Cow;

use super::unicode::{GeneralCategory, backend};
use super::{SyntaxError, SyntaxErrorCode as C, is_control};

/// `atext` of RFC 5322 §3.2.3 (which RFC 5321 §4.1.2 `Atom` uses), for ASCII bytes; bytes of
/// UTF-8 sequences are handled apart (RFC 6531 §3.3 adds `UTF8-non-ascii` to `atext`).
pub(super) static ATEXT: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'/'
                    | b'='
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// A local part as written, up to the `@` that ends it.
#[derive(Debug)]
pub(super) struct Local<'a> {
    /// The local part exactly as typed (with quotes and escapes, if any).
    pub(super) raw: &'a str,
    /// Offset of the `@` that separates local part and domain.
    pub(super) at: usize,
    quoted: bool,
    ascii: bool,
}

impl<'a> Local<'a> {
    /// The canonical form: NFC (RFC 6532 §3.1), a Dot-string when the content allows it (RFC 5321
    /// §4.1.2: a Quoted-string that could be a Dot-string SHOULD be sent as one), else a
    /// Quoted-string escaping only `"` and `\`.
    ///
    /// A Dot-string as typed must stay one: a character whose NFC form is ASCII outside `atext`
    /// (U+037E GREEK QUESTION MARK is `;`) is refused rather than quoted. Quoting it would
    /// rewrite the address into one the person never typed, and a character that looks like
    /// punctuation yet passes where punctuation may not is a confusable (RFC 6530 §10).
    pub(super) fn canonical(&self) -> Result<Cow<'a, str>, SyntaxError> {
        if !self.quoted && self.ascii {
            return Ok(Cow::Borrowed(self.raw));
        }
        let content = if self.quoted {
            unescape(&self.raw[1..self.raw.len() - 1])
        } else {
            Cow::Borrowed(self.raw)
        };
        let content = if self.ascii {
            content
        } else {
            Cow::Owned(backend().nfc(&content))
        };
        if is_dot_string(&content) {
            Ok(content)
        } else if self.quoted {
            Ok(Cow::Owned(quote(&content)))
        } else {
            Err(SyntaxError::new(
                C::InvalidCharacter,
                self.first_outside_atext(),
            ))
        }
    }

    /// The offset of the first character whose NFC form holds ASCII outside `atext`: what
    /// keeps an unquoted local part from staying a Dot-string. NFC singletons such as U+037E
    /// map the same alone as in context.
    fn first_outside_atext(&self) -> usize {
        self.raw
            .char_indices()
            .find(|&(_, c)| {
                !c.is_ascii()
                    && backend()
                        .nfc(c.encode_utf8(&mut [0; 4]))
                        .bytes()
                        .any(|b| b.is_ascii() && !ATEXT[usize::from(b)])
            })
            .map_or(0, |(i, _)| i)
    }
}

/// Reads the local part at the start of `input` up to its `@`.
pub(super) fn scan(input: &str) -> Result<Local<'_>, SyntaxError> {
    let bytes = input.as_bytes();
    if bytes.first() == Some(&b'"') {
        return scan_quoted(input);
    }
    let mut ascii = true;
    // True at the start of the input and right after a dot: where a new Atom must begin.
    let mut after_dot = true;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if ATEXT[usize::from(b)] {
            after_dot = false;
            i += 1;
            continue;
        }
        match b {
            b'.' if i == 0 => return Err(SyntaxError::new(C::LeadingDot, i)),
            b'.' if after_dot => return Err(SyntaxError::new(C::ConsecutiveDots, i)),
            b'.' => after_dot = true,
            b'@' if i == 0 => return Err(SyntaxError::new(C::EmptyLocalPart, i)),
            b'@' if after_dot => return Err(SyntaxError::new(C::TrailingDot, i - 1)),
            b'@' => {
                return Ok(Local {
                    raw: &input[..i],
                    at: i,
                    quoted: false,
                    ascii,
                });
            }
            // RFC 5322 §4.4 obs-local-part: a quoted word after a dot.
            b'"' if after_dot => return Err(SyntaxError::new(C::ObsoleteSyntax, i)),
            b'(' => return Err(SyntaxError::new(C::Comment, i)),
            0x80.. => {
                let len = check_non_ascii(input, i, after_dot)?;
                ascii = false;
                after_dot = false;
                i += len;
                continue;
            }
            _ => return Err(ascii_error(b, i, C::InvalidCharacter)),
        }
        i += 1;
    }
    Err(SyntaxError::new(C::MissingAt, input.len()))
}

/// Reads a Quoted-string local part: `DQUOTE *QcontentSMTP DQUOTE` (RFC 5321 §4.1.2) with
/// `qtextSMTP =/ UTF8-non-ascii` (RFC 6531 §3.3), then the `@` after it.
fn scan_quoted(input: &str) -> Result<Local<'_>, SyntaxError> {
    let bytes = input.as_bytes();
    let mut ascii = true;
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return after_quoted(input, i + 1, ascii),
            // quoted-pairSMTP = %d92 %d32-126
            b'\\' => match bytes.get(i + 1) {
                Some(32..=126) => i += 2,
                Some(_) => return Err(SyntaxError::new(C::InvalidQuotedPair, i)),
                None => return Err(SyntaxError::new(C::UnclosedQuote, 0)),
            },
            // qtextSMTP = %d32-33 / %d35-91 / %d93-126
            32..=126 => i += 1,
            0x80.. => {
                // Unquoting may make the content a Dot-string, so its words start as there.
                let word_start = i == 1 || bytes[i - 1] == b'.';
                i += check_non_ascii(input, i, word_start)?;
                ascii = false;
            }
            _ => return Err(ascii_error(b, i, C::InvalidCharacter)),
        }
    }
    Err(SyntaxError::new(C::UnclosedQuote, 0))
}

/// After the closing quote of a Quoted-string at `end - 1`, only the `@` may follow.
fn after_quoted(input: &str, end: usize, ascii: bool) -> Result<Local<'_>, SyntaxError> {
    match input.as_bytes().get(end) {
        Some(b'@') => Ok(Local {
            raw: &input[..end],
            at: end,
            quoted: true,
            ascii,
        }),
        None => Err(SyntaxError::new(C::MissingAt, end)),
        // RFC 5322 §4.4 obs-local-part: words joined by dots, `"a"."b"` or `"a".b`.
        Some(b'.') => Err(SyntaxError::new(C::ObsoleteSyntax, end)),
        Some(b'(') => Err(SyntaxError::new(C::Comment, end)),
        Some(&b) if b >= 0x80 => match input[end..].chars().next() {
            Some(c) if c.is_whitespace() => Err(SyntaxError::new(C::Whitespace, end)),
            _ => Err(SyntaxError::new(C::InvalidCharacter, end)),
        },
        Some(&b) => Err(ascii_error(b, end, C::InvalidCharacter)),
    }
}

/// The error for an ASCII byte that is not allowed where it is: white space and control
/// characters have their own codes, anything else gets `otherwise`.
pub(super) fn ascii_error(b: u8, position: usize, otherwise: C) -> SyntaxError {
    let code = match b {
        b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' => C::Whitespace,
        0..=0x1F | 0x7F => C::ControlCharacter,
        _ => otherwise,
    };
    SyntaxError::new(code, position)
}

/// Checks the non-ASCII character at `i` (a char boundary) and returns its length in bytes.
/// `word_start` is true where a word begins: the start of the local part, of a Quoted-string's
/// content, or right after a dot.
fn check_non_ascii(input: &str, i: usize, word_start: bool) -> Result<usize, SyntaxError> {
    let Some(c) = input[i..].chars().next() else {
        return Err(SyntaxError::new(C::InvalidCharacter, i));
    };
    if c.is_whitespace() {
        return Err(SyntaxError::new(C::Whitespace, i));
    }
    if is_control(c) {
        return Err(SyntaxError::new(C::ControlCharacter, i));
    }
    // Not excluded by RFC 6531's grammar, but invisible or meaningless: see the module docs.
    // The joiners stay: Persian words need ZWNJ, emoji sequences ZWJ.
    let category = backend().general_category(c);
    if !matches!(c, '\u{200C}' | '\u{200D}')
        && matches!(
            category,
            GeneralCategory::Format
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
                | GeneralCategory::Surrogate
        )
    {
        return Err(SyntaxError::new(C::UnsafeCharacter, i));
    }
    // A combining mark with no letter to sit on joins the quote or dot before it, or shows
    // alone; a domain label may not start with one either (RFC 5891 §4.2.3.2).
    if word_start
        && matches!(
            category,
            GeneralCategory::NonspacingMark
                | GeneralCategory::SpacingMark
                | GeneralCategory::EnclosingMark
        )
    {
        return Err(SyntaxError::new(C::LeadingCombiningMark, i));
    }
    Ok(c.len_utf8())
}

/// Whether `s` is a `Dot-string` (RFC 5321 §4.1.2 with RFC 6531 §3.3 `atext`).
fn is_dot_string(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|atom| {
            !atom.is_empty() && atom.chars().all(|c| !c.is_ascii() || ATEXT[c as usize])
        })
}

/// The content of a Quoted-string with its quoted pairs resolved.
fn unescape(quoted: &str) -> Cow<'_, str> {
    if !quoted.contains('\\') {
        return Cow::Borrowed(quoted);
    }
    let mut content = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            content.extend(chars.next());
        } else {
            content.push(c);
        }
    }
    Cow::Owned(content)
}

/// A Quoted-string holding `content`, escaping only what must be (RFC 5321 §4.1.2 `qtextSMTP`).
fn quote(content: &str) -> String {
    let mut quoted = String::with_capacity(content.len() + 2);
    quoted.push('"');
    for c in content.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}
