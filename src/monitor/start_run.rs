//! `POST /api/runs` (only with `--allow-runs`): starts a run of a served project as a
//! separate `trident project run` process (our own executable, in its own process group, so
//! it outlives the monitor and a Ctrl-C of the monitor does not stop it), with a run id
//! chosen here so it can be answered at once. The answer waits until the run has its
//! folder (or its process has ended): a run refused before it starts (inputs missing a
//! required field...) is a 400 carrying the run's own message, not an id of a run that
//! never existed. Also the projects' input forms for the page (`GET /api/projects`).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::catalogue::Catalogue;
use crate::project::load_project;

/// How long the answer waits for the run's folder to appear.
const START_WAIT: Duration = Duration::from_secs(10);
/// At most this much of a refused run's stderr is kept for the answer.
const STDERR_KEPT: usize = 16 * 1024;

/// How a started run's process ended: its exit code and the start of its stderr.
type RunEnd = (Option<i32>, String);

/// A validated `POST /api/runs` body.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The project's root as `/api/runs` gives it (may be absent when one project is served).
    pub project: Option<String>,
    pub inputs: Map<String, Value>,
    /// `--dry-run` (an extra field, default false).
    pub dry_run: bool,
}

impl StartRequest {
    /// Read the body: `{project, inputs, dry_run?}`.
    pub fn from_json(body: &Value) -> Result<StartRequest, String> {
        let Value::Object(body) = body else {
            return Err("the body is not a JSON object".into());
        };
        let project = match body.get("project") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => return Err("`project` must be a string (a project's root)".into()),
        };
        let inputs = match body.get("inputs") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err("`inputs` must be a JSON object".into()),
        };
        let dry_run = match body.get("dry_run") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("`dry_run` must be true or false".into()),
        };
        Ok(StartRequest {
            project,
            inputs,
            dry_run,
        })
    }
}

/// Start the run; its id, or the status and message of the refusal.
pub fn start_run(
    catalogue: &Catalogue,
    exe: &Path,
    request: &StartRequest,
) -> Result<String, (StatusCode, String)> {
    let projects = catalogue.projects();
    let served = match &request.project {
        Some(root) => projects.iter().find(|p| p.root_text() == *root),
        None if projects.len() == 1 => projects.first(),
        None => None,
    };
    let Some(served) = served else {
        let roots: Vec<String> = projects.iter().map(|p| p.root_text()).collect();
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "`project` must be one of the served projects: {}",
                roots.join(", ")
            ),
        ));
    };
    let run_id = uuid::Uuid::new_v4().to_string();
    let mut command = Command::new(exe);
    command
        .arg("project")
        .arg("run")
        .arg(&served.manifest)
        .arg("-i")
        .arg(Value::Object(request.inputs.clone()).to_string())
        .arg("--run-id")
        .arg(&run_id)
        .arg("--progress")
        .arg("never");
    if request.dry_run {
        command.arg("--dry-run");
    }
    let mut child = command
        .current_dir(&served.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot start {}: {e}", exe.display()),
            )
        })?;
    // The run's stderr is read (so it never blocks on a full pipe) and its end recorded.
    let ended: Arc<Mutex<Option<RunEnd>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&ended);
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = stderr {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if kept.len() < STDERR_KEPT {
                    kept.extend_from_slice(&chunk[..n.min(STDERR_KEPT - kept.len())]);
                }
            }
        }
        let code = child.wait().ok().and_then(|s| s.code());
        if let Ok(mut slot) = slot.lock() {
            *slot = Some((code, String::from_utf8_lossy(&kept).into_owned()));
        }
    });
    let run_dir = served.base_dir.join("runs").join(&run_id);
    let started = Instant::now();
    while started.elapsed() < START_WAIT {
        if run_dir.is_dir() {
            return Ok(run_id);
        }
        let end = ended.lock().ok().and_then(|slot| slot.clone());
        if let Some((code, stderr)) = end {
            if code == Some(0) || run_dir.is_dir() {
                return Ok(run_id);
            }
            let text = served.redactor.text(stderr.trim()).into_owned();
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "the run was refused (exit code {}): {text}",
                    code.map_or("none".to_string(), |c| c.to_string())
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(run_id)
}

/// `GET /api/projects`: each served project with its input fields (the page's form).
pub fn project_forms(catalogue: &Catalogue, allow_runs: bool) -> Value {
    let projects: Vec<Value> = catalogue
        .projects()
        .iter()
        .map(|served| match load_project(&served.manifest) {
            Ok(project) => {
                let mut fields = Map::new();
                let entry = project
                    .entrypoints
                    .first()
                    .and_then(|e| project.inputs.get(e))
                    .or_else(|| project.inputs.values().next());
                if let Some(input) = entry {
                    for (name, field) in &input.schema {
                        fields.insert(
                            name.clone(),
                            json!({
                                "type": field.field_type,
                                "description": field.description,
                                "required": input.required.contains(name),
                            }),
                        );
                    }
                }
                json!({"project": served.root_text(), "name": project.name, "inputs": fields})
            }
            Err(e) => json!({
                "project": served.root_text(),
                "name": Value::Null,
                "inputs": {},
                "error": e.to_string(),
            }),
        })
        .collect();
    json!({"projects": projects, "allow_runs": allow_runs})
}
