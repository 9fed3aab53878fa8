//! The files of a run directory and the `--json` lines.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::io::write_atomic;
use gpu_trainer::envs::EnvSettings;
use gpu_trainer::eval::{AgentSummary, EvalOutput, EvalSettings};
use plotters::chart::SeriesLabelPosition;

use crate::plot::{Curve, CurvePlot, write_curve_plots};

/// Picks an agent's (mean, half-width) curves out of its summary.
type CurvePick = fn(&AgentSummary) -> (Option<&Vec<f64>>, Option<&Vec<f64>>);

/// The settings of a run, as recorded in `summary.json`.
pub fn settings_json(s: &EvalSettings) -> Value {
    let env = match &s.env {
        EnvSettings::Mab(c) => {
            let (dist, param) = match c.distribution {
                env_core::ArmDistribution::Gaussian { sigma } => ("gaussian", json!({ "sigma": sigma })),
                env_core::ArmDistribution::Bernoulli { gap } => ("bernoulli", json!({ "gap": gap })),
            };
            let labels = match c.labels {
                env_core::LabelStyle::Buttons => "buttons",
                env_core::LabelStyle::Numeric => "numeric",
            };
            json!({ "env": "mab", "dist": dist, "params": param, "arms": c.arms, "horizon": c.horizon, "labels": labels })
        }
        EnvSettings::Cb(c) => json!({
            "env": "cb", "movies": c.movies, "users": c.users, "horizon": c.horizon,
            "movielens": c.movielens.as_ref().map(|p| p.display().to_string()),
        }),
        EnvSettings::Ttt(t) => json!({
            "env": "ttt", "opponent": format!("{:?}", t.opponent).to_lowercase(), "mcts_budget": t.mcts_budget,
            "noise_p": t.noise_p, "first": format!("{:?}", t.first).to_lowercase(),
        }),
    };
    let mut v = json!({
        "environment": env,
        "agents": s.agents.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "epsilon": s.epsilon,
        "episodes": s.episodes,
        "seed": s.seed,
    });
    if let Some(l) = &s.llm {
        v["llm"] = json!({
            "model": l.model.display().to_string(), "dtype": format!("{:?}", l.dtype).to_lowercase(),
            "max_new_tokens": l.max_new_tokens, "temperature": l.temperature, "cot": l.cot,
            "summary": l.summary, "randomize": l.randomize, "chat": !l.base, "answer_chars": l.answer_chars,
            "samples": l.samples, "self_correct": l.self_correct, "answer_prefix": l.answer_prefix,
        });
        if let EnvSettings::Ttt(_) = &s.env {
            v["llm"]["legal_moves"] = json!(l.legal_moves);
        }
    }
    v
}

/// One JSON object per agent, one per line (the `--json` output).
pub fn summary_json_lines(out: &EvalOutput) -> Result<String> {
    let mut s = String::new();
    for summary in &out.summaries {
        s.push_str(&serde_json::to_string(summary)?);
        s.push('\n');
    }
    Ok(s)
}

/// Writes `episodes.jsonl`, `summary.json` and, for bandits, `regret.{png,svg}` and
/// `coverage.{png,svg}` as the run directory `dir`, replacing an earlier run there as a whole
/// (see [`crate::io::stage_run_dir`]).
pub fn write_run_files(dir: &Path, settings: &EvalSettings, out: &EvalOutput) -> Result<()> {
    write_run_files_with(dir, settings, out, &mut |_| Ok(()))
}

/// The files of an eval run directory.
pub fn is_eval_file(name: &str) -> bool {
    name == "episodes.jsonl" || name == "summary.json" || crate::io::is_plot_or_report(name)
}

/// [`write_run_files`], calling `after_file` with each data file once it is written (tests
/// inject a failure there: the previous run must stay whole).
pub fn write_run_files_with(
    dir: &Path,
    settings: &EvalSettings,
    out: &EvalOutput,
    after_file: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<()> {
    let staged = crate::io::stage_run_dir(dir, "greedy eval", is_eval_file)?;
    let stage = staged.path();
    let mut jsonl = String::new();
    for r in &out.records {
        jsonl.push_str(&serde_json::to_string(r)?);
        jsonl.push('\n');
    }
    write_atomic(&stage.join("episodes.jsonl"), jsonl.as_bytes())?;
    after_file(&stage.join("episodes.jsonl"))?;
    let summary = json!({ "settings": settings_json(settings), "agents": out.summaries });
    let mut text = serde_json::to_string_pretty(&summary)?;
    text.push('\n');
    write_atomic(&stage.join("summary.json"), text.as_bytes())?;
    after_file(&stage.join("summary.json"))?;
    write_plots(stage, settings, out)?;
    staged.commit().with_context(|| format!("--out {}", dir.display()))
}

/// The regret and coverage plots of a bandit run.
fn write_plots(dir: &Path, settings: &EvalSettings, out: &EvalOutput) -> Result<()> {
    let curves = |pick: CurvePick| -> Vec<Curve> {
        out.summaries
            .iter()
            .filter_map(|s| match pick(s) {
                (Some(m), Some(c)) => Some(Curve { label: &s.agent, mean: m, ci95: c }),
                _ => None,
            })
            .collect()
    };
    let regret = curves(|s| (s.regret_curve.as_ref(), s.regret_curve_ci95.as_ref()));
    if !regret.is_empty() {
        let env = settings.env.name().to_uppercase();
        let title = format!("{env}: cumulative regret (mean, 95% CI, {} episodes)", settings.episodes);
        let plot = CurvePlot {
            title: &title,
            x_label: "step",
            y_label: "cumulative regret",
            curves: regret,
            y_range: None,
            bounds: None,
            legend: SeriesLabelPosition::UpperLeft,
        };
        write_curve_plots(&plot, &dir.join("regret"))?;
        let title = format!("{env}: action coverage (mean, 95% CI, {} episodes)", settings.episodes);
        let coverage = curves(|s| (s.coverage_curve.as_ref(), s.coverage_curve_ci95.as_ref()));
        let plot = CurvePlot {
            title: &title,
            x_label: "step",
            y_label: "fraction of arms tried",
            curves: coverage,
            y_range: Some((0.0, 1.05)),
            bounds: Some((0.0, 1.0)),
            legend: SeriesLabelPosition::LowerRight,
        };
        write_curve_plots(&plot, &dir.join("coverage"))?;
    }
    Ok(())
}
