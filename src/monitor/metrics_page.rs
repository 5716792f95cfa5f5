//! `GET /metrics`: the Prometheus text (section 7 names, `crate::metrics`) over every
//! served run, built from the runs' `events.jsonl` files. The text is kept and rebuilt only
//! when one of those files changed, so a scrape of unchanged runs costs a `stat` per run.

use std::io::{BufRead, BufReader};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use super::catalogue::Catalogue;
use crate::metrics::MetricsRegistry;

/// Path, size and modification time of each events file read.
type FileStates = Vec<(String, u64, u128)>;

/// The rendered text and the file states it was built from.
#[derive(Debug, Default)]
pub struct MetricsPage {
    kept: Mutex<Option<(FileStates, String)>>,
}

impl MetricsPage {
    /// The metrics of the catalogue's runs now.
    pub fn render(&self, catalogue: &Catalogue) -> String {
        let mut files = Vec::new();
        for project in 0..catalogue.projects().len() {
            let base = &catalogue.projects()[project].base_dir;
            for run_id in catalogue.runs_of(project).ids {
                let path = base.join("runs").join(&run_id).join("events.jsonl");
                if let Ok(meta) = std::fs::metadata(&path) {
                    let modified = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    files.push((path.display().to_string(), meta.len(), modified));
                }
            }
        }
        if let Ok(kept) = self.kept.lock()
            && let Some((known, text)) = kept.as_ref()
            && *known == files
        {
            return text.clone();
        }
        let mut registry = MetricsRegistry::new();
        for (path, _, _) in &files {
            let Ok(file) = std::fs::File::open(path) else {
                continue;
            };
            for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
                registry.observe_line(&line);
            }
        }
        let text = registry.render();
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some((files, text.clone()));
        }
        text
    }
}
