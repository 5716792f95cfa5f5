//! When a `--run` id names no run: the closest known ids (by similarity), so a typo is
//! easy to fix.

use super::RunIdError;

/// Up to `n` of `ids`, most similar to `query` first.
pub fn closest_ids(query: &str, ids: &[String], n: usize) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = ids
        .iter()
        .map(|id| {
            let prefix = id
                .chars()
                .zip(query.chars())
                .take_while(|(a, b)| a == b)
                .count() as f64;
            (strsim::jaro_winkler(query, id) + prefix, id)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(n)
        .map(|(_, id)| id.clone())
        .collect()
}

/// The message for a `--run` that names no single run, with the closest ids of `ids`.
pub fn run_id_message(error: &RunIdError, ids: &[String]) -> String {
    match error {
        RunIdError::NotFound(query) if !ids.is_empty() => format!(
            "--run {query}: no run id is or starts with it; the closest are: {}",
            closest_ids(query, ids, 5).join(", ")
        ),
        other => format!("--run: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_list_the_closest_ids_first() {
        let ids: Vec<String> = ["abc123", "abd456", "zzz999"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest_ids("abx123", &ids, 2), ["abc123", "abd456"]);
        let message = run_id_message(&RunIdError::NotFound("abx123".into()), &ids);
        assert!(
            message.contains("the closest are: abc123, abd456, zzz999"),
            "{message}"
        );
    }
}
