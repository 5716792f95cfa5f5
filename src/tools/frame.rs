//! The framing of the python worker protocol: each message is a 4-byte big-endian length
//! followed by that many bytes of UTF-8 JSON. [`encode`] builds one frame; [`FrameReader`]
//! collects bytes as they arrive and yields whole messages, refusing a message longer than
//! its limit as soon as its length arrives (before its bytes are held).

/// Largest message accepted (a bigger length means the channel is corrupt).
pub const MAX_FRAME: usize = 1 << 30;

/// One frame holding `payload`.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 4);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Reassembles frames from the bytes of a stream.
#[derive(Debug)]
pub struct FrameReader {
    buffer: Vec<u8>,
    start: usize,
    /// Longest message accepted.
    limit: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::with_limit(MAX_FRAME)
    }
}

impl FrameReader {
    /// A reader accepting messages of at most `limit` bytes (and never over `MAX_FRAME`).
    pub fn with_limit(limit: usize) -> FrameReader {
        FrameReader {
            buffer: Vec::new(),
            start: 0,
            limit: limit.min(MAX_FRAME),
        }
    }

    /// Changes the longest message accepted (at most `MAX_FRAME`).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_FRAME);
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, if one has arrived; `Err` with the announced length when it is
    /// over the limit.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, usize> {
        let available = &self.buffer[self.start..];
        let Some(header) = available.get(..4) else {
            return Ok(None);
        };
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if length > self.limit {
            return Err(length);
        }
        let Some(payload) = available.get(4..4 + length) else {
            return Ok(None);
        };
        let message = payload.to_vec();
        self.start += 4 + length;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        Ok(Some(message))
    }

    /// Whether part of a message is still missing.
    #[cfg(test)]
    pub fn has_partial(&self) -> bool {
        self.start < self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_and_joined_arbitrarily_come_out_whole() {
        let mut stream = encode(b"{\"a\":1}");
        stream.extend(encode(b""));
        stream.extend(encode("é".repeat(5000).as_bytes()));
        for chunk_size in [1, 3, 7, 4096, stream.len()] {
            let mut reader = FrameReader::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(chunk_size) {
                reader.push(chunk);
                while let Some(message) = reader.next_message().unwrap() {
                    got.push(message);
                }
            }
            assert_eq!(got.len(), 3, "chunks of {chunk_size}");
            assert_eq!(got[0], b"{\"a\":1}");
            assert!(got[1].is_empty());
            assert_eq!(got[2], "é".repeat(5000).as_bytes());
            assert!(!reader.has_partial());
        }
    }

    #[test]
    fn oversized_length_is_refused() {
        let mut reader = FrameReader::default();
        reader.push(&u32::MAX.to_be_bytes());
        assert_eq!(reader.next_message(), Err(u32::MAX as usize));
    }

    #[test]
    fn a_message_over_the_limit_is_refused_from_its_length_alone() {
        let mut reader = FrameReader::with_limit(10);
        reader.push(&encode(b"0123456789"));
        assert_eq!(reader.next_message().unwrap().unwrap(), b"0123456789");
        // Only the header of an 11-byte message: refused before its bytes come.
        reader.push(&11u32.to_be_bytes());
        assert_eq!(reader.next_message(), Err(11));
    }
}
