//! `greedy train rl --budget-ablation G,G,...`: the thinking-budget ablation (SPEC section 6).
//! One RL run per budget through the library ([`run_budget_ablation`]), each with its own plots,
//! then the table (`ablation.md`, `ablation.json`) and the reward curves of all budgets.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use gpu_trainer::rl::RlSettings;
use gpu_trainer::rl::ablation::{AblationOutcome, BudgetSummary, run_budget_ablation};
use plotters::prelude::SeriesLabelPosition;
use serde_json::Value;

use crate::io::write_atomic;
use crate::plot::curves::{Curve, CurvePlot, write_curve_plots};

/// Runs the ablation of `settings` at `budgets`; returns the table to print.
pub fn run(settings: &RlSettings, budgets: &[usize], quiet: bool) -> Result<String> {
    let stop = crate::signals::StopRequest::install()?;
    let bar = crate::progress::Bar::on_terminal(quiet);
    let o = run_budget_ablation(settings, budgets, &bar, stop.flag())?;
    for (b, rows) in o.budgets.iter().zip(&o.rows) {
        crate::plot::rl::write_rl_plots(&b.dir, rows)?;
    }
    std::fs::create_dir_all(&settings.out)?;
    write_atomic(&settings.out.join("ablation.json"), &serde_json::to_vec_pretty(&o.budgets)?)?;
    let table = table(settings, &o.budgets);
    write_atomic(&settings.out.join("ablation.md"), table.as_bytes())?;
    write_reward_curves(&settings.out, &o)?;
    if let Some((g, r)) = &o.interrupted {
        return Err(crate::signals::Interrupted(format!(
            "interrupted in the G={g} run at update {}/{}: checkpoint saved in {}; run the same command with --resume to continue",
            r.update,
            settings.updates,
            r.checkpoint.display()
        ))
        .into());
    }
    Ok(table)
}

fn f(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// The Markdown table: per budget, the held-out evaluation before and after, and the last
/// rollout's reward, invalid rate, completion length and budget cuts.
pub fn table(s: &RlSettings, budgets: &[BudgetSummary]) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# Thinking-budget ablation\n");
    let _ = writeln!(
        t,
        "{} updates per budget on {} (seed {}); held-out evaluation: {} episodes, greedy decoding.\n",
        s.updates,
        s.env.describe(),
        s.seed,
        s.eval_episodes
    );
    let _ = writeln!(
        t,
        "| G | updates | regret start | regret end | coverage start | coverage end | suffix fail end | invalid end (eval) | reward (last rollout) | invalid (last rollout) | completion length | cut by budget | generation time |"
    );
    let _ = writeln!(t, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for b in budgets {
        let (e0, e1) = (b.eval_start, b.eval_end);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            b.budget,
            b.updates,
            f(e0.map(|e| e.regret), 2),
            f(e1.map(|e| e.regret), 2),
            f(e0.map(|e| e.coverage), 3),
            f(e1.map(|e| e.coverage), 3),
            f(e1.map(|e| e.suffix_failure), 3),
            f(e1.map(|e| e.invalid_rate), 3),
            f(b.reward_end, 3),
            f(b.invalid_end, 3),
            f(b.completion_length_end, 1),
            f(b.clipped_end.map(|c| 100.0 * c), 0) + "%",
            f(b.generate_share.map(|c| 100.0 * c), 0) + "%",
        );
    }
    let _ = writeln!(
        t,
        "\nEach run: OUT/G<g>/ (log.jsonl, checkpoints, reward/kl/eval plots). Reward curves: ablation_reward.png."
    );
    t
}

/// The per-update reward of every budget's run on one figure.
fn write_reward_curves(out: &Path, o: &AblationOutcome) -> Result<()> {
    let series: Vec<(String, Vec<f64>)> = o
        .budgets
        .iter()
        .zip(&o.rows)
        .map(|(b, rows)| {
            let r: Vec<f64> = rows
                .iter()
                .filter(|r| r["eval"] != true)
                .filter_map(|r: &Value| r["reward"].as_f64())
                .collect();
            (format!("G = {}", b.budget), r)
        })
        .filter(|(_, r)| !r.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(());
    }
    let zeros: Vec<Vec<f64>> = series.iter().map(|(_, r)| vec![0.0; r.len()]).collect();
    let plot = CurvePlot {
        title: "rollout reward per update, by thinking budget G",
        x_label: "update",
        y_label: "mean shaped reward",
        curves: series.iter().zip(&zeros).map(|((l, r), z)| Curve { label: l, mean: r, ci95: z }).collect(),
        y_range: None,
        bounds: None,
        legend: SeriesLabelPosition::LowerRight,
    };
    write_curve_plots(&plot, &out.join("ablation_reward"))
}
