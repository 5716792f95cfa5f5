//! Turns of an agent and of its subagents, told to telemetry as they happen.
//!
//! A turn is one model response: it starts with the first `assistant` line of a message
//! (`agent_turn_started`), each `tool_use` in it is an `agent_tool_called` as soon as it is
//! read, and it completes (`agent_turn_completed` with its tool-call count and tokens) when
//! the next line of the same conversation that is not part of the message arrives: the tool
//! results (`user`), the next response, or the final `result`. So a turn's span covers the
//! model's answer and the tools it ran. The CLI prints one line per content block of a
//! response, all with the same message id; those lines are one turn. Lines without a
//! message id are a turn each.
//!
//! Tokens: the assistant lines carry the partial usage of `message_start` (1 output
//! token); the response's `message_delta` (a `stream_event` line) brings the final count,
//! which replaces it. A run that dies mid-turn leaves that turn without a completion
//! event; `node_failed` says why.
//!
//! Subagents (lines with a `parent_tool_use_id`, the tool call that started them) are
//! separate conversations interleaved with the agent's: each has its own open turn and
//! turn numbers, and its events carry `subagent` (that tool call's id). Only the agent's
//! own turns count as the node's turns.

use std::collections::HashMap;

use super::events::{AgentEvents, truncate_value};
use super::stream::{AssistantMessage, Usage};
use crate::telemetry::Event;

/// Counts turns and emits their events.
#[derive(Debug, Default)]
pub struct TurnTracker {
    /// The agent's own conversation.
    main: Conversation,
    /// Subagent conversations by the tool call that started them.
    subagents: HashMap<String, Conversation>,
}

/// One conversation: the agent's, or a subagent's.
#[derive(Debug, Default)]
struct Conversation {
    started: u64,
    open: Option<OpenTurn>,
    /// Tokens of completed turns.
    total: Usage,
}

#[derive(Debug)]
struct OpenTurn {
    number: u64,
    message_id: Option<String>,
    tool_calls: u64,
    usage: Usage,
}

impl TurnTracker {
    fn conversation(&mut self, parent: Option<&str>) -> &mut Conversation {
        match parent {
            None => &mut self.main,
            Some(id) => self.subagents.entry(id.to_string()).or_default(),
        }
    }

    /// An `assistant` line: continues its conversation's open turn (same message id) or
    /// starts a new one.
    pub fn assistant(&mut self, message: &AssistantMessage, events: &mut AgentEvents<'_>) {
        let parent = message.parent_tool_use_id.as_deref();
        let conversation = self.conversation(parent);
        let same_message = conversation
            .open
            .as_ref()
            .is_some_and(|open| open.message_id.is_some() && open.message_id == message.message_id);
        if !same_message {
            conversation.close(parent, events);
            conversation.started += 1;
            let number = conversation.started;
            events.emit(|| Event::AgentTurnStarted {
                turn_number: number,
                subagent: parent.map(str::to_string),
            });
            conversation.open = Some(OpenTurn {
                number,
                message_id: message.message_id.clone(),
                tool_calls: 0,
                usage: Usage::default(),
            });
        }
        let Some(open) = conversation.open.as_mut() else {
            return;
        };
        for tool in &message.tool_uses {
            open.tool_calls += 1;
            events.emit(|| Event::AgentToolCalled {
                tool_name: tool.name.clone(),
                tool_input: truncate_value(&tool.input),
                subagent: parent.map(str::to_string),
            });
        }
        // The lines of one message repeat its usage: keep the last one given.
        open.usage.input_tokens = message.usage.input_tokens.or(open.usage.input_tokens);
        open.usage.output_tokens = message.usage.output_tokens.or(open.usage.output_tokens);
    }

    /// The final usage of response `message_id` (`message_delta`): replaces the partial
    /// count of its assistant lines, if its turn is still open.
    pub fn final_usage(&mut self, message_id: Option<&str>, parent: Option<&str>, usage: Usage) {
        let conversation = self.conversation(parent);
        let Some(open) = conversation.open.as_mut() else {
            return;
        };
        if message_id.is_some() && open.message_id.as_deref() != message_id {
            return;
        }
        open.usage.input_tokens = usage.input_tokens.or(open.usage.input_tokens);
        open.usage.output_tokens = usage.output_tokens.or(open.usage.output_tokens);
    }

