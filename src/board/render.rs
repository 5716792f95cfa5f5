//! Drawing a [`Board`] as text: aligned node lines and a summary line, with or without
//! colours (`console` styles, only when asked for). The live progress of a run shows the
//! running nodes and the summary; `trident project watch` shows every node.

use console::Style;

use super::model::{Board, NodeCounts, NodeState, NodeStatus, RunStatus};

/// At most this many running nodes are listed by the progress view.
const MAX_RUNNING_LINES: usize = 8;

/// Turns a board into lines.
#[derive(Debug, Clone)]
pub struct BoardText {
    colors: bool,
}

impl BoardText {
    /// A renderer; `colors` adds ANSI styles.
    pub fn new(colors: bool) -> BoardText {
        BoardText { colors }
    }

    fn style(&self, style: Style) -> Style {
        style.force_styling(self.colors)
    }

    fn symbol(&self, status: NodeStatus) -> String {
        let (symbol, style) = match status {
            NodeStatus::Pending => ("·", Style::new().dim()),
            NodeStatus::Running => ("▶", Style::new().yellow()),
            NodeStatus::Completed => ("✓", Style::new().green()),
            NodeStatus::Failed => ("✗", Style::new().red().bold()),
            NodeStatus::Skipped => ("-", Style::new().dim()),
            NodeStatus::Cached => ("↺", Style::new().cyan()),
        };
        self.style(style).apply_to(symbol).to_string()
    }

    /// The summary: name, run, status and time, node counts, tokens and cost.
    pub fn summary(&self, board: &Board, now_ms: i64) -> String {
        let mut parts = Vec::new();
        let run = board.run();
        let mut head = run.name.clone().unwrap_or_else(|| "run".to_string());
        if !run.run_id.is_empty() {
            head.push_str(&format!(" {}", short_id(&run.run_id)));
        }
        if run.attempts > 1 {
            head.push_str(&format!(" (attempt {})", run.attempts));
        }
        let status = run.status.map_or("waiting", RunStatus::as_str);
        let status = match run.status {
            Some(RunStatus::Completed) => self.style(Style::new().green()).apply_to(status),
            Some(RunStatus::Failed) => self.style(Style::new().red().bold()).apply_to(status),
            Some(RunStatus::Interrupted) => self.style(Style::new().yellow()).apply_to(status),
            _ => self.style(Style::new()).apply_to(status),
        };
        match board.elapsed_ms(now_ms) {
            Some(ms) => parts.push(format!("{head}: {status} {}", duration(ms))),
            None => parts.push(format!("{head}: {status}")),
        }
        if board.process_died() {
            parts.push("its process died without a final event".to_string());
        }
        parts.push(counts_text(&board.counts()));
        let (input, output) = board.tokens();
        if input + output > 0 {
            parts.push(format!("{}+{} tokens", thousands(input), thousands(output)));
        }
        if let Some(cost) = board.cost_usd() {
            parts.push(format!("${cost:.4}"));
        }
        parts.join(" · ")
    }

    /// One line per node (all of them), aligned, then the summary; a failed node's whole
    /// error follows its line, indented.
    pub fn board(&self, board: &Board, now_ms: i64) -> Vec<String> {
        let widths = Widths::of(board.nodes().iter());
        let mut lines: Vec<String> = Vec::new();
        for node in board.nodes() {
            lines.extend(self.node_lines(node, &widths, now_ms));
        }
        lines.push(self.summary(board, now_ms));
        lines
    }

    /// The running nodes (at most a few) and the summary: the live progress of a run.
    pub fn progress(&self, board: &Board, now_ms: i64) -> Vec<String> {
        let running: Vec<&NodeState> = board
            .nodes()
            .iter()
            .filter(|n| n.status == NodeStatus::Running)
            .collect();
        let widths = Widths::of(running.iter().copied());
        let mut lines: Vec<String> = running
            .iter()
            .take(MAX_RUNNING_LINES)
            .map(|n| self.node_line(n, &widths, now_ms))
            .collect();
        if running.len() > MAX_RUNNING_LINES {
            lines.push(format!(
                "  … and {} more running",
                running.len() - MAX_RUNNING_LINES
            ));
        }
        lines.push(self.summary(board, now_ms));
        lines
    }

