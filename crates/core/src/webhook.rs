//! Signed webhooks, as the Standard Webhooks specification v1 says
//! (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>).
//!
//! A delivery carries three headers: `webhook-id` (the same on every retry of one message),
//! `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`, keyed by the bytes the secret's
//! base64 holds after `whsec_`). This module signs, verifies, says when to try again and which
//! URLs a delivery may go to. The Worker draws the random bytes, reads the clock and sends.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a signing secret (spec: "Signing secrets").
pub const SECRET_PREFIX: &str = "whsec_";
/// The spec asks for secrets of 24 to 64 random bytes.
pub const SECRET_BYTES: usize = 32;
/// How far a receiver lets a timestamp stray from its clock (spec: "Verifying webhook
/// authenticity", replay protection).
pub const TOLERANCE_SECONDS: u64 = 5 * 60;
/// How long a receiver may take to answer before the attempt counts as failed.
pub const TIMEOUT_SECONDS: u64 = 15;
/// When each attempt is made, in seconds after the one before: at once, then the spec's
/// example schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h).
pub const RETRY_SCHEDULE: [u32; 10] = [
    0, 5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400,
];

type HmacSha256 = Hmac<Sha256>;

/// A secret that is no `whsec_` followed by base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSecret;

impl fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a webhook secret is whsec_ followed by base64")
    }
}

/// A new secret from `random` bytes the caller drew ([`SECRET_BYTES`] of them).
pub fn secret_from_random(random: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random))
}

fn key(secret: &str) -> Result<Vec<u8>, InvalidSecret> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(encoded).map_err(|_| InvalidSecret)
}

fn mac(key: &[u8], msg_id: &str, timestamp: u64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (RFC 2104 §2), so this never fails.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` header value for one attempt: `v1,<base64>`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: u64,
    body: &[u8],
) -> Result<String, InvalidSecret> {
    let tag = mac(&key(secret)?, msg_id, timestamp, body)
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Whether a delivery is genuine, by the receiver's rule: the timestamp within
/// [`TOLERANCE_SECONDS`] of `now`, and one of the space-separated `v1,` signatures of the
/// header equal (in constant time) to the expected one.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: u64,
    body: &[u8],
    signatures: &str,
    now: u64,
) -> bool {
    if timestamp.abs_diff(now) > TOLERANCE_SECONDS {
        return false;
    }
    let Ok(key) = key(secret) else {
        return false;
    };
    signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|tag| {
            mac(&key, msg_id, timestamp, body)
                .verify_slice(&tag)
                .is_ok()
        })
}

/// What to do after an attempt, from the receiver's status (`None`: no answer in time, or no
/// connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// A 2xx: delivered.
    Delivered,
    /// Try again after this many seconds.
    RetryIn(u32),
    /// 410 Gone: the receiver asks to be forgotten (spec: "disable the endpoint").
    Disable,
    /// Every attempt of the schedule failed.
    GiveUp,
}

/// `attempt` counts from 0 (the first try).
pub fn next(status: Option<u16>, attempt: usize) -> Next {
    match status {
        Some(200..=299) => Next::Delivered,
        Some(410) => Next::Disable,
        _ => match RETRY_SCHEDULE.get(attempt + 1) {
            Some(&delay) => Next::RetryIn(delay),
            None => Next::GiveUp,
        },
    }
}

/// Why a URL may not receive webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlRefusal {
    NotHttps,
    PrivateHost,
}

impl fmt::Display for UrlRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlRefusal::NotHttps => "A webhook URL must start with https://.",
            UrlRefusal::PrivateHost => {
                "A webhook URL must name a public host, not a private, loopback or local one."
            }
        })
    }
}

/// Whether deliveries may go to `scheme://host`: `https` to a public host, unless private
/// targets are allowed (local development), when `http` and any host will do. `host` is as a
/// URL parser gives it (an IPv6 literal in brackets). A name that resolves to a private address
/// cannot be told here; the platform's `fetch` does not reach private networks.
pub fn url_allowed(scheme: &str, host: &str, allow_private: bool) -> Result<(), UrlRefusal> {
    if allow_private {
        return if scheme == "https" || scheme == "http" {
            Ok(())
        } else {
            Err(UrlRefusal::NotHttps)
        };
    }
    if scheme != "https" {
        return Err(UrlRefusal::NotHttps);
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let public = match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => public_v4(ip),
        Ok(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(ip),
        },
        Err(_) => public_name(bare),
    };
    if public {
        Ok(())
    } else {
        Err(UrlRefusal::PrivateHost)
    }
}

/// RFC 6890 special-purpose blocks that are not globally reachable.
fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // RFC 6598 shared address space.
        || (a == 100 && (64..128).contains(&b))
        // RFC 6890 §2.2.2: IETF protocol assignments; RFC 1112 reserved.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        // RFC 4193 unique local, RFC 4291 link-local, RFC 3849 documentation.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8)
}

