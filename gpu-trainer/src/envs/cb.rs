//! The contextual bandit: its tables (synthetic or MovieLens-1M), and what a finished episode
//! records.

use anyhow::{Context, Result};
use env_core::cb::{CbTables, DEFAULT_DIM, DEFAULT_NOISE_SD, MovieProfile, UserProfile, fill_synthetic};
use env_core::metrics;
use env_core::rng::derive_seed;

use super::movielens::{self, MovieLensOptions};
use super::{CbSettings, EpisodeRecord, EpisodeSeeds};

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
