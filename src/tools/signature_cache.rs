//! The python tool signatures a run's pre-flight read last time, kept in the artifacts
//! folder (`.trident/cache/python-signatures.json`) so a run of an unchanged project starts
//! no introspection interpreter at all (about 35 ms of CPU at every run otherwise).
//!
//! An entry is keyed by interpreter, module file and function, and holds the hash of the
//! module's bytes it was read from: a module changed in any way is read again. The file is
//! a cache only: missing, unreadable or from another version, it is ignored and rewritten
//! (atomically, so concurrent runs at worst both read the modules) after a run that went
//! ahead, into its existing artifacts folder.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fnv::Fnv;

/// The cache file's name inside the cache folder.
const FILE_NAME: &str = "python-signatures.json";
/// Bumped when the meaning of a reply changes (older files are then ignored and the
/// modules read again). 2: replies carry the function's docstring.
const FORMAT: u32 = 2;

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile<R> {
    format: u32,
    entries: HashMap<String, Entry<R>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry<R> {
    /// FNV-1a of the module's bytes when it was read.
    module_hash: String,
    reply: R,
}

/// The cached replies of one project's introspection, loaded once and saved once.
#[derive(Debug)]
pub struct SignatureCache<R> {
    file: PathBuf,
    entries: HashMap<String, Entry<R>>,
    changed: bool,
}

/// What identifies one reply: the interpreter (its parser decides syntax errors), the
/// module and the function.
pub struct CacheKey {
    key: String,
    module_hash: String,
}

impl CacheKey {
    /// The key of `function` in `module`, read with `interpreter`; `None` when the module
    /// cannot be read (then it is never cached).
    pub fn new(interpreter: &OsStr, module: &Path, function: &str) -> Option<CacheKey> {
        let bytes = std::fs::read(module).ok()?;
        Some(CacheKey {
            key: format!(
                "{}\n{}\n{function}",
                interpreter.to_string_lossy(),
                module.display()
            ),
            module_hash: Fnv::new().feed(&bytes).hex(),
        })
    }
}

impl<R: Serialize + for<'de> Deserialize<'de> + Clone> SignatureCache<R> {
    /// The cache kept in `folder` (empty when there is none yet or it cannot be read).
    pub fn load(folder: &Path) -> SignatureCache<R> {
        let file = folder.join(FILE_NAME);
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile<R>>(&bytes).ok())
            .filter(|cache| cache.format == FORMAT)
            .map(|cache| cache.entries)
            .unwrap_or_default();
        SignatureCache {
            file,
            entries,
            changed: false,
        }
    }

    /// The reply kept for `key`, if its module has not changed since.
    pub fn get(&self, key: &CacheKey) -> Option<R> {
        self.entries
            .get(&key.key)
            .filter(|entry| entry.module_hash == key.module_hash)
            .map(|entry| entry.reply.clone())
    }

    /// Keeps `reply` for `key`.
    pub fn put(&mut self, key: CacheKey, reply: R) {
        self.entries.insert(
            key.key,
            Entry {
                module_hash: key.module_hash,
                reply,
            },
        );
        self.changed = true;
    }

    /// Writes the cache back when something was added, into an artifacts folder that
    /// exists already (a refused first run writes nothing); a failure only costs the next
    /// run an introspection.
    pub fn save(self) {
        let artifacts_exist = self
            .file
            .parent()
            .and_then(Path::parent)
            .is_some_and(Path::is_dir);
        if !self.changed || !artifacts_exist {
            return;
        }
        let cache = CacheFile {
            format: FORMAT,
            entries: self.entries,
        };
        let Ok(bytes) = serde_json::to_vec(&cache) else {
            return;
        };
        if let Some(folder) = self.file.parent()
            && std::fs::create_dir_all(folder).is_ok()
        {
            let _ = crate::artifacts::atomic::write_atomic(&self.file, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_module_is_read_again_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("step.py");
        std::fs::write(&module, "def execute(x):\n    return x\n").unwrap();
        let python = OsStr::new("/usr/bin/python3");
        let cache_dir = dir.path().join(".trident").join("cache");
        let mut cache = SignatureCache::<String>::load(&cache_dir);
        cache.put(
            CacheKey::new(python, &module, "execute").unwrap(),
            "x".into(),
        );
        cache.save();
        assert!(
            !cache_dir.exists(),
            "no artifacts folder yet: nothing written"
        );
        std::fs::create_dir(dir.path().join(".trident")).unwrap();

        let mut cache = SignatureCache::<String>::load(&cache_dir);
        let key = CacheKey::new(python, &module, "execute").unwrap();
        assert_eq!(cache.get(&key), None);
        cache.put(key, "x".to_string());
        cache.save();

        let cache = SignatureCache::<String>::load(&cache_dir);
        let key = CacheKey::new(python, &module, "execute").unwrap();
        assert_eq!(cache.get(&key).as_deref(), Some("x"));
        let other_function = CacheKey::new(python, &module, "other").unwrap();
        assert_eq!(cache.get(&other_function), None);
        let other_python = CacheKey::new(OsStr::new("python3.12"), &module, "execute").unwrap();
        assert_eq!(cache.get(&other_python), None);

        std::fs::write(&module, "def execute(x, y):\n    return x\n").unwrap();
        let key = CacheKey::new(python, &module, "execute").unwrap();
        assert_eq!(cache.get(&key), None, "the module changed");
        assert!(CacheKey::new(python, &dir.path().join("missing.py"), "f").is_none());
    }

    #[test]
    fn a_damaged_cache_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let cache = SignatureCache::<String>::load(dir.path());
        assert!(cache.entries.is_empty());
        // A file of the previous format (replies without docstrings) is read again.
        std::fs::write(
            dir.path().join(FILE_NAME),
            br#"{"format":1,"entries":{"k":{"module_hash":"h","reply":"old"}}}"#,
        )
        .unwrap();
        let cache = SignatureCache::<String>::load(dir.path());
        assert!(cache.entries.is_empty());
    }
}
