//! The thinking-budget ablation (SPEC section 6, "thinking time"): the same RL run at several
//! generation budgets G, each in its own directory `OUT/G<g>/` (a complete run: checkpoints, log,
//! plots), then one summary per budget from the runs' logs.
//!
//! Every run is resumable on its own: with `resume`, runs that are complete are read back, the
//! one that was interrupted continues from its checkpoint, and the ones not started start.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::Value;

use super::run::{RlOutcome, newest_checkpoint, run_rl};
use super::settings::RlSettings;
use crate::progress::Progress;

/// The directory of budget `g`'s run in the ablation directory `out`.
pub fn budget_dir(out: &Path, g: usize) -> PathBuf {
    out.join(format!("G{g}"))
}

/// What one budget's run ended with (from its log).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetSummary {
    /// The generation budget G (tokens per step).
    pub budget: usize,
    /// The run's directory.
    pub dir: PathBuf,
    /// Updates done.
    pub updates: u64,
    /// The held-out evaluation before training (update 0) and at the end: regret, coverage,
    /// suffix failure and invalid rate (greedy decoding).
    pub eval_start: Option<EvalFigures>,
    /// See `eval_start`.
    pub eval_end: Option<EvalFigures>,
    /// Over the last rollout's updates: mean shaped reward, invalid rate, completion length and
    /// the share of completions the budget cut.
    pub reward_end: Option<f64>,
    /// See `reward_end`.
    pub invalid_end: Option<f64>,
    /// See `reward_end`.
    pub completion_length_end: Option<f64>,
    /// See `reward_end`.
    pub clipped_end: Option<f64>,
    /// Mean generated tokens per update over the whole run, and the generation time share.
    pub generate_share: Option<f64>,
}

/// A held-out evaluation row's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvalFigures {
    /// The update it was made at.
    pub update: u64,
    /// Mean final cumulative regret.
    pub regret: f64,
    /// Mean coverage.
    pub coverage: f64,
    /// Suffix-failure rate.
    pub suffix_failure: f64,
    /// Invalid-answer rate.
    pub invalid_rate: f64,
}

impl EvalFigures {
    fn of(r: &Value) -> Option<EvalFigures> {
        Some(EvalFigures {
            update: r["update"].as_u64()?,
            regret: r["regret"].as_f64()?,
            coverage: r["coverage"].as_f64()?,
            suffix_failure: r["suffix_failure"].as_f64()?,
            invalid_rate: r["invalid_rate"].as_f64()?,
        })
    }
}

