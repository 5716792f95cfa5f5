//! Running the monitor: bind the address (refusals name `--port` / `--host`, exit 2), print
//! the URL, serve on a small tokio runtime until Ctrl-C or SIGTERM, then stop: every event
//! stream is ended at once, open connections get a short grace period, and the process
//! exits even if a client never reads again.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::catalogue::Catalogue;
use super::metrics_page::MetricsPage;
use super::routes::{AppState, router};
use super::settings::MonitorSettings;
use crate::error::TridentError;
use crate::exit::ExitCode;

/// How long open connections may take to finish once the monitor stops.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How often an event stream checks its run's file.
const POLL: Duration = Duration::from_millis(50);

/// Why the address could not be bound, naming the flag to change.
fn bind_error(settings: &MonitorSettings, e: std::io::Error) -> TridentError {
    let addr = settings.addr;
    TridentError::Validation(match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "port {} on {} is already in use (another trident monitor?): choose another with \
             --port N, or --port 0 for any free port",
            addr.port(),
            addr.ip()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {addr}: permission denied (ports below 1024 need privileges): \
             choose another --port"
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            format!("--host {}: not an address of this machine ({e})", addr.ip())
        }
        _ => format!("cannot listen on {addr} (--host, --port): {e}"),
    })
}

/// Resolves when the process is asked to stop (Ctrl-C, SIGTERM).
async fn stop_requested() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Serve until stopped.
pub fn serve(settings: MonitorSettings, keep_alive: Duration) -> Result<ExitCode, TridentError> {
    let listener = TcpListener::bind(settings.addr).map_err(|e| bind_error(&settings, e))?;
    let local = listener
        .local_addr()
        .and_then(|a| listener.set_nonblocking(true).map(|()| a))
        .map_err(|e| bind_error(&settings, e))?;
    let exe = std::env::current_exe()
        .map_err(|e| TridentError::Runtime(format!("cannot find trident's own executable: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("trident-monitor")
        .enable_all()
        .build()
        .map_err(|e| TridentError::Runtime(format!("cannot start the server: {e}")))?;
    let (stop, stopped) = watch::channel(false);
    let state = AppState {
        catalogue: Arc::new(Catalogue::new(settings.projects.clone())),
        metrics: Arc::new(MetricsPage::default()),
        token: settings.token.clone(),
        allow_runs: settings.allow_runs,
        exe,
        shutdown: stopped.clone(),
        poll: POLL,
        keep_alive,
    };
    let app = router(state);
    let host = match local.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "Trident monitor: http://{host}:{}/", local.port());
        let _ = out.flush();
    }
    let mut err = std::io::stderr().lock();
    for project in &settings.projects {
        let _ = writeln!(err, "  serving {}", project.root.display());
    }
    if settings.token.is_some() {
        let _ = writeln!(
            err,
            "  every route but /healthz needs the token: open the page with ?token=T"
        );
    }
    if settings.allow_runs {
        let _ = writeln!(err, "  runs may be started from the page (--allow-runs)");
    }
    let _ = writeln!(err, "  Ctrl-C stops it");
    drop(err);
    let outcome: Result<(), String> = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        let mut stopping = stopped.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopping.wait_for(|s| *s).await;
                })
                .await
        });
        stop_requested().await;
        let _ = stop.send(true);
        let _ = tokio::time::timeout(STOP_GRACE, server).await;
        Ok(())
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    outcome.map_err(|e| TridentError::Runtime(format!("the server failed: {e}")))?;
    eprintln!("trident monitor: stopped");
    Ok(ExitCode::Success)
}
