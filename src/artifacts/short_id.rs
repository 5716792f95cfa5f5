//! Run ids as listings show them: the shortest prefix (8 characters at least) that no other
//! id starts with, which `--resume` and `--run` accept (`project runs`, the by-run table of
//! `telemetry stats`).

/// The shortest prefix of `id` (at least 8 characters) that no other of `ids` starts with.
pub fn unique_prefix<'a>(id: &'a str, ids: impl Iterator<Item = &'a str> + Clone) -> &'a str {
    let mut cut = id.char_indices().nth(8).map_or(id.len(), |(i, _)| i);
    while cut < id.len()
        && ids
            .clone()
            .any(|other| other != id && other.starts_with(&id[..cut]))
    {
        cut = id[cut..]
            .chars()
            .next()
            .map_or(id.len(), |c| cut + c.len_utf8());
    }
    &id[..cut]
}

#[cfg(test)]
mod tests {
    use super::unique_prefix;

    #[test]
    fn prefixes_are_unique_and_at_least_eight_long() {
        let ids = ["abcdefgh1", "abcdefgh2", "zz", "qwertyuiop"];
        assert_eq!(unique_prefix("abcdefgh1", ids.iter().copied()), "abcdefgh1");
        assert_eq!(unique_prefix("zz", ids.iter().copied()), "zz");
        assert_eq!(unique_prefix("qwertyuiop", ids.iter().copied()), "qwertyui");
    }
}
