//! [`TailBuffer`]: bytes appended without end, of which only the last `limit` are kept (the
//! end of a program's stderr is where the reason for a failure usually is). Trimmed in
//! halves, not on every append, so keeping a tail costs O(1) per byte; the count of bytes
//! left out is kept for messages.

/// Appended bytes, of which at most the last `limit` are kept (`None`: everything).
#[derive(Debug, Default)]
pub struct TailBuffer {
    kept: Vec<u8>,
    limit: Option<usize>,
    /// Bytes trimmed off the front so far.
    dropped: u64,
}

impl TailBuffer {
    /// An empty buffer keeping the last `limit` bytes (`None`: everything).
    pub fn new(limit: Option<usize>) -> TailBuffer {
        TailBuffer {
            kept: Vec::new(),
            limit,
            dropped: 0,
        }
    }

    /// Appends `bytes`; holds at most twice the limit at any time.
    pub fn push(&mut self, bytes: &[u8]) {
        match self.limit {
            // A piece bigger than the whole tail: only its end can be kept.
            Some(limit) if bytes.len() >= limit => {
                self.dropped += (self.kept.len() + bytes.len() - limit) as u64;
                self.kept.clear();
                self.kept.extend_from_slice(&bytes[bytes.len() - limit..]);
            }
            Some(limit) => {
                self.kept.extend_from_slice(bytes);
                if self.kept.len() > 2 * limit {
                    self.trim(limit);
                }
            }
            None => self.kept.extend_from_slice(bytes),
        }
    }

    fn trim(&mut self, limit: usize) {
        let cut = self.kept.len().saturating_sub(limit);
        self.kept.drain(..cut);
        self.dropped += cut as u64;
    }

    /// Every byte still held: the tail and possibly up to `limit` bytes before it, for a
    /// reader that edits what it appended last (cuts a marker out of it). The count of bytes
    /// left out follows such edits.
    pub fn held_mut(&mut self) -> &mut Vec<u8> {
        &mut self.kept
    }

    /// The last `limit` bytes appended (everything without a limit).
    pub fn tail(&self) -> &[u8] {
        let start = self
            .limit
            .map_or(0, |limit| self.kept.len().saturating_sub(limit));
        &self.kept[start..]
    }

    /// How many bytes were appended and are not in [`tail`](TailBuffer::tail).
    pub fn left_out(&self) -> u64 {
        self.dropped + (self.kept.len() - self.tail().len()) as u64
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.dropped == 0
    }

    /// The tail, owned.
    pub fn into_tail(mut self) -> Vec<u8> {
        if let Some(limit) = self.limit {
            self.trim(limit);
        }
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_whatever_the_pieces() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        for piece in [1, 7, 99, 100, 101, 4096, 50_000] {
            let mut buffer = TailBuffer::new(Some(100));
            for chunk in data.chunks(piece) {
                buffer.push(chunk);
                assert!(buffer.kept.len() <= 200, "bounded at twice the limit");
            }
            assert_eq!(
                buffer.tail(),
                &data[data.len() - 100..],
                "pieces of {piece}"
            );
            assert_eq!(buffer.left_out(), 49_900);
            assert_eq!(buffer.into_tail(), &data[data.len() - 100..]);
        }
    }

    #[test]
    fn without_a_limit_or_under_it_everything_is_kept() {
        let mut all = TailBuffer::new(None);
        let mut small = TailBuffer::new(Some(10));
        assert!(all.is_empty() && small.is_empty());
        for chunk in [&b"abc"[..], b"de", b""] {
            all.push(chunk);
            small.push(chunk);
        }
        assert_eq!(all.tail(), b"abcde");
        assert_eq!(small.tail(), b"abcde");
        assert_eq!(small.left_out(), 0);
        assert!(!small.is_empty());
        assert_eq!(all.into_tail(), b"abcde");
    }
}
