//! The contextual bandit: its tables (synthetic or MovieLens-1M) and one episode of one agent.

use anyhow::{Context, Result, bail};
use env_core::cb::{
    CbTables, ContextualBandit, ContextualPolicy, DEFAULT_ALPHA, DEFAULT_DIM, DEFAULT_NOISE_SD,
    DefaultLinUcb, MovieProfile, UniformRandom, UserProfile, fill_synthetic,
};
use env_core::metrics;
use env_core::rng::derive_seed;

use crate::eval::settings::CbSettings;
use crate::eval::{AgentSpec, BaseAgent, EpisodeRecord, EpisodeSeeds};
use crate::movielens::{self, MovieLensOptions};

/// Sub-stream of the run seed that draws the synthetic table ("TABLE").
const TABLE_STREAM: u64 = 0x0054_4142_4C45;

/// The user and movie tables of a run: drawn once per run (synthetic, from the run seed) or
/// loaded from MovieLens-1M; every episode plays on them with its own seed.
#[derive(Debug, Clone)]
pub struct CbData {
    users: Vec<UserProfile>,
    movies: Vec<MovieProfile>,
    dim: usize,
    noise_sd: f64,
}

impl CbData {
    /// Builds the tables of `settings`: rank `min(5, movies)`, reward noise sd 0.5.
    pub fn prepare(settings: &CbSettings, seed: u64) -> Result<CbData> {
        let dim = DEFAULT_DIM.min(settings.movies);
        match &settings.movielens {
            Some(dir) => {
                let options = MovieLensOptions { top_k: settings.movies, dim, ..MovieLensOptions::default() };
                let ml = movielens::load(dir, &options)
                    .with_context(|| format!("--movielens {}", dir.display()))?;
                Ok(CbData { users: ml.users, movies: ml.movies, dim: ml.dim, noise_sd: DEFAULT_NOISE_SD })
            }
            None => {
                let mut users = vec![UserProfile::default(); settings.users];
                let mut movies = vec![MovieProfile::default(); settings.movies];
                fill_synthetic(
                    &mut users,
                    &mut movies,
                    dim,
                    DEFAULT_NOISE_SD,
                    derive_seed(seed, TABLE_STREAM),
                )
                .context("building the synthetic tables")?;
                Ok(CbData { users, movies, dim, noise_sd: DEFAULT_NOISE_SD })
            }
        }
    }

    /// The validated tables.
    pub fn tables(&self) -> Result<CbTables<'_>> {
        CbTables::new(&self.users, &self.movies, self.dim, self.noise_sd).context("contextual-bandit tables")
    }
}

pub(crate) fn policy(spec: &AgentSpec) -> Result<Box<dyn ContextualPolicy + Send>> {
    Ok(match spec.base {
        BaseAgent::LinUcb => Box::new(DefaultLinUcb::new(DEFAULT_ALPHA, false)?),
        BaseAgent::Random => Box::new(UniformRandom::new()),
        other => bail!("agent {other:?} does not play the contextual bandit"),
    })
}

/// Plays episode `index` of `agent` on `data` for `horizon` steps and measures regret (against
/// each step's best movie for its user) and coverage.
pub fn run_cb_episode(
    data: &CbData,
    horizon: usize,
    agent: &AgentSpec,
    seed: u64,
    index: u64,
) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = ContextualBandit::new(data.tables()?, horizon)?;
    let mut policy = policy(agent)?;
    let (mut actions, mut regret, mut rewards) =
        (vec![0usize; horizon], vec![0.0; horizon], vec![0.0; horizon]);
    let steps = env_core::cb::run_cb_episode(
        &mut env,
        policy.as_mut(),
        seeds.episode,
        &mut actions,
        &mut regret,
        &mut rewards,
    )
    .with_context(|| format!("agent {agent} failed in episode {index}"))?;
    actions.truncate(steps);
    regret.truncate(steps);
    rewards.truncate(steps);
    cb_record(data, agent.name(), index, seeds, actions, regret, rewards)
}

/// The record of an episode that played `actions` with per-step `regret` and `rewards`:
/// cumulative regret and coverage curves, final regret and coverage, and the return.
pub fn cb_record(
    data: &CbData,
    agent: String,
    index: u64,
    seeds: EpisodeSeeds,
    actions: Vec<usize>,
    regret: Vec<f64>,
    rewards: Vec<f64>,
) -> Result<EpisodeRecord> {
    let steps = actions.len();
    let mut cumulative = vec![0.0; steps];
    let final_regret = metrics::cumulative_regret_from_steps(&regret, &mut cumulative)?;
    let mut coverage = vec![0.0; steps];
    let final_coverage = metrics::coverage_curve(data.movies.len(), &actions, &mut coverage)?;
    let mut rec = EpisodeRecord::new(agent, "cb".into(), index, seeds.scenario, seeds.episode);
    rec.return_ = rewards.iter().sum();
    rec.final_regret = Some(final_regret);
    rec.coverage = Some(final_coverage);
    rec.regret = Some(regret);
    rec.cumulative_regret = Some(cumulative);
    rec.coverage_curve = Some(coverage);
    rec.actions = actions;
    rec.rewards = rewards;
    Ok(rec)
}
