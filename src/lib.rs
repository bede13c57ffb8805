//! The mailvet edge Worker: the public HTTP API.
//!
//! Architecture invariant: only this package knows the public HTTP API; every decision comes from
//! `mailvet-core`. The Worker owns `fetch` (DNS-over-HTTPS, the prober); it never opens port 25.
//!
//! Routes (`src/openapi.json` documents them): `GET /healthz`, `GET /openapi.json`,
//! `GET|POST /v1/verify`, `POST /v1/verify/batch`, `GET /v1/domains/{name}` (sender health,
//! [`domains`]), and the Jobs API (`src/jobs`):
//! `GET|POST /v1/jobs`, `GET|DELETE /v1/jobs/{id}`, `GET /v1/jobs/{id}/results`,
//! `GET|POST /v1/webhooks`, `DELETE /v1/webhooks/{id}`, and the lists cleaned on a schedule:
//! `GET|POST /v1/lists`, `GET|PATCH|DELETE /v1/lists/{id}`, `POST /v1/lists/{id}/runs`,
//! `GET /v1/lists/{id}/changes`. wrangler.toml serves `www/` (the demo
//! page) and `/openapi.json` as static assets before the Worker is asked; any other path is a
//! JSON 404. The Queue
//! consumer and the cron (the jobs engine) are [`jobs::engine`].
//!
//! Logs never hold an address: at most a domain name.

mod access;
mod api;
mod config;
mod deadline;
mod doh;
#[cfg(feature = "jobs")]
mod domains;
mod error;
#[cfg(feature = "jobs")]
mod jobs;
mod probe;
#[cfg(feature = "jobs")]
mod random;

use serde::Serialize;
use worker::{Context, Env, Method, Request, Response, Result, event};
#[cfg(not(feature = "jobs"))]
use worker::{ScheduleContext, ScheduledEvent};