    /// A line of conversation `parent` that is not part of its open turn's message (tool
    /// results): that turn is complete.
    pub fn close(&mut self, parent: Option<&str>, events: &mut AgentEvents<'_>) {
        self.conversation(parent).close(parent, events);
    }

    /// The end of a run (`result`): every open turn is complete.
    pub fn close_all(&mut self, events: &mut AgentEvents<'_>) {
        self.main.close(None, events);
        let mut open: Vec<_> = self
            .subagents
            .iter_mut()
            .filter(|(_, c)| c.open.is_some())
            .collect();
        open.sort_by_key(|(id, _)| id.as_str().to_string());
        for (id, conversation) in open {
            conversation.close(Some(id), events);
        }
    }

    /// How many turns of the agent itself (not its subagents) have started.
    pub fn turns(&self) -> u64 {
        self.main.started
    }

    /// Tokens reported by the completed turns, subagents included.
    pub fn total_usage(&self) -> Usage {
        let mut total = self.main.total;
        for conversation in self.subagents.values() {
            add(&mut total.input_tokens, conversation.total.input_tokens);
            add(&mut total.output_tokens, conversation.total.output_tokens);
        }
        total
    }
}

impl Conversation {
    fn close(&mut self, parent: Option<&str>, events: &mut AgentEvents<'_>) {
        let Some(turn) = self.open.take() else {
            return;
        };
        add(&mut self.total.input_tokens, turn.usage.input_tokens);
        add(&mut self.total.output_tokens, turn.usage.output_tokens);
        events.emit(|| Event::AgentTurnCompleted {
            turn_number: turn.number,
            tool_calls: turn.tool_calls,
            input_tokens: turn.usage.input_tokens,
            output_tokens: turn.usage.output_tokens,
            subagent: parent.map(str::to_string),
        });
    }
}

