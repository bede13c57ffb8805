//! Addresses a prober on the Internet has no business connecting to.
//!
//! An MX record can name any address, including this machine (127.0.0.1), the prober's own
//! network (10.0.0.0/8), or a range that routes nowhere. Connecting there would let anyone who
//! controls a domain's DNS make the prober knock on internal services, so such addresses are
//! refused unless `--allow-private` says otherwise. The ranges are those of the IANA
//! special-purpose registries (RFC 6890) that are not globally reachable, plus multicast.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is special, or `None` for an ordinary global unicast address.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        // RFC 1122 §3.2.1.3: "this network"; 0.0.0.0 is the unspecified address.
        (0, _, _) => "unspecified",
        // RFC 1918 §3.
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        // RFC 6598: shared address space for carrier-grade NAT.
        (100, 64..=127, _) => "shared (CGNAT)",
        // RFC 1122 §3.2.1.3.
        (127, _, _) => "loopback",
        // RFC 3927.
        (169, 254, _) => "link-local",
        // RFC 6890 §2.2.2: IETF protocol assignments.
        (192, 0, 0) => "protocol assignment",
        // RFC 5737 §3.
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        // RFC 2544 §C.2.2.
        (198, 18..=19, _) => "benchmarking",
        // RFC 5771.
        (224..=239, _, _) => "multicast",
        // RFC 1112 §4 (reserved), with 255.255.255.255, the limited broadcast (RFC 919 §7).
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        // RFC 4291 §2.5.2.
        return Some("unspecified");
    }
    if ip.is_loopback() {
        // RFC 4291 §2.5.3.
        return Some("loopback");
    }
    // RFC 4291 §2.5.5.2 (IPv4-mapped) and RFC 6052 §2.1 (the NAT64 well-known prefix): the
    // embedded IPv4 address is where the packets go.
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if mapped || nat64 {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return special_v4(Ipv4Addr::new(a, b, c, d));
    }
    Some(match s[0] {
        // RFC 6666: discard-only.
        0x0100 if s[1..4] == [0, 0, 0] => "discard-only",
        // RFC 3849.
        0x2001 if s[1] == 0x0db8 => "documentation",
        // RFC 5180 §8.
        0x2001 if s[1] == 0x0002 && s[2] == 0 => "benchmarking",
        // RFC 4193 §3.
        0xfc00..=0xfdff => "unique local",
        // RFC 4291 §2.5.6, and the deprecated site-local fec0::/10 (RFC 3879).
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        // RFC 4291 §2.7.
        0xff00..=0xffff => "multicast",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        special_purpose(text.parse().unwrap())
    }

    #[test]
    fn special_ipv4_ranges() {
        for (ip, expected) in [
            ("0.0.0.0", "unspecified"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.255", "shared (CGNAT)"),
            ("127.0.0.1", "loopback"),
            ("127.0.0.3", "loopback"),
            ("169.254.169.254", "link-local"),
            ("192.0.0.8", "protocol assignment"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "reserved"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn global_ipv4_addresses_are_ordinary() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.0.3.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "11.0.0.1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn special_ipv6_ranges() {
        for (ip, expected) in [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::192.168.0.1", "private"),
            ("100::1", "discard-only"),
            ("2001:db8::25", "documentation"),
            ("2001:2::1", "benchmarking"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn global_ipv6_addresses_are_ordinary() {
        for ip in [
            "2001:4860:4860::8888",
            "2a00:1450:4001::1b",
            "::ffff:8.8.8.8",
            "64:ff9b::1.1.1.1",
            "2001:db9::1",
            "fbff::1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }
}
