//! A blocking SMTP client for tests: send a command line, read the reply. Nothing more; the
//! prober under test lives elsewhere.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One SMTP reply (RFC 5321 §4.2): a three-digit code and the text of each line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text after `NNN-` or `NNN ` on each line.
    pub lines: Vec<String>,
}

impl Reply {
    /// The enhanced status code (RFC 3463 §2) at the start of the first line, e.g. `5.1.1`.
    pub fn enhanced(&self) -> Option<&str> {
        let first = self.lines.first()?.split(' ').next()?;
        let parts: Vec<&str> = first.split('.').collect();
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        (parts.len() == 3 && parts.iter().all(|p| digits(p))).then_some(first)
    }

    /// Every line's text, joined by newlines.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Whether an EHLO reply lists the extension `keyword` (RFC 5321 §4.1.1.1), ignoring case.
    pub fn has_extension(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|line| {
            line.split(' ')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        })
    }
}

/// An SMTP session over a `TcpStream` with read and write timeouts.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects, and sets `timeout` for the connection and for every later read and write.
    /// The greeting is not read: see [`Client::read_reply`].
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Client {
            reader: BufReader::new(stream),
        })
    }

    /// Connects and reads the greeting, which must be a 220 (RFC 5321 §4.3.2).
    pub fn greeted(addr: SocketAddr, timeout: Duration) -> io::Result<(Client, Reply)> {
        let mut client = Client::connect(addr, timeout)?;
        let greeting = client.read_reply()?;
        if greeting.code != 220 {
            return Err(io::Error::other(format!("greeting {greeting:?}")));
        }
        Ok((client, greeting))
    }

    /// The client's own address: the world's log names connections by it.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.reader.get_ref().local_addr()
    }

    /// Reads one reply, all its lines (RFC 5321 §4.2.1: `NNN-` continues, `NNN ` ends).
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            if self.reader.read_until(b'\n', &mut raw)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a reply",
                ));
            }
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| io::Error::other(format!("not a reply line: {line:?}")))?;
            let separator = line.as_bytes().get(3).copied();
            lines.push(line.get(4..).unwrap_or_default().to_owned());
            match separator {
                Some(b'-') => continue,
                Some(b' ') | None => return Ok(Reply { code, lines }),
                Some(_) => return Err(io::Error::other(format!("not a reply line: {line:?}"))),
            }
        }
    }

    /// Sends `line` followed by CRLF and reads the reply.
    pub fn command(&mut self, line: &str) -> io::Result<Reply> {
        let stream = self.reader.get_mut();
        stream.write_all(line.as_bytes())?;
        stream.write_all(b"\r\n")?;
        self.read_reply()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn enhanced_codes_are_read_from_the_first_line() {
        assert_eq!(
            reply(550, &["5.1.1 No such user"]).enhanced(),
            Some("5.1.1")
        );
        assert_eq!(reply(250, &["Accepted"]).enhanced(), None);
        assert_eq!(reply(250, &["1.2 x"]).enhanced(), None);
        assert_eq!(reply(250, &["5..1 x"]).enhanced(), None);
    }

    #[test]
    fn extensions_skip_the_greeting_line() {
        let ehlo = reply(
            250,
            &[
                "mx.world.test Hello",
                "SIZE 52428800",
                "STARTTLS",
                "SMTPUTF8",
            ],
        );
        assert!(ehlo.has_extension("starttls"));
        assert!(ehlo.has_extension("SIZE"));
        assert!(!ehlo.has_extension("mx.world.test"));
        assert!(!ehlo.has_extension("CHUNKING"));
    }
}
