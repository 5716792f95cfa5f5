//! The Claude CLI invocation of an agent node: program, arguments, working folder,
//! environment, and whether the prompt goes on the command line or on stdin.
//!
//! `claude -p PROMPT --output-format stream-json --verbose --include-partial-messages` then,
//! when they apply, `--model MODEL` (the node's or the prompt's `model:`), `--json-schema
//! SCHEMA` (json prompts), `--max-turns N`, `--permission-mode MODE`, `--allowedTools A,B`,
//! `--resume SESSION` and `--mcp-config FILE`. The prompt comes right after `-p` because
//! several later options take a variable number of values. Partial messages are asked for
//! because only they carry each response's final token count (`message_delta`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

use super::env::AgentEnv;
use super::error::AgentError;
use super::mcp::{McpConfigFile, mcp_config};
use crate::project::agent_settings::cli_model;
use crate::project::{AgentNode, OutputFormat, PromptFile};

/// Prompts longer than this (in bytes) are sent on stdin: Linux refuses a single argument
/// over 128 KiB, and a rendered prompt carrying whole documents can be that long.
pub const MAX_PROMPT_ARG: usize = 100 * 1024;

/// Everything needed to start the CLI for one agent run.
#[derive(Debug)]
pub struct AgentCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The prompt, when it is written to the CLI's stdin instead of being an argument.
    pub stdin_prompt: Option<String>,
    pub cwd: PathBuf,
    /// Keeps the `--mcp-config` file alive for the run; it is removed on drop.
    pub mcp_file: Option<McpConfigFile>,
}

/// What to run for this agent node.
pub struct CommandSpec<'a> {
    pub program: PathBuf,
    pub node_id: &'a str,
    pub node: &'a AgentNode,
    pub prompt: &'a PromptFile,
    /// The prompt body rendered with the node's inputs.
    pub rendered_prompt: String,
    pub project_root: &'a Path,
    pub resume_session: Option<&'a str>,
}

/// Builds the invocation. Fails when `cwd` is not a folder or the MCP file cannot be written.
pub fn build_command(spec: CommandSpec<'_>, env: &AgentEnv) -> Result<AgentCommand, AgentError> {
    let CommandSpec {
        program,
        node_id,
        node,
        prompt,
        rendered_prompt,
        project_root,
        resume_session,
    } = spec;
    let cwd = working_dir(node_id, node, project_root)?;

    let mut args = vec!["-p".to_string()];
    // A prompt starting with `-` would be read as an option; a huge one cannot be an argument.
    let stdin_prompt = if rendered_prompt.starts_with('-') || rendered_prompt.len() > MAX_PROMPT_ARG
    {
        Some(rendered_prompt)
    } else {
        args.push(rendered_prompt);
        None
    };
    args.extend(
        [
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
        ]
        .map(String::from),
    );
    if let Some(model) = cli_model_of(node_id, node, prompt)? {
        args.push("--model".into());
        args.push(model);
    }
    if prompt.output_format == OutputFormat::Json {
        args.push("--json-schema".into());
        args.push(json_schema(prompt).to_string());
    }
    if node.max_turns > 0 {
        args.push("--max-turns".into());
        args.push(node.max_turns.to_string());
    }
    if !node.permission_mode.is_empty() {
        args.push("--permission-mode".into());
        args.push(node.permission_mode.clone());
    }
    if !node.allowed_tools.is_empty() {
        args.push("--allowedTools".into());
        args.push(node.allowed_tools.join(","));
    }
    if let Some(session) = resume_session.filter(|s| !s.is_empty()) {
        args.push("--resume".into());
        args.push(session.to_string());
    }
    let mcp_file = if node.mcp_servers.is_empty() {
        None
    } else {
        let file = McpConfigFile::create(&mcp_config(&node.mcp_servers, env), env, node_id)?;
        args.push("--mcp-config".into());
        args.push(file.path().display().to_string());
        Some(file)
    };
    Ok(AgentCommand {
        program,
        args,
        stdin_prompt,
        cwd,
        mcp_file,
    })
}

impl AgentCommand {
    /// The process to spawn (stdio is set up by the caller): our environment without
    /// `ANTHROPIC_API_KEY` (unless the node sets `pass_api_key: true`), in the node's
    /// working folder.
    pub fn to_command(&self, env: &AgentEnv, pass_api_key: bool) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(env.child_vars(pass_api_key));
        command
    }
}

/// The `--model` of the run: the node's `model:`, else the prompt's (`anthropic/NAME` gives
/// `NAME`); none lets the CLI use its own default.
fn cli_model_of(
    node_id: &str,
    node: &AgentNode,
    prompt: &PromptFile,
) -> Result<Option<String>, AgentError> {
    let Some(model) = node.model.as_deref().or(prompt.model.as_deref()) else {
        return Ok(None);
    };
    cli_model(model).map(Some).map_err(|problem| {
        let source = if node.model.is_some() {
            "the node's `model:`".to_string()
        } else {
            format!("`model:` in {}", prompt.path.display())
        };
        AgentError::cli(format!("Agent '{node_id}': {source}: {problem}"))
    })
}

