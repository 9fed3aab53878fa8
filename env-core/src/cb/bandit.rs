//! The MovieLens-style contextual bandit environment (SPEC section 2).
//!
//! Every step shows one user, drawn uniformly from the table; the agent recommends a movie (the
//! action is a movie index) and receives the user's rating of it: the entry of the rank-d
//! reconstruction plus Gaussian noise. Regret is measured against the best movie for the user
//! shown at that step (SPEC section 4).

use crate::env::{Environment, Transition};
use crate::error::{Error, Result, check_count};
use crate::labels::{LabelSet, LabelStyle};
use crate::rng::Rng;

use super::tables::CbTables;
use super::user::UserContext;

/// Default number of steps per episode.
pub const DEFAULT_HORIZON: usize = 50;

/// Largest supported horizon.
pub const MAX_HORIZON: usize = 1_000_000;

const USER_STREAM: u64 = 0x0055_5345_5253; // "USERS"
const NOISE_STREAM: u64 = 0x004E_4F49_5345; // "NOISE"

/// What a contextual-bandit step reports besides the reward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CbInfo {
    /// The user the step was played for.
    pub user: usize,
    /// The movie recommended.
    pub arm: usize,
    /// Its expected reward for this user.
    pub expected_reward: f64,
    /// The best movie for this user (lowest index among ties).
    pub best_arm: usize,
    /// The best movie's expected reward.
    pub best_expected_reward: f64,
    /// `best_expected_reward - expected_reward`: this step's pseudo-regret.
    pub regret: f64,
}

/// A contextual bandit over borrowed [`CbTables`]. The observation is the index (into the
/// table's users) of the user the next step is played for.
#[derive(Debug, Clone)]
pub struct ContextualBandit<'a> {
    tables: CbTables<'a>,
    horizon: usize,
    users_rng: Rng,
    noise_rng: Rng,
    user: usize,
    t: usize,
}

impl<'a> ContextualBandit<'a> {
    /// A bandit over `tables` with `horizon` steps (1..=[`MAX_HORIZON`]; the paper uses
    /// [`DEFAULT_HORIZON`]). Call [`Environment::reset`] before stepping.
    pub fn new(tables: CbTables<'a>, horizon: usize) -> Result<Self> {
        check_count("horizon", horizon, 1, MAX_HORIZON)?;
        let mut env = ContextualBandit {
            tables,
            horizon,
            users_rng: Rng::new(0),
            noise_rng: Rng::new(0),
            user: 0,
            t: 0,
        };
        env.reset(0)?;
        Ok(env)
    }

    /// The tables.
    pub fn tables(&self) -> &CbTables<'a> {
        &self.tables
    }

    /// Steps per episode.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Index of the user the next step is played for.
    pub fn current_user_index(&self) -> usize {
        self.user
    }

    /// The user the next step is played for, as a prompt shows them.
    pub fn current_user(&self) -> UserContext<'a> {
        let u = &self.tables.users()[self.user];
        UserContext {
            age: u.age,
            gender: u.gender.word(),
            occupation: u.occupation_name(),
            location: u.location.as_str(),
            preferences: &u.preferences[..self.tables.dim()],
        }
    }

    /// The context vector (the current user's preferences) a contextual policy sees.
    pub fn context(&self) -> &'a [f64] {
        &self.tables.users()[self.user].preferences[..self.tables.dim()]
    }

    /// The title of movie `arm`.
    pub fn movie_title(&self, arm: usize) -> Result<&'a str> {
        let movies = self.tables.movies();
        movies
            .get(arm)
            .map(|m| m.title.as_str())
            .ok_or(Error::InvalidAction { action: arm, num_actions: movies.len() })
    }

    /// The movie whose title is `text` (ASCII case-insensitive, surrounding whitespace
    /// ignored), or whose index is `text`.
    pub fn find_movie(&self, text: &str) -> Result<usize> {
        let text = text.trim();
        let movies = self.tables.movies();
        if let Some(i) = movies.iter().position(|m| m.title.as_str().eq_ignore_ascii_case(text)) {
            return Ok(i);
        }
        self.labels()?.find(text)
    }

    /// Numeric labels `0..K` (titles are runtime strings: print them with
    /// [`ContextualBandit::movie_title`]). Never fails for validated tables.
    pub fn labels(&self) -> Result<LabelSet> {
        LabelSet::new(LabelStyle::Numeric, self.tables.num_movies(), 0)
    }
}

impl Environment for ContextualBandit<'_> {
    type Observation = usize;
    type Info = CbInfo;

    fn reset(&mut self, seed: u64) -> Result<usize> {
        self.users_rng = Rng::from_stream(seed, USER_STREAM);
        self.noise_rng = Rng::from_stream(seed, NOISE_STREAM);
        self.t = 0;
        self.user = self.users_rng.below(self.tables.users().len());
        Ok(self.user)
    }

    fn step(&mut self, action: usize) -> Result<Transition<usize, CbInfo>> {
        if self.t >= self.horizon {
            return Err(Error::EpisodeOver);
        }
        let k = self.tables.num_movies();
        if action >= k {
            return Err(Error::InvalidAction { action, num_actions: k });
        }
        let user = self.user;
        let mu = self.tables.expected_reward(user, action)?;
        let (best_arm, best) = self.tables.best(user)?;
        let reward = self.noise_rng.normal(mu, self.tables.noise_sd());
        self.t += 1;
        let truncated = self.t >= self.horizon;
        if !truncated {
            self.user = self.users_rng.below(self.tables.users().len());
        }
        Ok(Transition {
            observation: self.user,
            reward,
            terminated: false,
            truncated,
            info: CbInfo {
                user,
                arm: action,
                expected_reward: mu,
                best_arm,
                best_expected_reward: best,
                regret: best - mu,
            },
        })
    }

    fn num_actions(&self) -> usize {
        self.tables.num_movies()
    }

    fn steps_taken(&self) -> usize {
        self.t
    }

    fn is_done(&self) -> bool {
        self.t >= self.horizon
    }
}
