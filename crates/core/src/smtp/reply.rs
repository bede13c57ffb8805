//! Replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463).

use core::fmt;

/// The longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 sets 512 octets, but
/// servers exceed it with long explanations and URLs; RFC 5321 §4.5.3.1 asks receivers to be
/// liberal, so this allows the 1000 octets of a text line (§4.5.3.1.6).
pub const MAX_LINE: usize = 1000;
/// The most lines one reply may have. An EHLO reply lists a few dozen extensions at most.
pub const MAX_LINES: usize = 100;

/// One reply: its code, the enhanced status code of its first line, and the text of each line
/// (without the code and the separator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<EnhancedStatus>,
    pub lines: Vec<String>,
}

/// An enhanced mail system status code, `class.subject.detail` (RFC 3463 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

/// Why bytes from the server are not an SMTP reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// More than [`MAX_LINES`] lines.
    TooManyLines,
    /// A line that does not start with a reply code of RFC 5321 §4.2 (`2`-`5`, `0`-`5`, digit).
    BadCode,
    /// A code followed by something other than a space, a hyphen or the end of the line.
    BadSeparator,
    /// A line of a multi-line reply with another code than the first (RFC 5321 §4.2.1).
    InconsistentCode,
}

impl Reply {
    /// Reads one reply from the start of `buf`.
    ///
    /// `Ok(None)` means the reply is not complete yet: read more and call again with the whole
    /// buffer. `Ok(Some((reply, n)))` means the first `n` octets were the reply; pipelined replies
    /// may follow. Lines end with CRLF (RFC 5321 §2.3.8); a bare LF is accepted too.
    pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        // A first pass finds the end, so that nothing is allocated for an incomplete reply.
        let mut lines = 0;
        let mut code = None;
        let mut end = 0;
        loop {
            let Some((line, next)) = next_line(buf, end)? else {
                return Ok(None);
            };
            lines += 1;
            if lines > MAX_LINES {
                return Err(ReplyError::TooManyLines);
            }
            if *code.get_or_insert(line.code) != line.code {
                return Err(ReplyError::InconsistentCode);
            }
            end = next;
            if line.last {
                break;
            }
        }
        let mut texts = Vec::with_capacity(lines);
        let mut pos = 0;
        while pos < end {
            let Some((line, next)) = next_line(buf, pos)? else {
                break;
            };
            texts.push(String::from_utf8_lossy(line.text).into_owned());
            pos = next;
        }
        let code = code.unwrap_or_default();
        let enhanced = texts
            .first()
            .and_then(|text| EnhancedStatus::parse_prefix(text, code));
        Ok(Some((
            Reply {
                code,
                enhanced,
                lines: texts,
            },
            end,
        )))
    }

    /// 2yz Positive Completion or 3yz Positive Intermediate (RFC 5321 §4.2.1).
    pub fn is_positive(&self) -> bool {
        matches!(self.code / 100, 2 | 3)
    }

    /// 4yz Transient Negative Completion: the same command may succeed later (RFC 5321 §4.2.1).
    pub fn is_transient(&self) -> bool {
        self.code / 100 == 4
    }

    /// 5yz Permanent Negative Completion: the same command will fail again (RFC 5321 §4.2.1).
    pub fn is_permanent(&self) -> bool {
        self.code / 100 == 5
    }

    /// 421: the server is closing the connection (RFC 5321 §3.8).
    pub fn closes_connection(&self) -> bool {
        self.code == 421
    }
}

impl fmt::Display for Reply {
    /// The reply as the server sent it, one line per line, without the final line break.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len().saturating_sub(1);
        for (i, text) in self.lines.iter().enumerate() {
            let separator = if i == last { ' ' } else { '-' };
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}{separator}{text}", self.code)?;
        }
        Ok(())
    }
}

struct Line<'a> {
    code: u16,
    last: bool,
    text: &'a [u8],
}

