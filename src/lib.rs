//! The mailvet edge Worker: the public HTTP API.
//!
//! Architecture invariant: only this package knows the public HTTP API; every decision comes from
//! `mailvet-core`. The Worker owns `fetch` (DNS-over-HTTPS, the prober); it never opens port 25.
//!
//! Routes (`src/openapi.json` documents them): `GET /healthz`, `GET /openapi.json`,
//! `GET|POST /v1/verify`, `POST /v1/verify/batch`. wrangler.toml serves `www/` (the demo page)
//! as static assets before the Worker is asked; any other path is a JSON 404.
//!
//! Logs never hold an address: at most a domain name.

mod access;
mod api;
mod config;
mod deadline;
mod doh;
mod error;
mod probe;

use serde::Serialize;
use worker::{Context, Env, Method, Request, Response, Result, event};

use crate::access::{Access, Cors};
use crate::config::Config;
use crate::error::ApiError;

/// The OpenAPI 3.1 description of the routes below; the e2e tests hold the two together.
const OPENAPI: &str = include_str!("openapi.json");

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Health,
    OpenApi,
    Verify,
    Batch,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        match path {
            "/healthz" => Some(Route::Health),
            "/openapi.json" => Some(Route::OpenApi),
            "/v1/verify" => Some(Route::Verify),
            "/v1/verify/batch" => Some(Route::Batch),
            _ => None,
        }
    }

    /// The methods the route answers (RFC 9110 §10.2.1 `Allow`).
    fn allow(self) -> &'static str {
        match self {
            Route::Health | Route::OpenApi => "GET",
            Route::Verify => "GET, POST, OPTIONS",
            Route::Batch => "POST, OPTIONS",
        }
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let mut cors = Cors::None;
    let response = match serve(&mut req, &env, &mut cors).await {
        Ok(response) => response,
        Err(e) => {
            api::drain(&mut req).await;
            e.response()?
        }
    };
    cors.apply(response.headers(), false)?;
    Ok(response)
}

/// Answers one request. `cors` receives what the answer may tell a browser, once known, so
/// that errors after that point (400, 429) are readable by the page that caused them.
async fn serve(
    req: &mut Request,
    env: &Env,
    cors: &mut Cors,
) -> std::result::Result<Response, ApiError> {
    let route = Route::of(&req.path()).ok_or_else(ApiError::not_found)?;
    let method = req.method();
    match (route, method) {
        (Route::Health, Method::Get) => Ok(Response::from_json(&Health {
            status: "ok",
            service: "mailvet-worker",
            version: env!("CARGO_PKG_VERSION"),
        })?),
        (Route::OpenApi, Method::Get) => {
            *cors = Cors::Any;
            let mut response = Response::ok(OPENAPI)?;
            response
                .headers_mut()
                .set("Content-Type", "application/json")?;
            Ok(response)
        }
        (Route::Verify | Route::Batch, Method::Options) => {
            let config = Config::from_env(env)?;
            let origin = req.headers().get("Origin")?;
            let grant =
                access::preflight(&config.keys, query_key(req)?.as_deref(), origin.as_deref())?;
            let response = Response::empty()?.with_status(204);
            response.headers().set("Allow", route.allow())?;
            grant.apply(response.headers(), true)?;
            Ok(response)
        }
        (Route::Verify, Method::Get | Method::Post) | (Route::Batch, Method::Post) => {
            let config = Config::from_env(env)?;
            let access = authorize(req, &config)?;
            *cors = access.cors();
            let client = req.headers().get("CF-Connecting-IP")?;
            access
                .check_limits(env, client.as_deref().unwrap_or("unknown"))
                .await?;
            if route == Route::Batch {
                api::verify_batch(req, &config).await
            } else {
                api::verify(req, &config).await
            }
        }
        _ => Err(ApiError::method_not_allowed(route.allow())),
    }
}

fn authorize(req: &Request, config: &Config) -> std::result::Result<Access, ApiError> {
    let authorization = req.headers().get("Authorization")?;
    let key = access::request_key(authorization.as_deref(), query_key(req)?.as_deref());
    let origin = req.headers().get("Origin")?;
    access::authorize(&config.keys, key.as_deref(), origin.as_deref())
}

fn query_key(req: &Request) -> std::result::Result<Option<String>, ApiError> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.into_owned()))
}
