//! The MTA-STS policy host of the world's `sts.health.test` and `stsmismatch.health.test`
//! (RFC 8461 §3.3): HTTPS on 127.0.0.5:443 with the world's certificate, which names both
//! `mta-sts.` hosts, serving `/.well-known/mta-sts.txt` by the Host header. Port 443 needs
//! root, as the tests have in CI. The CLI's tests (`mailvet domain --ca-file`) and the Worker's
//! (`/v1/domains`, with [`crate::worker::Options::hosts`]) fetch the same policies from it.

use std::sync::Arc;
use std::thread;

use crate::World;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The policy each host serves.
fn policy(host: &str) -> Option<&'static str> {
    match host {
        "mta-sts.sts.health.test" => {
            Some("version: STSv1\r\nmode: enforce\r\nmx: mx.good.health.test\r\nmax_age: 86400\r\n")
        }
        "mta-sts.stsmismatch.health.test" => {
            Some("version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.test\r\nmax_age: 86400\r\n")
        }
        _ => None,
    }
}

/// Where the policy hosts listen, as the world's `health.test` zone says.
pub const ADDRESS: &str = "127.0.0.5";

/// The policy hosts of the world and their addresses, as its zone has them, for `/etc/hosts`:
/// the two served here, and `stsnone`'s, where nothing listens.
pub const HOSTS: &[(&str, &str)] = &[
    ("mta-sts.sts.health.test", ADDRESS),
    ("mta-sts.stsmismatch.health.test", ADDRESS),
    ("mta-sts.stsnone.health.test", "127.0.0.6"),
];

/// Starts the server on a thread of its own; `Err` when 127.0.0.5:443 cannot be bound.
pub fn start(world: &World) -> Result<(), String> {
    let tls = world.dir().join("tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls.join("cert.pem"))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_file(tls.join("key.pem")).map_err(|e| e.to_string())?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.5:443"))
        .map_err(|e| format!("127.0.0.5:443: {e}"))?;
    thread::spawn(move || {
        runtime.block_on(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buffer = [0; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let host = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("host").then(|| value.trim().to_owned())
                        })
                        .unwrap_or_default();
                    let wanted = head.starts_with("GET /.well-known/mta-sts.txt ");
                    let answer = match (wanted, policy(&host)) {
                        (true, Some(body)) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        ),
                        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                    };
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
    });
    Ok(())
}
