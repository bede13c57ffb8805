//! What the tests of webhooks and of a changing world share: a webhook receiver on loopback
//! that records each delivery, the receiver's signature rule of Standard Webhooks v1 (written
//! here from the specification, not the core's), and edits of the world's files that are undone
//! when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use mailvet_core::dns::{RData, RecordType};

use crate::World;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is none).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// What a receiver has got so far.
pub type Deliveries = Arc<Mutex<Vec<Delivery>>>;

/// How a receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 204 to everything.
    Ok,
    /// 500 to the first attempt of each message (by `webhook-id`), 204 to the next.
    FailFirst,
    /// 500 to the first two attempts of each message, 204 to the third.
    FailTwice,
    /// 410 Gone.
    Gone,
}

/// A webhook receiver on loopback that answers 204 and records each request: its URL and what
/// it got.
pub fn receiver() -> (String, Deliveries) {
    receiver_answering(Answer::Ok)
}

/// A receiver that answers as `answer` says.
pub fn receiver_answering(answer: Answer) -> (String, Deliveries) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/hooks/mailvet",
        listener.local_addr().expect("addr")
    );
    let got: Deliveries = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some((n, v)) = line.trim_end().split_once(':') {
                    headers.push((n.trim().to_owned(), v.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let delivery = Delivery { headers, body };
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            let before = seen
                .iter()
                .filter(|d| d.header("webhook-id") == delivery.header("webhook-id"))
                .count();
            seen.push(delivery);
            drop(seen);
            let status = match answer {
                Answer::Ok => "204 No Content",
                Answer::FailFirst if before >= 1 => "204 No Content",
                Answer::FailTwice if before >= 2 => "204 No Content",
                Answer::FailFirst | Answer::FailTwice => "500 Internal Server Error",
                Answer::Gone => "410 Gone",
            };
            let reply =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
    });
    (url, got)
}

/// The deliveries that `keep` picks, waiting up to `patience` for at least `count` of them.
pub fn deliveries(
    got: &Deliveries,
    keep: impl Fn(&Delivery) -> bool,
    count: usize,
    patience: Duration,
) -> Vec<Delivery> {
    let picked = || -> Vec<Delivery> {
        got.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|d| keep(d))
            .cloned()
            .collect()
    };
    let started = Instant::now();
    while picked().len() < count && started.elapsed() < patience {
        std::thread::sleep(Duration::from_millis(200));
    }
    picked()
}

/// The receiver's rule of Standard Webhooks v1: HMAC-SHA256 keyed by the base64 after
/// `whsec_`, over `id.timestamp.body`, as `v1,<base64>` among the signatures.
pub fn signature_valid(secret: &str, delivery: &Delivery) -> bool {
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(delivery.header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(delivery.header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&delivery.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    delivery
        .header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

/// Edits of the world's files (its copies under its directory: `mailboxes`, `zones/…`), undone
/// when dropped, with unbound told to read its zones again both times.
#[derive(Debug)]
pub struct WorldEdit<'a> {
    world: &'a World,
    saved: Vec<(PathBuf, String)>,
}

impl<'a> WorldEdit<'a> {
    pub fn new(world: &'a World) -> Self {
        WorldEdit {
            world,
            saved: Vec::new(),
        }
    }

    /// Replaces `old` by `new` in the world's file `name`; call [`reload_zones`] after a zone.
    pub fn edit(&mut self, name: &str, old: &str, new: &str) {
        let path = self.world.dir().join(name);
        let text = std::fs::read_to_string(&path).expect("a world file");
        assert!(text.contains(old), "{name} has no {old:?}");
        std::fs::write(&path, text.replace(old, new)).expect("write");
        self.saved.push((path, text));
    }
}

impl Drop for WorldEdit<'_> {
    fn drop(&mut self) {
        for (path, text) in self.saved.drain(..).rev() {
            let _ = std::fs::write(path, text);
        }
        reload_zones(self.world);
    }
}

/// unbound reads its zone files again on SIGHUP.
pub fn reload_zones(world: &World) {
    let pids = std::fs::read_to_string(world.dir().join("pids")).expect("the world's pids");
    let pid = pids
        .lines()
        .find_map(|l| l.strip_suffix(" unbound"))
        .expect("unbound's pid");
    let status = Command::new("kill")
        .args(["-HUP", pid])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Waits up to 10 s until the world's resolver answers `name` with `count` MX records: after
/// [`reload_zones`], unbound takes a moment to read the edited zones.
pub fn wait_for_mx(world: &World, name: &str, count: usize) -> Result<(), String> {
    let started = Instant::now();
    while mx_count(world, name) != Some(count) {
        if started.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "unbound did not reload: {name} has not {count} MX records"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// How many MX records the world's resolver gives `name` now.
fn mx_count(world: &World, name: &str) -> Option<usize> {
    crate::dns_client::query_udp(world.dns_addr(), 11, name, RecordType::Mx)
        .ok()
        .map(|m| {
            m.answers
                .iter()
                .filter(|r| matches!(r.data, RData::Mx { .. }))
                .count()
        })
}