/// A name is public when it has a dot and no special-use or private-use top-level domain
/// (RFC 6761 §6, RFC 6762 §3, RFC 8375, and `internal` reserved by ICANN for private use).
fn public_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let Some((_, tld)) = name.rsplit_once('.') else {
        return false;
    };
    !matches!(
        tld,
        "localhost" | "local" | "internal" | "invalid" | "test" | "example" | "onion" | "arpa"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (spec: "Signature scheme").
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: u64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specification_example_signs_and_verifies() {
        assert_eq!(
            sign(SECRET, MSG_ID, TIMESTAMP, BODY).as_deref(),
            Ok(SIGNATURE)
        );
        assert!(verify(
            SECRET,
            MSG_ID,
            TIMESTAMP,
            BODY,
            SIGNATURE,
            TIMESTAMP + 10
        ));
        // Several signatures (secret rotation): one match is enough.
        let two = format!("v1,AAAA {SIGNATURE}");
        assert!(verify(SECRET, MSG_ID, TIMESTAMP, BODY, &two, TIMESTAMP));
    }

    #[test]
    fn any_change_fails_verification() {
        let now = TIMESTAMP;
        assert!(!verify(
            SECRET,
            MSG_ID,
            TIMESTAMP,
            b"{\"test\": 1}",
            SIGNATURE,
            now
        ));
        assert!(!verify(
            SECRET,
            "msg_other",
            TIMESTAMP,
            BODY,
            SIGNATURE,
            now
        ));
        assert!(!verify(SECRET, MSG_ID, TIMESTAMP + 1, BODY, SIGNATURE, now));
        assert!(!verify(
            "whsec_AAAA",
            MSG_ID,
            TIMESTAMP,
            BODY,
            SIGNATURE,
            now
        ));
        let v2 = SIGNATURE.replacen("v1,", "v2,", 1);
        assert!(!verify(SECRET, MSG_ID, TIMESTAMP, BODY, &v2, now));
        // Replays outside the tolerance are refused.
        let late = TIMESTAMP + TOLERANCE_SECONDS + 1;
        assert!(!verify(SECRET, MSG_ID, TIMESTAMP, BODY, SIGNATURE, late));
        assert_eq!(
            sign("whsec_not base64!", MSG_ID, 0, BODY),
            Err(InvalidSecret)
        );
    }

    #[test]
    fn secrets_are_prefixed_base64() {
        let secret = secret_from_random(&[0xfb; SECRET_BYTES]);
        assert!(secret.starts_with("whsec_+/v7"), "{secret}");
        assert_eq!(key(&secret).map(|k| k.len()), Ok(SECRET_BYTES));
    }

    #[test]
    fn retries_follow_the_schedule_and_410_disables() {
        assert_eq!(next(Some(204), 0), Next::Delivered);
        assert_eq!(next(Some(500), 0), Next::RetryIn(5));
        assert_eq!(next(None, 1), Next::RetryIn(300));
        assert_eq!(next(Some(301), 8), Next::RetryIn(86_400));
        assert_eq!(next(Some(500), 9), Next::GiveUp);
        assert_eq!(next(Some(410), 3), Next::Disable);
    }

    #[test]
    fn urls_must_be_https_and_public() {
        assert_eq!(url_allowed("https", "hooks.example.com", false), Ok(()));
        assert_eq!(url_allowed("https", "93.184.215.14", false), Ok(()));
        assert_eq!(
            url_allowed("http", "hooks.example.com", false),
            Err(UrlRefusal::NotHttps)
        );
        for host in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "[::1]",
            "[fd00::1]",
            "[fe80::1]",
            "[::ffff:127.0.0.1]",
            "localhost",
            "printer.local",
            "db.internal",
            "intranet",
        ] {
            assert_eq!(
                url_allowed("https", host, false),
                Err(UrlRefusal::PrivateHost),
                "{host}"
            );
        }
        assert_eq!(url_allowed("http", "127.0.0.1", true), Ok(()));
        assert_eq!(
            url_allowed("ftp", "127.0.0.1", true),
            Err(UrlRefusal::NotHttps)
        );
    }
}