use crate::access::{Access, Cors};
use crate::config::Config;
use crate::error::ApiError;

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Health,
    OpenApi,
    Verify,
    Batch,
    Jobs,
    Job(String),
    JobResults(String),
    Webhooks,
    Webhook(String),
    /// `/v1/domains/{name}`: sender health.
    Domain(String),
    Lists,
    List(String),
    ListRuns(String),
    ListChanges(String),
    /// `/v1/monitors` and `/v1/monitors/{domain}`: watched sending domains.
    Monitors,
    Monitor(String),
    /// The cron's work (`POST /__cron`), which the front Worker's cron asks of the jobs engine.
    /// Only the engine knows it, and the engine has no public route: only the binding reaches it.
    #[cfg(feature = "jobs")]
    Cron,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        let id = |s: &str| (!s.is_empty() && !s.contains('/')).then(|| s.to_owned());
        match path {
            "/healthz" => Some(Route::Health),
            "/openapi.json" => Some(Route::OpenApi),
            "/v1/verify" => Some(Route::Verify),
            "/v1/verify/batch" => Some(Route::Batch),
            "/v1/jobs" => Some(Route::Jobs),
            "/v1/webhooks" => Some(Route::Webhooks),
            "/v1/lists" => Some(Route::Lists),
            "/v1/monitors" => Some(Route::Monitors),
            #[cfg(feature = "jobs")]
            "/__cron" => Some(Route::Cron),
            _ => {
                if let Some(rest) = path.strip_prefix("/v1/jobs/") {
                    match rest.strip_suffix("/results") {
                        Some(job) => id(job).map(Route::JobResults),
                        None => id(rest).map(Route::Job),
                    }
                } else if let Some(name) = path.strip_prefix("/v1/domains/") {
                    id(name).map(Route::Domain)
                } else if let Some(name) = path.strip_prefix("/v1/monitors/") {
                    id(name).map(Route::Monitor)
                } else if let Some(rest) = path.strip_prefix("/v1/lists/") {
                    if let Some(list) = rest.strip_suffix("/runs") {
                        id(list).map(Route::ListRuns)
                    } else if let Some(list) = rest.strip_suffix("/changes") {
                        id(list).map(Route::ListChanges)
                    } else {
                        id(rest).map(Route::List)
                    }
                } else {
                    path.strip_prefix("/v1/webhooks/")
                        .and_then(id)
                        .map(Route::Webhook)
                }
            }
        }
    }

    /// The methods the route answers (RFC 9110 §10.2.1 `Allow`).
    fn allow(&self) -> &'static str {
        match self {
            Route::Health
            | Route::OpenApi
            | Route::JobResults(_)
            | Route::ListChanges(_)
            | Route::Domain(_) => "GET",
            Route::Verify => "GET, POST, OPTIONS",
            Route::Batch => "POST, OPTIONS",
            Route::ListRuns(_) => "POST",
            Route::Jobs | Route::Webhooks | Route::Lists => "GET, POST",
            Route::Job(_) => "GET, DELETE",
            Route::List(_) => "GET, PATCH, DELETE",
            Route::Monitors => "GET",
            Route::Monitor(_) => "GET, PUT, DELETE",
            Route::Webhook(_) => "DELETE",
            #[cfg(feature = "jobs")]
            Route::Cron => "POST",
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
    match (&route, &method) {
        (Route::Health, Method::Get) => Ok(Response::from_json(&Health {
            status: "ok",
            service: "mailvet-worker",
            version: env!("CARGO_PKG_VERSION"),
        })?),
        // `src/openapi.json` is a static asset (`scripts/build-worker` copies it into `www/`,
        // `www/_headers` lets any origin read it): 40 KB of text is no part of the Wasm
        // budget. A GET that reaches the Worker found no copy there.
        (Route::OpenApi, Method::Get) => Err(ApiError::not_found()),
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
        (
            Route::Domain(_)
            | Route::Jobs
            | Route::Job(_)
            | Route::JobResults(_)
            | Route::Webhooks
            | Route::Webhook(_)
            | Route::Lists
            | Route::List(_)
            | Route::ListRuns(_)
            | Route::ListChanges(_)
            | Route::Monitors
            | Route::Monitor(_),
            Method::Get | Method::Post | Method::Put | Method::Patch | Method::Delete,
        ) if route.allow().contains(method.as_ref()) => {
            let config = Config::from_env(env)?;
            let access = authorize(req, &config)?;
            *cors = access.cors();
            if !matches!(route, Route::Domain(_)) {
                // Jobs and webhooks have an owner: a public key gets its 403 here.
                access.owner()?;
            }
            let client = req.headers().get("CF-Connecting-IP")?;
            access
                .check_limits(env, client.as_deref().unwrap_or("unknown"))
                .await?;
            engine_api(req, env, &route, &config, &access).await
        }
        #[cfg(feature = "jobs")]
        (Route::Cron, Method::Post) => {
            jobs::engine::sweep(env).await?;
            Ok(Response::empty()?.with_status(204))
        }
        _ => Err(ApiError::method_not_allowed(route.allow())),
    }
}

