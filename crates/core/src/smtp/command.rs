//! Commands mailvet sends (RFC 5321 §4.1.1).

use core::fmt;

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included.
const MAX_COMMAND_LINE: usize = 512;
/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, angle brackets included.
const MAX_PATH: usize = 256;
/// RFC 1035 §2.3.4 bounds the domain (or address literal) in EHLO and HELO.
const MAX_DOMAIN: usize = 255;

/// A command, rendered with [`Command::to_bytes`].
///
/// There is deliberately no `DATA`: mailvet asks whether a mailbox exists and stops after
/// `RCPT TO`, so it can never deliver a message. Nor is there `VRFY` or `EXPN`, which servers
/// disable (RFC 5321 §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// RFC 5321 §4.1.1.1, with the client's domain or address literal.
    Ehlo(&'a str),
    Helo(&'a str),
    /// RFC 3207 §4.
    StartTls,
    /// RFC 5321 §4.1.1.2. An empty address renders the null reverse-path `<>`. `smtputf8` adds
    /// the SMTPUTF8 parameter (RFC 6531 §3.4), which a non-ASCII address requires.
    MailFrom {
        address: &'a str,
        smtputf8: bool,
    },
    /// RFC 5321 §4.1.1.3.
    RcptTo(&'a str),
    Rset,
    Noop,
    Quit,
}

/// Why a command cannot be sent as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// A CR, LF or other control character: sent as is, it would end the command and start
    /// another (command injection).
    ControlCharacter,
    /// An empty domain or recipient.
    EmptyArgument,
    /// An EHLO/HELO argument with a space or a non-ASCII character.
    BadDomain,
    /// An address with a space or an angle bracket outside a quoted local part, or an open
    /// quote: the server would read parameters or a second path (RFC 5321 §4.1.2).
    BadAddress,
    /// A non-ASCII address in `MAIL FROM` without SMTPUTF8 (RFC 6531 §3.4).
    NeedsSmtputf8,
    /// Longer than RFC 5321 §4.5.3.1 allows.
    TooLong,
}

impl Command<'_> {
    /// The command line, CRLF included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CommandError> {
        let mut out = Vec::with_capacity(32);
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Appends the command line to `out`; on error `out` is left as it was.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let (verb, argument): (&str, Option<(&str, &str, &str)>) = match *self {
            Command::Ehlo(domain) => ("EHLO ", Some(("", check_domain(domain)?, ""))),
            Command::Helo(domain) => ("HELO ", Some(("", check_domain(domain)?, ""))),
            Command::StartTls => ("STARTTLS", None),
            Command::MailFrom { address, smtputf8 } => {
                check_address(address)?;
                if !smtputf8 && !address.is_ascii() {
                    return Err(CommandError::NeedsSmtputf8);
                }
                let parameter = if smtputf8 { "> SMTPUTF8" } else { ">" };
                ("MAIL FROM:", Some(("<", address, parameter)))
            }
            Command::RcptTo(address) => {
                if address.is_empty() {
                    return Err(CommandError::EmptyArgument);
                }
                check_address(address)?;
                ("RCPT TO:", Some(("<", address, ">")))
            }
            Command::Rset => ("RSET", None),
            Command::Noop => ("NOOP", None),
            Command::Quit => ("QUIT", None),
        };
        let (open, argument, close) = argument.unwrap_or_default();
        let len = verb.len() + open.len() + argument.len() + close.len() + 2;
        if len > MAX_COMMAND_LINE {
            return Err(CommandError::TooLong);
        }
        out.reserve(len);
        for part in [verb, open, argument, close, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
        Ok(())
    }
}

fn check_domain(domain: &str) -> Result<&str, CommandError> {
    if domain.chars().any(char::is_control) {
        return Err(CommandError::ControlCharacter);
    }
    if domain.is_empty() {
        return Err(CommandError::EmptyArgument);
    }
    if !domain.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CommandError::BadDomain);
    }
    if domain.len() > MAX_DOMAIN {
        return Err(CommandError::TooLong);
    }
    Ok(domain)
}

/// Checks an address to go between angle brackets. Inside a quoted local part (RFC 5321
/// §4.1.2 Quoted-string) spaces and brackets are data; outside they would end the path.
fn check_address(address: &str) -> Result<(), CommandError> {
    if address.chars().any(char::is_control) {
        return Err(CommandError::ControlCharacter);
    }
    if address.len() + 2 > MAX_PATH {
        return Err(CommandError::TooLong);
    }
    let mut quoted = false;
    let mut escaped = false;
    for c in address.chars() {
        if escaped {
            escaped = false;
        } else if quoted {
            match c {
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else {
            match c {
                '"' => quoted = true,
                ' ' | '<' | '>' => return Err(CommandError::BadAddress),
                _ => {}
            }
        }
    }
    if quoted || escaped {
        return Err(CommandError::BadAddress);
    }
    Ok(())
}

impl CommandError {
    /// A stable snake_case code for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::ControlCharacter => "command_control_character",
            CommandError::EmptyArgument => "command_empty_argument",
            CommandError::BadDomain => "command_bad_domain",
            CommandError::BadAddress => "command_bad_address",
            CommandError::NeedsSmtputf8 => "command_needs_smtputf8",
            CommandError::TooLong => "command_too_long",
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommandError::ControlCharacter => "The SMTP command argument has a control character.",
            CommandError::EmptyArgument => "The SMTP command argument is empty.",
            CommandError::BadDomain => {
                "The EHLO or HELO name has a space or a non-ASCII character."
            }
            CommandError::BadAddress => {
                "The address has a space, an angle bracket or an open quote outside quotes."
            }
            CommandError::NeedsSmtputf8 => {
                "The sender address is not ASCII, so MAIL FROM needs SMTPUTF8."
            }
            CommandError::TooLong => "The SMTP command is longer than RFC 5321 allows.",
        })
    }
}

