//! Turns of an agent, told to telemetry as they happen.
//!
//! A turn is one model response: it starts with the first `assistant` line of a message
//! (`agent_turn_started`), each `tool_use` in it is an `agent_tool_called` as soon as it is
//! read, and it completes (`agent_turn_completed` with its tool-call count and the tokens the
//! message reported) when the next line that is not part of the same message arrives: the
//! tool results (`user`), the next response, or the final `result`. So a turn's span covers
//! the model's answer and the tools it ran. The CLI may print one line per content block of
//! a response, all with the same message id; those lines are one turn. Lines without a
//! message id are a turn each. A run that dies mid-turn leaves that turn without a
//! completion event; `node_failed` says why.

use super::events::{AgentEvents, truncate_value};
use super::stream::{AssistantMessage, Usage};
use crate::telemetry::Event;

/// Counts turns and emits their events.
#[derive(Debug, Default)]
pub struct TurnTracker {
    started: u64,
    open: Option<OpenTurn>,
    /// Tokens of completed turns, for a result line that reports none.
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
    /// An `assistant` line: continues the open turn (same message id) or starts a new one.
    pub fn assistant(&mut self, message: &AssistantMessage, events: &mut AgentEvents<'_>) {
        let same_message = self
            .open
            .as_ref()
            .is_some_and(|open| open.message_id.is_some() && open.message_id == message.message_id);
        if !same_message {
            self.close(events);
            self.started += 1;
            let number = self.started;
            events.emit(|| Event::AgentTurnStarted {
                turn_number: number,
            });
            self.open = Some(OpenTurn {
                number,
                message_id: message.message_id.clone(),
                tool_calls: 0,
                usage: Usage::default(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        for tool in &message.tool_uses {
            open.tool_calls += 1;
            events.emit(|| Event::AgentToolCalled {
                tool_name: tool.name.clone(),
                tool_input: truncate_value(&tool.input),
            });
        }
        // The lines of one message repeat its usage (growing while it streams): keep the last.
        open.usage.input_tokens = message.usage.input_tokens.or(open.usage.input_tokens);
        open.usage.output_tokens = message.usage.output_tokens.or(open.usage.output_tokens);
    }

    /// Any line that is not part of the open turn's message: the turn is complete.
    pub fn close(&mut self, events: &mut AgentEvents<'_>) {
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
        });
    }

    /// How many turns have started.
    pub fn turns(&self) -> u64 {
        self.started
    }

    /// Tokens reported by the completed turns.
    pub fn total_usage(&self) -> Usage {
        self.total
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
            session_id: None,
            model: None,
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
        }
    }

    fn names(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::AgentTurnStarted { turn_number } => format!("start {turn_number}"),
                Event::AgentToolCalled { tool_name, .. } => format!("tool {tool_name}"),
                Event::AgentTurnCompleted { turn_number, tool_calls, input_tokens, output_tokens } => {
                    format!("done {turn_number} tools={tool_calls} in={input_tokens:?} out={output_tokens:?}")
                }
                other => format!("{other:?}"),
            })
            .collect()
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
                &message(Some("m1"), &["Read", "Grep"], (Some(10), Some(20))),
                &mut events,
            );
            turns.close(&mut events); // tool results
            turns.assistant(&message(Some("m2"), &[], (Some(5), None)), &mut events);
            turns.assistant(&message(None, &["Bash"], (None, None)), &mut events);
            turns.assistant(&message(None, &[], (None, Some(2))), &mut events);
            turns.close(&mut events); // result
            turns.close(&mut events); // nothing open: no event
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
    fn counts_turns_without_listeners() {
        let mut turns = TurnTracker::default();
        let mut events = AgentEvents::none();
        turns.assistant(&message(Some("a"), &["Read"], (None, None)), &mut events);
        turns.assistant(&message(Some("b"), &[], (None, None)), &mut events);
        turns.close(&mut events);
        assert_eq!(turns.turns(), 2);
    }
}
