//! Synthetic MovieLens-like tables, made the same way as the real ones (SPEC section 2).
//!
//! A seeded latent-factor model produces a dense users x K matrix of integer ratings 1..=5:
//! `rating = round(clamp(3.6 + b_user + b_movie + 0.8 * z_user . w_movie + e, 1, 5))` with
//! `b_user ~ N(0, 0.4^2)`, `b_movie ~ N(0, 0.5^2)`, three latent tastes `z ~ N(0, I)`,
//! `w ~ N(0, I/3)` and rating noise `e ~ N(0, 0.5^2)`. The matrix then goes through the same
//! rank-d SVD reconstruction as MovieLens-1M (see [`super::svd`]), so expected rewards are on
//! the rating scale (mostly 2..5) and the best movie for a user is typically about one star
//! better than an average one. Demographics (age group, gender, occupation, zip) are drawn
//! independently of tastes; titles are made-up `"Adjective Noun (year)"` strings.
//!
//! Each row is generated from its own sub-stream of the seed, so the matrix is produced twice
//! (once for the Gram matrix, once for the user factors) instead of being stored.

use core::fmt::Write;

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};
use crate::rng::Rng;

use super::MAX_DIM;
use super::profile::{AGE_GROUPS, GENRES, Gender, Genres, MovieProfile, OCCUPATIONS, UserProfile};
use super::svd::Gram;
use super::tables::CbTables;

/// Rank of the reconstruction used by default (SPEC: "5 is common").
pub const DEFAULT_DIM: usize = 5;

/// Default reward noise of the synthetic tables (half a rating star).
pub const DEFAULT_NOISE_SD: f64 = 0.5;

const LATENT: usize = 3;
const MOVIE_STREAM: u64 = 0x4D4F_5649_4553; // "MOVIES"
const ROW_STREAM: u64 = 0x524F_5753; // "ROWS"

const ADJECTIVES: [&str; 16] = [
    "Silent", "Crimson", "Last", "Electric", "Hidden", "Golden", "Broken", "Wild", "Midnight", "Lonely",
    "Frozen", "Secret", "Burning", "Distant", "Lucky", "Iron",
];
const NOUNS: [&str; 16] = [
    "River", "Empire", "Summer", "Garden", "Station", "Horizon", "Letter", "Kingdom", "Harbor", "Machine",
    "Orchard", "Voyage", "Circus", "Witness", "Island", "Dream",
];

struct MovieLatent {
    bias: [f64; MAX_ARMS],
    w: [[f64; LATENT]; MAX_ARMS],
}

fn movie_latent(seed: u64, k: usize) -> MovieLatent {
    let mut rng = Rng::from_stream(seed, MOVIE_STREAM);
    let mut m = MovieLatent { bias: [0.0; MAX_ARMS], w: [[0.0; LATENT]; MAX_ARMS] };
    let scale = 1.0 / libm::sqrt(LATENT as f64);
    for j in 0..k {
        m.bias[j] = rng.normal(0.0, 0.5);
        for x in m.w[j].iter_mut() {
            *x = rng.normal(0.0, scale);
        }
    }
    m
}

/// Generates row `i` (the ratings into `row[..k]`) and returns the row's generator, positioned
/// for the user's demographics.
fn rating_row(seed: u64, i: usize, latent: &MovieLatent, row: &mut [f64]) -> Rng {
    let mut rng = Rng::from_stream(seed, ROW_STREAM ^ ((i as u64) << 20));
    let bias = rng.normal(0.0, 0.4);
    let mut z = [0.0; LATENT];
    for x in z.iter_mut() {
        *x = rng.standard_normal();
    }
    for (j, r) in row.iter_mut().enumerate() {
        let taste: f64 = z.iter().zip(&latent.w[j]).map(|(a, b)| a * b).sum();
        let raw = 3.6 + bias + latent.bias[j] + 0.8 * taste + rng.normal(0.0, 0.5);
        *r = libm::round(raw.clamp(1.0, 5.0));
    }
    rng
}

