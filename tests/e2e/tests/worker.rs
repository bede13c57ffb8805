//! The edge Worker under `wrangler dev` (workerd), against the local mail world.
//!
//! Runs the Worker that `scripts/build-worker` built; `scripts/test` builds it first. Uses the
//! runner of `mailvet_e2e::runner` (one world and one Worker for the binary, stopped at the end).
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::process::ExitCode;

use mailvet_e2e::World;
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::Worker;

struct Edge {
    // Dropped in declaration order: the Worker stops before the world it resolves through.
    worker: Worker,
    world: World,
}

const TESTS: &[Test<Edge>] = &[
    ("healthz_answers_json", healthz_answers_json),
    ("demo_page_is_served", demo_page_is_served),
    ("demo_assets_are_served", demo_assets_are_served),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || {
            let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
            let worker = Worker::start(&world, &[])?;
            Ok(Edge { worker, world })
        },
        |edge| {
            edge.world.keep_dir();
            println!("logs kept in {}", edge.world.dir().display());
        },
    )
}

fn healthz_answers_json(edge: &Edge) {
    let r = edge.worker.get("/healthz").expect("GET /healthz");
    assert_eq!(r.status, 200);
    assert!(
        r.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let text = r.text();
    assert!(text.contains(r#""status":"ok""#), "{text}");
    assert!(text.contains(r#""service":"mailvet-worker""#), "{text}");
}

fn demo_page_is_served(edge: &Edge) {
    let r = edge.worker.get("/").expect("GET /");
    assert_eq!(r.status, 200);
    assert!(
        r.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let page = r.text();
    assert!(page.contains("<title>mailvet"), "{page}");
    assert!(
        page.contains(r#"type="email""#),
        "the demo page has an email field"
    );
}

fn demo_assets_are_served(edge: &Edge) {
    for (path, kind) in [("/demo.js", "javascript"), ("/demo.css", "text/css")] {
        let r = edge.worker.get(path).expect(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.content_type.as_deref().unwrap_or_default().contains(kind),
            "{path}"
        );
    }
}
