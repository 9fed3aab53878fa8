//! The parallel runner: every (agent, episode) pair of a baseline agent is an independent job on
//! rayon's pool; the LLM agent plays all its episodes at once, in lock-step, one batched
//! generation per step ([`crate::agent::rollout`]).

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use super::baselines::{run_cb_episode, run_mab_episode, run_ttt_episode};
use super::{AgentSpec, AgentSummary, BaseAgent, EvalSettings, Progress};
use crate::agent::Policy;
use crate::agent::rollout::{self, AgentTasks};
use crate::envs::cb::CbData;
use crate::envs::{EnvSettings, EpisodeRecord};

/// The result of a run: every episode (agent-major, then episode order) and one summary per agent.
#[derive(Debug, Clone)]
pub struct EvalOutput {
    /// All episodes, grouped by agent in the order the agents were given.
    pub records: Vec<EpisodeRecord>,
    /// One summary per agent, same order.
    pub summaries: Vec<AgentSummary>,
}

/// What the episodes of a run share, built once (the contextual bandit's tables).
#[derive(Debug, Clone)]
pub enum SharedData {
    /// Nothing to prepare.
    None,
    /// The contextual bandit's tables.
    Cb(CbData),
}

impl SharedData {
    /// Prepares what the environment of `settings` needs.
    pub fn new(settings: &EvalSettings) -> Result<SharedData> {
        Ok(match &settings.env {
            EnvSettings::Cb(cb) => SharedData::Cb(CbData::prepare(cb, settings.seed)?),
            _ => SharedData::None,
        })
    }
}

/// Runs one episode of one agent.
pub fn run_episode(
    settings: &EvalSettings,
    shared: &SharedData,
    agent: &AgentSpec,
    index: u64,
) -> Result<EpisodeRecord> {
    match (&settings.env, shared) {
        (EnvSettings::Mab(config), _) => {
            run_mab_episode(config, agent, settings.epsilon, settings.seed, index)
        }
        (EnvSettings::Cb(cb), SharedData::Cb(data)) => {
            run_cb_episode(data, cb.horizon, agent, settings.seed, index)
        }
        (EnvSettings::Cb(_), SharedData::None) => bail!("the contextual bandit's tables were not prepared"),
        (EnvSettings::Ttt(ttt), _) => run_ttt_episode(ttt, agent, settings.seed, index),
    }
}

/// Runs every agent for `settings.episodes` episodes in parallel. The output does not depend on
/// the number of threads: each episode's randomness comes from its own seeds, and the results
/// are collected in job order.
///
/// The LLM agent (`--agent llm`) runs first, on this thread: all its episodes advance together,
/// one batched generate call per step (its own progress bar counts steps).
pub fn run_eval(settings: &EvalSettings, progress: &dyn Progress) -> Result<EvalOutput> {
    let all: Vec<u64> = (0..settings.episodes as u64).collect();
    run_episodes(settings, &all, progress)
}

/// [`run_eval`] with the LLM agent's `policy` given (a scripted one in tests; None when no agent
/// is `llm`).
pub fn run_eval_on(
    settings: &EvalSettings,
    progress: &dyn Progress,
    policy: Option<&mut dyn Policy>,
) -> Result<EvalOutput> {
    let all: Vec<u64> = (0..settings.episodes as u64).collect();
    run_episodes_on(settings, &all, progress, policy)
}

/// [`run_eval`] on the episodes `episodes` only (indices in `0..settings.episodes`, increasing:
/// a shard, see [`crate::shard`]): each episode is the one the whole run plays, and the
/// summaries are over these episodes.
pub fn run_episodes(
    settings: &EvalSettings,
    episodes: &[u64],
    progress: &dyn Progress,
) -> Result<EvalOutput> {
    let mut engine = match &settings.llm {
        Some(llm) if settings.agents.iter().any(|a| a.base == BaseAgent::Llm) => {
            Some(crate::agent::load_engine(&llm.model, llm.dtype)?)
        }
        _ => None,
    };
    run_episodes_on(settings, episodes, progress, engine.as_mut().map(|e| e as &mut dyn Policy))
}