/// Fills `users` and `movies` (every entry overwritten) with a synthetic table of rank `dim`
/// and returns the validated tables. Needs 1..=[`MAX_ARMS`] movies, at least one user,
/// `dim` in 1..=min([`MAX_DIM`], movies).
pub fn fill_synthetic<'a>(
    users: &'a mut [UserProfile],
    movies: &'a mut [MovieProfile],
    dim: usize,
    noise_sd: f64,
    seed: u64,
) -> Result<CbTables<'a>> {
    let k = movies.len();
    if users.is_empty() {
        return Err(Error::Empty { what: "users" });
    }
    check_count("movies", k, 1, MAX_ARMS)?;
    check_count("dim", dim, 1, MAX_DIM.min(k))?;
    let latent = movie_latent(seed, k);
    let mut row = [0.0; MAX_ARMS];
    let mut gram = Gram::new(k)?;
    for i in 0..users.len() {
        rating_row(seed, i, &latent, &mut row[..k]);
        gram.add_row(&row[..k])?;
    }
    let svd = gram.decompose()?;

    let mut title_rng = Rng::from_stream(seed, MOVIE_STREAM ^ 1);
    let mut pairs = [0u16; 256];
    for (i, p) in pairs.iter_mut().enumerate() {
        *p = i as u16;
    }
    title_rng.shuffle(&mut pairs);
    for (j, movie) in movies.iter_mut().enumerate() {
        let mut features = [0.0; MAX_DIM];
        svd.movie_factors(j, &mut features[..dim])?;
        let pair = pairs[j] as usize;
        let year = 1970 + title_rng.below(30);
        let mut title = heapless::String::new();
        write!(title, "{} {} ({year})", ADJECTIVES[pair / 16], NOUNS[pair % 16])?;
        let mut genres = 0u32;
        for _ in 0..1 + title_rng.below(3) {
            genres |= 1 << title_rng.below(GENRES.len());
        }
        *movie = MovieProfile { title, genres: Genres(genres), features };
    }

    for (i, user) in users.iter_mut().enumerate() {
        let mut rng = rating_row(seed, i, &latent, &mut row[..k]);
        let mut preferences = [0.0; MAX_DIM];
        svd.user_factors(&row[..k], &mut preferences[..dim])?;
        let mut location = heapless::String::new();
        write!(location, "{:05}", rng.below(100_000))?;
        *user = UserProfile {
            age: AGE_GROUPS[rng.below(AGE_GROUPS.len())],
            gender: if rng.bernoulli(0.5) { Gender::Female } else { Gender::Male },
            occupation: rng.below(OCCUPATIONS.len()) as u8,
            location,
            preferences,
        };
    }
    CbTables::new(users, movies, dim, noise_sd)
}

/// Synthetic tables with `USERS` users and `MOVIES` movies held inline (no allocation).
#[derive(Debug, Clone)]
pub struct SyntheticTables<const USERS: usize, const MOVIES: usize> {
    users: [UserProfile; USERS],
    movies: [MovieProfile; MOVIES],
    dim: usize,
    noise_sd: f64,
}

impl<const USERS: usize, const MOVIES: usize> SyntheticTables<USERS, MOVIES> {
    /// Generates the tables (see the module docs and [`fill_synthetic`]).
    pub fn new(dim: usize, noise_sd: f64, seed: u64) -> Result<Self> {
        let mut users: [UserProfile; USERS] = core::array::from_fn(|_| UserProfile::default());
        let mut movies: [MovieProfile; MOVIES] = core::array::from_fn(|_| MovieProfile::default());
        fill_synthetic(&mut users, &mut movies, dim, noise_sd, seed)?;
        Ok(SyntheticTables { users, movies, dim, noise_sd })
    }

    /// The validated tables.
    pub fn tables(&self) -> Result<CbTables<'_>> {
        CbTables::new(&self.users, &self.movies, self.dim, self.noise_sd)
    }

    /// The users.
    pub fn users(&self) -> &[UserProfile] {
        &self.users
    }

    /// The movies.
    pub fn movies(&self) -> &[MovieProfile] {
        &self.movies
    }
}
