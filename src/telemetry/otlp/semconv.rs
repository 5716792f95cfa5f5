//! Attribute names of the OpenTelemetry GenAI semantic conventions (latest), kept as our own
//! constants (the semconv crate has deprecated its `gen_ai.*` ones), and Trident's own
//! `trident.*` names.

pub const OPERATION_NAME: &str = "gen_ai.operation.name";
pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
pub const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
pub const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
pub const TOOL_NAME: &str = "gen_ai.tool.name";
pub const TOOL_TYPE: &str = "gen_ai.tool.type";
pub const TOOL_DESCRIPTION: &str = "gen_ai.tool.description";
pub const AGENT_NAME: &str = "gen_ai.agent.name";
pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
pub const ERROR_TYPE: &str = "error.type";

pub const OP_INVOKE_WORKFLOW: &str = "invoke_workflow";
pub const OP_CHAT: &str = "chat";
pub const OP_EXECUTE_TOOL: &str = "execute_tool";
pub const OP_INVOKE_AGENT: &str = "invoke_agent";

pub const RUN_ID: &str = "trident.run_id";
pub const PARENT_RUN_ID: &str = "trident.parent_run_id";
pub const DRY_RUN: &str = "trident.dry_run";
pub const ATTEMPT: &str = "trident.attempt";
pub const COST_USD: &str = "trident.cost.usd";
pub const NODE_ID: &str = "trident.node.id";
pub const NODE_TYPE: &str = "trident.node.type";
pub const NODE_SKIPPED: &str = "trident.node.skipped";
pub const NODE_SKIP_REASON: &str = "trident.node.skip_reason";
pub const UNFINISHED: &str = "trident.span.unfinished";

pub const SERVICE_NAME: &str = "service.name";
pub const SERVICE_VERSION: &str = "service.version";