impl core::error::Error for CommandError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(command: Command<'_>) -> Result<String, &'static str> {
        command
            .to_bytes()
            .map(|b| String::from_utf8(b).unwrap())
            .map_err(|e| e.code())
    }

    #[test]
    fn renders_every_command_with_crlf() {
        let ok = |c| render(c).unwrap();
        assert_eq!(
            ok(Command::Ehlo("probe.example.net")),
            "EHLO probe.example.net\r\n"
        );
        assert_eq!(ok(Command::Helo("[127.0.0.1]")), "HELO [127.0.0.1]\r\n");
        assert_eq!(ok(Command::StartTls), "STARTTLS\r\n");
        assert_eq!(
            ok(Command::MailFrom {
                address: "check@example.net",
                smtputf8: false
            }),
            "MAIL FROM:<check@example.net>\r\n"
        );
        assert_eq!(
            ok(Command::MailFrom {
                address: "",
                smtputf8: false
            }),
            "MAIL FROM:<>\r\n"
        );
        assert_eq!(
            ok(Command::MailFrom {
                address: "prüfung@example.net",
                smtputf8: true
            }),
            "MAIL FROM:<prüfung@example.net> SMTPUTF8\r\n"
        );
        assert_eq!(
            ok(Command::RcptTo("alice@example.com")),
            "RCPT TO:<alice@example.com>\r\n"
        );
        assert_eq!(
            ok(Command::RcptTo("\"a b<c>\"@example.com")),
            "RCPT TO:<\"a b<c>\"@example.com>\r\n"
        );
        assert_eq!(
            ok(Command::RcptTo("\"a\\\"> x\"@example.com")),
            "RCPT TO:<\"a\\\"> x\"@example.com>\r\n"
        );
        assert_eq!(ok(Command::Rset), "RSET\r\n");
        assert_eq!(ok(Command::Noop), "NOOP\r\n");
        assert_eq!(ok(Command::Quit), "QUIT\r\n");
    }

    #[test]
    fn rejects_command_injection() {
        for address in [
            "a@example.com>\r\nDATA",
            "a@example.com\nRCPT TO:<b@example.com>",
            "a@example.com\r",
            "a\0@example.com",
            "a\u{7F}@example.com",
            "a\u{85}@example.com",
        ] {
            assert_eq!(
                render(Command::RcptTo(address)),
                Err("command_control_character"),
                "{address:?}"
            );
            let mail = Command::MailFrom {
                address,
                smtputf8: true,
            };
            assert_eq!(render(mail), Err("command_control_character"));
        }
        assert_eq!(
            render(Command::Ehlo("x\r\nDATA")),
            Err("command_control_character")
        );
        assert_eq!(
            render(Command::Helo("x\n")),
            Err("command_control_character")
        );
    }

    #[test]
    fn rejects_parameters_smuggled_into_paths() {
        for address in [
            "a@example.com> NOTIFY=NEVER",
            "a@example.com SIZE=1",
            "<a@example.com",
            "\"open@example.com",
            "\"a\\\"@example.com",
        ] {
            assert_eq!(
                render(Command::RcptTo(address)),
                Err("command_bad_address"),
                "{address:?}"
            );
        }
        assert_eq!(render(Command::Ehlo("my host")), Err("command_bad_domain"));
        assert_eq!(
            render(Command::Ehlo("bücher.de")),
            Err("command_bad_domain")
        );
    }

    #[test]
    fn rejects_empty_long_and_unannounced_utf8() {
        assert_eq!(render(Command::RcptTo("")), Err("command_empty_argument"));
        assert_eq!(render(Command::Ehlo("")), Err("command_empty_argument"));
        let mail = Command::MailFrom {
            address: "prüfung@example.net",
            smtputf8: false,
        };
        assert_eq!(render(mail), Err("command_needs_smtputf8"));
        // RCPT TO carries whatever MAIL FROM announced; a UTF-8 recipient is the caller's call.
        assert!(render(Command::RcptTo("用户@例子.广告")).is_ok());

        let local = "a".repeat(64);
        let fits = format!("{local}@{}.com", "b".repeat(185));
        assert_eq!(fits.len() + 2, MAX_PATH);
        assert!(render(Command::RcptTo(&fits)).is_ok());
        let long = format!("{local}@{}.com", "b".repeat(186));
        assert_eq!(render(Command::RcptTo(&long)), Err("command_too_long"));
        assert_eq!(
            render(Command::Ehlo(&"h".repeat(256))),
            Err("command_too_long")
        );
    }

    #[test]
    fn write_to_leaves_the_buffer_alone_on_error() {
        let mut out = b"RSET\r\n".to_vec();
        assert!(Command::RcptTo("a\r\n").write_to(&mut out).is_err());
        assert_eq!(out, b"RSET\r\n");
        Command::Quit.write_to(&mut out).unwrap();
        assert_eq!(out, b"RSET\r\nQUIT\r\n");
    }
}