/// [`run_episodes`] with the LLM agent's `policy` given.
pub fn run_episodes_on(
    settings: &EvalSettings,
    episodes: &[u64],
    progress: &dyn Progress,
    mut policy: Option<&mut dyn Policy>,
) -> Result<EvalOutput> {
    if let Some(&bad) = episodes.iter().find(|&&i| i >= settings.episodes as u64) {
        bail!("episode {bad} is not in the run's 0..{}", settings.episodes);
    }
    if episodes.windows(2).any(|w| w[0] >= w[1]) {
        bail!("the episodes of a run are given in increasing order, each once");
    }
    let per_agent = episodes.len();
    let is_llm = |a: usize| settings.agents[a].base == BaseAgent::Llm;
    let shared = SharedData::new(settings)?;
    let mut llm_records: Vec<Vec<EpisodeRecord>> = Vec::new();
    for a in (0..settings.agents.len()).filter(|&a| is_llm(a)) {
        let Some(llm) = &settings.llm else {
            bail!("--agent llm needs --model");
        };
        let policy = policy.as_deref_mut().context("the LLM agent needs a model")?;
        let spec = &settings.agents[a];
        let seed = settings.seed;
        let n = episodes.iter().copied();
        let tasks = match (&settings.env, &shared) {
            (EnvSettings::Mab(config), _) => {
                AgentTasks::mab(config, &spec.explorations(), settings.epsilon, llm, seed, n)?
            }
            (EnvSettings::Ttt(ttt), _) => AgentTasks::ttt(ttt, llm, seed, n)?,
            (EnvSettings::Cb(cb), SharedData::Cb(data)) => AgentTasks::cb(data, cb.horizon, llm, seed, n)?,
            (EnvSettings::Cb(_), SharedData::None) => {
                bail!("the contextual bandit's tables were not prepared")
            }
        };
        let recs = rollout::play(policy, tasks, llm, seed, &spec.name(), progress)
            .with_context(|| format!("agent {spec}"))?;
        llm_records.push(recs);
    }
    let jobs: Vec<(usize, u64)> = (0..settings.agents.len())
        .filter(|&a| !is_llm(a))
        .flat_map(|a| episodes.iter().map(move |&i| (a, i)))
        .collect();
    progress.start(jobs.len() as u64, "episodes");
    let baseline: Vec<EpisodeRecord> = jobs
        .par_iter()
        .map(|&(a, i)| {
            let rec = run_episode(settings, &shared, &settings.agents[a], i);
            progress.inc(1);
            rec
        })
        .collect::<Result<_>>()?;
    progress.finish();
    // agent-major order, as the agents were given
    let mut llm_iter = llm_records.into_iter();
    let mut base_iter = baseline.into_iter();
    let mut records = Vec::with_capacity(settings.agents.len() * per_agent);
    for a in 0..settings.agents.len() {
        if is_llm(a) {
            records.extend(llm_iter.next().expect("one run per llm agent"));
        } else {
            records.extend(base_iter.by_ref().take(per_agent));
        }
    }
    let names: Vec<String> = settings.agents.iter().map(AgentSpec::name).collect();
    let summaries = summarize(&names, &settings.env.name(), &records, per_agent);
    Ok(EvalOutput { records, summaries })
}

/// One summary per agent of `records` (agent-major: `per_agent` records of each agent in turn,
/// the agents in the order of `agents`).
pub fn summarize(
    agents: &[String],
    env: &str,
    records: &[EpisodeRecord],
    per_agent: usize,
) -> Vec<AgentSummary> {
    agents
        .iter()
        .enumerate()
        .map(|(a, name)| {
            let start = a * per_agent;
            let mine: Vec<&EpisodeRecord> = records[start..start + per_agent].iter().collect();
            AgentSummary::from_records(name, env, &mine)
        })
        .collect()
}
