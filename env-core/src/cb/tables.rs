//! The caller's tables of users and movies, validated once, borrowed by the environment.

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count, check_range};

use super::MAX_DIM;
use super::profile::{MovieProfile, OCCUPATIONS, UserProfile};

/// Largest accepted reward-noise standard deviation.
pub const MAX_NOISE_SD: f64 = 1.0e6;

/// Users and movies of a contextual bandit. The expected reward of showing movie `m` to user
/// `u` is `dot(u.preferences[..dim], m.features[..dim])`; a step's reward adds
/// `N(0, noise_sd^2)`.
#[derive(Debug, Clone, Copy)]
pub struct CbTables<'a> {
    users: &'a [UserProfile],
    movies: &'a [MovieProfile],
    dim: usize,
    noise_sd: f64,
}

impl<'a> CbTables<'a> {
    /// Validates and wraps the tables: 1..=[`MAX_ARMS`] movies, at least one user,
    /// `dim` in 1..=[`MAX_DIM`], finite vectors, known occupation codes, `noise_sd` in
    /// `0..=`[`MAX_NOISE_SD`].
    pub fn new(
        users: &'a [UserProfile],
        movies: &'a [MovieProfile],
        dim: usize,
        noise_sd: f64,
    ) -> Result<Self> {
        if users.is_empty() {
            return Err(Error::Empty { what: "users" });
        }
        if movies.is_empty() {
            return Err(Error::Empty { what: "movies" });
        }
        check_count("movies", movies.len(), 1, MAX_ARMS)?;
        check_count("dim", dim, 1, MAX_DIM)?;
        check_range("noise_sd", noise_sd, 0.0, MAX_NOISE_SD)?;
        for u in users {
            check_count("occupation", u.occupation as usize, 0, OCCUPATIONS.len() - 1)?;
            if !u.preferences[..dim].iter().all(|x| x.is_finite()) {
                return Err(Error::NotFinite { name: "user preference" });
            }
        }
        for m in movies {
            if !m.features[..dim].iter().all(|x| x.is_finite()) {
                return Err(Error::NotFinite { name: "movie feature" });
            }
        }
        Ok(CbTables { users, movies, dim, noise_sd })
    }

    /// The users.
    pub fn users(&self) -> &'a [UserProfile] {
        self.users
    }

    /// The movies (the arms).
    pub fn movies(&self) -> &'a [MovieProfile] {
        self.movies
    }

    /// Number of movies (arms).
    pub fn num_movies(&self) -> usize {
        self.movies.len()
    }

    /// Length of the preference and feature vectors used.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Reward noise standard deviation.
    pub fn noise_sd(&self) -> f64 {
        self.noise_sd
    }

    /// The preference vector of `user` (its first `dim` entries).
    pub fn context(&self, user: usize) -> Result<&'a [f64]> {
        check_count("user", user, 0, self.users.len() - 1)?;
        Ok(&self.users[user].preferences[..self.dim])
    }

    /// The expected reward of showing `movie` to `user`.
    pub fn expected_reward(&self, user: usize, movie: usize) -> Result<f64> {
        let ctx = self.context(user)?;
        let m = self
            .movies
            .get(movie)
            .ok_or(Error::InvalidAction { action: movie, num_actions: self.movies.len() })?;
        Ok(dot(ctx, &m.features[..self.dim]))
    }

    /// The best movie for `user` (the lowest index among ties) and its expected reward.
    pub fn best(&self, user: usize) -> Result<(usize, f64)> {
        let mut best = (0, self.expected_reward(user, 0)?);
        for m in 1..self.movies.len() {
            let r = self.expected_reward(user, m)?;
            if r > best.1 {
                best = (m, r);
            }
        }
        Ok(best)
    }
}

/// Dot product over the common length of `a` and `b`.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
