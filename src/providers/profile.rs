//! The fixed facts about each provider that requests and error messages need: its model-id
//! prefix, its display name, and the environment variables a user sets to configure it.

/// Names and environment variables of one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderProfile {
    /// The model-id prefix (`anthropic` in `anthropic/claude-...`).
    pub name: &'static str,
    /// How messages name the API.
    pub label: &'static str,
    /// The variable holding the API key.
    pub api_key_var: &'static str,
    /// The variable overriding the base URL.
    pub base_url_var: &'static str,
    /// The base URL used when the variable is unset.
    pub default_base_url: &'static str,
}

/// The Anthropic Messages API.
pub const ANTHROPIC: ProviderProfile = ProviderProfile {
    name: "anthropic",
    label: "Anthropic",
    api_key_var: "ANTHROPIC_API_KEY",
    base_url_var: "ANTHROPIC_BASE_URL",
    default_base_url: "https://api.anthropic.com",
};

/// OpenAI Chat Completions, or any OpenAI-compatible server.
pub const OPENAI: ProviderProfile = ProviderProfile {
    name: "openai",
    label: "OpenAI",
    api_key_var: "OPENAI_API_KEY",
    base_url_var: "OPENAI_BASE_URL",
    default_base_url: "https://api.openai.com/v1",
};
