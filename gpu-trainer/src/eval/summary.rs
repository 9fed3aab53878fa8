//! Per-agent aggregates over episodes: means with 95% confidence half-widths, and mean curves.

use serde::Serialize;

use crate::envs::EpisodeRecord;
use env_core::metrics::{self, GameOutcomes};

/// Mean and 95% confidence half-width of each step of a set of equally long curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveStats {
    /// Mean per step.
    pub mean: Vec<f64>,
    /// 95% confidence half-width per step.
    pub ci95: Vec<f64>,
}

impl CurveStats {
    /// Step-wise statistics of `curves` (all of the same length).
    pub fn of(curves: &[&[f64]]) -> CurveStats {
        let len = curves.iter().map(|c| c.len()).min().unwrap_or(0);
        let (mut mean, mut ci95) = (Vec::with_capacity(len), Vec::with_capacity(len));
        let mut column = Vec::with_capacity(curves.len());
        for t in 0..len {
            column.clear();
            column.extend(curves.iter().map(|c| c[t]));
            let (m, h) = mean_ci95(&column);
            mean.push(m);
            ci95.push(h);
        }
        CurveStats { mean, ci95 }
    }
}

/// The summary of one agent (one line of `--json` output; an entry of `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSummary {
    /// Agent name.
    pub agent: String,
    /// Environment.
    pub env: String,
    /// Number of episodes.
    pub episodes: usize,
    /// Bandits: mean final cumulative regret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_regret: Option<f64>,
    /// Bandits: its 95% confidence half-width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regret_ci95: Option<f64>,
    /// Bandits: mean final coverage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_coverage: Option<f64>,
    /// Bandits: its 95% confidence half-width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_ci95: Option<f64>,
    /// Mean return (tic-tac-toe: win rate minus loss rate).
    pub mean_return: f64,
    /// Its 95% confidence half-width.
    pub return_ci95: f64,
    /// MAB: fraction of episodes with a suffix failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix_failure_rate: Option<f64>,
    /// MAB: mean MinFrac.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_min_frac: Option<f64>,
    /// MAB: mean GreedyFrac.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_greedy_frac: Option<f64>,
    /// Tic-tac-toe: fraction of games won.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_rate: Option<f64>,
    /// Tic-tac-toe: fraction of games drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draw_rate: Option<f64>,
    /// Tic-tac-toe: fraction of games lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_rate: Option<f64>,
    /// LLM agent: fraction of answers with no valid action (over all steps of all episodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_rate: Option<f64>,
    /// Bandits: mean cumulative regret after each step (length = horizon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regret_curve: Option<Vec<f64>>,
    /// Bandits: its 95% confidence half-width per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regret_curve_ci95: Option<Vec<f64>>,
    /// Bandits: mean coverage after each step (length = horizon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_curve: Option<Vec<f64>>,
    /// Bandits: its 95% confidence half-width per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_curve_ci95: Option<Vec<f64>>,
}

fn collect<T: Copy>(records: &[&EpisodeRecord], f: impl Fn(&EpisodeRecord) -> Option<T>) -> Option<Vec<T>> {
    records.iter().map(|r| f(r)).collect()
}

fn rate(flags: &[bool]) -> f64 {
    flags.iter().filter(|&&b| b).count() as f64 / flags.len().max(1) as f64
}

fn mean(values: &[f64]) -> f64 {
    mean_ci95(values).0
}

/// Mean and 95% half-width from `env_core::metrics::mean_ci95`; NaN where undefined (no
/// values, or a half-width of a single value), which JSON shows as `null`.
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    match metrics::mean_ci95(values) {
        Ok(ci) => (ci.mean, ci.half_width),
        Err(_) => (f64::NAN, f64::NAN),
    }
}

impl AgentSummary {
    /// Aggregates the episodes of one agent (all from the same agent and environment, non-empty).
    pub fn from_records(agent: &str, env: &str, records: &[&EpisodeRecord]) -> AgentSummary {
        let returns: Vec<f64> = records.iter().map(|r| r.return_).collect();
        let (mean_return, return_ci95) = mean_ci95(&returns);
        let regret = collect(records, |r| r.final_regret).map(|v| mean_ci95(&v));
        let coverage = collect(records, |r| r.coverage).map(|v| mean_ci95(&v));
        let regret_curve = collect_curves(records, |r| r.cumulative_regret.as_deref());
        let coverage_curve = collect_curves(records, |r| r.coverage_curve.as_deref());
        let games = records.iter().all(|r| r.outcome.is_some()).then(|| {
            let mut g = GameOutcomes::default();
            for r in records {
                let _ = g.add(r.return_);
            }
            g
        });
        let share =
            |pick: fn(&GameOutcomes) -> u64| games.as_ref().map(|g| pick(g) as f64 / g.games().max(1) as f64);
        AgentSummary {
            agent: agent.to_string(),
            env: env.to_string(),
            episodes: records.len(),
            mean_regret: regret.map(|r| r.0),
            regret_ci95: regret.map(|r| r.1),
            mean_coverage: coverage.map(|c| c.0),
            coverage_ci95: coverage.map(|c| c.1),
            mean_return,
            return_ci95,
            suffix_failure_rate: collect(records, |r| r.suffix_failure).map(|v| rate(&v)),
            mean_min_frac: collect(records, |r| r.min_frac).map(|v| mean(&v)),
            mean_greedy_frac: collect(records, |r| r.greedy_frac).map(|v| mean(&v)),
            win_rate: share(|g| g.wins),
            draw_rate: share(|g| g.draws),
            loss_rate: share(|g| g.losses),
            invalid_rate: collect(records, |r| r.invalid_answers).map(|v| {
                // over the steps the model answered (not those an exploration wrapper decided)
                let steps: usize =
                    records.iter().map(|r| r.actions.len() - r.explore_steps.unwrap_or(0)).sum();
                v.iter().sum::<usize>() as f64 / steps.max(1) as f64
            }),
            regret_curve: regret_curve.as_ref().map(|c| c.mean.clone()),
            regret_curve_ci95: regret_curve.map(|c| c.ci95),
            coverage_curve: coverage_curve.as_ref().map(|c| c.mean.clone()),
            coverage_curve_ci95: coverage_curve.map(|c| c.ci95),
        }
    }
}

fn collect_curves(
    records: &[&EpisodeRecord],
    f: impl Fn(&EpisodeRecord) -> Option<&[f64]>,
) -> Option<CurveStats> {
    let curves: Option<Vec<&[f64]>> = records.iter().map(|r| f(r)).collect();
    curves.map(|c| CurveStats::of(&c))
}
