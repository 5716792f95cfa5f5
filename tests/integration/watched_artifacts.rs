//! Watched artifacts: every update of the run index, a checkpoint and a trace reaches an
//! inotify watcher of the file (same inode, never replaced by rename), and a `kill -9` at a
//! random moment never loses a completed node nor leaves the run index unreadable.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use trident::artifacts::{CheckpointStore, RunIndexFile};

use crate::support::Fixture;
use crate::support::inotify::{FileEvent, Inotify};

/// input -> s1 -> ... -> s<n> -> output: shell tools sleeping `sleep` seconds, each
/// appending its name to `calls.log`; the last one fails while the file `fail` exists.
fn slow_chain(n: usize, sleep: f64) -> Fixture {
    let mut tools = String::new();
    let mut edges = String::from("  e0: {from: input, to: s1, mapping: {n: n}}\n");
    for i in 1..=n {
        let fail = if i == n { " && test ! -f fail" } else { "" };
        tools += &format!(
            "  s{i}: {{type: shell, command: \"sleep {sleep} && echo s{i} >> calls.log{fail} && echo s{i}\"}}\n"
        );
        let to = if i == n {
            "output".to_string()
        } else {
            format!("s{}", i + 1)
        };
        edges += &format!("  e{i}: {{from: s{i}, to: {to}, mapping: {{x: output}}}}\n");
    }
    Fixture::empty().file(
        "agent.tml",
        &format!(
            "trident: \"0.1\"\nname: slow\nnodes:\n  input: {{type: input, schema: {{n: {{type: \
             number, description: n}}}}}}\n  output: {{type: output}}\ntools:\n{tools}edges:\n{edges}"
        ),
    )
}

