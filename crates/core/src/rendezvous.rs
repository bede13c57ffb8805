//! Which prober asks about a domain, when the Worker has several (`PROBE_URL` with more than
//! one URL): rendezvous hashing (highest random weight, Thaler and Ravishankar 1998). Every
//! domain goes to the same prober for as long as the list stays the same, so each prober's
//! per-host limits hold for the domains it has; when a prober fails, its domains go to their
//! second choice, and only those move when a prober is added or removed.

/// The indices of `nodes` in the order to try them for `key`: the highest weight first.
/// Weights are a fixed function of (node, key), the same on every machine and in every
/// version, so that Workers everywhere agree.
pub fn order<S: AsRef<str>>(key: &str, nodes: &[S]) -> Vec<usize> {
    let mut weighted: Vec<(u64, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (weight(node.as_ref(), key), i))
        .collect();
    // Highest weight first; equal weights (never seen in practice) by position.
    weighted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    weighted.into_iter().map(|(_, i)| i).collect()
}

/// FNV-1a over the node, a separator and the key (lowercase ASCII), then the finaliser of
/// SplitMix64 to spread the bits: FNV alone weighs similar names alike.
fn weight(node: &str, key: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let bytes = node
        .bytes()
        .chain(std::iter::once(0))
        .chain(key.bytes().map(|b| b.to_ascii_lowercase()));
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: [&str; 3] = [
        "https://probe-a.example/",
        "https://probe-b.example/",
        "https://probe-c.example/",
    ];

    #[test]
    fn the_order_is_fixed_and_covers_every_node() {
        let first = order("example.com", &NODES);
        assert_eq!(first.len(), 3);
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2]);
        assert_eq!(order("EXAMPLE.com", &NODES), first);
        // Fixed across versions and machines: Workers everywhere must agree (the value was
        // computed apart, in Python, from the definition above).
        assert_eq!(weight(NODES[0], "example.com"), 0x0db4_1fb0_d1a6_93ca);
        assert!(order::<&str>("x", &[]).is_empty());
    }

    #[test]
    fn domains_spread_evenly_and_only_a_removed_nodes_move() {
        let domains: Vec<String> = (0..9_000).map(|i| format!("d{i}.example")).collect();
        let mut counts = [0; 3];
        for domain in &domains {
            counts[order(domain, &NODES)[0]] += 1;
        }
        for count in counts {
            assert!((2_700..=3_300).contains(&count), "{counts:?}");
        }
        // Without node 1, a domain whose first choice was 0 or 2 keeps it; node 1's domains
        // go to their second choice.
        let without: Vec<&str> = vec![NODES[0], NODES[2]];
        for domain in &domains {
            let before = order(domain, &NODES);
            let after = order(domain, &without);
            let after_first = if after[0] == 0 { 0 } else { 2 };
            if before[0] != 1 {
                assert_eq!(after_first, before[0], "{domain}");
            } else {
                assert_eq!(after_first, before[1], "{domain}");
            }
        }
    }
}