/// The line starting at `start`, and where the next one starts; `None` if it is incomplete.
fn next_line(buf: &[u8], start: usize) -> Result<Option<(Line<'_>, usize)>, ReplyError> {
    let rest = buf.get(start..).unwrap_or_default();
    let window = &rest[..rest.len().min(MAX_LINE)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if rest.len() >= MAX_LINE {
            return Err(ReplyError::LineTooLong);
        }
        // Garbage is an error as soon as it is seen, not after a line's worth of it.
        // A CR may be the first half of the CRLF after a bare code.
        check_prefix(rest.strip_suffix(b"\r").unwrap_or(rest))?;
        return Ok(None);
    };
    let line = &rest[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    check_prefix(line)?;
    let [a, b, c, rest @ ..] = line else {
        return Err(ReplyError::BadCode);
    };
    let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    let (last, text) = match rest {
        [] => (true, rest),
        [b' ', text @ ..] => (true, text),
        [b'-', text @ ..] => (false, text),
        _ => return Err(ReplyError::BadSeparator),
    };
    Ok(Some((Line { code, last, text }, start + lf + 1)))
}

/// RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39, then SP, "-" or the end of the line.
fn check_prefix(line: &[u8]) -> Result<(), ReplyError> {
    let ranges = [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9'];
    for (byte, range) in line.iter().zip(ranges) {
        if !range.contains(byte) {
            return Err(ReplyError::BadCode);
        }
    }
    match line.get(3) {
        None | Some(b' ' | b'-') => Ok(()),
        Some(_) => Err(ReplyError::BadSeparator),
    }
}

impl EnhancedStatus {
    /// Reads `class.subject.detail` from the start of `text`, followed by a space or the end
    /// (RFC 3463 §2: class 2, 4 or 5; subject and detail of one to three digits). The class
    /// must match the reply code's first digit (RFC 2034 §4), or the code is ignored.
    pub fn parse_prefix(text: &str, reply_code: u16) -> Option<EnhancedStatus> {
        let token = text.split(' ').next()?;
        let mut parts = token.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let number = |s: &str| -> Option<u16> {
            if (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return None,
        };
        if u16::from(class) != reply_code / 100 {
            return None;
        }
        Some(EnhancedStatus {
            class,
            subject: number(subject)?,
            detail: number(detail)?,
        })
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl ReplyError {
    /// A stable snake_case code for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            ReplyError::LineTooLong => "reply_line_too_long",
            ReplyError::TooManyLines => "reply_too_many_lines",
            ReplyError::BadCode => "reply_bad_code",
            ReplyError::BadSeparator => "reply_bad_separator",
            ReplyError::InconsistentCode => "reply_inconsistent_code",
        }
    }
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::LineTooLong => "The mail server sent a reply line that is too long.",
            ReplyError::TooManyLines => "The mail server sent a reply with too many lines.",
            ReplyError::BadCode => "The mail server sent something that is not an SMTP reply.",
            ReplyError::BadSeparator => {
                "The mail server sent a reply code followed by an unexpected character."
            }
            ReplyError::InconsistentCode => {
                "The mail server sent a multi-line reply whose lines have different codes."
            }
        })
    }
}

