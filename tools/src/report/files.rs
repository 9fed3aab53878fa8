//! The files of a run directory and the `--json` lines.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::io::write_atomic;
use gpu_trainer::eval::{AgentSummary, EvalOutput, EvalSettings};
use gpu_trainer::shard::ShardManifest;
use plotters::chart::SeriesLabelPosition;

use crate::plot::{Curve, CurvePlot, write_curve_plots};

/// Picks an agent's (mean, half-width) curves out of its summary.
type CurvePick = fn(&AgentSummary) -> (Option<&Vec<f64>>, Option<&Vec<f64>>);

/// The settings of a run, as recorded in `summary.json` (see [`EvalSettings::to_json`]).
pub fn settings_json(s: &EvalSettings) -> Value {
    s.to_json()
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

/// The files of an eval run directory (a shard's also holds its `shard.json`).
pub fn is_eval_file(name: &str) -> bool {
    name == "episodes.jsonl"
        || name == "summary.json"
        || name == gpu_trainer::shard::MANIFEST_FILE
        || crate::io::is_plot_or_report(name)
}

/// [`write_run_files`], calling `after_file` with each data file once it is written (tests
/// inject a failure there: the previous run must stay whole).
pub fn write_run_files_with(
    dir: &Path,
    settings: &EvalSettings,
    out: &EvalOutput,
    after_file: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<()> {
    let files = EvalFiles {
        settings: &settings.to_json(),
        env: &settings.env.name(),
        episodes: settings.episodes,
        jsonl: &episodes_jsonl(out)?,
        out,
    };
    write_eval_dir(dir, &files, None, after_file)
}

/// The lines of `episodes.jsonl`: one JSON record per agent and episode.
pub fn episodes_jsonl(out: &EvalOutput) -> Result<String> {
    let mut jsonl = String::new();
    for r in &out.records {
        jsonl.push_str(&serde_json::to_string(r)?);
        jsonl.push('\n');
    }
    Ok(jsonl)
}

/// What an eval run directory holds, whether one process ran it or shards were merged.
pub struct EvalFiles<'a> {
    /// The settings as recorded (`summary.json`'s `settings`).
    pub settings: &'a Value,
    /// The environment's short name (`mab`, `cb`, `ttt`), for the plots.
    pub env: &'a str,
    /// Episodes per agent in the whole run, for the plots.
    pub episodes: usize,
    /// The text of `episodes.jsonl`.
    pub jsonl: &'a str,
    /// The summaries (and records).
    pub out: &'a EvalOutput,
}

/// Writes `files` as the run directory `dir`, replacing it as a whole. Without `shard`: the
/// run's `episodes.jsonl`, `summary.json` and plots. With the `shard`'s manifest: its
/// `episodes.jsonl`, its partial `summary.json` (marked with `"shard"`), no plots, and the
/// manifest completed with the digest of `episodes.jsonl` as `shard.json`, written last.
pub fn write_eval_dir(
    dir: &Path,
    files: &EvalFiles,
    shard: Option<ShardManifest>,
    after_file: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<()> {
    let staged = crate::io::stage_run_dir(dir, "greedy eval", is_eval_file)?;
    let stage = staged.path();
    write_atomic(&stage.join("episodes.jsonl"), files.jsonl.as_bytes())?;
    after_file(&stage.join("episodes.jsonl"))?;
    let summary = match &shard {
        None => json!({ "settings": files.settings, "agents": files.out.summaries }),
        Some(m) => json!({
            "settings": files.settings,
            "shard": { "index": m.shard, "count": m.shards, "episodes": m.items.len() },
            "agents": files.out.summaries,
        }),
    };
    let mut text = serde_json::to_string_pretty(&summary)?;
    text.push('\n');
    write_atomic(&stage.join("summary.json"), text.as_bytes())?;
    after_file(&stage.join("summary.json"))?;
    match shard {
        None => write_plots(stage, files)?,
        Some(mut m) => {
            m.add_file("episodes.jsonl", files.jsonl.as_bytes());
            write_atomic(&stage.join(gpu_trainer::shard::MANIFEST_FILE), &m.to_bytes()?)?;
        }
    }
    staged.commit().with_context(|| format!("--out {}", dir.display()))
}

/// The regret and coverage plots of a bandit run.
fn write_plots(dir: &Path, files: &EvalFiles) -> Result<()> {
    let curves = |pick: CurvePick| -> Vec<Curve> {
        files
            .out
            .summaries
            .iter()
            .filter_map(|s| match pick(s) {
                (Some(m), Some(c)) => Some(Curve { label: &s.agent, mean: m, ci95: c }),
                _ => None,
            })
            .collect()
    };
    let regret = curves(|s| (s.regret_curve.as_ref(), s.regret_curve_ci95.as_ref()));
    if !regret.is_empty() {
        let env = files.env.to_uppercase();
        let title = format!("{env}: cumulative regret (mean, 95% CI, {} episodes)", files.episodes);
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
        let title = format!("{env}: action coverage (mean, 95% CI, {} episodes)", files.episodes);
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
