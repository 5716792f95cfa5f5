//! The built-in price table: current Anthropic and OpenAI models, USD per million tokens,
//! from the providers' published price lists as of [`PRICE_TABLE_DATE`].
//!
//! Anthropic `cache_write` is the 5-minute cache write price (1.25 × input); OpenAI bills
//! no cache writes (cached input is reported as `cached_tokens` and priced as
//! `cache_read`), so its `cache_write` is the input price. Undated names cover their dated
//! snapshots (see `PriceTable::price`). A manifest's `pricing:` overrides or extends this.

use super::Price;

/// When the prices below were taken from the providers' price lists.
pub const PRICE_TABLE_DATE: &str = "2025-11-24";

const fn p(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Price {
    Price {
        input,
        output,
        cache_read,
        cache_write,
    }
}

/// `provider/model` → price (USD per million tokens).
pub const BUILTIN_PRICES: &[(&str, Price)] = &[
    // Anthropic: input, output, cache read (0.1 × input), cache write (1.25 × input).
    ("anthropic/claude-opus-4-5", p(5.0, 25.0, 0.5, 6.25)),
    ("anthropic/claude-opus-4-1", p(15.0, 75.0, 1.5, 18.75)),
    ("anthropic/claude-opus-4", p(15.0, 75.0, 1.5, 18.75)),
    ("anthropic/claude-sonnet-4-5", p(3.0, 15.0, 0.3, 3.75)),
    ("anthropic/claude-sonnet-4", p(3.0, 15.0, 0.3, 3.75)),
    ("anthropic/claude-3-7-sonnet", p(3.0, 15.0, 0.3, 3.75)),
    ("anthropic/claude-3-5-sonnet", p(3.0, 15.0, 0.3, 3.75)),
    ("anthropic/claude-haiku-4-5", p(1.0, 5.0, 0.1, 1.25)),
    ("anthropic/claude-3-5-haiku", p(0.8, 4.0, 0.08, 1.0)),
    ("anthropic/claude-3-haiku", p(0.25, 1.25, 0.03, 0.3)),
    ("anthropic/claude-3-opus", p(15.0, 75.0, 1.5, 18.75)),
    // OpenAI: input, output, cached input, (no cache write surcharge: input).
    ("openai/gpt-5", p(1.25, 10.0, 0.125, 1.25)),
    ("openai/gpt-5-mini", p(0.25, 2.0, 0.025, 0.25)),
    ("openai/gpt-5-nano", p(0.05, 0.4, 0.005, 0.05)),
    ("openai/gpt-4.1", p(2.0, 8.0, 0.5, 2.0)),
    ("openai/gpt-4.1-mini", p(0.4, 1.6, 0.1, 0.4)),
    ("openai/gpt-4.1-nano", p(0.1, 0.4, 0.025, 0.1)),
    ("openai/gpt-4o", p(2.5, 10.0, 1.25, 2.5)),
    ("openai/gpt-4o-mini", p(0.15, 0.6, 0.075, 0.15)),
    ("openai/o1", p(15.0, 60.0, 7.5, 15.0)),
    ("openai/o3", p(2.0, 8.0, 0.5, 2.0)),
    ("openai/o3-mini", p(1.1, 4.4, 0.55, 1.1)),
    ("openai/o4-mini", p(1.1, 4.4, 0.275, 1.1)),
    ("openai/gpt-4-turbo", p(10.0, 30.0, 10.0, 10.0)),
    ("openai/gpt-3.5-turbo", p(0.5, 1.5, 0.5, 0.5)),
];
