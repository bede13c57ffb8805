//! The mailvet edge Worker: the public HTTP API.
//!
//! Architecture invariant: only this package knows the public HTTP API; every decision comes from
//! `mailvet-core`. The Worker owns `fetch` (DNS-over-HTTPS, the prober); it never opens port 25.

use serde::Serialize;
use worker::{Context, Env, Request, Response, Result, Router, event};

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get("/healthz", |_, _| {
            Response::from_json(&Health {
                status: "ok",
                service: "mailvet-worker",
                version: env!("CARGO_PKG_VERSION"),
            })
        })
        .run(req, env)
        .await
}
