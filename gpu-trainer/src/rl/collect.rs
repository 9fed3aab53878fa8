//! One rollout, from play to trainable samples:
//!
//! ```text
//! bandits:     draw `envs` pool instances (seeded by the rollout), one episode each
//! tic-tac-toe: waves of `envs` new games (each game seeded by the rollout and its index) until
//!              at least `rollout_steps` agent moves are collected; whole games only, so no
//!              return is cut (a rollout holds at most envs * 5 - 1 moves more than asked)
//! samples:     one per step; shaped rewards; Monte-Carlo advantages
//! reference:   log-probs of every completion token under the frozen start
//! old:         the generation's log-probs, or the training forward's (forced steps, --old-logprobs
//!              recompute)
//! values:      with a value head, V(s_t) of every step under the current weights, then GAE:
//!              advantages (normalised over the rollout) and value targets
//! ```

use std::time::Instant;

use anyhow::{Result, bail};
use env_core::rng::derive_seed;
use serde_json::{Value, json};

use super::advantage::{RunningStats, Shaping};
use super::pool::Pool;
use super::samples::{Sample, apply_gae, build_samples, value_sequence};
use super::settings::{OldLogprobs, RlEnv, RlSettings, streams};
use super::update::sequence;
use crate::agent::cb::CbTask;
use crate::agent::mab::MabTask;
use crate::agent::rollout::{self, AgentTasks};
use crate::agent::{AgentSettings, Episode, Task};
use crate::envs::EpisodeSeeds;
use crate::envs::cb::CbData;
use crate::generate::Engine;
use crate::model::GemmaTokenizer;
use crate::train::learner::GpuLearner;

/// What a rollout needs.
pub struct Collect<'a, 'd> {
    /// The run's settings.
    pub settings: &'a RlSettings,
    /// The live policy (the learner's weights).
    pub policy: &'a mut Engine,
    /// The frozen reference.
    pub reference: &'a mut Engine,
    /// The learner (old log-probs and values from the training forward).
    pub learner: &'a mut GpuLearner,
    /// The bandit pool.
    pub pool: &'a Pool,
    /// The tokenizer (forced steps).
    pub tokenizer: &'a GemmaTokenizer,
    /// The token that closes a forced step's rationale.
    pub end: u32,
    /// The vocabulary size.
    pub vocab: usize,
    /// Reward shaping.
    pub shaping: &'a Shaping,
    /// The agent while training.
    pub agent: &'a AgentSettings,
    /// The contextual bandit's tables.
    pub data: Option<&'d CbData>,
}

/// A collected rollout.
pub struct Collected {
    /// Its samples, episode then step order.
    pub samples: Vec<Sample>,
    /// Its figures for the log.
    pub metrics: Value,
    /// Seconds playing.
    pub generate_s: f64,
    /// Seconds on reference / old log-probs and values.
    pub reference_s: f64,
}

/// The bandit tasks of one rollout.
fn bandit_tasks<'d>(
    s: &RlSettings,
    draws: &[(usize, EpisodeSeeds)],
    agent: &AgentSettings,
    data: Option<&'d CbData>,
) -> Result<AgentTasks<'d>> {
    let tasks: Vec<Box<dyn Task + 'd>> = match (&s.env, data) {
        (RlEnv::Mab(config), _) => draws
            .iter()
            .enumerate()
            .map(|(k, (_, seeds))| {
                Ok(Box::new(MabTask::with_seeds(config, &s.explore, s.epsilon, agent, *seeds, k as u64)?)
                    as Box<dyn Task>)
            })
            .collect::<Result<_>>()?,
        (RlEnv::Cb(cb), Some(data)) => draws
            .iter()
            .enumerate()
            .map(|(k, (_, seeds))| {
                Ok(Box::new(CbTask::with_seeds(data, cb.horizon, agent, *seeds, k as u64)?)
                    as Box<dyn Task + 'd>)
            })
            .collect::<Result<_>>()?,
        (RlEnv::Cb(_), None) => bail!("the contextual bandit's tables were not prepared"),
        (RlEnv::Ttt(_), _) => bail!("tic-tac-toe games are not drawn from the pool"),
    };
    Ok(AgentTasks::new(tasks, !s.explore.is_empty(), "steps"))
}

/// Plays rollout `r` with the live policy.
fn play(c: &mut Collect<'_, '_>, r: u64) -> Result<Vec<Episode>> {
    let s = c.settings;
    let rollout_seed = derive_seed(derive_seed(s.seed, streams::ROLLOUT), r);
    match &s.env {
        RlEnv::Ttt(ttt) => {
            let mut episodes: Vec<Episode> = Vec::new();
            let mut steps = 0;
            let mut wave = 0u64;
            while steps < s.rollout_steps.max(1) {
                let first = episodes.len() as u64;
                let tasks = AgentTasks::ttt(ttt, c.agent, rollout_seed, first..first + s.envs as u64)?;
                let seed = derive_seed(rollout_seed, wave).wrapping_add(1);
                let played = rollout::run(c.policy, tasks, c.agent, seed, "llm", &())?;
                steps += played.iter().map(|e| e.steps.len()).sum::<usize>();
                episodes.extend(played);
                wave += 1;
            }
            Ok(episodes)
        }
        _ => {
            let draws = c.pool.draw(r, s.envs);
            let tasks = bandit_tasks(s, &draws, c.agent, c.data)?;
            rollout::run(c.policy, tasks, c.agent, rollout_seed.wrapping_add(1), "llm", &())
        }
    }
}

