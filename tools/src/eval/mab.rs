//! One multi-armed-bandit episode of one agent, measured with `env_core::metrics`.

use anyhow::{Context, Result};
use env_core::agents::run_bandit_episode;
use env_core::metrics;
use env_core::{MabConfig, MultiArmedBandit};

use crate::eval::bandit_agents::build_bandit_policy;
use crate::eval::{AgentSpec, EpisodeRecord, EpisodeSeeds};

/// Plays episode `index` of `agent` on the bandit `config` and measures it. Suffix failure is
/// taken at the middle of the episode: the best arm is never pulled in steps `T/2..T`.
pub fn run_mab_episode(
    config: &MabConfig,
    agent: &AgentSpec,
    epsilon: f64,
    seed: u64,
    index: u64,
) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
    let mut policy = build_bandit_policy(agent, config, epsilon)?;
    let horizon = config.horizon;
    let mut actions = vec![0usize; horizon];
    let mut rewards = vec![0.0f64; horizon];
    let steps = run_bandit_episode(&mut env, &mut policy, seeds.episode, &mut actions, &mut rewards)
        .with_context(|| format!("agent {agent} failed in episode {index}"))?;
    actions.truncate(steps);
    rewards.truncate(steps);
    mab_record(&env, &agent.name(), index, seeds, actions, rewards)
}

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
