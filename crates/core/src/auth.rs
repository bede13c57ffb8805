//! Bearer tokens, read one way by every mailvet service: the Worker's API keys and the prober's
//! token from the Worker. Secrets are compared in constant time.

/// The token of an `Authorization` header value of the Bearer scheme (RFC 6750 §2.1), or `None`
/// for any other value. The scheme name is case-insensitive (RFC 9110 §11.1) and may be followed
/// by more than one space (`auth-scheme 1*SP token68`, RFC 9110 §11.4); white space around the
/// field value is not part of it (RFC 9110 §5.5). A token68 holds no white space, so a value
/// with some inside the token is no bearer token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    let token68 = !token.is_empty() && !token.contains(char::is_whitespace);
    (scheme.eq_ignore_ascii_case("bearer") && token68).then_some(token)
}

/// Whether `given` is `secret`. The time taken depends on the length of the secret only, never
/// on how much of a guess was right, so timing tells an attacker nothing about the secret.
pub fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    let mut difference = given.len() ^ secret.len();
    for (i, &byte) in secret.iter().enumerate() {
        let other = given.get(i).copied().unwrap_or(!byte);
        difference |= usize::from(other ^ byte);
    }
    // Keeps the optimiser from turning the loop back into an early exit.
    core::hint::black_box(difference) == 0
}

/// What stands for an API key where something belongs to it (the jobs and webhooks a key
/// made): SHA-256 of the key, in hex. The key itself is never stored; a stolen table names no
/// key.
pub fn key_digest(key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        for (value, token) in [
            ("Bearer sk_one", Some("sk_one")),
            ("bearer sk_one", Some("sk_one")),
            ("BEARER  sk_one ", Some("sk_one")),
            (" Bearer 0123456789abcdef", Some("0123456789abcdef")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearer a b", None),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearersk_one", None),
            ("", None),
        ] {
            assert_eq!(bearer_token(value), token, "{value:?}");
        }
    }

    #[test]
    fn secrets_match_exactly() {
        assert!(same_secret(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!same_secret(b"0123456789abcdeg", b"0123456789abcdef"));
        assert!(!same_secret(b"0123456789abcde", b"0123456789abcdef"));
        assert!(!same_secret(b"0123456789abcdef0", b"0123456789abcdef"));
        assert!(!same_secret(b"", b"0123456789abcdef"));
        assert!(same_secret(b"", b""));
        // A longer guess whose extra bytes are the complement of nothing still differs.
        assert!(!same_secret(&[0xff], b""));
    }

    #[test]
    fn key_digests_are_sha256_hex() {
        // FIPS 180-2 appendix B.1.
        assert_eq!(
            key_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(key_digest("sk_one"), key_digest("sk_two"));
    }
}
