//! Human output of `project show` and `telemetry stats`: aligned tables (comfy-table) that
//! fit 100 columns, statuses coloured only when the output is a terminal and `NO_COLOR` is
//! not set (the caller decides, see [`Colour`]).

use comfy_table::{
    Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table, TableStyle, presets,
};

use super::across_runs::AcrossRuns;
use super::fold::Loss;
use super::report::{ModelTotals, NodeReport, NodeStatus, RunReport, RunStatus};
use crate::eventlog::SkippedLine;

/// The width every table fits in.
pub const WIDTH: u16 = 100;

/// Columns separated by spaces, one rule under the header: compact, and easy to read,
/// copy and `grep`.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// Whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub bool);

impl Colour {
    /// On when `is_terminal` and `NO_COLOR` is unset or empty.
    pub fn detect(is_terminal: bool, no_color: Option<&str>) -> Colour {
        Colour(is_terminal && no_color.is_none_or(str::is_empty))
    }
}

fn table(colour: Colour, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(STYLE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header.iter().copied().map(Cell::new));
    if colour.0 {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

fn right(t: &mut Table, columns: std::ops::Range<usize>) {
    for i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// `333 ms`, `1.23 s`, `2m 05s`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.2} s", ms as f64 / 1000.0),
        _ => format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// `$0.0126`, `$0.000225`, `$1.50`: six decimals at most, trailing zeros dropped.
pub fn usd(cost: f64) -> String {
    if cost == 0.0 {
        return "$0".into();
    }
    let text = format!("{cost:.6}");
    let trimmed = text.trim_end_matches('0');
    let decimals = trimmed.split_once('.').map_or(0, |(_, d)| d.len());
    if decimals < 2 {
        format!("${cost:.2}")
    } else {
        format!("${trimmed}")
    }
}

fn cut(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max || line.len() < text.len() {
        format!(
            "{}…",
            line.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    } else {
        line.to_string()
    }
}

fn status_colour(status: &str) -> Option<Color> {
    match status {
        "completed" => Some(Color::Green),
        "failed" => Some(Color::Red),
        "interrupted" | "running" => Some(Color::Yellow),
        "cached" | "skipped" => Some(Color::Cyan),
        _ => None,
    }
}

fn status_cell(status: &str) -> Cell {
    match status_colour(status) {
        Some(c) => Cell::new(status).fg(c),
        None => Cell::new(status),
    }
}

fn node_cost(node: &NodeReport) -> String {
    match (node.cost_usd, &node.model) {
        (Some(c), _) => usd(c),
        (None, Some(_)) if node.status == NodeStatus::Completed => "unknown".into(),
        _ => "-".into(),
    }
}

fn opt<T>(value: Option<T>, f: impl Fn(T) -> String) -> String {
    value.map(f).unwrap_or_else(|| "-".into())
}

fn node_table(run: &RunReport, colour: Colour) -> Table {
    let header = [
        "node", "status", "duration", "queue", "model", "in/out", "cost", "retries", "error",
    ];
    let rows: Vec<[String; 8]> = run
        .nodes
        .iter()
        .map(|n| {
            let model = n
                .model
                .as_deref()
                .map(|m| m.split_once('/').map_or(m, |(_, name)| name).to_string());
            [
                n.id.clone(),
                n.status.as_str().to_string(),
                opt(n.duration_ms, duration),
                opt(n.queue_wait_ms, |w| duration(w.round() as u64)),
                model.unwrap_or_else(|| "-".into()),
                format!("{}/{}", n.input_tokens, n.output_tokens),
                node_cost(n),
                n.retries.to_string(),
            ]
        })
        .collect();
    // The other columns keep their width; errors are cut to what is left of WIDTH (the
    // whole text is listed under the table).
    let used: usize = (0..8)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
                // padding and the space between columns
                + 2
        })
        .sum();
    let error_width = (usize::from(WIDTH).saturating_sub(used + 1)).max(10);
    let mut t = table(colour, &header);
    t.set_content_arrangement(ContentArrangement::Disabled);
    for (n, row) in run.nodes.iter().zip(rows) {
        let mut cells: Vec<Cell> = row.into_iter().map(Cell::new).collect();
        cells[1] = status_cell(n.status.as_str());
        cells.push(Cell::new(opt(n.error.as_deref(), |e| cut(e, error_width))));
        t.add_row(cells);
    }
    for i in 0..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_padding((0, 1));
        }
    }
    right(&mut t, 2..4);
    right(&mut t, 5..8);
    t
}