    /// A node's line and, when it failed, its whole error indented below.
    pub fn node_lines(&self, node: &NodeState, widths: &Widths, now_ms: i64) -> Vec<String> {
        let mut lines = vec![self.node_line(node, widths, now_ms)];
        if node.status == NodeStatus::Failed
            && let Some(error) = &node.error
        {
            let style = self.style(Style::new().red());
            lines.extend(
                error
                    .lines()
                    .map(|l| format!("      {}", style.apply_to(l))),
            );
        }
        lines
    }

    /// A node's line: symbol, id, type, status and what is known about it.
    pub fn node_line(&self, node: &NodeState, widths: &Widths, now_ms: i64) -> String {
        let mut line = format!(
            "{} {:id$}  {:ty$}  {:9}  ",
            self.symbol(node.status),
            node.id,
            node.node_type.as_deref().unwrap_or(""),
            node.status.as_str(),
            id = widths.id,
            ty = widths.node_type,
        );
        let mut details = Vec::new();
        match node.status {
            NodeStatus::Running => {
                if let Some(start) = node.started_ms {
                    details.push(duration(u64::try_from(now_ms - start).unwrap_or(0)));
                }
            }
            NodeStatus::Completed | NodeStatus::Failed => {
                if let Some(ms) = node.duration_ms {
                    details.push(duration(ms));
                }
                if node.input_tokens + node.output_tokens > 0 {
                    details.push(format!(
                        "{}+{} tokens",
                        thousands(node.input_tokens),
                        thousands(node.output_tokens)
                    ));
                }
                if let Some(cost) = node.cost_usd {
                    details.push(format!("${cost:.4}"));
                }
                if let Some(model) = &node.model {
                    details.push(model.clone());
                }
                if let Some(kind) = &node.error_type {
                    details.push(kind.clone());
                }
            }
            NodeStatus::Skipped => details.extend(node.skip_reason.clone()),
            NodeStatus::Pending | NodeStatus::Cached => {}
        }
        if !details.is_empty() {
            line.push_str(&details.join("  "));
        }
        line.trim_end().to_string()
    }
}

/// Column widths for node lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Widths {
    id: usize,
    node_type: usize,
}

impl Widths {
    /// The widths that align `nodes`.
    pub fn of<'a>(nodes: impl Iterator<Item = &'a NodeState>) -> Widths {
        nodes.fold(Widths::default(), |w, n| Widths {
            id: w.id.max(n.id.chars().count()),
            node_type: w
                .node_type
                .max(n.node_type.as_deref().map_or(0, |t| t.chars().count())),
        })
    }
}

fn counts_text(c: &NodeCounts) -> String {
    let mut text = format!("{}/{} done", c.done(), c.total());
    for (n, word) in [
        (c.running, "running"),
        (c.failed, "failed"),
        (c.skipped, "skipped"),
        (c.cached, "cached"),
    ] {
        if n > 0 {
            text.push_str(&format!(", {n} {word}"));
        }
    }
    text
}

