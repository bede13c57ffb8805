//! Where `mailvet domain` and `mailvet serve`'s blocklist checks send DNS queries: the DoH
//! client, or a recursive resolver over UDP with TCP for truncated answers (blocklists refuse
//! queries that come through public resolvers, so they need the user's own).

use std::net::SocketAddr;
use std::time::Duration;

use mailvet_core::dns::{Message, RecordType, build_query, parse_response};
use mailvet_core::sender::spf::{Answer, QueryType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::doh::Resolver;

/// Where the queries go.
pub enum Dns {
    Doh(Resolver),
    Plain {
        server: SocketAddr,
        timeout: Duration,
    },
}

impl Dns {
    pub async fn lookup(&self, name: &str, rtype: RecordType) -> Option<Message> {
        match self {
            Dns::Doh(resolver) => resolver.answer(name, rtype).await,
            Dns::Plain { server, timeout } => {
                // Twice over UDP, as stub resolvers do; then nothing.
                for _ in 0..2 {
                    if let Ok(Some(message)) =
                        tokio::time::timeout(*timeout, plain_query(*server, name, rtype)).await
                    {
                        return Some(message);
                    }
                }
                None
            }
        }
    }

    pub async fn answer(&self, name: &str, kind: QueryType) -> Answer {
        let message = self.lookup(name, kind.record_type()).await;
        Answer::from_message(name, kind, message.as_ref())
    }
}

/// One query to a recursive resolver over UDP, again over TCP when the answer is truncated
/// (RFC 1035 §4.2.1, RFC 7766). The message ID is random: it is what tells our answer from a
/// forged one on UDP.
async fn plain_query(server: SocketAddr, name: &str, rtype: RecordType) -> Option<Message> {
    let mut id = [0; 2];
    getrandom::getrandom(&mut id).ok()?;
    let id = u16::from_be_bytes(id);
    let query = build_query(id, name, rtype).ok()?;
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let socket = UdpSocket::bind(local).await.ok()?;
    socket.connect(server).await.ok()?;
    socket.send(&query).await.ok()?;
    let mut buffer = vec![0; 65_535];
    let message = loop {
        let n = socket.recv(&mut buffer).await.ok()?;
        if let Ok(message) = parse_response(&buffer[..n])
            && message.answers_query(id, name, rtype)
        {
            break message;
        }
    };
    if !message.truncated {
        return Some(message);
    }
    let mut stream = TcpStream::connect(server).await.ok()?;
    let mut framed = u16::try_from(query.len()).ok()?.to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed).await.ok()?;
    let mut length = [0; 2];
    stream.read_exact(&mut length).await.ok()?;
    let mut body = vec![0; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut body).await.ok()?;
    parse_response(&body)
        .ok()
        .filter(|m| m.answers_query(id, name, rtype))
}
