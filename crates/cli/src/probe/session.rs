//! One SMTP connection: the socket, the bytes read from it that no reply used yet, and a deadline
//! on every read and write. What to send and what a reply means is decided by the caller and the
//! core; this type only moves bytes.

use mailvet_core::smtp::{Command, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

/// Why a conversation cannot go on.
#[derive(Debug)]
pub enum SessionError {
    /// The server did not answer (or take our bytes) before the deadline.
    Timeout,
    /// The server closed the connection.
    Closed,
    /// Reading or writing failed (a reset connection).
    Io,
    /// The server sent something that is no SMTP reply.
    Protocol,
    /// The command cannot be sent as asked (a control character, too long).
    Command,
    /// The TLS handshake after STARTTLS failed.
    Tls,
}

#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// A TLS handshake failed with the connection.
    Gone,
}

#[derive(Debug)]
pub struct Session {
    stream: Stream,
    /// Bytes read and not yet part of a reply. [`Reply::parse`] rejects over-long lines and
    /// replies, so this stays under [`mailvet_core::smtp::MAX_LINES`] lines.
    buffer: Vec<u8>,
}

impl Session {
    pub fn new(stream: TcpStream) -> Session {
        Session {
            stream: Stream::Plain(stream),
            buffer: Vec::with_capacity(512),
        }
    }

    /// Reads the next reply, waiting no later than `deadline`.
    pub async fn read_reply(&mut self, deadline: Instant) -> Result<Reply, SessionError> {
        let mut chunk = [0u8; 2048];
        loop {
            if let Some((reply, used)) =
                Reply::parse(&self.buffer).map_err(|_| SessionError::Protocol)?
            {
                self.buffer.drain(..used);
                return Ok(reply);
            }
            let read = match &mut self.stream {
                Stream::Plain(s) => timeout_at(deadline, s.read(&mut chunk)).await,
                Stream::Tls(s) => timeout_at(deadline, s.read(&mut chunk)).await,
                Stream::Gone => return Err(SessionError::Closed),
            };
            match read {
                Err(_) => return Err(SessionError::Timeout),
                Ok(Err(_)) => return Err(SessionError::Io),
                Ok(Ok(0)) => return Err(SessionError::Closed),
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends `command` and reads its reply, both before `deadline`.
    pub async fn command(
        &mut self,
        command: Command<'_>,
        deadline: Instant,
    ) -> Result<Reply, SessionError> {
        let line = command.to_bytes().map_err(|_| SessionError::Command)?;
        let written = match &mut self.stream {
            Stream::Plain(s) => timeout_at(deadline, s.write_all(&line)).await,
            Stream::Tls(s) => {
                timeout_at(deadline, async {
                    s.write_all(&line).await?;
                    s.flush().await
                })
                .await
            }
            Stream::Gone => return Err(SessionError::Closed),
        };
        match written {
            Err(_) => return Err(SessionError::Timeout),
            Ok(Err(_)) => return Err(SessionError::Io),
            Ok(Ok(())) => {}
        }
        self.read_reply(deadline).await
    }

    /// Runs the TLS handshake after the server's 220 to STARTTLS (RFC 3207 §4). When it fails
    /// the connection is gone.
    pub async fn start_tls(
        &mut self,
        connector: &TlsConnector,
        name: ServerName<'static>,
        deadline: Instant,
    ) -> Result<(), SessionError> {
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(SessionError::Tls);
        };
        // Whatever arrived after the 220 was sent before the handshake and is dropped: taking it
        // as a reply inside TLS is the STARTTLS command injection of CVE-2011-0411 (RFC 3207
        // §4.2 discards all knowledge from before TLS).
        self.buffer.clear();
        match timeout_at(deadline, connector.connect(name, tcp)).await {
            Err(_) => Err(SessionError::Timeout),
            Ok(Err(_)) => Err(SessionError::Tls),
            Ok(Ok(tls)) => {
                self.stream = Stream::Tls(Box::new(tls));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against a scripted server on loopback that sends its bytes in awkward pieces.

    use std::time::Duration;

    use mailvet_core::smtp::Command;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server that sends `chunks` one by one (with a pause between), then reads a line and
    /// answers `answer`, then closes.
    async fn server(chunks: &'static [&'static [u8]], answer: &'static [u8]) -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            for chunk in chunks {
                s.write_all(chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut line = [0u8; 512];
            let n = s.read(&mut line).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            assert!(line[..n].ends_with(b"\r\n"));
            s.write_all(answer).await.unwrap();
        });
        TcpStream::connect(addr).await.unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn replies_split_anywhere_are_read_whole() {
        let tcp = server(
            &[
                b"22",
                b"0-mx.example ESMTP\r",
                b"\n220 ready\r\n250 pipelined\r\n",
            ],
            b"250-mx\r\n250 SMTPUTF8\r\n",
        )
        .await;
        let mut session = Session::new(tcp);
        let greeting = session.read_reply(soon()).await.unwrap();
        assert_eq!(greeting.code, 220);
        assert_eq!(greeting.lines, ["mx.example ESMTP", "ready"]);
        // The pipelined reply stays for the next read.
        assert_eq!(session.read_reply(soon()).await.unwrap().code, 250);
        let ehlo = session
            .command(Command::Ehlo("probe.example"), soon())
            .await
            .unwrap();
        assert_eq!(ehlo.lines, ["mx", "SMTPUTF8"]);
        assert!(matches!(
            session.read_reply(soon()).await,
            Err(SessionError::Closed)
        ));
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error_and_silence_a_timeout() {
        let tcp = server(&[b"HTTP/1.1 400 Bad Request\r\n"], b"").await;
        let mut session = Session::new(tcp);
        assert!(matches!(
            session.read_reply(soon()).await,
            Err(SessionError::Protocol)
        ));

        let tcp = server(&[], b"").await;
        let mut session = Session::new(tcp);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(100);
        assert!(matches!(
            session.read_reply(deadline).await,
            Err(SessionError::Timeout)
        ));
        // The silent server would wait forever: only the deadline ended the read.
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[tokio::test]
    async fn commands_that_cannot_be_sent_are_not() {
        let tcp = server(&[b"220 hi\r\n"], b"").await;
        let mut session = Session::new(tcp);
        session.read_reply(soon()).await.unwrap();
        assert!(matches!(
            session
                .command(Command::RcptTo("a@b.c>\r\nDATA"), soon())
                .await,
            Err(SessionError::Command)
        ));
    }
}
