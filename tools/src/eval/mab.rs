//! One multi-armed-bandit episode of one agent.

use anyhow::{Context, Result};
use env_core::{Environment, MabConfig, MultiArmedBandit, Rng};

use crate::eval::bandit_agents::build_bandit_policy;
use crate::eval::interim::{metrics, BanditPolicy};
use crate::eval::{AgentSpec, EpisodeRecord, EpisodeSeeds};

/// Plays episode `index` of `agent` on the bandit `config` and measures it.
pub fn run_mab_episode(config: &MabConfig, agent: &AgentSpec, epsilon: f64, seed: u64, index: u64) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
    env.reset(seeds.episode)?;
    let mut policy = build_bandit_policy(agent, epsilon)?;
    policy.reset(config.arms)?;
    let mut rng = Rng::new(seeds.agent);
    let mut rec = EpisodeRecord::new(agent.name(), "mab".into(), index, seeds.scenario, seeds.episode);
    let mut regret = Vec::with_capacity(config.horizon);
    while !env.is_done() {
        let arm = policy.select(&mut rng).with_context(|| format!("agent {agent} failed to choose"))?;
        let tr = env.step(arm).with_context(|| format!("agent {agent} chose arm {arm}"))?;
        policy.update(arm, tr.reward)?;
        rec.actions.push(arm);
        rec.rewards.push(tr.reward);
        regret.push(tr.info.regret);
    }
    let best = env.best_arm();
    let cumulative = metrics::cumulative_regret(&regret);
    let coverage = metrics::coverage_curve(&rec.actions, config.arms);
    rec.return_ = rec.rewards.iter().sum();
    rec.final_regret = cumulative.last().copied();
    rec.coverage = coverage.last().copied();
    rec.suffix_failure = Some(metrics::suffix_failure(&rec.actions, best));
    rec.min_frac = Some(metrics::min_frac(&rec.actions, config.arms));
    rec.greedy_frac = Some(metrics::greedy_frac(&rec.actions, &rec.rewards, config.arms));
    rec.best_arm = Some(best);
    rec.regret = Some(regret);
    rec.cumulative_regret = Some(cumulative);
    rec.coverage_curve = Some(coverage);
    Ok(rec)
}
