//! The parallel runner: every (agent, episode) pair is an independent job on rayon's pool.

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::eval::mab::run_mab_episode;
use crate::eval::{AgentSpec, AgentSummary, EnvSettings, EpisodeRecord, EvalSettings};

/// The result of a run: every episode (agent-major, then episode order) and one summary per agent.
#[derive(Debug, Clone)]
pub struct EvalOutput {
    /// All episodes, grouped by agent in the order the agents were given.
    pub records: Vec<EpisodeRecord>,
    /// One summary per agent, same order.
    pub summaries: Vec<AgentSummary>,
}

/// Runs one episode of one agent.
pub fn run_episode(settings: &EvalSettings, agent: &AgentSpec, index: u64) -> Result<EpisodeRecord> {
    match &settings.env {
        EnvSettings::Mab(config) => run_mab_episode(config, agent, settings.epsilon, settings.seed, index),
        EnvSettings::Cb(_) => bail!("--env cb is not available yet in this build"),
        EnvSettings::Ttt(_) => bail!("--env ttt is not available yet in this build"),
    }
}

/// A progress bar on stderr, or a hidden one when `show` is false.
fn progress_bar(total: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} episodes ({eta} left)") {
        bar.set_style(style);
    }
    bar
}

/// Runs every agent for `settings.episodes` episodes in parallel. The output does not depend on
/// the number of threads: each episode's randomness comes from its own seeds, and the results
/// are collected in job order.
pub fn run_eval(settings: &EvalSettings, show_progress: bool) -> Result<EvalOutput> {
    let episodes = settings.episodes as u64;
    let jobs: Vec<(usize, u64)> =
        (0..settings.agents.len()).flat_map(|a| (0..episodes).map(move |i| (a, i))).collect();
    let bar = progress_bar(jobs.len() as u64, show_progress);
    let records: Vec<EpisodeRecord> = jobs
        .par_iter()
        .map(|&(a, i)| {
            let rec = run_episode(settings, &settings.agents[a], i);
            bar.inc(1);
            rec
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
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
