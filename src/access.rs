//! Who may call the API, from which browser origins, and how often.
//!
//! - No keys configured (`SECRET_KEYS` and `PUBLIC_KEYS` unset, as in local development): the
//!   API is open and answers any origin (`Access-Control-Allow-Origin: *`).
//! - Secret keys (`SECRET_KEYS`, comma-separated, a secret) are for servers: any caller, no CORS
//!   grant, so a browser page cannot read what a leaked secret key fetches.
//! - Public keys (`PUBLIC_KEYS`, `{"pk_…": ["https://shop.example"]}`) are for widgets: they
//!   work only with an `Origin` the key lists, and the answer grants exactly that origin.
//!
//! A key comes in `Authorization: Bearer KEY` or, for script tags and links, `?key=KEY`.
//!
//! Limits use the Workers Rate Limiting bindings of wrangler.toml (`[[ratelimits]]`), which
//! count per Cloudflare location, per 60 seconds: `KEY_RATE_LIMIT` per key, `CLIENT_RATE_LIMIT`
//! per client IP address for requests a browser may make (public keys, open mode). A binding
//! that is not configured sets no limit.

use mailvet_core::auth;
use worker::{Env, Headers};

use crate::config::{Keys, normalise_origin};
use crate::error::ApiError;

/// Response headers a browser script may read.
const EXPOSED: &str = "Retry-After, X-Mailvet-Cache";
/// How long a browser may keep a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "86400";

/// Who is calling.
#[derive(Debug)]
pub enum Access {
    /// No keys are configured.
    Open,
    Secret {
        fingerprint: String,
        /// What stands for the key where jobs and webhooks record their owner.
        owner: String,
    },
    Public {
        fingerprint: String,
        origin: String,
    },
}

/// What a response tells a browser about reading it (Fetch standard, CORS protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    None,
    Any,
    Origin(String),
}

