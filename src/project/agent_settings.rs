//! The agent-node settings checked when the manifest is read: the `permission_mode`
//! values the Claude CLI accepts and the `model:` handed to it (`anthropic/NAME` or a bare
//! Claude model name or alias); and `bypassPermissions` under root, which the CLI refuses,
//! checked before a real run only (validate, graph and `--dry-run` start no agent).

/// The values of `permission_mode` the Claude CLI accepts (`--permission-mode`).
pub const PERMISSION_MODES: [&str; 7] = [
    "acceptEdits",
    "auto",
    "bypassPermissions",
    "default",
    "dontAsk",
    "manual",
    "plan",
];

/// Why agent `id`'s `permission_mode` cannot work, if it is not a mode the CLI knows.
pub fn permission_mode_problem(id: &str, mode: &str) -> Option<String> {
    (!PERMISSION_MODES.contains(&mode)).then(|| {
        format!(
            "Agent node '{id}' has invalid permission_mode '{mode}'. Must be one of: {} \
             (the Claude CLI's --permission-mode values; default acceptEdits).",
            PERMISSION_MODES.join(", ")
        )
    })
}

/// Why agent `id` cannot start for real: `bypassPermissions` while running as root (the CLI
/// refuses `--dangerously-skip-permissions` under root, so the agent would fail). Only a
/// real run asks: the project still loads, validates, draws and dry-runs.
pub fn root_refusal(id: &str, mode: &str, running_as_root: bool) -> Option<String> {
    if mode == "bypassPermissions" && running_as_root {
        return Some(format!(
            "Agent node '{id}' uses permission_mode 'bypassPermissions', which the Claude CLI \
             refuses when run as root (\"--dangerously-skip-permissions cannot be used with \
             root/sudo privileges\"). Run trident as a normal user, or use `permission_mode: \
             acceptEdits` with `allowed_tools:` listing what the agent may run."
        ));
    }
    None
}

/// Whether this process runs as root (effective user id 0).
pub fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    false
}

/// The `--model` value for a `model:` setting: `anthropic/NAME` gives `NAME`, a name
/// without a provider is used as is (`sonnet`, `claude-sonnet-4-5`); another provider is an
/// error (the Claude CLI only talks to Anthropic models).
pub fn cli_model(model: &str) -> Result<String, String> {
    let model = model.trim();
    match model.split_once('/') {
        None if !model.is_empty() => Ok(model.to_string()),
        Some(("anthropic", name)) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(format!(
            "model '{model}' cannot run an agent: the Claude CLI uses Anthropic models; write \
             `anthropic/<model>` (e.g. anthropic/claude-sonnet-4-5) or an alias such as \
             `sonnet`."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_modes() {
        for mode in PERMISSION_MODES {
            assert_eq!(permission_mode_problem("w", mode), None);
        }
        let bad = permission_mode_problem("w", "acceptAll").unwrap();
        assert!(
            bad.contains("'acceptAll'") && bad.contains("acceptEdits, auto"),
            "{bad}"
        );
        let root = root_refusal("w", "bypassPermissions", true).unwrap();
        assert!(
            root.contains("root") && root.contains("acceptEdits"),
            "{root}"
        );
        assert_eq!(root_refusal("w", "bypassPermissions", false), None);
        assert_eq!(root_refusal("w", "acceptEdits", true), None);
    }

    #[test]
    fn models() {
        assert_eq!(
            cli_model("anthropic/claude-sonnet-4-5").unwrap(),
            "claude-sonnet-4-5"
        );
        assert_eq!(cli_model("sonnet").unwrap(), "sonnet");
        assert!(
            cli_model("openai/gpt-4o")
                .unwrap_err()
                .contains("openai/gpt-4o")
        );
        assert!(cli_model("anthropic/").is_err());
        assert!(cli_model("").is_err());
    }
}