/// Collects rollout `r`: play, samples, reference and old log-probs, values and GAE. `stats`
/// is the running reward statistic (updated).
pub fn collect(c: &mut Collect<'_, '_>, r: u64, stats: &mut RunningStats) -> Result<Collected> {
    let s = c.settings;
    let t = Instant::now();
    c.policy.set_prefix_cache(true);
    let episodes = play(c, r)?;
    let mut samples =
        build_samples(&episodes, c.tokenizer, c.end, c.vocab, c.shaping, s.reward_norm, stats, s.gamma)?;
    let generate_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let pairs: Vec<(Vec<u32>, usize)> = samples.iter().map(|x| (x.ids.clone(), x.prompt_len)).collect();
    for (x, lp) in samples.iter_mut().zip(c.reference.score_tokens(&pairs)?) {
        x.reference = lp;
    }
    let recompute: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].forced || s.old_logprobs == OldLogprobs::Recompute)
        .collect();
    for chunk in recompute.chunks(s.micro_batch.max(1)) {
        let seqs: Vec<_> = chunk.iter().map(|&i| sequence(&samples[i])).collect();
        for (&i, lp) in chunk.iter().zip(c.learner.token_logprobs(&seqs)?) {
            samples[i].old = lp;
        }
    }
    let mut explained = None;
    if let Some(v) = &s.value {
        let mut values = Vec::with_capacity(samples.len());
        for chunk in samples.chunks(s.micro_batch.max(1)) {
            let seqs: Vec<_> = chunk.iter().map(value_sequence).collect();
            let fwd = c.learner.logprobs_and_values(&seqs)?;
            let Some(vs) = fwd.values else { bail!("the learner has no value head") };
            values.extend(vs);
        }
        explained = Some(apply_gae(&mut samples, &values, s.gamma, v.lambda)?);
    }
    let mut metrics = rollout_metrics(&samples, &episodes, s.agent.max_new_tokens);
    if let (Some(ev), Some(m)) = (explained, metrics.as_object_mut()) {
        let values: Vec<f64> = samples.iter().filter_map(|x| x.value).map(f64::from).collect();
        let targets: Vec<f64> = samples.iter().filter_map(|x| x.value_target).map(f64::from).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        m.insert("explained_variance".into(), if ev.is_finite() { json!(ev) } else { Value::Null });
        m.insert("values/mean".into(), json!(mean(&values)));
        m.insert("returns/mean".into(), json!(mean(&targets)));
    }
    Ok(Collected { samples, metrics, generate_s, reference_s: t.elapsed().as_secs_f64() })
}

/// Per-rollout figures for the log.
fn rollout_metrics(samples: &[Sample], episodes: &[Episode], budget: usize) -> Value {
    let n = samples.len().max(1) as f64;
    let rewards: Vec<f64> = samples.iter().map(|s| s.reward).collect();
    let (reward, reward_std) = super::advantage::mean_std(&rewards);
    let env: Vec<f64> = samples.iter().map(|s| s.env_reward).collect();
    let generated: Vec<&Sample> = samples.iter().filter(|s| !s.forced).collect();
    let lens: Vec<usize> = generated.iter().map(|s| s.completion_len()).collect();
    let entropies: Vec<f64> = generated.iter().filter_map(|s| s.entropy).collect();
    let coverage: Vec<f64> =
        episodes.iter().filter_map(|e| e.steps.last().and_then(|s| s.coverage)).collect();
    let regret: Vec<f64> = episodes.iter().map(|e| e.steps.iter().filter_map(|s| s.regret).sum()).collect();
    let mean =
        |v: &[f64]| if v.is_empty() { Value::Null } else { json!(v.iter().sum::<f64>() / v.len() as f64) };
    let mut m = json!({
        "reward": reward,
        "reward_std": reward_std,
        "rewards/env/mean": env.iter().sum::<f64>() / n,
        "invalid_rate": samples.iter().filter(|s| s.invalid).count() as f64 / n,
        "rewards/invalid_penalties": samples.iter().filter(|s| s.invalid).count(),
        "rewards/new_actions": samples.iter().filter(|s| s.new_action).count(),
        "forced_rate": samples.iter().filter(|s| s.forced).count() as f64 / n,
        "entropy": mean(&entropies),
        "completion_length": mean(&lens.iter().map(|&l| l as f64).collect::<Vec<_>>()),
        "completions/max_length": lens.iter().max().copied().unwrap_or(0),
        "completions/clipped_ratio": if generated.is_empty() { 0.0 } else {
            generated.iter().filter(|s| !s.stopped).count() as f64 / generated.len() as f64
        },
        "completions/budget": budget,
        "rollout/coverage": mean(&coverage),
        "rollout/regret": mean(&regret),
        "rollout/episodes": episodes.len(),
        "rollout/samples": samples.len(),
    });
    let outcomes: Vec<&str> = episodes.iter().filter_map(|e| e.record.outcome.as_deref()).collect();
    if !outcomes.is_empty()
        && let Some(o) = m.as_object_mut()
    {
        let rate = |k: &str| outcomes.iter().filter(|&&x| x == k).count() as f64 / outcomes.len() as f64;
        o.insert("rollout/win_rate".into(), json!(rate("win")));
        o.insert("rollout/draw_rate".into(), json!(rate("draw")));
        o.insert("rollout/loss_rate".into(), json!(rate("loss")));
        let returns: Vec<f64> = episodes.iter().map(|e| e.record.return_).collect();
        o.insert("rollout/return".into(), mean(&returns));
    }
    m
}
