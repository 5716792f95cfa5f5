//! Human output of `project show` and `telemetry stats`: aligned tables (comfy-table) that
//! fit 100 columns, statuses coloured only when the output is a terminal and `NO_COLOR` is
//! not set (the caller decides, see [`Colour`]).

use comfy_table::{
    Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table, TableStyle, presets,
};

use super::across_runs::AcrossRuns;
use super::fold::Loss;
use super::report::{ModelTotals, NodeReport, NodeStatus, RunReport, RunStatus};
use crate::artifacts::unique_prefix;
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
    /// On when `is_terminal`, `NO_COLOR` is unset or empty and `TERM` is not `dumb`
    /// ([`crate::colour_choice`]).
    pub fn detect(is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> Colour {
        Colour(crate::colour_choice::colours_for(
            is_terminal,
            no_color,
            term,
        ))
    }

    /// For this process's stdout.
    pub fn of_stdout() -> Colour {
        Colour(crate::colour_choice::stdout_colours())
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

/// `text` in at most `max` characters: its start and its end around a `…` (the end of a
/// node id or a model name tells it apart as often as its start).
fn cut_middle(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
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
    // whole text is listed under the table). Long node ids and model names are cut first
    // so that at least MIN_ERROR columns of error fit.
    const MIN_ERROR: usize = 10;
    let mut widths: Vec<usize> = (0..8)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Each column: its text, one space of padding and one between columns.
    let used = |widths: &[usize]| widths.iter().map(|w| w + 2).sum::<usize>();
    while used(&widths) + 1 + MIN_ERROR > usize::from(WIDTH) {
        let longer = if widths[0] >= widths[4] { 0 } else { 4 };
        if widths[longer] <= 10 {
            break;
        }
        widths[longer] -= 1;
    }
    let error_width = usize::from(WIDTH)
        .saturating_sub(used(&widths) + 1)
        .max(MIN_ERROR);
    let mut t = table(colour, &header);
    t.set_content_arrangement(ContentArrangement::Disabled);
    for (n, mut row) in run.nodes.iter().zip(rows) {
        for i in [0, 4] {
            row[i] = cut_middle(&row[i], widths[i]);
        }
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
        let inputs = if inputs.is_empty() { "none" } else { inputs };
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
        let head = format!(
            "Critical path ({} of {} run): ",
            duration(path.duration_ms),
            opt(run.duration_ms, duration),
        );
        out.push_str(&wrap_list(&head, &path.nodes, " → "));
    }
    let slowest: Vec<String> = run
        .slowest
        .iter()
        .filter_map(|id| run.nodes.iter().find(|n| &n.id == id))
        .map(|n| format!("{} {}", n.id, opt(n.duration_ms, duration)))
        .collect();
    if !slowest.is_empty() {
        out.push_str(&wrap_list("Slowest: ", &slowest, ", "));
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

/// `head` then `items` joined by `separator`, in lines of at most WIDTH columns (an item
/// longer than a line gets one of its own), continued with an indent of two.
fn wrap_list(head: &str, items: &[impl AsRef<str>], separator: &str) -> String {
    let width = usize::from(WIDTH);
    let mut out = String::from(head);
    let mut column = head.chars().count();
    for (i, item) in items.iter().enumerate() {
        let item = item.as_ref();
        let sep = if i == 0 { "" } else { separator };
        // Room for the item and, should the next one go to a new line, a separator.
        let needed =
            sep.chars().count() + item.chars().count() + separator.trim_end().chars().count();
        if column > 2 && column + needed > width {
            out.push_str(sep);
            out.truncate(out.trim_end().len());
            out.push_str("\n  ");
            column = 2;
        } else {
            out.push_str(sep);
            column += sep.chars().count();
        }
        out.push_str(item);
        column += item.chars().count();
    }
    out.push('\n');
    out
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
    let ids = across.by_run.iter().map(|r| r.run_id.as_str());
    for r in &across.by_run {
        t.add_row(vec![
            Cell::new(unique_prefix(&r.run_id, ids.clone())),
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
        let items: Vec<String> = (0..30).map(|i| format!("node_{i:02}")).collect();
        let wrapped = wrap_list("Critical path (1 s of 1 s run): ", &items, " → ");
        assert!(
            wrapped
                .lines()
                .all(|l| l.chars().count() <= usize::from(WIDTH))
        );
        assert_eq!(
            wrapped.replace(" →\n  ", " → "),
            format!("Critical path (1 s of 1 s run): {}\n", items.join(" → "))
        );
        assert_eq!(
            wrap_list("Slowest: ", &["a 1 ms"], ", "),
            "Slowest: a 1 ms\n"
        );
        assert_eq!(cut_middle("summarise_chapter_12", 11), "summa…er_12");
        assert_eq!(cut_middle("short", 11), "short");
        let long = "n".repeat(95);
        assert_eq!(
            wrap_list("Slowest: ", &[long.as_str(), "b"], ", "),
            format!("Slowest:\n  {long},\n  b\n")
        );
        assert_eq!(Colour::detect(true, Some("1"), None), Colour(false));
        assert_eq!(Colour::detect(true, Some(""), None), Colour(true));
        assert_eq!(Colour::detect(true, None, Some("dumb")), Colour(false));
        assert_eq!(Colour::detect(false, None, None), Colour(false));
    }

    #[test]
    fn a_run_with_long_node_ids_models_and_errors_fits_100_columns() {
        let mut run = RunReport::new("0194ab12-7c3d-7000-8000-000000000001");
        for i in 0..3 {
            let mut n = NodeReport::new(&format!(
                "{}_{i}",
                "a_really_long_node_identifier".repeat(3)
            ));
            n.status = if i == 1 {
                NodeStatus::Failed
            } else {
                NodeStatus::Completed
            };
            n.started_ms = Some(1_000 * i);
            n.ended_ms = Some(1_000 * i + 900);
            n.duration_ms = Some(900);
            n.model = Some(format!(
                "openai/{}",
                "an-extremely-long-model-name".repeat(3)
            ));
            n.input_tokens = 1_234_567;
            n.output_tokens = 98_765;
            n.cost_usd = Some(1.234_567);
            if i == 1 {
                n.error = Some(format!("{}\nsecond line", "boom ".repeat(40)));
                n.error_type = Some("ToolError".into());
            }
            run.nodes.push(n);
        }
        run.duration_ms = Some(3_000);
        run.summarise(None);
        let text = render_run(&run, Some("events.jsonl"), Colour(false));
        let (report, errors) = text.split_once("\nErrors:\n").expect("an error list");
        for line in report.lines() {
            assert!(
                line.chars().count() <= usize::from(WIDTH),
                "{} columns: {line}",
                line.chars().count()
            );
        }
        // Cut in the table, whole below it.
        assert!(report.contains("a_rea…ier_1 "), "{report}");
        assert!(errors.contains(&format!("{}\nsecond line", "boom ".repeat(40))));
        // The critical path names every node whole, over several lines.
        let path = &report[report.find("Critical path").unwrap()..];
        let path = path.replace(" →\n  ", " → ").replace(":\n  ", ": ");
        assert!(
            path.contains(&run.critical_path.nodes.join(" → ")),
            "{path}"
        );
    }
}
