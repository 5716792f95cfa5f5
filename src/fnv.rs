//! FNV-1a (64 bits) over byte slices fed in order: stable across processes and versions,
//! fast, and good enough where a collision only costs a missed warning or a repeated check
//! (run fingerprints, the python signature cache), so no cryptographic hash is needed.

use std::fmt::Debug;

/// FNV-1a over byte slices, fed in order.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv::new()
    }
}

impl Fnv {
    /// The hash of nothing yet.
    pub fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `bytes` (and a separator).
    pub fn feed(&mut self, bytes: &[u8]) -> &mut Fnv {
        self.mix(bytes);
        self.separate()
    }

    /// Adds `value` written as compact JSON (and a separator), streamed: the same hash as
    /// feeding its JSON text, without holding the text.
    pub fn feed_json(&mut self, value: &impl serde::Serialize) -> &mut Fnv {
        let _ = serde_json::to_writer(JsonBytes(self), value);
        self.separate()
    }

    fn mix(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// A separator, so ("ab", "c") and ("a", "bc") differ.
    fn separate(&mut self) -> &mut Fnv {
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        self
    }

    /// Adds `value`'s `Debug` text.
    pub fn debug(&mut self, value: &impl Debug) -> &mut Fnv {
        self.feed(format!("{value:?}").as_bytes())
    }

    /// Adds the bytes of the file at `path` (a marker when it cannot be read).
    pub fn file(&mut self, path: &std::path::Path) -> &mut Fnv {
        match std::fs::read(path) {
            Ok(bytes) => self.feed(&bytes),
            Err(_) => self.feed(b"<missing>"),
        }
    }

    /// The hash so far, as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// JSON bytes mixed into the hash as they are written.
struct JsonBytes<'a>(&'a mut Fnv);

impl std::io::Write for JsonBytes<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.mix(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
