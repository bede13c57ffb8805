//! A fast hash of names (domains, list entries) for tables that the core and its callers keep
//! of them, where the keyed SipHash of the standard library (a defence against inputs chosen to
//! collide) buys nothing: tables built from the built-in lists, and tables of a list that the
//! user checks on their own machine (`mailvet check`). On a list of a million addresses SipHash
//! cost more than the rest of a look-up. Never for a table that a network caller fills (the
//! prober's DNS caches, the Worker): its names could be chosen to collide.
use std::hash::{BuildHasherDefault, Hasher};

/// Eight bytes at a time: rotate, mix in, multiply by an odd constant (the 64-bit golden ratio)
/// to spread each bit upwards; at the end the well-mixed high half is folded into the low one,
/// from which tables take their first slot.
#[derive(Clone, Copy, Debug, Default)]
pub struct NameHasher(u64);

/// [`NameHasher`] for `HashMap` and `HashSet`.
pub type BuildNameHasher = BuildHasherDefault<NameHasher>;

/// 2^64 divided by the golden ratio, odd: [`NameHasher`]'s multiplier.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(GOLDEN);
        }
        let rest = chunks.remainder();
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        // The length tells `a` from `a\0`.
        let last = u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59);
        self.0 = (self.0.rotate_left(23) ^ last).wrapping_mul(GOLDEN);
    }

    /// The end mark a `str` adds after its bytes, in one step rather than as a slice of one.
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(23) ^ u64::from(byte)).wrapping_mul(GOLDEN);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

/// The [`NameHasher`] hash of `bytes`, written at once.
pub fn of(bytes: &[u8]) -> u64 {
    let mut hasher = NameHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_hash_apart() {
        let names = [
            "",
            "a",
            "a\0",
            "b",
            "gmail.com",
            "gmail.con",
            "gmail.com.",
            "12345678",
        ];
        let hashes: std::collections::HashSet<u64> =
            names.iter().map(|n| of(n.as_bytes())).collect();
        assert_eq!(hashes.len(), names.len());
        // Every bit of the input reaches the low bits that pick a slot.
        let slots: std::collections::HashSet<u64> = (0..64u64)
            .map(|bit| of(&(1u64 << bit).to_le_bytes()) & 0xffff)
            .collect();
        assert!(slots.len() > 60, "{}", slots.len());
    }
}