/// The routes of the jobs engine, answered there: the Jobs API, and sender health
/// (`/v1/domains/{name}`, whose Public Suffix List the front has no room for).
#[cfg(feature = "jobs")]
async fn engine_api(
    req: &mut Request,
    env: &Env,
    route: &Route,
    config: &Config,
    access: &Access,
) -> std::result::Result<Response, ApiError> {
    if let Route::Domain(name) = route {
        return domains::check(req, name, config).await;
    }
    let owner = access.owner()?;
    let owner = owner.as_str();
    match (route, req.method()) {
        (Route::Jobs, Method::Post) => jobs::create(req, env, config, owner).await,
        (Route::Jobs, _) => jobs::list(req, env, owner).await,
        (Route::Job(id), Method::Delete) => jobs::delete(env, owner, id).await,
        (Route::Job(id), _) => jobs::get(env, owner, id).await,
        (Route::JobResults(id), _) => jobs::results(req, env, owner, id).await,
        (Route::Webhooks, Method::Post) => jobs::create_webhook(req, env, config, owner).await,
        (Route::Webhooks, _) => jobs::list_webhooks(env, owner).await,
        (Route::Webhook(id), _) => jobs::delete_webhook(env, owner, id).await,
        (Route::Lists, Method::Post) => jobs::lists::create(req, env, owner).await,
        (Route::Lists, _) => jobs::lists::list(req, env, owner).await,
        (Route::List(id), Method::Patch) => jobs::lists::patch(req, env, owner, id).await,
        (Route::List(id), Method::Delete) => jobs::lists::delete(env, owner, id).await,
        (Route::List(id), _) => jobs::lists::get(env, owner, id).await,
        (Route::ListRuns(id), _) => jobs::lists::run_now(env, config, owner, id).await,
        (Route::ListChanges(id), _) => jobs::lists::changes(req, env, owner, id).await,
        (Route::Monitors, _) => jobs::monitors::list(env, owner).await,
        (Route::Monitor(name), Method::Put) => {
            jobs::monitors::put(req, env, config, owner, name).await
        }
        (Route::Monitor(name), Method::Delete) => jobs::monitors::delete(env, owner, name).await,
        (Route::Monitor(name), _) => jobs::monitors::get(env, owner, name).await,
        _ => Err(ApiError::method_not_allowed(route.allow())),
    }
}

/// The jobs engine's routes in the front Worker: the request, once its key is known good and
/// within its limits, goes as it came (body unread) to the jobs engine through the `JOBS`
/// service binding, which checks the key again (for the owner of jobs).
#[cfg(not(feature = "jobs"))]
async fn engine_api(
    req: &mut Request,
    env: &Env,
    _route: &Route,
    _config: &Config,
    _access: &Access,
) -> std::result::Result<Response, ApiError> {
    let engine = env.service(JOBS).map_err(|_| jobs_unavailable())?;
    // The same JavaScript request (not `Request.clone()`, which would tee the body).
    let response = engine
        .fetch_request(Request::from(Clone::clone(req.inner())))
        .await?;
    // A fetched response's headers are immutable; the CORS headers are added to a copy.
    let headers = worker::Headers::new();
    for (name, value) in response.headers().entries() {
        headers.append(&name, &value)?;
    }
    Ok(response.with_headers(headers))
}

/// The service binding of the jobs engine (wrangler.toml `[[services]]`).
#[cfg(not(feature = "jobs"))]
const JOBS: &str = "JOBS";

#[cfg(not(feature = "jobs"))]
fn jobs_unavailable() -> ApiError {
    ApiError::new(
        503,
        "jobs_unavailable",
        "This deployment has no jobs engine (the JOBS service binding): lists and domains cannot be checked here.",
    )
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

/// The jobs engine's Queue consumer. It never returns an error: each message is acked or
/// retried on its own (an error here would trap the Worker).
#[cfg(feature = "jobs")]
#[event(queue)]
async fn queue(batch: worker::MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    jobs::engine::consume(batch, env).await;
    Ok(())
}

/// The cron (wrangler.toml `[triggers]`, on the front Worker): the jobs engine's sweeper and
/// retention, asked of the engine through the binding (`POST /__cron`), which answers when done.
#[cfg(not(feature = "jobs"))]
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let done = match env.service(JOBS) {
        Ok(engine) => {
            let init = worker::RequestInit {
                method: Method::Post,
                ..Default::default()
            };
            match engine.fetch("https://jobs/__cron", Some(init)).await {
                Ok(r) if r.status_code() == 204 => Ok(()),
                Ok(r) => Err(format!("the jobs engine answered {}", r.status_code())),
                Err(e) => Err(e.to_string()),
            }
        }
        Err(_) => Err("no JOBS service binding".to_owned()),
    };
    if let Err(e) = done {
        worker::console_error!("cron {}: {e}", event.cron());
    }
}
