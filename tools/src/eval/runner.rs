//! The parallel runner: every (agent, episode) pair is an independent job on rayon's pool.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::eval::cb::{CbData, run_cb_episode};
use crate::eval::mab::run_mab_episode;
use crate::eval::ttt::run_ttt_episode;
use crate::eval::{AgentSpec, AgentSummary, BaseAgent, EnvSettings, EpisodeRecord, EvalSettings};

/// The result of a run: every episode (agent-major, then episode order) and one summary per agent.
#[derive(Debug, Clone)]
pub struct EvalOutput {
    /// All episodes, grouped by agent in the order the agents were given.
    pub records: Vec<EpisodeRecord>,
    /// One summary per agent, same order.
    pub summaries: Vec<AgentSummary>,
}

/// What episodes share, built once per run (the contextual bandit's tables).
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Nothing to prepare.
    None,
    /// The contextual bandit's tables.
    Cb(CbData),
}

impl Prepared {
    /// Prepares what the environment of `settings` needs.
    pub fn new(settings: &EvalSettings) -> Result<Prepared> {
        Ok(match &settings.env {
            EnvSettings::Cb(cb) => Prepared::Cb(CbData::prepare(cb, settings.seed)?),
            _ => Prepared::None,
        })
    }
}

/// Runs one episode of one agent.
pub fn run_episode(
    settings: &EvalSettings,
    prepared: &Prepared,
    agent: &AgentSpec,
    index: u64,
) -> Result<EpisodeRecord> {
    match (&settings.env, prepared) {
        (EnvSettings::Mab(config), _) => {
            run_mab_episode(config, agent, settings.epsilon, settings.seed, index)
        }
        (EnvSettings::Cb(cb), Prepared::Cb(data)) => {
            run_cb_episode(data, cb.horizon, agent, settings.seed, index)
        }
        (EnvSettings::Cb(_), Prepared::None) => bail!("the contextual bandit's tables were not prepared"),
        (EnvSettings::Ttt(ttt), _) => run_ttt_episode(ttt, agent, settings.seed, index),
    }
}

/// A progress bar on stderr, or a hidden one when `show` is false.
fn progress_bar(total: u64, show: bool) -> ProgressBar {
    progress_bar_with(total, show, "episodes")
}

/// A progress bar over `total` `unit`s on stderr, or a hidden one when `show` is false.
pub(crate) fn progress_bar_with(total: u64, show: bool, unit: &str) -> ProgressBar {
    if !show {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{eta}} left) {{msg}}"
    )) {
        bar.set_style(style);
    }
    bar
}

/// Runs every agent for `settings.episodes` episodes in parallel. The output does not depend on
/// the number of threads: each episode's randomness comes from its own seeds, and the results
/// are collected in job order.
///
/// The LLM agent (`--agent llm`) runs first, on this thread: all its episodes advance together,
/// one batched generate call per step (its own progress bar counts steps).
pub fn run_eval(settings: &EvalSettings, show_progress: bool) -> Result<EvalOutput> {
    let episodes = settings.episodes as u64;
    let is_llm = |a: usize| settings.agents[a].base == BaseAgent::Llm;
    let prepared = Prepared::new(settings)?;
    let mut llm_records: Vec<Vec<EpisodeRecord>> = Vec::new();
    let mut engine = None;
    for a in (0..settings.agents.len()).filter(|&a| is_llm(a)) {
        let Some(llm) = &settings.llm else {
            bail!("--agent llm needs --model");
        };
        if engine.is_none() {
            engine = Some(crate::llm::agent::load(llm)?);
        }
        let engine = engine.as_mut().context("the engine was just loaded")?;
        let spec = &settings.agents[a];
        let (seed, n) = (settings.seed, settings.episodes);
        let recs = match (&settings.env, &prepared) {
            (EnvSettings::Mab(config), _) => {
                let bar = progress_bar_with(config.horizon as u64, show_progress, "steps");
                let eps = settings.epsilon;
                let r = crate::llm::agent::run_llm_mab(engine, config, spec, eps, llm, seed, n, &bar);
                bar.finish_and_clear();
                r
            }
            (EnvSettings::Ttt(ttt), _) => {
                let bar = progress_bar_with(5, show_progress, "moves");
                let r = crate::llm::agent::run_llm_ttt(engine, ttt, llm, seed, n, &bar);
                bar.finish_and_clear();
                r
            }
            (EnvSettings::Cb(cb), Prepared::Cb(data)) => {
                let bar = progress_bar_with(cb.horizon as u64, show_progress, "steps");
                let r = crate::llm::agent::run_llm_cb(engine, data, cb.horizon, llm, seed, n, &bar);
                bar.finish_and_clear();
                r
            }
            (EnvSettings::Cb(_), Prepared::None) => bail!("the contextual bandit's tables were not prepared"),
        }
        .with_context(|| format!("agent {spec}"))?;
        llm_records.push(recs);
    }
    let jobs: Vec<(usize, u64)> = (0..settings.agents.len())
        .filter(|&a| !is_llm(a))
        .flat_map(|a| (0..episodes).map(move |i| (a, i)))
        .collect();
    let bar = progress_bar(jobs.len() as u64, show_progress);
    let baseline: Vec<EpisodeRecord> = jobs
        .par_iter()
        .map(|&(a, i)| {
            let rec = run_episode(settings, &prepared, &settings.agents[a], i);
            bar.inc(1);
            rec
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    // agent-major order, as the agents were given
    let mut llm_iter = llm_records.into_iter();
    let mut base_iter = baseline.into_iter();
    let mut records = Vec::with_capacity(settings.agents.len() * settings.episodes);
    for a in 0..settings.agents.len() {
        if is_llm(a) {
            records.extend(llm_iter.next().expect("one run per llm agent"));
        } else {
            records.extend(base_iter.by_ref().take(settings.episodes));
        }
    }
    let env = settings.env.name();
    let summaries = settings
        .agents
        .iter()
        .enumerate()
        .map(|(a, spec)| {
            let start = a * settings.episodes;
            let mine: Vec<&EpisodeRecord> = records[start..start + settings.episodes].iter().collect();
            AgentSummary::from_records(&spec.name(), &env, &mine)
        })
        .collect();
    Ok(EvalOutput { records, summaries })
}
