//! The providers of one run: each provider is created once, on the first prompt node that
//! needs it, from the environment the run was given, then shared by every prompt node of the
//! run (sub-workflows included) and by its retries. A provider owns one HTTP client, whose
//! connection pool keeps connections alive between calls, so a run pays one TCP and TLS
//! handshake per concurrent call to an endpoint rather than one per call.
//!
//! The environment is fixed for the run, so a provider prefix (`anthropic`, `openai`) names
//! exactly one endpoint, key and settings: the prefix is the cache key.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::Provider;
use super::error::ProviderError;
use super::registry::{resolve_with_env, split_model_id};

/// How a run reads provider variables (`ANTHROPIC_API_KEY`, `OPENAI_BASE_URL`...).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The providers of one run, created on first use; cheap to clone (clones share them).
#[derive(Clone)]
pub struct ProviderClients {
    env: EnvLookup,
    created: Arc<Mutex<HashMap<String, Arc<dyn Provider>>>>,
}

impl Default for ProviderClients {
    /// Providers without any variable set (a run passes its resolved environment to
    /// [`ProviderClients::new`]; nothing reads the process environment while nodes run).
    fn default() -> Self {
        ProviderClients::new(Arc::new(|_: &str| None))
    }
}

impl fmt::Debug for ProviderClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<&String> = created.keys().collect();
        names.sort();
        f.debug_struct("ProviderClients")
            .field("created", &names)
            .finish()
    }
}

impl ProviderClients {
    /// Providers configured through `env`.
    pub fn new(env: EnvLookup) -> Self {
        ProviderClients {
            env,
            created: Arc::default(),
        }
    }

    /// The environment the providers are configured from.
    pub fn env(&self) -> EnvLookup {
        Arc::clone(&self.env)
    }

    /// The provider for `model_id` and the model name without its prefix: the run's shared
    /// provider when one was created for that prefix, else a new one, kept for the next
    /// call. A configuration error (missing key, bad URL) is returned and nothing is kept.
    pub fn resolve(&self, model_id: &str) -> Result<(Arc<dyn Provider>, String), ProviderError> {
        let (prefix, model) = split_model_id(model_id)?;
        // Held while creating, so that concurrent first calls share one client.
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(provider) = created.get(prefix) {
            return Ok((Arc::clone(provider), model.to_string()));
        }
        let (provider, _) = resolve_with_env(model_id, &*self.env)?;
        let provider: Arc<dyn Provider> = Arc::from(provider);
        created.insert(prefix.to_string(), Arc::clone(&provider));
        Ok((provider, model.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::providers::CompletionRequest;
    use crate::providers::test_server::{FakeLlm, FakeReply};

    fn clients_for(fake: &FakeLlm) -> ProviderClients {
        let env: HashMap<String, String> = fake.env().into_iter().collect();
        ProviderClients::new(Arc::new(move |name: &str| env.get(name).cloned()))
    }

    fn ask(clients: &ProviderClients, model_id: &str, prompt: &str) -> Vec<u32> {
        let (provider, model) = clients.resolve(model_id).unwrap();
        let request = CompletionRequest {
            model: &model,
            prompt,
            temperature: None,
            max_tokens: None,
            json_schema: None,
        };
        let mut retries = Vec::new();
        provider
            .complete(&request, &mut |notice| retries.push(notice.attempt))
            .unwrap();
        retries
    }

    #[test]
    fn one_provider_per_prefix_and_one_connection_for_sequential_calls() {
        let fake = FakeLlm::start();
        let clients = clients_for(&fake);
        let (first, _) = clients.resolve("anthropic/claude-a").unwrap();
        let (second, model) = clients.resolve("anthropic/claude-b").unwrap();
        assert!(Arc::ptr_eq(&first, &second), "one provider per prefix");
        assert_eq!(model, "claude-b");
        for i in 0..5 {
            assert!(ask(&clients, "anthropic/claude-a", &format!("call {i}")).is_empty());
        }
        assert_eq!(fake.requests().len(), 5);
        assert_eq!(fake.connections(), 1, "kept alive between calls");
        // Another provider is another endpoint: its own client.
        ask(&clients, "openai/local", "hi");
        assert_eq!(fake.connections(), 2);
    }

    #[test]
    fn retries_reuse_the_connection() {
        let fake = FakeLlm::start();
        fake.push_status(500)
            .push_status(429)
            .push_reply(FakeReply::text("ok"));
        let clients = clients_for(&fake);
        assert_eq!(ask(&clients, "openai/local", "hi"), [1, 2]);
        assert_eq!(fake.requests().len(), 3);
        assert_eq!(fake.connections(), 1);
    }

    #[test]
    fn a_connection_closed_by_the_server_while_idle_is_replaced() {
        let fake = FakeLlm::start();
        fake.close_idle_after(Duration::from_millis(30));
        let clients = clients_for(&fake);
        assert!(ask(&clients, "anthropic/claude-a", "one").is_empty());
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            ask(&clients, "anthropic/claude-a", "two").is_empty(),
            "a fresh connection, no failed attempt"
        );
        assert_eq!(fake.connections(), 2);
    }

    #[test]
    fn configuration_errors_are_not_kept() {
        let clients = ProviderClients::new(Arc::new(|_: &str| None));
        let error = clients.resolve("anthropic/claude-a").err().unwrap();
        assert!(error.message.contains("ANTHROPIC_API_KEY"), "{error}");
        assert!(clients.resolve("gemini/x").is_err());
        assert_eq!(format!("{clients:?}"), "ProviderClients { created: [] }");
    }
}