/// The node's `cwd` (relative to the project root; default: the project root).
fn working_dir(
    node_id: &str,
    node: &AgentNode,
    project_root: &Path,
) -> Result<PathBuf, AgentError> {
    let dir = match node.cwd.as_deref().filter(|c| !c.is_empty()) {
        Some(cwd) => project_root.join(cwd),
        None => project_root.to_path_buf(),
    };
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(AgentError::cli(format!(
            "Agent '{node_id}': working directory {} does not exist or is not a folder; fix \
             `cwd:` on the node (it is relative to the project root).",
            dir.display()
        )))
    }
}

/// The `--json-schema` of a json prompt: an object whose declared output fields are all
/// required, each typed from the prompt's field type (unknown types become `string`, as in
/// the original); with no declared fields, any object.
pub fn json_schema(prompt: &PromptFile) -> Value {
    if prompt.output_fields.is_empty() {
        return json!({"type": "object", "description": "JSON response from agent"});
    }
    let mut properties = Map::new();
    for (name, field) in &prompt.output_fields {
        let json_type = schema_type(&field.field_type).unwrap_or("string");
        properties.insert(
            name.clone(),
            json!({"type": json_type, "description": field.description}),
        );
    }
    let required: Vec<&String> = prompt.output_fields.keys().collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// The JSON Schema type of a Trident field type (`str`, `int`, `list`... or the JSON Schema
/// name itself); `None` when unknown.
pub fn schema_type(field_type: &str) -> Option<&'static str> {
    Some(match field_type.to_ascii_lowercase().as_str() {
        "str" | "string" => "string",
        "int" | "integer" => "integer",
        "float" | "number" => "number",
        "bool" | "boolean" => "boolean",
        "list" | "array" => "array",
        "dict" | "object" => "object",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::project::{McpServer, SchemaField};
    use indexmap::IndexMap;

    pub(crate) fn agent_node(id: &str) -> AgentNode {
        AgentNode {
            id: id.into(),
            prompt_path: format!("prompts/{id}.prompt"),
            allowed_tools: Vec::new(),
            mcp_servers: IndexMap::new(),
            max_turns: 50,
            permission_mode: "acceptEdits".into(),
            cwd: None,
            execution_mode: "cli".into(),
            timeout_secs: None,
            model: None,
            pass_api_key: false,
        }
    }

    pub(crate) fn prompt_file(
        format: OutputFormat,
        fields: &[(&str, &str)],
        body: &str,
    ) -> PromptFile {
        PromptFile {
            id: "worker".into(),
            name: "Worker".into(),
            description: String::new(),
            model: None,
            temperature: None,
            max_tokens: None,
            inputs: IndexMap::new(),
            output_format: format,
            output_fields: fields
                .iter()
                .map(|(name, ty)| {
                    (
                        name.to_string(),
                        SchemaField {
                            field_type: ty.to_string(),
                            description: format!("the {name}"),
                        },
                    )
                })
                .collect(),
            body: body.into(),
            path: PathBuf::from("prompts/worker.prompt"),
        }
    }

    fn build(
        node: &AgentNode,
        prompt: &PromptFile,
        rendered: &str,
        root: &Path,
        resume: Option<&str>,
        env: &AgentEnv,
    ) -> Result<AgentCommand, AgentError> {
        build_command(
            CommandSpec {
                program: PathBuf::from("claude"),
                node_id: &node.id,
                node,
                prompt,
                rendered_prompt: rendered.to_string(),
                project_root: root,
                resume_session: resume,
            },
            env,
        )
    }

    #[test]
    fn minimal_text_agent() {
        let root = tempfile::tempdir().unwrap();
        let mut node = agent_node("worker");
        node.max_turns = 0;
        node.permission_mode = String::new();
        let prompt = prompt_file(OutputFormat::Text, &[], "Do it");
        let cmd = build(
            &node,
            &prompt,
            "Do it",
            root.path(),
            None,
            &AgentEnv::default(),
        )
        .unwrap();
        assert_eq!(
            cmd.args,
            [
                "-p",
                "Do it",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages"
            ]
        );
        assert_eq!(cmd.cwd, root.path());
        assert!(cmd.stdin_prompt.is_none() && cmd.mcp_file.is_none());
    }

    #[test]
    fn every_option() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("work")).unwrap();
        let mut node = agent_node("worker");
        node.allowed_tools = vec!["Read".into(), "Bash".into()];
        node.cwd = Some("work".into());
        node.model = Some("anthropic/claude-haiku-4-5".into());
        node.mcp_servers.insert(
            "gh".into(),
            McpServer {
                command: "npx".into(),
                args: vec![],
                env: [("TOKEN".to_string(), "${GH}".to_string())]
                    .into_iter()
                    .collect(),
            },
        );
        let prompt = prompt_file(OutputFormat::Json, &[("summary", "string")], "x");
        let env = AgentEnv::from_vars([("GH", "ghp_1"), ("TMPDIR", root.path().to_str().unwrap())]);
        let cmd = build(&node, &prompt, "Do it", root.path(), Some("sess-1"), &env).unwrap();
        let mcp_path = cmd.mcp_file.as_ref().unwrap().path().display().to_string();
        let schema = json!({"type": "object",
            "properties": {"summary": {"type": "string", "description": "the summary"}},
            "required": ["summary"]});
        assert_eq!(
            cmd.args,
            [
                "-p",
                "Do it",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "--model",
                "claude-haiku-4-5",
                "--json-schema",
                &schema.to_string(),
                "--max-turns",
                "50",
                "--permission-mode",
                "acceptEdits",
                "--allowedTools",
                "Read,Bash",
                "--resume",
                "sess-1",
                "--mcp-config",
                &mcp_path,
            ]
        );
        assert_eq!(cmd.cwd, root.path().join("work"));
        let written: Value = serde_json::from_slice(&std::fs::read(&mcp_path).unwrap()).unwrap();
        assert_eq!(written["mcpServers"]["gh"]["env"]["TOKEN"], "ghp_1");
    }

    #[test]
    fn prompt_on_stdin_when_it_looks_like_an_option_or_is_huge() {
        let root = tempfile::tempdir().unwrap();
        let node = agent_node("worker");
        let prompt = prompt_file(OutputFormat::Text, &[], "");
        for text in [
            "- list item first".to_string(),
            "x".repeat(MAX_PROMPT_ARG + 1),
        ] {
            let cmd = build(
                &node,
                &prompt,
                &text,
                root.path(),
                None,
                &AgentEnv::default(),
            )
            .unwrap();
            assert_eq!(cmd.args[..2], ["-p", "--output-format"]);
            assert_eq!(cmd.stdin_prompt.as_deref(), Some(text.as_str()));
        }
    }

    #[test]
    fn model_from_the_node_then_the_prompt() {
        let root = tempfile::tempdir().unwrap();
        let mut node = agent_node("worker");
        let mut prompt = prompt_file(OutputFormat::Text, &[], "");
        let model_of = |node: &AgentNode, prompt: &PromptFile| {
            build(node, prompt, "x", root.path(), None, &AgentEnv::default()).map(|cmd| {
                let at = cmd.args.iter().position(|a| a == "--model")?;
                Some(cmd.args[at + 1].clone())
            })
        };
        assert_eq!(model_of(&node, &prompt).unwrap(), None);
        prompt.model = Some("anthropic/claude-sonnet-4-5".into());
        assert_eq!(
            model_of(&node, &prompt).unwrap().as_deref(),
            Some("claude-sonnet-4-5")
        );
        node.model = Some("opus".into());
        assert_eq!(model_of(&node, &prompt).unwrap().as_deref(), Some("opus"));
        node.model = None;
        prompt.model = Some("openai/gpt-4o".into());
        let error = model_of(&node, &prompt).unwrap_err();
        assert!(
            error.message.contains("prompts/worker.prompt")
                && error.message.contains("openai/gpt-4o"),
            "{}",
            error.message
        );
    }

    #[test]
    fn missing_cwd_names_the_node() {
        let root = tempfile::tempdir().unwrap();
        let mut node = agent_node("worker");
        node.cwd = Some("nope".into());
        let prompt = prompt_file(OutputFormat::Text, &[], "");
        let error =
            build(&node, &prompt, "x", root.path(), None, &AgentEnv::default()).unwrap_err();
        assert!(error.message.contains("Agent 'worker'") && error.message.contains("nope"));
    }

    #[test]
    fn schema_types_and_permissive_schema() {
        let prompt = prompt_file(
            OutputFormat::Json,
            &[
                ("a", "int"),
                ("b", "float"),
                ("c", "bool"),
                ("d", "list"),
                ("e", "dict"),
                ("f", "weird"),
            ],
            "",
        );
        let schema = json_schema(&prompt);
        let types: Vec<_> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|f| schema["properties"][f]["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["integer", "number", "boolean", "array", "object", "string"]
        );
        assert_eq!(schema["required"], json!(["a", "b", "c", "d", "e", "f"]));
        let open = json_schema(&prompt_file(OutputFormat::Json, &[], ""));
        assert_eq!(
            open,
            json!({"type": "object", "description": "JSON response from agent"})
        );
    }
}
