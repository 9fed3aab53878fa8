//! The summary table printed on the terminal.

use gpu_trainer::eval::AgentSummary;

fn pm(mean: Option<f64>, ci: Option<f64>) -> String {
    match (mean, ci) {
        (Some(m), Some(c)) => format!("{m:.2} ± {c:.2}"),
        (Some(m), None) => format!("{m:.2}"),
        _ => "-".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

/// Formats rows as aligned columns: the first column left-aligned, the others right-aligned.
/// One row per agent from `cells`, plus an `invalid` column (the LLM agent's invalid-answer
/// rate) when `llm` is set.
fn rows_with_invalid(
    summaries: &[AgentSummary],
    llm: bool,
    header: &mut Vec<&str>,
    cells: impl Fn(&AgentSummary) -> Vec<String>,
) -> Vec<Vec<String>> {
    if llm {
        header.push("invalid");
    }
    summaries
        .iter()
        .map(|s| {
            let mut row = cells(s);
            if llm {
                row.push(pct(s.invalid_rate));
            }
            row
        })
        .collect()
}

/// Aligned columns under a header and a rule: the first column left-aligned, the others right-aligned.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// The table for a run's summaries (bandit columns or tic-tac-toe columns).
pub fn summary_table(summaries: &[AgentSummary]) -> String {
    let ttt = summaries.iter().any(|s| s.win_rate.is_some());
    let llm = summaries.iter().any(|s| s.invalid_rate.is_some());
    if ttt {
        let mut header = vec!["agent", "episodes", "return (95% CI)", "win", "draw", "loss"];
        let rows = rows_with_invalid(summaries, llm, &mut header, |s| {
            vec![
                s.agent.clone(),
                s.episodes.to_string(),
                pm(Some(s.mean_return), Some(s.return_ci95)),
                pct(s.win_rate),
                pct(s.draw_rate),
                pct(s.loss_rate),
            ]
        });
        return render(&header, &rows);
    }
    let mut header = vec![
        "agent",
        "episodes",
        "final regret (95% CI)",
        "coverage",
        "return",
        "suffix fail",
        "MinFrac",
        "GreedyFrac",
    ];
    let rows = rows_with_invalid(summaries, llm, &mut header, |s| {
        vec![
            s.agent.clone(),
            s.episodes.to_string(),
            pm(s.mean_regret, s.regret_ci95),
            pct(s.mean_coverage),
            pm(Some(s.mean_return), Some(s.return_ci95)),
            pct(s.suffix_failure_rate),
            num(s.mean_min_frac),
            num(s.mean_greedy_frac),
        ]
    });
    render(&header, &rows)
}