fn spawn_run(f: &Fixture, run_id: &str) -> Child {
    f.command(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", run_id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Writes completed on `path` (`IN_CLOSE_WRITE`: one per update).
fn updates(events: &[FileEvent], path: &Path) -> usize {
    events
        .iter()
        .filter(|e| e.path == path && e.is_write() && e.mask & libc::IN_CLOSE_WRITE != 0)
        .count()
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn every_update_of_index_checkpoint_and_trace_reaches_a_file_watcher() {
    let f = slow_chain(5, 0.3).file("fail", "");
    let runs = f.join(".trident/runs");
    let index = runs.join("manifest.json");
    let checkpoint = runs.join("w1/checkpoint.json");
    let trace = runs.join("w1/trace.json");
    let mut inotify = Inotify::new();
    let mut events = Vec::new();
    let mut child = spawn_run(&f, "w1");
    // Watch each file (its inode) as soon as it exists, like a dashboard that found it.
    let mut inodes: Vec<(PathBuf, u64)> = Vec::new();
    while child.try_wait().unwrap().is_none() {
        for path in [&index, &checkpoint] {
            if !inotify.watches(path) && path.is_file() {
                inotify.watch_file(path);
                inodes.push((path.clone(), inode(path)));
            }
        }
        events.extend(inotify.drain());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "s5 fails while `fail` exists"
    );
    events.extend(inotify.drain());
    assert_eq!(inodes.len(), 2, "both files appeared during the run");
    // Five nodes of 300 ms: the checkpoint is folded after each (at most every 200 ms),
    // when s5 fails and at the end; the index at the end.
    let folds = updates(&events, &checkpoint);
    assert!(folds >= 4, "{folds} checkpoint updates seen: {events:?}");
    assert!(updates(&events, &index) >= 1, "{events:?}");

    // The resume rewrites all three (trace.json exists since the failed attempt).
    inotify.watch_file(&trace);
    inodes.push((trace.clone(), inode(&trace)));
    std::fs::remove_file(f.join("fail")).unwrap();
    let before = events.len();
    f.run(&["project", "run", "--resume", "w1"]).code(0);
    events.extend(inotify.drain());
    let resumed = &events[before..];
    assert!(updates(resumed, &index) >= 2, "start and end: {resumed:?}");
    assert!(updates(resumed, &checkpoint) >= 2, "{resumed:?}");
    assert!(updates(resumed, &trace) >= 1, "{resumed:?}");
    assert!(
        !events.iter().any(FileEvent::is_gone),
        "no file was replaced or deleted: {events:?}"
    );
    for (path, ino) in &inodes {
        assert_eq!(inode(path), *ino, "{} kept its inode", path.display());
    }
    // The recovery copies hold the same content as the files.
    for path in [&index, &checkpoint, &trace] {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let copy = path.with_file_name(format!(".{name}.prev.json"));
        assert_eq!(std::fs::read(path).unwrap(), std::fs::read(copy).unwrap());
    }
}

/// The next pseudo-random number (a 64-bit LCG; the seed is printed for a replay).
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

fn completed(checkpoint: &Path) -> Option<BTreeSet<String>> {
    CheckpointStore::load(checkpoint)
        .ok()
        .map(|c| c.completed_nodes.keys().cloned().collect())
}

fn tools_done(nodes: &BTreeSet<String>) -> usize {
    nodes.iter().filter(|n| n.starts_with('s')).count()
}

#[test]
fn kill_9_at_random_moments_keeps_completed_nodes_and_the_index() {
    const NODES: usize = 6;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let first_seed = seed;
    eprintln!("kill -9 test: seed {seed}");
    let mut cut_mid_run = 0;
    for i in 0..8 {
        let f = slow_chain(NODES, 0.15);
        let id = format!("k{i}");
        let checkpoint = f.join(&format!(".trident/runs/{id}/checkpoint.json"));
        // Kill once `wait_for` tool nodes are done, then up to 200 ms later: anywhere in a
        // node, a journal append or a fold (however loaded the machine is).
        let wait_for = (next(&mut seed) % NODES as u64) as usize;
        let extra = Duration::from_millis(next(&mut seed) % 200);
        let mut child = spawn_run(&f, &id);
        let deadline = Instant::now() + Duration::from_secs(60);
        // The completed nodes as last read while the run went on: all must survive.
        let mut seen = BTreeSet::new();
        let mut reached: Option<Instant> = None;
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            if let Some(done) = completed(&checkpoint) {
                seen = done;
            }
            if reached.is_none() && tools_done(&seen) >= wait_for {
                reached = Some(Instant::now());
            }
            if reached.is_some_and(|at| at.elapsed() >= extra) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let Some(recovered) = completed(&checkpoint) else {
            assert!(
                seen.is_empty(),
                "iteration {i}: checkpoint lost after {seen:?}"
            );
            continue; // killed before the checkpoint was first written
        };
        eprintln!(
            "iteration {i}: killed {extra:?} after {wait_for} tools, {seen:?} seen, {recovered:?} kept"
        );
        assert!(
            recovered.is_superset(&seen),
            "iteration {i}: {seen:?} were completed, {recovered:?} kept"
        );
        let index = RunIndexFile::new(&f.join(".trident")).load();
        assert!(
            index.runs.iter().any(|r| r.run_id == id),
            "iteration {i}: the run index lost {id}"
        );
        if (1..NODES).contains(&tools_done(&recovered)) {
            cut_mid_run += 1;
        }
        let out = f.run(&["project", "run", "--resume", &id, "-o", "json"]);
        out.code(0);
        assert_eq!(out.json()["outputs"]["output"]["x"], format!("s{NODES}"));
        let calls = std::fs::read_to_string(f.join("calls.log")).unwrap_or_default();
        for node in recovered.iter().filter(|n| n.starts_with('s')) {
            let runs = calls.lines().filter(|l| l == node).count();
            assert_eq!(
                runs, 1,
                "iteration {i}: {node} was kept, not re-run: {calls}"
            );
        }
    }
    assert!(
        cut_mid_run >= 1,
        "no kill landed between two nodes (seed {first_seed}); the test proved little"
    );
}
