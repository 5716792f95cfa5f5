//! What a tool printed for people (shell stderr, a python tool's prints) passed through to
//! trident's stderr after a successful call, in one piece so concurrent tools do not mix;
//! when only its end was kept (see [`crate::tail_buffer`]), one line says how much is left
//! out first.

use crate::output_limit::OutputLimit;

/// The line put before a kept tail, when `left_out` bytes came before it.
pub fn left_out_note(tool_id: &str, left_out: u64, limit: OutputLimit) -> Option<String> {
    (left_out > 0).then(|| {
        format!(
            "[trident: the first {left_out} bytes tool '{tool_id}' printed are left out; \
             only the last {} are kept]\n",
            limit.describe()
        )
    })
}

/// Writes `tail` (and the note about what came before it) to stderr in one piece.
pub fn pass_to_stderr(tool_id: &str, tail: &[u8], left_out: u64, limit: OutputLimit) {
    if tail.is_empty() && left_out == 0 {
        return;
    }
    let note = left_out_note(tool_id, left_out, limit).unwrap_or_default();
    eprint!("{note}{}", String::from_utf8_lossy(tail));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_how_much_is_left_out_and_which_setting_keeps_the_rest() {
        assert_eq!(left_out_note("t", 0, OutputLimit::default()), None);
        let note = left_out_note("t", 1234, OutputLimit::new(4096)).unwrap();
        assert!(
            note.contains("first 1234 bytes tool 't' printed")
                && note.contains("last 4KB (TRIDENT_MAX_OUTPUT_SIZE)"),
            "{note}"
        );
    }
}
