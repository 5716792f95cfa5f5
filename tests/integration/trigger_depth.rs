//! Chains of fire-and-forget triggered runs: each detached run learns its depth from the
//! run that started it (`TRIDENT_TRIGGER_DEPTH`), and a trigger past the limit
//! (`TRIDENT_MAX_TRIGGER_DEPTH`) fails its node instead of starting one more process.
//!
//! The fixture `trigger_chain` starts itself again while its counter `n` is under a bound;
//! the detached runs write their own artifacts in the fixture, which the tests poll (with a
//! generous deadline, never asserting how long it took).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Fixture;

/// The runs in the index of the project in folder `project` of the fixture (oldest first).
fn runs_of(f: &Fixture, project: &str) -> Vec<Value> {
    // The index is replaced atomically, but may not exist yet.
    std::fs::read_to_string(f.join(project).join(".trident/runs/manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|index| index["runs"].as_array().cloned())
        .unwrap_or_default()
}

/// The runs of the fixture's index (oldest first) once `done` holds for them; panics after
/// two minutes (a loaded machine starts debug processes slowly).
fn runs_once(f: &Fixture, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let runs = runs_of(f, "");
        if done(&runs) {
            return runs;
        }
        assert!(
            Instant::now() < deadline,
            "the chain did not end; runs so far: {runs:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether every run of the index has ended.
fn all_ended(runs: &[Value]) -> bool {
    runs.iter().all(|r| r["status"] != "running")
}

/// The `n` a run of the project in folder `project` was started with.
fn input_n_in(f: &Fixture, project: &str, run: &Value) -> u64 {
    let id = run["run_id"].as_str().unwrap();
    let path = std::path::Path::new(project).join(format!(".trident/runs/{id}/metadata.json"));
    f.read_json(path.to_str().unwrap())["inputs"]["n"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_fire_and_forget_chain_its_condition_does_not_stop_ends_at_the_depth_limit() {
    let f = Fixture::new("trigger_chain").env("TRIDENT_MAX_TRIGGER_DEPTH", "3");
    // A condition could stop it, so validation accepts it.
    f.run(&["project", "validate"]).code(0);
    // The first run triggers the next and ends at once.
    f.run(&["project", "run", "-i", r#"{"n": 0}"#]).code(0);
    let runs = runs_once(&f, |runs| {
        runs.iter().any(|r| r["status"] == "failed") && all_ended(runs)
    });
    // The run started by hand, then one per level of the chain: depths 1, 2 and 3.
    let statuses: Vec<&str> = runs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["completed", "completed", "completed", "failed"],
        "{runs:#?}"
    );
    let counters: Vec<u64> = runs.iter().map(|r| input_n(&f, r)).collect();
    assert_eq!(counters, [0, 1, 2, 3]);
    let error = runs[3]["error_summary"].as_str().unwrap();
    assert!(
        error.contains(
            "Node 'again' would start a fire-and-forget run 4 triggers deep (at most 3, \
             TRIDENT_MAX_TRIGGER_DEPTH)"
        ) && error.contains("raise TRIDENT_MAX_TRIGGER_DEPTH"),
        "{error}"
    );
}

/// The `n` a run of the fixture's project was started with.
fn input_n(f: &Fixture, run: &Value) -> u64 {
    input_n_in(f, "", run)
}

#[test]
fn a_chain_through_another_workflow_keeps_its_depth_and_limit() {
    // ping (the fixture) triggers pong (`b/`), which triggers ping: each its own project
    // with its own artifacts. The limit of the run that started the chain holds, whatever
    // pong's `.env` says.
    let f = Fixture::new("trigger_pair")
        .env("TRIDENT_MAX_TRIGGER_DEPTH", "3")
        .file("b/.env", "TRIDENT_MAX_TRIGGER_DEPTH=100\n");
    f.run(&["project", "run", "-i", r#"{"n": 0}"#]).code(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (ping, pong) = loop {
        let (ping, pong) = (runs_of(&f, ""), runs_of(&f, "b"));
        if pong.iter().any(|r| r["status"] == "failed") && all_ended(&ping) && all_ended(&pong) {
            break (ping, pong);
        }
        assert!(Instant::now() < deadline, "{ping:#?} {pong:#?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Depths 0 and 2 ran ping, 1 and 3 pong; the run 3 triggers deep could not go on.
    let summary = |runs: &[Value], project: &str| -> Vec<(u64, String)> {
        runs.iter()
            .map(|r| {
                (
                    input_n_in(&f, project, r),
                    r["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&ping, ""),
        [(0, "completed".to_string()), (2, "completed".to_string())]
    );
    assert_eq!(
        summary(&pong, "b"),
        [(1, "completed".to_string()), (3, "failed".to_string())]
    );
    let error = pong[1]["error_summary"].as_str().unwrap();
    assert!(error.contains("run 4 triggers deep (at most 3"), "{error}");
}

#[test]
fn a_fire_and_forget_chain_its_condition_stops_runs_to_its_end() {
    let manifest = std::fs::read_to_string(Fixture::new("trigger_chain").join("agent.tml"))
        .unwrap()
        .replace("n < 100", "n < 3");
    let f = Fixture::new("trigger_chain").file("agent.tml", &manifest);
    f.run(&["project", "run", "-i", r#"{"n": 0}"#]).code(0);
    // The third run counts to 3: its trigger is skipped and the chain ends there.
    let runs = runs_once(&f, |runs| runs.len() == 3 && all_ended(runs));
    assert!(runs.iter().all(|r| r["status"] == "completed"), "{runs:#?}");
    let last = runs[2]["run_id"].as_str().unwrap();
    let outputs = f.read_json(&format!(".trident/runs/{last}/outputs.json"));
    assert_eq!(outputs["output"]["triggered"], false, "{outputs}");
    assert_eq!(
        runs.iter().map(|r| input_n(&f, r)).collect::<Vec<_>>(),
        [0, 1, 2]
    );
}

#[test]
fn a_bad_trigger_depth_value_is_refused_before_the_run() {
    for (name, value) in [
        ("TRIDENT_MAX_TRIGGER_DEPTH", "deep"),
        ("TRIDENT_TRIGGER_DEPTH", "-1"),
    ] {
        let f = Fixture::new("trigger_chain").env(name, value);
        let out = f.run(&["project", "run", "-i", r#"{"n": 0}"#]);
        out.code(2);
        assert!(
            out.stderr.contains(&format!(
                "{name} (from the environment) must be a whole number of 0 or more, got \
                 '{value}'"
            )),
            "{}",
            out.stderr
        );
        assert!(!f.join(".trident/runs").exists(), "nothing ran");
    }
}