/// `850ms`, `12.3s`, `2m05s`, `1h02m`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short_id(id: &str) -> &str {
    match id.char_indices().nth(8) {
        Some((cut, _)) => &id[..cut],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::eventlog::timestamp::parse_millis;

    fn ev(second: u32, event: &str, node: Option<&str>, data: Value) -> Vec<u8> {
        let mut e = json!({
            "timestamp": format!("2026-01-23T10:00:{second:02}.000Z"),
            "run_id": "0194ab12-aaaa", "event": event, "data": data,
        });
        if let Some(node) = node {
            e["node_id"] = json!(node);
        }
        serde_json::to_vec(&e).unwrap()
    }

    fn sample() -> Board {
        let mut b = Board::with_nodes([
            ("input", "input"),
            ("summarize", "prompt"),
            ("fetch", "tool"),
            ("notify", "tool"),
            ("first", "tool"),
            ("last", "output"),
        ]);
        b.apply_line(&ev(
            0,
            "workflow_started",
            None,
            json!({"name": "demo", "attempt": 2}),
        ))
        .unwrap();
        b.apply_line(&ev(
            0,
            "node_skipped",
            Some("first"),
            json!({"reason": "cached_from_checkpoint"}),
        ))
        .unwrap();
        b.apply_line(&ev(
            0,
            "node_completed",
            Some("input"),
            json!({"type": "input", "duration_ms": 1}),
        ))
        .unwrap();
        b.apply_line(&ev(
            1,
            "node_started",
            Some("summarize"),
            json!({"type": "prompt"}),
        ))
        .unwrap();
        b.apply_line(&ev(
            1,
            "node_started",
            Some("fetch"),
            json!({"type": "tool"}),
        ))
        .unwrap();
        b.apply_line(&ev(2, "node_failed", Some("fetch"), json!({"type": "tool", "duration_ms": 1250, "error": "HTTP 500\nbody: oops", "error_type": "ToolError"}))).unwrap();
        b.apply_line(&ev(
            2,
            "node_skipped",
            Some("notify"),
            json!({"reason": "edge_condition_false"}),
        ))
        .unwrap();
        b
    }

    #[test]
    fn the_board_lists_every_node_aligned_with_the_whole_error() {
        let now = parse_millis("2026-01-23T10:00:04.500Z").unwrap();
        let lines = BoardText::new(false).board(&sample(), now);
        insta::assert_snapshot!(lines.join("\n"), @r"
        ✓ input      input   completed  1ms
        ▶ summarize  prompt  running    3.5s
        ✗ fetch      tool    failed     1.2s  ToolError
              HTTP 500
              body: oops
        - notify     tool    skipped    edge_condition_false
        ↺ first      tool    cached
        · last       output  pending
        demo 0194ab12 (attempt 2): running 4.5s · 4/6 done, 1 running, 1 failed, 1 skipped, 1 cached
        ");
    }

    #[test]
    fn progress_shows_running_nodes_and_totals() {
        let mut b = sample();
        b.apply_line(&ev(3, "node_completed", Some("summarize"), json!({"type": "prompt", "duration_ms": 2000, "input_tokens": 1200, "output_tokens": 340, "cost_usd": 0.0123, "model": "claude"}))).unwrap();
        b.apply_line(&ev(
            3,
            "node_started",
            Some("last"),
            json!({"type": "output"}),
        ))
        .unwrap();
        let now = parse_millis("2026-01-23T10:00:05Z").unwrap();
        let lines = BoardText::new(false).progress(&b, now);
        insta::assert_snapshot!(lines.join("\n"), @r"
        ▶ last  output  running    2.0s
        demo 0194ab12 (attempt 2): running 5.0s · 5/6 done, 1 running, 1 failed, 1 skipped, 1 cached · 1,200+340 tokens · $0.0123
        ");
    }

    #[test]
    fn colours_only_when_asked() {
        let now = parse_millis("2026-01-23T10:00:05Z").unwrap();
        let plain = BoardText::new(false).board(&sample(), now).join("\n");
        assert!(!plain.contains('\x1b'));
        let coloured = BoardText::new(true).board(&sample(), now).join("\n");
        assert!(coloured.contains("\x1b["));
    }

    #[test]
    fn durations_and_counts_read_well() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(12_340), "12.3s");
        assert_eq!(duration(125_000), "2m05s");
        assert_eq!(duration(3_720_000), "1h02m");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
