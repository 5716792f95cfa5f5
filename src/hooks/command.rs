//! A `run:` hook: `sh -c <command>` in the project root, the event's jsonl line on stdin,
//! `TRIDENT_EVENT`, `TRIDENT_RUN_ID` and `TRIDENT_NODE_ID` in its environment, its stdout
//! discarded (it must never mix with a telemetry stream on stdout), killed with its whole
//! process group at its deadline.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::job::HookJob;
use crate::delivery::describe_duration;
use crate::output_limit::OutputLimit;
use crate::tools::observer::IgnoreReports;
use crate::tools::subprocess::{ProcessFailure, run_with_stdin};

/// The most stderr quoted in a failure.
const STDERR_QUOTED: usize = 300;

/// Runs `command` for `job` for at most `timeout` (the hook's, or what is left of the run's
/// wait for its hooks); `Err` says why it failed, a time-out naming `timeout` itself.
pub fn run_command(
    command: &str,
    root: &Path,
    job: &HookJob,
    timeout: Duration,
) -> Result<(), String> {
    let mut process = Command::new("sh");
    process
        .arg("-c")
        .arg(command)
        .current_dir(root)
        .env("TRIDENT_EVENT", &job.event)
        .env("TRIDENT_RUN_ID", &job.run_id)
        .env(
            "TRIDENT_NODE_ID",
            job.node_id.as_deref().unwrap_or_default(),
        );
    let mut stdin = job.line.clone();
    stdin.push(b'\n');
    match run_with_stdin(
        process,
        Some(stdin),
        Some(timeout),
        OutputLimit::default(),
        &IgnoreReports,
        None,
    ) {
        Ok(done) if done.status.success() => Ok(()),
        Ok(done) => {
            let status = match done.status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_string(),
            };
            Err(format!("{status}{}", quoted(&done.stderr)))
        }
        Err(ProcessFailure::TimedOut { stderr, .. }) => Err(format!(
            "timed out after {} and was killed{}",
            describe_duration(timeout),
            quoted(&stderr)
        )),
        Err(ProcessFailure::OutputTooLarge { limit, stderr, .. }) => Err(format!(
            "printed more than {} on stdout and was stopped{}",
            limit.describe(),
            quoted(&stderr)
        )),
        Err(ProcessFailure::Spawn(e)) => Err(format!("could not start sh: {e}")),
        Err(ProcessFailure::Wait(e)) => Err(format!("waiting for it failed: {e}")),
    }
}

/// `: <the end of stderr>`, or nothing when it is empty.
fn quoted(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let start = text
        .char_indices()
        .rev()
        .nth(STDERR_QUOTED - 1)
        .map_or(0, |(at, _)| at);
    format!(": {}", text[start..].replace('\n', " | "))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn job() -> HookJob {
        HookJob {
            hook: 0,
            line: b"{\"event\":\"node_failed\"}".to_vec(),
            event: "node_failed".into(),
            run_id: "r1".into(),
            node_id: Some("n".into()),
        }
    }

    #[test]
    fn gets_the_line_and_the_environment_in_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let soon = Duration::from_secs(10);
        run_command(
            "cat > got.txt; echo \"$TRIDENT_EVENT $TRIDENT_RUN_ID $TRIDENT_NODE_ID\" >> got.txt",
            dir.path(),
            &job(),
            soon,
        )
        .unwrap();
        let got = std::fs::read_to_string(dir.path().join("got.txt")).unwrap();
        assert_eq!(got, "{\"event\":\"node_failed\"}\nnode_failed r1 n\n");
    }

    #[test]
    fn failures_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let soon = Duration::from_secs(10);
        let e = run_command("echo oops >&2; exit 3", dir.path(), &job(), soon).unwrap_err();
        assert_eq!(e, "exited with status 3: oops");
        let e = run_command("./missing-hook.sh", dir.path(), &job(), soon).unwrap_err();
        assert!(
            e.starts_with("exited with status 127") && e.contains("missing-hook.sh"),
            "{e}"
        );
        let started = Instant::now();
        let e =
            run_command("sleep 30", dir.path(), &job(), Duration::from_millis(200)).unwrap_err();
        assert!(e.starts_with("timed out after 200ms"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
