//! Artifacts left by other versions or by a crash: `checkpoint.json` (with its journal),
//! `runs/manifest.json` (the run index), `metadata.json`, `trace.json`, a branch iteration. The input
//! is split at the first line `=====` into a checkpoint and its journal; the whole input is
//! also read as each record. Loading gives a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::artifacts::{
    BranchIteration, Checkpoint, CheckpointStore, RunIndex, RunIndexFile, RunMetadata, Trace,
};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Checkpoint>(data);
    let _ = serde_json::from_slice::<RunIndex>(data);
    let _ = serde_json::from_slice::<RunMetadata>(data);
    let _ = serde_json::from_slice::<Trace>(data);
    let _ = serde_json::from_slice::<BranchIteration>(data);
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let (checkpoint, journal) = match data.windows(7).position(|w| w == b"\n=====\n") {
        Some(at) => (&data[..at], &data[at + 7..]),
        None => (data, &b""[..]),
    };
    let path = dir.path().join("checkpoint.json");
    if std::fs::write(&path, checkpoint).is_ok()
        && std::fs::write(dir.path().join("checkpoint.journal"), journal).is_ok()
    {
        let _ = CheckpointStore::load(&path);
    }
    let runs = dir.path().join("runs");
    if std::fs::create_dir_all(&runs).is_ok()
        && std::fs::write(runs.join("manifest.json"), data).is_ok()
    {
        let index = RunIndexFile::new(dir.path());
        let _ = index.load();
        let _ = index.latest();
        let _ = index.resolve("a");
    }
});
