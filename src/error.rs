//! Errors of the HTTP API: `{"error": {"code", "message"}}` with the status that fits.
//!
//! An error means the Worker could not do its job for this request. An address that cannot
//! receive mail, or a domain whose DNS failed, is a verdict in a Report, never an error.

use serde::Serialize;
use worker::Response;

/// Seconds a client is told to wait after a 429: the rate limit bindings count per 60-second
/// period (wrangler.toml `[[ratelimits]]`), so the count has started over by then.
pub const RETRY_AFTER_SECONDS: u32 = 60;

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    /// Stable machine code, snake_case.
    pub code: &'static str,
    /// A sentence for the developer calling the API; never internals.
    pub message: String,
    /// For 405: the methods the path allows.
    pub allow: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(400, code, message)
    }

    pub fn not_found() -> Self {
        ApiError::new(
            404,
            "not_found",
            "There is nothing at this path; see /openapi.json.",
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                405,
                "method_not_allowed",
                format!("This path answers {allow} only."),
            )
        }
    }

    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            413,
            "body_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    pub fn rate_limited(code: &'static str, message: &'static str) -> Self {
        ApiError::new(429, code, message)
    }

    /// The Worker's own configuration is wrong: the operator must fix it.
    pub fn misconfigured(message: String) -> Self {
        ApiError::new(500, "misconfigured", message)
    }

    pub fn internal() -> Self {
        ApiError::new(500, "internal", "The request could not be completed.")
    }

    pub fn response(&self) -> worker::Result<Response> {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response = Response::from_json(&body)?.with_status(self.status);
        let headers = response.headers_mut();
        if let Some(allow) = self.allow {
            headers.set("Allow", allow)?;
        }
        match self.status {
            // RFC 9110 §11.6.1: a 401 carries the scheme it wants.
            401 => headers.set("WWW-Authenticate", "Bearer")?,
            // RFC 6585 §4.
            429 => headers.set("Retry-After", &RETRY_AFTER_SECONDS.to_string())?,
            _ => {}
        }
        Ok(response)
    }
}

/// A failure inside the Worker (a JS exception, a binding that misbehaved) is logged and
/// answered as a bare 500: its text may hold internals.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        worker::console_error!("internal error: {e}");
        ApiError::internal()
    }
}