fn add(total: &mut Option<u64>, more: Option<u64>) {
    if let Some(more) = more {
        *total = Some(total.unwrap_or(0).saturating_add(more));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::stream::ToolUse;
    use serde_json::json;

    fn message(
        id: Option<&str>,
        tools: &[&str],
        usage: (Option<u64>, Option<u64>),
    ) -> AssistantMessage {
        AssistantMessage {
            message_id: id.map(str::to_string),
            tool_uses: tools
                .iter()
                .map(|t| ToolUse {
                    name: t.to_string(),
                    input: json!({"x": "y".repeat(3000)}),
                })
                .collect(),
            usage: Usage {
                input_tokens: usage.0,
                output_tokens: usage.1,
            },
            ..AssistantMessage::default()
        }
    }

    fn sub(mut message: AssistantMessage, parent: &str) -> AssistantMessage {
        message.parent_tool_use_id = Some(parent.into());
        message
    }

    fn names(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::AgentTurnStarted { turn_number, subagent } => {
                    format!("start {turn_number}{}", tag(subagent))
                }
                Event::AgentToolCalled { tool_name, subagent, .. } => {
                    format!("tool {tool_name}{}", tag(subagent))
                }
                Event::AgentTurnCompleted { turn_number, tool_calls, input_tokens, output_tokens, subagent } => {
                    format!("done {turn_number} tools={tool_calls} in={input_tokens:?} out={output_tokens:?}{}", tag(subagent))
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn tag(subagent: &Option<String>) -> String {
        subagent
            .as_ref()
            .map_or_else(String::new, |s| format!(" [{s}]"))
    }

    #[test]
    fn lines_of_one_message_are_one_turn() {
        let mut seen = Vec::new();
        let mut turns = TurnTracker::default();
        {
            let mut sink = |e: Event| seen.push(e);
            let mut events = AgentEvents::to(&mut sink);
            turns.assistant(&message(Some("m1"), &[], (Some(10), Some(1))), &mut events);
            turns.assistant(
                &message(Some("m1"), &["Read", "Grep"], (Some(10), Some(1))),
                &mut events,
            );
            // The final usage of m1 replaces the partial one.
            turns.final_usage(
                Some("m1"),
                None,
                Usage {
                    input_tokens: None,
                    output_tokens: Some(20),
                },
            );
            // A delta for another message does not touch the open turn.
            turns.final_usage(
                Some("other"),
                None,
                Usage {
                    input_tokens: None,
                    output_tokens: Some(999),
                },
            );
            turns.close(None, &mut events); // tool results
            turns.assistant(&message(Some("m2"), &[], (Some(5), None)), &mut events);
            turns.assistant(&message(None, &["Bash"], (None, None)), &mut events);
            turns.assistant(&message(None, &[], (None, Some(2))), &mut events);
            turns.close_all(&mut events); // result
            turns.close_all(&mut events); // nothing open: no event
        }
        assert_eq!(
            names(&seen),
            [
                "start 1",
                "tool Read",
                "tool Grep",
                "done 1 tools=2 in=Some(10) out=Some(20)",
                "start 2",
                "done 2 tools=0 in=Some(5) out=None",
                "start 3",
                "tool Bash",
                "done 3 tools=1 in=None out=None",
                "start 4",
                "done 4 tools=0 in=None out=Some(2)",
            ]
        );
        assert_eq!(turns.turns(), 4);
        assert_eq!(
            turns.total_usage(),
            Usage {
                input_tokens: Some(15),
                output_tokens: Some(22)
            }
        );
        let Event::AgentToolCalled { tool_input, .. } = &seen[1] else {
            panic!()
        };
        assert!(
            tool_input["x"].as_str().unwrap().len() < 2100,
            "tool input truncated"
        );
    }

    #[test]
    fn subagent_turns_are_their_own_and_marked() {
        let mut seen = Vec::new();
        let mut turns = TurnTracker::default();
        {
            let mut sink = |e: Event| seen.push(e);
            let mut events = AgentEvents::to(&mut sink);
            turns.assistant(
                &message(Some("m1"), &["Agent"], (Some(10), Some(1))),
                &mut events,
            );
            turns.close(None, &mut events);
            // The subagent works while the agent answers: interleaved lines.
            turns.assistant(
                &sub(
                    message(Some("s1"), &["Read"], (Some(3), Some(1))),
                    "toolu_A",
                ),
                &mut events,
            );
            turns.assistant(&message(Some("m2"), &[], (Some(20), Some(1))), &mut events);
            turns.final_usage(
                Some("s1"),
                Some("toolu_A"),
                Usage {
                    input_tokens: None,
                    output_tokens: Some(7),
                },
            );
            turns.close(Some("toolu_A"), &mut events);
            turns.assistant(
                &sub(message(Some("s2"), &[], (Some(4), Some(2))), "toolu_A"),
                &mut events,
            );
            turns.close_all(&mut events);
        }
        assert_eq!(
            names(&seen),
            [
                "start 1",
                "tool Agent",
                "done 1 tools=1 in=Some(10) out=Some(1)",
                "start 1 [toolu_A]",
                "tool Read [toolu_A]",
                "start 2",
                "done 1 tools=1 in=Some(3) out=Some(7) [toolu_A]",
                "start 2 [toolu_A]",
                "done 2 tools=0 in=Some(20) out=Some(1)",
                "done 2 tools=0 in=Some(4) out=Some(2) [toolu_A]",
            ]
        );
        assert_eq!(turns.turns(), 2, "subagent turns are not the node's turns");
        assert_eq!(
            turns.total_usage(),
            Usage {
                input_tokens: Some(37),
                output_tokens: Some(11)
            }
        );
    }

    #[test]
    fn counts_turns_without_listeners() {
        let mut turns = TurnTracker::default();
        let mut events = AgentEvents::none();
        turns.assistant(&message(Some("a"), &["Read"], (None, None)), &mut events);
        turns.assistant(&message(Some("b"), &[], (None, None)), &mut events);
        turns.close_all(&mut events);
        assert_eq!(turns.turns(), 2);
    }
}
