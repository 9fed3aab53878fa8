//! A finished multi-armed-bandit episode, measured with `env_core::metrics`.

use anyhow::Result;
use env_core::MultiArmedBandit;
use env_core::metrics;

use super::{EpisodeRecord, EpisodeSeeds};

/// Measures a finished episode played on `env` (regret, coverage, suffix failure, MinFrac,
/// GreedyFrac) into a record; shared by the baseline agents and the LLM agent.
pub fn mab_record(
    env: &MultiArmedBandit,
    agent: &str,
    index: u64,
    seeds: EpisodeSeeds,
    actions: Vec<usize>,
    rewards: Vec<f64>,
) -> Result<EpisodeRecord> {
    let steps = actions.len();
    let k = env.config().arms;
    let means = env.means();
    let regret: Vec<f64> = actions.iter().map(|&a| env.best_mean() - means[a]).collect();
    let mut cumulative = vec![0.0; steps];
    let final_regret = metrics::cumulative_regret(means, &actions, &mut cumulative)?;
    let mut coverage = vec![0.0; steps];
    let final_coverage = metrics::coverage_curve(k, &actions, &mut coverage)?;
    let best = env.best_arm();

    let mut rec = EpisodeRecord::new(agent.to_string(), "mab".into(), index, seeds.scenario, seeds.episode);
    rec.return_ = rewards.iter().sum();
    rec.final_regret = Some(final_regret);
    rec.coverage = Some(final_coverage);
    rec.suffix_failure = Some(metrics::suffix_failure(k, best, &actions, steps / 2)?);
    rec.min_frac = Some(metrics::min_frac(k, &actions)?);
    rec.greedy_frac = if steps >= 2 { Some(metrics::greedy_frac(k, &actions, &rewards)?) } else { None };
    rec.best_arm = Some(best);
    rec.regret = Some(regret);
    rec.cumulative_regret = Some(cumulative);
    rec.coverage_curve = Some(coverage);
    rec.actions = actions;
    rec.rewards = rewards;
    Ok(rec)
}
