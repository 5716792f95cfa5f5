//! `trident monitor`: a live web page of the runs of one or more projects, their DAG and
//! their events, with a JSON API, a Server-Sent Events stream per run (each run's
//! `events.jsonl`, replayed then followed) and Prometheus `/metrics` (OBSERVABILITY.md
//! section 6). Everything it serves is read from the projects' `.trident/` artifacts, so it
//! shows runs started by any process; it is one more reader of the telemetry writer's
//! output, never an emission path of its own.
//!
//! - `settings.rs`: flags resolved once (host, token, projects).
//! - `server.rs`: the tokio runtime, binding, Ctrl-C and shutdown.
//! - `routes.rs`: the routes; `auth.rs`: the token check.
//! - `catalogue.rs`: the served runs and their summaries; `run_view.rs`: one run's graph
//!   and node states.
//! - `sse.rs`: a run's event stream; `metrics_page.rs`: `/metrics`.
//! - `start_run.rs`: `POST /api/runs` (`--allow-runs`) and the projects' input forms.
//! - `page.rs`: the embedded page (`page/head.html`, `page/style.css`, `page/body.html`,
//!   `page/app.js`).
//!
//! axum and tokio are used here only: the rest of Trident runs on plain threads.

pub mod auth;
pub mod catalogue;
pub mod metrics_page;
pub mod page;
pub mod routes;
pub mod run_view;
pub mod server;
pub mod settings;
pub mod sse;
pub mod start_run;

pub use server::serve;
pub use settings::{MonitorFlags, MonitorSettings, TOKEN_VAR};
