//! Random values and the clock, which the core never touches (ARCHITECTURE.md): the Web Crypto
//! API's `crypto.getRandomValues` (a CSPRNG) and `Date.now()`.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0; N];
    get_random_values(&mut buf);
    buf
}

/// 128 random bits in hex: the ids of jobs and webhooks, never sequential.
pub fn id() -> String {
    hex(&bytes::<16>())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    worker::js_sys::Date::now() as i64
}

/// RFC 3339 (UTC), as the core writes the times of a job object.
pub fn iso(ms: i64) -> String {
    mailvet_core::table::timestamp((ms / 1000).unsigned_abs())
}
