//! What a model call costs: prices in USD per million tokens ([`Price`]), the built-in table
//! for current Anthropic and OpenAI models (`builtin.rs`, dated [`PRICE_TABLE_DATE`]), the
//! manifest's `pricing:` overrides (`manifest.rs`), and the arithmetic from a call's token
//! counts ([`TokenUsage`]) to dollars.
//!
//! A model without a price has no cost (`None`), never a silent 0: the engine records
//! `cost_usd: null` and reports `price_unknown` once per model.

mod builtin;
mod manifest;

pub use builtin::{BUILTIN_PRICES, PRICE_TABLE_DATE};
pub use manifest::parse_pricing;

use std::collections::HashMap;

/// The price of a model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Input tokens read from the prompt cache.
    pub cache_read: f64,
    /// Input tokens written to the prompt cache.
    pub cache_write: f64,
}

/// The tokens of one model call, split by how they are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    /// Input tokens billed at the input price (cache reads and writes excluded).
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write: u64,
}

impl Price {
    /// The cost of `usage` at this price, in USD.
    pub fn cost(&self, usage: &TokenUsage) -> f64 {
        (usage.input as f64 * self.input
            + usage.output as f64 * self.output
            + usage.cache_read as f64 * self.cache_read
            + usage.cache_write as f64 * self.cache_write)
            / 1_000_000.0
    }
}

/// The prices a run uses: the manifest's `pricing:` entries over the built-in table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    /// `provider/model` → price, from the manifest.
    overrides: HashMap<String, Price>,
}

impl PriceTable {
    /// The built-in table with `overrides` (from the manifest) taking precedence.
    pub fn with_overrides(overrides: HashMap<String, Price>) -> PriceTable {
        PriceTable { overrides }
    }

    /// The price of `model` (`provider/model-name`), if known. A dated model id
    /// (`claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`) falls back to its undated name,
    /// and `-latest` is ignored.
    pub fn price(&self, model: &str) -> Option<Price> {
        let lookup = |id: &str| {
            self.overrides.get(id).copied().or_else(|| {
                BUILTIN_PRICES
                    .iter()
                    .find(|(name, _)| *name == id)
                    .map(|(_, p)| *p)
            })
        };
        lookup(model)
            .or_else(|| undated(model).and_then(|m| lookup(&m)))
            .or_else(|| model.strip_suffix("-latest").and_then(lookup))
    }

    /// The cost of `usage` on `model`, `None` when the model has no price.
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> Option<f64> {
        self.price(model).map(|p| p.cost(usage))
    }
}

/// `model` without a trailing date (`-20250929` or `-2024-08-06`), if it has one.
fn undated(model: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (head, last) = model.rsplit_once('-')?;
    if last.len() == 8 && digits(last) {
        return Some(head.to_string());
    }
    // ISO date: three dash-separated parts at the end.
    let (head, day) = (head, last);
    let (head, month) = head.rsplit_once('-')?;
    let (head, year) = head.rsplit_once('-')?;
    (year.len() == 4 && month.len() == 2 && day.len() == 2)
        .then_some(())
        .filter(|_| digits(year) && digits(month) && digits(day))
        .map(|_| head.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_adds_every_kind_of_token_at_its_price() {
        let price = Price {
            input: 3.0,
            output: 15.0,
            cache_read: 0.3,
            cache_write: 3.75,
        };
        let usage = TokenUsage {
            input: 1000,
            output: 500,
            cache_read: 2000,
            cache_write: 400,
        };
        // (1000*3 + 500*15 + 2000*0.3 + 400*3.75) / 1e6
        let expected = (3000.0 + 7500.0 + 600.0 + 1500.0) / 1e6;
        assert!((price.cost(&usage) - expected).abs() < 1e-12);
    }

    #[test]
    fn dated_and_latest_ids_fall_back_to_the_model_name() {
        let table = PriceTable::default();
        let sonnet = table.price("anthropic/claude-sonnet-4-5").unwrap();
        assert_eq!(
            table.price("anthropic/claude-sonnet-4-5-20250929"),
            Some(sonnet)
        );
        assert_eq!(
            table.price("anthropic/claude-sonnet-4-5-latest"),
            Some(sonnet)
        );
        let mini = table.price("openai/gpt-4o-mini").unwrap();
        assert_eq!(table.price("openai/gpt-4o-mini-2024-07-18"), Some(mini));
        assert_eq!(table.price("openai/no-such-model"), None);
        assert_eq!(table.price("anthropic/gpt-4o"), None);
        assert_eq!(undated("llama3.1"), None);
    }

    #[test]
    fn overrides_win_over_the_builtin_table() {
        let mut overrides = HashMap::new();
        let free = Price {
            input: 0.0,
            output: 0.0,
            cache_read: 0.0,
            cache_write: 0.0,
        };
        overrides.insert("anthropic/claude-sonnet-4-20250514".to_string(), free);
        overrides.insert("openai/my-local-model".to_string(), free);
        let table = PriceTable::with_overrides(overrides);
        assert_eq!(
            table.price("anthropic/claude-sonnet-4-20250514"),
            Some(free)
        );
        assert_eq!(table.price("openai/my-local-model"), Some(free));
        assert_ne!(table.price("anthropic/claude-sonnet-4"), Some(free));
    }

    #[test]
    fn every_builtin_price_is_sane() {
        for (name, p) in BUILTIN_PRICES {
            assert!(
                name.starts_with("anthropic/") || name.starts_with("openai/"),
                "{name}"
            );
            for v in [p.input, p.output, p.cache_read, p.cache_write] {
                assert!(v.is_finite() && v >= 0.0, "{name}");
            }
            assert!(p.output >= p.input && p.cache_read <= p.input, "{name}");
        }
    }
}
