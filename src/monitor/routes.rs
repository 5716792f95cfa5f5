//! The routes of `trident monitor` (OBSERVABILITY.md section 6) and their shared state.
//!
//! | route | answer |
//! |---|---|
//! | `GET /`, `GET /runs/{run_id}` | the page (one embedded document) |
//! | `GET /healthz` | `ok`, never behind the token |
//! | `GET /api/runs` | the runs, newest first |
//! | `GET /api/runs/{run_id}` | one run with its graph and node states |
//! | `GET /api/runs/{run_id}/events` | the run's events as SSE |
//! | `GET /api/projects` | the served projects and their input schemas (the page's form) |
//! | `GET /metrics` | Prometheus text over the served runs |
//! | `POST /api/runs` | starts a run (only with `--allow-runs`, else 403) |
//!
//! Reading artifacts is blocking file work: it runs on the blocking pool, never on the
//! threads that write to sockets.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::auth::require_token;
use super::catalogue::Catalogue;
use super::metrics_page::MetricsPage;
use super::page;
use super::run_view::run_detail;
use super::sse::{StreamSpec, event_stream};
use super::start_run::{StartRequest, project_forms, start_run};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub catalogue: Arc<Catalogue>,
    pub metrics: Arc<MetricsPage>,
    pub token: Option<String>,
    pub allow_runs: bool,
    /// Our own executable, for starting runs.
    pub exe: PathBuf,
    /// Becomes `true` when the server stops: every event stream ends.
    pub shutdown: watch::Receiver<bool>,
    /// How often an event stream checks its file.
    pub poll: Duration,
    /// The interval of SSE keep-alive comments.
    pub keep_alive: Duration,
}

/// A JSON error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn not_found(run_id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no run '{run_id}' in the served projects (GET /api/runs lists them)"),
    )
}

/// Blocking work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// The router of every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/runs/{run_id}", get(run_page))
        .route("/api/runs", get(list_runs).post(post_run))
        .route("/api/runs/{run_id}", get(get_run))
        .route("/api/runs/{run_id}/events", get(run_events))
        .route("/api/projects", get(projects))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

async fn run_page(State(state): State<AppState>, Path(run_id): Path<String>) -> Response {
    let catalogue = Arc::clone(&state.catalogue);
    let id = run_id.clone();
    match blocking(move || catalogue.find(&id)).await.flatten() {
        Some(_) => page::index().await,
        None => not_found(&run_id),
    }
}

async fn list_runs(State(state): State<AppState>) -> Response {
    let catalogue = Arc::clone(&state.catalogue);
    match blocking(move || catalogue.list()).await {
        Some(list) => Json(list).into_response(),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "listing runs failed"),
    }
}

async fn get_run(State(state): State<AppState>, Path(run_id): Path<String>) -> Response {
    let catalogue = Arc::clone(&state.catalogue);
    let id = run_id.clone();
    let detail = blocking(move || {
        let run = catalogue.find(&id)?;
        Some(run_detail(&catalogue, &run))
    })
    .await
    .flatten();
    match detail {
        Some(detail) => Json(detail).into_response(),
        None => not_found(&run_id),
    }
}

/// The `seq` to resume after: `Last-Event-ID`, else `?after=`.
fn resume_after(
    headers: &HeaderMap,
    query: &std::collections::HashMap<String, String>,
) -> Result<u64, Box<Response>> {
    let (raw, name) = match headers.get("last-event-id") {
        Some(v) => (v.to_str().unwrap_or("?").to_string(), "Last-Event-ID"),
        None => match query.get("after") {
            Some(v) => (v.clone(), "after"),
            None => return Ok(0),
        },
    };
    if raw.trim().is_empty() {
        return Ok(0);
    }
    raw.trim().parse::<u64>().map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("{name} '{raw}': give the seq of the last event received (a whole number)"),
        ))
    })
}

async fn run_events(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let after = match resume_after(&headers, &query) {
        Ok(after) => after,
        Err(response) => return *response,
    };
    let catalogue = Arc::clone(&state.catalogue);
    let id = run_id.clone();
    let Some(run) = blocking(move || catalogue.find(&id)).await.flatten() else {
        return not_found(&run_id);
    };
    let spec = StreamSpec {
        base_dir: state.catalogue.project(&run).base_dir.clone(),
        run_id: run.run_id,
        after,
        poll: state.poll,
    };
    Sse::new(event_stream(spec, state.shutdown.clone()))
        .keep_alive(
            KeepAlive::new()
                .interval(state.keep_alive)
                .text("keep-alive"),
        )
        .into_response()
}

async fn projects(State(state): State<AppState>) -> Response {
    let catalogue = Arc::clone(&state.catalogue);
    let allow_runs = state.allow_runs;
    match blocking(move || project_forms(&catalogue, allow_runs)).await {
        Some(forms) => Json(forms).into_response(),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reading the projects failed",
        ),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let catalogue = Arc::clone(&state.catalogue);
    let page = Arc::clone(&state.metrics);
    match blocking(move || page.render(&catalogue)).await {
        Some(text) => (
            [(header::CONTENT_TYPE, crate::metrics::registry::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rendering metrics failed",
        ),
    }
}

async fn post_run(State(state): State<AppState>, body: Bytes) -> Response {
    if !state.allow_runs {
        return error(
            StatusCode::FORBIDDEN,
            "starting runs is off: start `trident monitor --allow-runs` to allow it",
        );
    }
    let request: StartRequest = match serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| StartRequest::from_json(&v))
    {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("POST /api/runs needs {{\"project\": ROOT, \"inputs\": {{...}}}}: {e}"),
            );
        }
    };
    let catalogue = Arc::clone(&state.catalogue);
    let exe = state.exe.clone();
    match blocking(move || start_run(&catalogue, &exe, &request)).await {
        Some(Ok(run_id)) => {
            (StatusCode::CREATED, Json(json!({ "run_id": run_id }))).into_response()
        }
        Some(Err((status, message))) => error(status, message),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "starting the run failed"),
    }
}
