//! The manifest's `pricing:` section: `provider/model: {input, output, cache_read,
//! cache_write}` in USD per million tokens, overriding or extending the built-in table.
//! `cache_read` and `cache_write` default to `input`. A negative, non-numeric or unknown
//! price key is refused with a message naming the entry.

use std::collections::HashMap;

use serde_json::Value;

use super::Price;

/// Parse a `pricing:` value (already converted from YAML). Errors name the entry and say
/// what to write instead.
pub fn parse_pricing(section: &Value) -> Result<HashMap<String, Price>, String> {
    let entries = match section {
        Value::Null => return Ok(HashMap::new()),
        Value::Object(entries) => entries,
        _ => {
            return Err(
                "'pricing' must be a mapping of `provider/model: {input: USD, output: USD}` \
                 (USD per million tokens)"
                    .into(),
            );
        }
    };
    let mut prices = HashMap::new();
    for (model, spec) in entries {
        let Value::Object(fields) = spec else {
            return Err(format!(
                "pricing entry '{model}' must be a mapping like `{{input: 3.0, output: 15.0}}` \
                 (USD per million tokens)"
            ));
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            match fields.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
                    _ => Err(format!(
                        "pricing entry '{model}': '{key}' is {n}; a price must be a number >= 0 \
                         (USD per million tokens)"
                    )),
                },
                Some(other) => Err(format!(
                    "pricing entry '{model}': '{key}' is {other}, not a number; write a price \
                     in USD per million tokens, e.g. `{key}: 3.0`"
                )),
            }
        };
        for key in fields.keys() {
            if !["input", "output", "cache_read", "cache_write"].contains(&key.as_str()) {
                return Err(format!(
                    "pricing entry '{model}': unknown key '{key}' (known: input, output, \
                     cache_read, cache_write)"
                ));
            }
        }
        let (Some(input), Some(output)) = (number("input")?, number("output")?) else {
            return Err(format!(
                "pricing entry '{model}' needs both `input` and `output` prices (USD per \
                 million tokens)"
            ));
        };
        let price = Price {
            input,
            output,
            cache_read: number("cache_read")?.unwrap_or(input),
            cache_write: number("cache_write")?.unwrap_or(input),
        };
        prices.insert(model.clone(), price);
    }
    Ok(prices)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_parse_with_cache_prices_defaulting_to_input() {
        let prices = parse_pricing(&json!({
            "anthropic/claude-sonnet-4-20250514":
                {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75},
            "openai/my-local-model": {"input": 0, "output": 0},
        }))
        .unwrap();
        assert_eq!(
            prices["anthropic/claude-sonnet-4-20250514"].cache_write,
            3.75
        );
        let local = prices["openai/my-local-model"];
        assert_eq!(
            (local.input, local.cache_read, local.cache_write),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        for (bad, fragment) in [
            (
                json!({"openai/x": {"input": -1, "output": 2}}),
                "'input' is -1",
            ),
            (
                json!({"openai/x": {"input": "cheap", "output": 2}}),
                "not a number",
            ),
            (json!({"openai/x": {"input": 1}}), "needs both"),
            (
                json!({"openai/x": {"input": 1, "output": 2, "cahce_read": 1}}),
                "cahce_read",
            ),
            (json!({"openai/x": 3}), "must be a mapping"),
            (json!([1]), "'pricing' must be a mapping"),
        ] {
            let err = parse_pricing(&bad).unwrap_err();
            assert!(err.contains(fragment), "{err}");
            if bad.is_object() && bad.as_object().unwrap().contains_key("openai/x") {
                assert!(err.contains("'openai/x'"), "{err}");
            }
        }
    }
}
