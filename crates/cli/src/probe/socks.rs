//! A SOCKS5 client (RFC 1928) for networks that block outgoing port 25: CONNECT through a proxy,
//! without authentication. The target is always an IP address the prober resolved and checked
//! itself, so the proxy never resolves a name for us.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// RFC 1928 §3.
const VERSION: u8 = 5;
const NO_AUTHENTICATION: u8 = 0;
const NO_ACCEPTABLE_METHOD: u8 = 0xff;
/// RFC 1928 §4.
const CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// Opens a TCP connection to `target` through the SOCKS5 proxy at `proxy`. The caller bounds
/// the time it may take.
pub async fn connect(proxy: SocketAddr, target: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(proxy).await?;
    // RFC 1928 §3: version, one method, "no authentication required".
    stream.write_all(&[VERSION, 1, NO_AUTHENTICATION]).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    match choice {
        [VERSION, NO_AUTHENTICATION] => {}
        [VERSION, NO_ACCEPTABLE_METHOD] => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the SOCKS5 proxy requires authentication",
            ));
        }
        _ => return Err(not_socks5()),
    }
    stream.write_all(&request(target)).await?;
    // RFC 1928 §6: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT.
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let [VERSION, reply, 0, atyp] = head else {
        return Err(not_socks5());
    };
    if reply != 0 {
        return Err(reply_error(reply));
    }
    let address_len = match atyp {
        ATYP_IPV4 => 4,
        ATYP_IPV6 => 16,
        ATYP_DOMAIN => usize::from(stream.read_u8().await?),
        _ => return Err(not_socks5()),
    };
    // The bound address and port: where the proxy connected from, of no use to us.
    let mut bound = vec![0u8; address_len + 2];
    stream.read_exact(&mut bound).await?;
    Ok(stream)
}

/// RFC 1928 §4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT (network order).
fn request(target: SocketAddr) -> Vec<u8> {
    let mut out = vec![VERSION, CONNECT, 0];
    match target.ip() {
        IpAddr::V4(v4) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(&v6.octets());
        }
    }
    out.extend_from_slice(&target.port().to_be_bytes());
    out
}

fn not_socks5() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the proxy does not speak SOCKS5",
    )
}

/// RFC 1928 §6: the reply field.
fn reply_error(reply: u8) -> io::Error {
    let (kind, text) = match reply {
        2 => (
            io::ErrorKind::PermissionDenied,
            "connection not allowed by ruleset",
        ),
        3 => (io::ErrorKind::NetworkUnreachable, "network unreachable"),
        4 => (io::ErrorKind::HostUnreachable, "host unreachable"),
        5 => (io::ErrorKind::ConnectionRefused, "connection refused"),
        6 => (io::ErrorKind::TimedOut, "TTL expired"),
        7 => (io::ErrorKind::Unsupported, "command not supported"),
        8 => (io::ErrorKind::Unsupported, "address type not supported"),
        _ => (io::ErrorKind::Other, "general SOCKS server failure"),
    };
    io::Error::new(kind, format!("SOCKS5 proxy: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_the_target_by_address() {
        assert_eq!(
            request("127.0.0.1:2525".parse().unwrap()),
            [5, 1, 0, 1, 127, 0, 0, 1, 0x09, 0xdd]
        );
        let v6 = request("[::1]:25".parse().unwrap());
        assert_eq!(&v6[..4], [5, 1, 0, 4]);
        assert_eq!(&v6[4..20], std::net::Ipv6Addr::LOCALHOST.octets());
        assert_eq!(&v6[20..], [0, 25]);
    }

    #[test]
    fn reply_codes_become_errors() {
        assert_eq!(reply_error(5).kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(reply_error(4).kind(), io::ErrorKind::HostUnreachable);
        assert_eq!(reply_error(1).kind(), io::ErrorKind::Other);
        assert!(reply_error(2).to_string().contains("ruleset"));
    }
}