/// The key a request carries: the bearer token (RFC 6750 §2.1; the scheme is case-insensitive,
/// RFC 9110 §11.1), else the `key` query parameter.
pub fn request_key(authorization: Option<&str>, query_key: Option<&str>) -> Option<String> {
    authorization
        .and_then(auth::bearer_token)
        .or(query_key)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

pub fn authorize(keys: &Keys, key: Option<&str>, origin: Option<&str>) -> Result<Access, ApiError> {
    if !keys.configured() {
        return Ok(Access::Open);
    }
    let Some(key) = key else {
        return Err(ApiError::new(
            401,
            "missing_key",
            "This API needs a key: send Authorization: Bearer KEY, or ?key=KEY.",
        ));
    };
    // Compare with every secret key, in constant time each, so that timing tells nothing.
    let secret = keys.secret.iter().fold(false, |found, s| {
        found | auth::same_secret(key.as_bytes(), s.as_bytes())
    });
    if secret {
        return Ok(Access::Secret {
            fingerprint: fingerprint(key),
            owner: auth::key_digest(key),
        });
    }
    let Some(origins) = keys.public.get(key) else {
        return Err(ApiError::new(401, "invalid_key", "This key is not valid."));
    };
    match origin.map(normalise_origin) {
        Some(origin) if origins.contains(&origin) => Ok(Access::Public {
            fingerprint: fingerprint(key),
            origin,
        }),
        _ => Err(origin_not_allowed()),
    }
}

/// A preflight carries no `Authorization` header, so it passes when the origin is allowed by
/// the key in the URL, or, without one, by any public key; the request itself is checked again.
pub fn preflight(keys: &Keys, key: Option<&str>, origin: Option<&str>) -> Result<Cors, ApiError> {
    if !keys.configured() {
        return Ok(Cors::Any);
    }
    let origin = origin
        .map(normalise_origin)
        .ok_or_else(origin_not_allowed)?;
    let allowed = match key {
        Some(key) => keys.public.get(key).is_some_and(|o| o.contains(&origin)),
        None => keys.public.values().any(|o| o.contains(&origin)),
    };
    if allowed {
        Ok(Cors::Origin(origin))
    } else {
        Err(origin_not_allowed())
    }
}

fn origin_not_allowed() -> ApiError {
    ApiError::new(
        403,
        "origin_not_allowed",
        "This public key does not work from this origin.",
    )
}

/// The owner of everything made without keys configured.
const OPEN_OWNER: &str = "open";

impl Access {
    /// Who owns the jobs and webhooks this caller makes and sees. A public key is for widgets
    /// in browsers and may not see lists at all.
    pub fn owner(&self) -> Result<String, ApiError> {
        match self {
            Access::Open => Ok(OPEN_OWNER.to_owned()),
            Access::Secret { owner, .. } => Ok(owner.clone()),
            Access::Public { .. } => Err(ApiError::new(
                403,
                "secret_key_required",
                "Jobs and webhooks need a secret key; a public key only checks single addresses.",
            )),
        }
    }

    pub fn cors(&self) -> Cors {
        match self {
            Access::Open => Cors::Any,
            Access::Secret { .. } => Cors::None,
            Access::Public { origin, .. } => Cors::Origin(origin.clone()),
        }
    }

    /// Checks the limits that apply; `client` is the caller's IP address.
    pub async fn check_limits(&self, env: &Env, client: &str) -> Result<(), ApiError> {
        const PER_KEY: &str = "Too many requests with this key; try again later.";
        const PER_CLIENT: &str = "Too many requests from this client; try again later.";
        match self {
            Access::Secret { fingerprint, .. } => {
                limit(
                    env,
                    "KEY_RATE_LIMIT",
                    fingerprint,
                    "key_rate_limited",
                    PER_KEY,
                )
                .await
            }
            Access::Public { fingerprint, .. } => {
                // One visitor first, so that one visitor cannot use up the site's budget.
                limit(
                    env,
                    "CLIENT_RATE_LIMIT",
                    client,
                    "client_rate_limited",
                    PER_CLIENT,
                )
                .await?;
                limit(
                    env,
                    "KEY_RATE_LIMIT",
                    fingerprint,
                    "key_rate_limited",
                    PER_KEY,
                )
                .await
            }
            Access::Open => {
                limit(
                    env,
                    "CLIENT_RATE_LIMIT",
                    client,
                    "client_rate_limited",
                    PER_CLIENT,
                )
                .await
            }
        }
    }
}

async fn limit(
    env: &Env,
    binding: &str,
    key: &str,
    code: &'static str,
    message: &'static str,
) -> Result<(), ApiError> {
    let Ok(limiter) = env.rate_limiter(binding) else {
        return Ok(());
    };
    match limiter.limit(key.to_owned()).await {
        Ok(outcome) if !outcome.success => Err(ApiError::rate_limited(code, message)),
        Ok(_) => Ok(()),
        // A limiter that fails must not take the API down with it.
        Err(e) => {
            worker::console_warn!("{binding} failed: {e}");
            Ok(())
        }
    }
}

impl Cors {
    /// Adds the CORS response headers; `preflight` adds those of a preflight answer.
    pub fn apply(&self, headers: &Headers, preflight: bool) -> worker::Result<()> {
        match self {
            Cors::None => return Ok(()),
            Cors::Any => headers.set("Access-Control-Allow-Origin", "*")?,
            Cors::Origin(origin) => {
                headers.set("Access-Control-Allow-Origin", origin)?;
                headers.append("Vary", "Origin")?;
            }
        }
        headers.set("Access-Control-Expose-Headers", EXPOSED)?;
        if preflight {
            headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
            headers.set(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type",
            )?;
            headers.set("Access-Control-Max-Age", PREFLIGHT_MAX_AGE)?;
        }
        Ok(())
    }
}

/// Equal length and equal bytes, looking at every byte whatever the first difference.
/// Rate limit counters are keyed by a digest of the key (FNV-1a, 64 bits), not the key itself.
fn fingerprint(key: &str) -> String {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn keys() -> Keys {
        Keys {
            secret: vec!["sk_one".into(), "sk_two".into()],
            public: BTreeMap::from([(
                "pk_shop".to_owned(),
                vec!["https://shop.example".to_owned()],
            )]),
        }
    }

    #[test]
    fn keys_come_from_the_bearer_token_first() {
        assert_eq!(
            request_key(Some("Bearer sk_one"), Some("pk_shop")).as_deref(),
            Some("sk_one")
        );
        assert_eq!(
            request_key(Some("bearer  sk_one "), None).as_deref(),
            Some("sk_one")
        );
        assert_eq!(
            request_key(Some("Basic abc"), Some("pk_shop")).as_deref(),
            Some("pk_shop")
        );
        assert_eq!(request_key(None, Some("")), None);
        assert_eq!(request_key(None, None), None);
    }

    #[test]
    fn without_keys_everything_is_open() {
        let open = Keys::default();
        assert!(matches!(authorize(&open, None, None), Ok(Access::Open)));
        assert_eq!(
            preflight(&open, None, Some("https://any.example")).ok(),
            Some(Cors::Any)
        );
    }

    #[test]
    fn secret_keys_work_anywhere_without_cors() {
        let access = authorize(&keys(), Some("sk_two"), Some("https://evil.example")).expect("ok");
        assert!(matches!(access, Access::Secret { .. }));
        assert_eq!(access.cors(), Cors::None);
        let missing = authorize(&keys(), None, None).expect_err("no key");
        assert_eq!((missing.status, missing.code), (401, "missing_key"));
        let wrong = authorize(&keys(), Some("sk_on"), None).expect_err("wrong key");
        assert_eq!((wrong.status, wrong.code), (401, "invalid_key"));
    }

    #[test]
    fn public_keys_work_only_from_their_origins() {
        let access =
            authorize(&keys(), Some("pk_shop"), Some("https://SHOP.example")).expect("allowed");
        assert_eq!(access.cors(), Cors::Origin("https://shop.example".into()));
        for origin in [Some("https://evil.example"), None] {
            let e = authorize(&keys(), Some("pk_shop"), origin).expect_err("refused");
            assert_eq!((e.status, e.code), (403, "origin_not_allowed"));
        }
        assert_eq!(
            preflight(&keys(), None, Some("https://shop.example")).ok(),
            Some(Cors::Origin("https://shop.example".into()))
        );
        assert!(preflight(&keys(), Some("pk_other"), Some("https://shop.example")).is_err());
        assert!(preflight(&keys(), None, Some("https://evil.example")).is_err());
        assert!(preflight(&keys(), None, None).is_err());
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_ne!(fingerprint("sk_one"), fingerprint("sk_two"));
    }
}