impl core::error::Error for ReplyError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<Option<(Reply, usize)>, &'static str> {
        Reply::parse(input.as_bytes()).map_err(|e| e.code())
    }

    fn whole(input: &str) -> Reply {
        let (reply, used) = parse(input).unwrap().unwrap();
        assert_eq!(used, input.len());
        reply
    }

    const GMAIL_NO_SUCH_USER: &str = "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n\
        550-5.1.1 double-checking the recipient's email address for typos or\r\n\
        550-5.1.1 unnecessary spaces. For more information, go to\r\n\
        550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si2 - gsmtp\r\n";

    #[test]
    fn parses_single_and_multi_line_replies() {
        let r = whole("250 2.1.5 OK\r\n");
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, ["2.1.5 OK"]);
        assert_eq!(r.enhanced.map(|e| e.to_string()), Some("2.1.5".into()));

        let r = whole(GMAIL_NO_SUCH_USER);
        assert_eq!(r.code, 550);
        assert_eq!(r.lines.len(), 4);
        assert_eq!(
            r.lines[3],
            "5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si2 - gsmtp"
        );
        assert_eq!(
            r.enhanced,
            Some(EnhancedStatus {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(r.to_string().lines().count(), 4);
        assert!(r.to_string().starts_with("550-5.1.1 The email account"));
    }

    #[test]
    fn every_prefix_needs_more_data() {
        for input in [
            GMAIL_NO_SUCH_USER,
            "220 mx.example.com ESMTP\r\n",
            "250\r\n",
            "421 4.3.2 Bye\n",
        ] {
            for end in 0..input.len() {
                assert_eq!(parse(&input[..end]), Ok(None), "{:?}", &input[..end]);
            }
            assert!(parse(input).unwrap().is_some());
        }
    }

    #[test]
    fn reads_pipelined_replies_one_at_a_time() {
        let input = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n";
        let mut pos = 0;
        let mut codes = Vec::new();
        while let Some((reply, used)) = parse(&input[pos..]).unwrap() {
            codes.push(reply.code);
            pos += used;
        }
        assert_eq!(codes, [250, 250, 452]);
        assert_eq!(pos, input.len());
    }

    #[test]
    fn code_without_text_and_bare_lf() {
        let r = whole("250\r\n");
        assert_eq!(
            (r.code, r.lines.as_slice(), r.enhanced),
            (250, &[String::new()][..], None)
        );
        let r = whole("220-first\n220 second\n");
        assert_eq!(r.lines, ["first", "second"]);
    }

    #[test]
    fn rejects_garbage_early() {
        assert_eq!(parse("HTTP/1.1 400 Bad Request\r\n"), Err("reply_bad_code"));
        assert_eq!(parse("H"), Err("reply_bad_code"));
        assert_eq!(parse("1"), Err("reply_bad_code"));
        assert_eq!(parse("26"), Err("reply_bad_code"));
        assert_eq!(parse("250x"), Err("reply_bad_separator"));
        assert_eq!(parse("25\r\n"), Err("reply_bad_code"));
        assert_eq!(parse("\r\n"), Err("reply_bad_code"));
        assert_eq!(parse("600 no\r\n"), Err("reply_bad_code"));
        assert_eq!(parse("250-a\r\n251 b\r\n"), Err("reply_inconsistent_code"));
        assert_eq!(parse("250-a\r\nxyz"), Err("reply_bad_code"));
    }

    #[test]
    fn bounds_line_length_and_line_count() {
        let long = format!("250 {}\r\n", "a".repeat(MAX_LINE - 6));
        assert_eq!(long.len(), MAX_LINE);
        assert!(parse(&long).unwrap().is_some());
        let too_long = format!("250 {}\r\n", "a".repeat(MAX_LINE - 5));
        assert_eq!(parse(&too_long), Err("reply_line_too_long"));
        // Without a line end in sight, the error comes as soon as the limit is passed.
        assert_eq!(parse(&too_long[..MAX_LINE]), Err("reply_line_too_long"));
        assert_eq!(parse(&too_long[..MAX_LINE - 1]), Ok(None));

        let many = "250-x\r\n".repeat(MAX_LINES - 1) + "250 x\r\n";
        assert_eq!(whole(&many).lines.len(), MAX_LINES);
        let too_many = "250-x\r\n".repeat(MAX_LINES) + "250 x\r\n";
        assert_eq!(parse(&too_many), Err("reply_too_many_lines"));
    }

    #[test]
    fn non_utf8_text_is_replaced() {
        let (r, _) = Reply::parse(b"550 caf\xE9\r\n").unwrap().unwrap();
        assert_eq!(r.lines, ["caf\u{FFFD}"]);
    }

    #[test]
    fn enhanced_status_rules() {
        let es = |text, code| EnhancedStatus::parse_prefix(text, code).map(|e| e.to_string());
        assert_eq!(
            es("5.1.10 RESOLVER.ADR.RecipientNotFound", 550),
            Some("5.1.10".into())
        );
        assert_eq!(es("4.7.1", 451), Some("4.7.1".into()));
        assert_eq!(es("5.7.606 Access denied", 550), Some("5.7.606".into()));
        // RFC 2034 §4: the class must match the reply.
        assert_eq!(es("5.1.1 User unknown", 450), None);
        assert_eq!(es("2.0.0 OK", 550), None);
        assert_eq!(es("3.0.0 x", 354), None);
        assert_eq!(es("5.1.1000 x", 550), None);
        assert_eq!(es("5.1 x", 550), None);
        assert_eq!(es("5.1.1.1 x", 550), None);
        assert_eq!(es("5.1.1x", 550), None);
        assert_eq!(es("5..1 x", 550), None);
        assert_eq!(es("Requested action not taken", 550), None);
        assert_eq!(es("", 550), None);
        // Only the first line is read.
        assert_eq!(whole("550-User unknown\r\n550 5.1.1 x\r\n").enhanced, None);
    }

    #[test]
    fn predicates_follow_the_first_digit() {
        let reply = |code| Reply {
            code,
            enhanced: None,
            lines: Vec::new(),
        };
        assert!(reply(250).is_positive() && reply(354).is_positive());
        assert!(!reply(250).is_transient() && !reply(250).is_permanent());
        assert!(reply(451).is_transient() && !reply(451).is_positive());
        assert!(reply(550).is_permanent() && !reply(550).is_transient());
        assert!(reply(421).closes_connection() && !reply(450).closes_connection());
    }

    #[test]
    fn never_panics_on_mutated_input() {
        let base = GMAIL_NO_SUCH_USER.as_bytes();
        for i in 0..base.len() {
            for value in [0x00, b'\r', b'\n', b' ', b'-', b'0', b'9', 0xFF] {
                let mut input = base.to_vec();
                input[i] = value;
                for end in [i, i + 1, input.len()] {
                    let _ = Reply::parse(&input[..end]);
                }
            }
        }
    }
}