impl BudgetSummary {
    /// The summary of budget `g`'s run from its log rows.
    pub fn from_rows(budget: usize, dir: PathBuf, rows: &[Value]) -> BudgetSummary {
        let evals: Vec<&Value> = rows.iter().filter(|r| r["eval"] == true).collect();
        let updates: Vec<&Value> = rows.iter().filter(|r| r["eval"] != true).collect();
        let last_rollout = updates.last().and_then(|r| r["rollout"].as_u64());
        let last: Vec<&Value> =
            updates.iter().copied().filter(|r| r["rollout"].as_u64() == last_rollout).collect();
        let mean = |rs: &[&Value], k: &str| -> Option<f64> {
            let v: Vec<f64> = rs.iter().filter_map(|r| r[k].as_f64()).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let sum = |k: &str| updates.iter().filter_map(|r| r[k].as_f64()).sum::<f64>();
        let total = sum("time/generate_s") + sum("time/reference_s") + sum("time/learn_s");
        BudgetSummary {
            budget,
            dir,
            updates: updates.last().and_then(|r| r["update"].as_u64()).unwrap_or(0),
            eval_start: evals.first().and_then(|r| EvalFigures::of(r)),
            eval_end: evals.last().and_then(|r| EvalFigures::of(r)),
            reward_end: mean(&last, "reward"),
            invalid_end: mean(&last, "invalid_rate"),
            completion_length_end: mean(&last, "completion_length"),
            clipped_end: mean(&last, "completions/clipped_ratio"),
            generate_share: (total > 0.0).then(|| sum("time/generate_s") / total),
        }
    }
}

/// The ablation's outcome.
#[derive(Debug)]
pub struct AblationOutcome {
    /// One summary per budget run so far (in the order given).
    pub budgets: Vec<BudgetSummary>,
    /// Every run's log rows, in the same order.
    pub rows: Vec<Vec<Value>>,
    /// Stopped by a stop request inside the run of this budget (its checkpoint holds the update
    /// it reached); the later budgets did not run.
    pub interrupted: Option<(usize, RlOutcome)>,
}

/// Runs `base` once per budget in `budgets` (each overriding `agent.max_new_tokens` and
/// writing to [`budget_dir`]`(base.out, g)`).
pub fn run_budget_ablation(
    base: &RlSettings,
    budgets: &[usize],
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<AblationOutcome> {
    if budgets.is_empty() {
        bail!("the budget ablation needs at least one budget");
    }
    let mut sorted = budgets.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != budgets.len() || budgets.contains(&0) {
        bail!("budgets {budgets:?}: give distinct budgets of 1 token or more");
    }
    let mut out = AblationOutcome { budgets: Vec::new(), rows: Vec::new(), interrupted: None };
    for &g in budgets {
        let mut s = base.clone();
        s.agent.max_new_tokens = g;
        s.out = budget_dir(&base.out, g);
        // with --resume: started runs go on (complete ones return at once), others start
        s.resume = base.resume && newest_checkpoint(&s.out)?.is_some();
        let o = run_rl(&s, progress, stop)?;
        out.budgets.push(BudgetSummary::from_rows(g, s.out.clone(), &o.rows));
        out.rows.push(o.rows.clone());
        if o.interrupted {
            out.interrupted = Some((g, o));
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_summary_reads_the_first_and_last_evaluation_and_the_last_rollout() {
        let rows = vec![
            json!({"eval": true, "update": 0, "regret": 5.0, "coverage": 0.4, "suffix_failure": 0.5, "invalid_rate": 0.1}),
            json!({"update": 1, "rollout": 0, "reward": -1.0, "invalid_rate": 0.5, "completion_length": 10.0,
                   "completions/clipped_ratio": 1.0, "time/generate_s": 3.0, "time/reference_s": 1.0, "time/learn_s": 4.0}),
            json!({"update": 2, "rollout": 1, "reward": 0.5, "invalid_rate": 0.25, "completion_length": 20.0,
                   "completions/clipped_ratio": 0.5, "time/generate_s": 3.0, "time/reference_s": 1.0, "time/learn_s": 4.0}),
            json!({"update": 3, "rollout": 1, "reward": 1.5, "invalid_rate": 0.0, "completion_length": 30.0,
                   "completions/clipped_ratio": 0.0, "time/generate_s": 3.0, "time/reference_s": 1.0, "time/learn_s": 4.0}),
            json!({"eval": true, "update": 3, "regret": 2.0, "coverage": 0.8, "suffix_failure": 0.25, "invalid_rate": 0.0}),
        ];
        let s = BudgetSummary::from_rows(64, PathBuf::from("x/G64"), &rows);
        assert_eq!(s.updates, 3);
        assert_eq!(s.eval_start.unwrap().regret, 5.0);
        assert_eq!(
            s.eval_end.unwrap(),
            EvalFigures { update: 3, regret: 2.0, coverage: 0.8, suffix_failure: 0.25, invalid_rate: 0.0 }
        );
        assert_eq!(s.reward_end, Some(1.0), "mean over the last rollout's updates (2 and 3)");
        assert_eq!(s.invalid_end, Some(0.125));
        assert_eq!(s.completion_length_end, Some(25.0));
        assert_eq!(s.clipped_end, Some(0.25));
        assert_eq!(s.generate_share, Some(9.0 / 24.0));
        let empty = BudgetSummary::from_rows(8, PathBuf::from("y"), &[]);
        assert_eq!((empty.updates, empty.eval_end, empty.reward_end), (0, None, None));
    }
}