fn model_table(models: &[ModelTotals], colour: Colour) -> Table {
    let mut t = table(
        colour,
        &["model", "calls", "tokens in", "tokens out", "cost"],
    );
    for m in models {
        let cost = match (m.cost_usd, m.unpriced_calls) {
            (Some(c), 0) => usd(c),
            (Some(c), n) => format!("{} + {n} unpriced", usd(c)),
            (None, _) => "unknown".into(),
        };
        t.add_row(vec![
            Cell::new(&m.model),
            Cell::new(m.calls),
            Cell::new(m.input_tokens),
            Cell::new(m.output_tokens),
            Cell::new(cost),
        ]);
    }
    right(&mut t, 1..5);
    t
}

fn run_status(run: &RunReport) -> String {
    match run.status {
        RunStatus::Running => "running (no end recorded yet)".into(),
        other => other.as_str().into(),
    }
}

/// One run: header, node table, critical path, slowest nodes, totals by model, errors.
pub fn render_run(run: &RunReport, source: Option<&str>, colour: Colour) -> String {
    let mut out = String::new();
    let name = run.name.as_deref().unwrap_or("?");
    let status = run_status(run);
    let status = if colour.0 {
        styled(&status, run.status)
    } else {
        status
    };
    out.push_str(&format!("Run {}  {name}  {status}", run.run_id));
    if run.attempts > 1 {
        out.push_str(&format!("  (attempt {})", run.attempts));
    }
    if run.dry_run == Some(true) {
        out.push_str("  dry run");
    }
    out.push('\n');
    if let Some(parent) = &run.parent_run_id {
        out.push_str(&format!("  sub-workflow of run {parent}\n"));
    }
    out.push_str(&format!(
        "  started {}  duration {}\n",
        run.started_at.as_deref().unwrap_or("-"),
        opt(run.duration_ms, duration)
    ));
    if let Some(inputs) = &run.inputs_summary {
        out.push_str(&format!("  inputs: {inputs}\n"));
    }
    let c = &run.counts;
    out.push_str(&format!(
        "  nodes: {} completed, {} failed, {} skipped, {} cached, {} running, {} pending\n",
        c.completed, c.failed, c.skipped, c.cached, c.running, c.pending
    ));
    out.push_str(&format!(
        "  tokens: {} in, {} out  cost: {}  retries: {}  queue wait: {}\n",
        run.input_tokens,
        run.output_tokens,
        usd(run.cost_usd),
        run.retries,
        duration(run.queue_wait_ms.round() as u64)
    ));
    if let Some(source) = source {
        out.push_str(&format!("  from: {source}\n"));
    }
    out.push('\n');
    out.push_str(&node_table(run, colour).trim_fmt());
    out.push_str("\n\n");
    let path = &run.critical_path;
    if path.nodes.is_empty() {
        out.push_str("Critical path: - (no node has both start and end times)\n");
    } else {
        out.push_str(&format!(
            "Critical path ({} of {} run): {}\n",
            duration(path.duration_ms),
            opt(run.duration_ms, duration),
            path.nodes.join(" → ")
        ));
    }
    let slowest: Vec<String> = run
        .slowest
        .iter()
        .filter_map(|id| run.nodes.iter().find(|n| &n.id == id))
        .map(|n| format!("{} {}", n.id, opt(n.duration_ms, duration)))
        .collect();
    if !slowest.is_empty() {
        out.push_str(&format!("Slowest: {}\n", slowest.join(", ")));
    }
    if !run.models.is_empty() {
        out.push_str("\nBy model:\n");
        out.push_str(&model_table(&run.models, colour).trim_fmt());
        out.push('\n');
    }
    let failed: Vec<&NodeReport> = run.nodes.iter().filter(|n| n.error.is_some()).collect();
    if !failed.is_empty() || run.error.is_some() {
        out.push_str("\nErrors:\n");
        for n in &failed {
            out.push_str(&format!(
                "  {} ({}): {}\n",
                n.id,
                n.error_type.as_deref().unwrap_or("error"),
                n.error.as_deref().unwrap_or_default()
            ));
        }
        if failed.is_empty()
            && let Some(e) = &run.error
        {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}

/// The shortest prefix length (at least 8) that tells `ids` apart: what `--run` accepts.
fn short_id_width(ids: &[&str]) -> usize {
    let mut width = 8;
    while ids.iter().any(|id| id.chars().count() > width) {
        let mut prefixes: Vec<String> = ids
            .iter()
            .map(|id| id.chars().take(width).collect())
            .collect();
        prefixes.sort_unstable();
        let before = prefixes.len();
        prefixes.dedup();
        if prefixes.len() == before {
            break;
        }
        width += 4;
    }
    width
}

fn styled(text: &str, status: RunStatus) -> String {
    let colour = match status {
        RunStatus::Completed => Color::Green,
        RunStatus::Failed => Color::Red,
        _ => Color::Yellow,
    };
    let mut t = Table::new();
    t.load_style(presets::NOTHING).enforce_styling();
    t.add_row(vec![Cell::new(text).fg(colour)]);
    t.to_string().trim().to_string()
}

/// Loss and unreadable lines, as text (empty when there is nothing to say).
pub fn render_loss(loss: &Loss, events: u64, skipped: &[SkippedLine]) -> String {
    let mut out = String::new();
    if loss.is_none() {
        out.push_str(&format!(
            "Loss: none detected ({events} events, no seq gaps, no drops)\n"
        ));
    } else {
        out.push_str(&format!(
            "Loss: {} events missing in {} seq gap(s), {} reported dropped\n",
            loss.missing_events,
            loss.seq_gaps.len(),
            loss.dropped
        ));
        for gap in loss.seq_gaps.iter().take(10) {
            out.push_str(&format!(
                "  {}:{}: seq {} follows {} ({} missing)\n",
                gap.file, gap.line, gap.next, gap.after, gap.missing
            ));
        }
        for (sink, count) in &loss.dropped_by_sink {
            out.push_str(&format!("  telemetry_dropped: {count} by {sink}\n"));
        }
    }
    if !skipped.is_empty() {
        out.push_str(&format!("Unreadable lines skipped: {}\n", skipped.len()));
    }
    out
}

/// Several runs: per-node percentiles, totals by model, by run.
pub fn render_across(across: &AcrossRuns, runs: &[RunReport], colour: Colour) -> String {
    let mut out = String::new();
    let count = |s: RunStatus| runs.iter().filter(|r| r.status == s).count();
    out.push_str(&format!(
        "{} runs: {} completed, {} failed, {} interrupted, {} running\n",
        runs.len(),
        count(RunStatus::Completed),
        count(RunStatus::Failed),
        count(RunStatus::Interrupted),
        count(RunStatus::Running)
    ));
    out.push_str(&format!(
        "tokens: {} in, {} out  cost: {}\n\nNodes (slowest p95 first):\n",
        across.input_tokens,
        across.output_tokens,
        usd(across.cost_usd)
    ));
    let mut t = table(colour, &["node", "runs", "failures", "p50", "p95", "max"]);
    for n in &across.nodes {
        let failures = if n.failures > 0 {
            Cell::new(n.failures).fg(Color::Red)
        } else {
            Cell::new(0)
        };
        t.add_row(vec![
            Cell::new(&n.node_id),
            Cell::new(n.runs),
            failures,
            Cell::new(opt(n.p50_ms, duration)),
            Cell::new(opt(n.p95_ms, duration)),
            Cell::new(opt(n.max_ms, duration)),
        ]);
    }
    right(&mut t, 1..6);
    out.push_str(&t.trim_fmt());
    out.push('\n');
    if !across.models.is_empty() {
        out.push_str("\nBy model:\n");
        out.push_str(&model_table(&across.models, colour).trim_fmt());
        out.push('\n');
    }
    out.push_str("\nBy run:\n");
    let mut t = table(
        colour,
        &[
            "run", "name", "status", "attempts", "duration", "failed", "in", "out", "cost",
        ],
    );
    let ids: Vec<&str> = across.by_run.iter().map(|r| r.run_id.as_str()).collect();
    let width = short_id_width(&ids);
    for r in &across.by_run {
        t.add_row(vec![
            Cell::new(r.run_id.chars().take(width).collect::<String>()),
            Cell::new(r.name.as_deref().unwrap_or("-")),
            status_cell(r.status.as_str()),
            Cell::new(r.attempts),
            Cell::new(opt(r.duration_ms, duration)),
            Cell::new(r.failed_nodes),
            Cell::new(r.input_tokens),
            Cell::new(r.output_tokens),
            Cell::new(usd(r.cost_usd)),
        ]);
    }
    right(&mut t, 3..9);
    out.push_str(&t.trim_fmt());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(duration(333), "333 ms");
        assert_eq!(duration(1234), "1.23 s");
        assert_eq!(duration(125_000), "2m 05s");
        assert_eq!(usd(0.0126), "$0.0126");
        assert_eq!(usd(0.000225), "$0.000225");
        assert_eq!(usd(1.5), "$1.50");
        assert_eq!(usd(0.0096), "$0.0096");
        assert_eq!(cut("a long error\nsecond line", 30), "a long error…");
        assert_eq!(Colour::detect(true, Some("1")), Colour(false));
        assert_eq!(Colour::detect(true, Some("")), Colour(true));
        assert_eq!(Colour::detect(false, None), Colour(false));
    }
}
