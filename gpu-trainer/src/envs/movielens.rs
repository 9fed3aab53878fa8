//! Loader for the real MovieLens-1M files (SPEC section 2): `users.dat`, `movies.dat` and
//! `ratings.dat` from one directory become the contextual bandit's [`UserProfile`] and
//! [`MovieProfile`] tables.
//!
//! The pipeline:
//! 1. Parse the three `::`-separated files. They are Latin-1 encoded (titles such as
//!    `Café au lait`): bytes are decoded as Latin-1, never as UTF-8.
//! 2. Pick the `top_k` most-rated movies (ties: lower MovieID first), in that order as arms.
//! 3. Keep the users with at least `min_user_ratings` ratings among them (users.dat order) and
//!    build the users x K rating matrix. A missing rating is imputed ([`Imputation`]; by
//!    default with the movie's mean rating over all its raters, so "not rated" does not read
//!    as "hated").
//! 4. Reconstruct the matrix at rank `dim` with the SVD of [`env_core::cb::svd`]: user
//!    preferences are `U_d S_d` (rating units), movie features the columns of `V_d`, so that
//!    `dot(preferences, features)` is the reconstructed rating.
//!
//! Every problem in a file is an error naming the file, the line and the field, such as
//! `ratings.dat:12: rating "x" is not an integer 1..5`; nothing panics on bad input.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use env_core::MAX_ARMS;
use env_core::cb::profile::{
    Gender, Genres, LOCATION_CAPACITY, MovieProfile, OCCUPATIONS, TITLE_CAPACITY, UserProfile,
};
use env_core::cb::{CbTables, MAX_DIM, RatingSvd};

/// How a missing (user, movie) rating enters the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Imputation {
    /// The movie's mean rating over all users who rated it (default).
    #[default]
    MovieMean,
    /// Zero (the convention of some bandit benchmarks; it makes "unrated" look like "hated").
    Zero,
}

/// Settings of [`load`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MovieLensOptions {
    /// Number of movies (arms), 1..=32; the paper uses 5, 10 or 20.
    pub top_k: usize,
    /// Rank of the reconstruction, 1..=min(16, top_k) (SPEC: 5 is common).
    pub dim: usize,
    /// Missing-rating rule.
    pub imputation: Imputation,
    /// A user is kept if they rated at least this many of the top-K movies (default 1).
    pub min_user_ratings: usize,
}

impl Default for MovieLensOptions {
    fn default() -> Self {
        MovieLensOptions { top_k: 10, dim: 5, imputation: Imputation::MovieMean, min_user_ratings: 1 }
    }
}

/// What went wrong while loading MovieLens files.
#[derive(Debug, Clone, PartialEq)]
pub enum MovieLensError {
    /// A file could not be read.
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A line of a file is malformed or inconsistent with the other files.
    Line {
        /// The file name (`users.dat`, ...).
        file: &'static str,
        /// 1-based line number.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The data as a whole does not fit the settings (too few movies, no users, ...).
    Data(String),
}

impl fmt::Display for MovieLensError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MovieLensError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            MovieLensError::Line { file, line, message } => write!(f, "{file}:{line}: {message}"),
            MovieLensError::Data(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for MovieLensError {}

impl From<env_core::Error> for MovieLensError {
    fn from(e: env_core::Error) -> Self {
        MovieLensError::Data(e.to_string())
    }
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, MovieLensError>;

/// One line of `users.dat`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawUser {
    /// UserID.
    pub id: u32,
    /// Gender.
    pub gender: Gender,
    /// Age code (1, 18, 25, 35, 45, 50, 56).
    pub age: u16,
    /// Occupation code, 0..=20.
    pub occupation: u8,
    /// Zip code.
    pub zip: String,
}

/// One line of `movies.dat`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMovie {
    /// MovieID.
    pub id: u32,
    /// Title, decoded from Latin-1.
    pub title: String,
    /// Genres (names not in [`env_core::cb::GENRES`] are ignored).
    pub genres: Genres,
}

/// One line of `ratings.dat`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawRating {
    /// UserID.
    pub user: u32,
    /// MovieID.
    pub movie: u32,
    /// Rating 1..=5.
    pub rating: u8,
    /// 1-based line number in `ratings.dat`.
    pub line: usize,
}

/// The loaded tables and the facts behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieLens {
    /// The kept users, in `users.dat` order.
    pub users: Vec<UserProfile>,
    /// The top-K movies, most rated first (the arms).
    pub movies: Vec<MovieProfile>,
    /// UserID of each kept user.
    pub user_ids: Vec<u32>,
    /// MovieID of each arm.
    pub movie_ids: Vec<u32>,
    /// Number of ratings of each arm.
    pub rating_counts: Vec<usize>,
    /// The imputed users x K rating matrix, row-major.
    pub ratings: Vec<f64>,
    /// All K singular values of the matrix, largest first.
    pub singular_values: Vec<f64>,
    /// Rank of the reconstruction.
    pub dim: usize,
}

impl MovieLens {
    /// The tables for the contextual bandit, with reward noise `noise_sd`.
    pub fn tables(&self, noise_sd: f64) -> env_core::Result<CbTables<'_>> {
        CbTables::new(&self.users, &self.movies, self.dim, noise_sd)
    }

    /// The reconstructed rating of arm `movie` for kept user `user` (`None` if out of range).
    pub fn reconstruction(&self, user: usize, movie: usize) -> Option<f64> {
        let u = self.users.get(user)?;
        let m = self.movies.get(movie)?;
        Some((0..self.dim).map(|d| u.preferences[d] * m.features[d]).sum())
    }
}

/// Loads `users.dat`, `movies.dat` and `ratings.dat` from `dir` (see the module docs).
pub fn load(dir: &Path, options: &MovieLensOptions) -> Result<MovieLens> {
    let users = parse_users(&read_latin1(&dir.join("users.dat"))?)?;
    let movies = parse_movies(&read_latin1(&dir.join("movies.dat"))?)?;
    let ratings = parse_ratings(&read_latin1(&dir.join("ratings.dat"))?)?;
    build(&users, &movies, &ratings, options)
}

/// Reads a file and decodes it as Latin-1 (every byte is the code point of the same value).
pub fn read_latin1(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| MovieLensError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(latin1(&bytes))
}

/// Decodes Latin-1 bytes.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The non-empty lines of `text` with their 1-based numbers, `\r` stripped, split on `::`
/// into exactly `n` fields.
fn records<'t, const N: usize>(
    file: &'static str,
    text: &'t str,
) -> impl Iterator<Item = Result<(usize, [&'t str; N])>> + 't {
    text.split('\n').enumerate().filter_map(move |(i, raw)| {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            return None;
        }
        let mut fields = [""; N];
        let mut count = 0;
        for part in line.split("::") {
            if count < N {
                fields[count] = part;
            }
            count += 1;
        }
        if count != N {
            return Some(Err(line_error(
                file,
                i + 1,
                format!("expected {N} fields separated by \"::\", found {count}"),
            )));
        }
        Some(Ok((i + 1, fields)))
    })
}

fn line_error(file: &'static str, line: usize, message: String) -> MovieLensError {
    MovieLensError::Line { file, line, message }
}

fn number<T: std::str::FromStr>(file: &'static str, line: usize, field: &str, text: &str) -> Result<T> {
    text.trim().parse().map_err(|_| line_error(file, line, format!("{field} {text:?} is not a valid number")))
}

/// Parses `users.dat`: `UserID::Gender::Age::Occupation::Zip`.
pub fn parse_users(text: &str) -> Result<Vec<RawUser>> {
    const F: &str = "users.dat";
    let mut out = Vec::new();
    for rec in records::<5>(F, text) {
        let (line, [id, gender, age, occupation, zip]) = rec?;
        let id = number(F, line, "UserID", id)?;
        let gender = Gender::from_code(gender.trim())
            .ok_or_else(|| line_error(F, line, format!("gender {gender:?} is not F or M")))?;
        let age = number(F, line, "age", age)?;
        let occupation: u8 = number(F, line, "occupation", occupation)?;
        if occupation as usize >= OCCUPATIONS.len() {
            return Err(line_error(F, line, format!("occupation {occupation} is not a code 0..20")));
        }
        let zip = zip.trim();
        if zip.len() > LOCATION_CAPACITY {
            return Err(line_error(
                F,
                line,
                format!("zip-code {zip:?} is longer than {LOCATION_CAPACITY} bytes"),
            ));
        }
        out.push(RawUser { id, gender, age, occupation, zip: zip.to_string() });
    }
    Ok(out)
}

/// Parses `movies.dat` (already decoded from Latin-1): `MovieID::Title::Genres`.
pub fn parse_movies(text: &str) -> Result<Vec<RawMovie>> {
    const F: &str = "movies.dat";
    let mut out = Vec::new();
    for rec in records::<3>(F, text) {
        let (line, [id, title, genres]) = rec?;
        let id = number(F, line, "MovieID", id)?;
        if title.trim().is_empty() {
            return Err(line_error(F, line, "title is empty".to_string()));
        }
        let mut mask = 0;
        for name in genres.split('|') {
            mask |= Genres::bit(name.trim()).unwrap_or(0);
        }
        out.push(RawMovie { id, title: title.trim().to_string(), genres: Genres(mask) });
    }
    Ok(out)
}

/// Parses `ratings.dat`: `UserID::MovieID::Rating::Timestamp`.
pub fn parse_ratings(text: &str) -> Result<Vec<RawRating>> {
    const F: &str = "ratings.dat";
    let mut out = Vec::new();
    for rec in records::<4>(F, text) {
        let (line, [user, movie, rating, timestamp]) = rec?;
        let user = number(F, line, "UserID", user)?;
        let movie = number(F, line, "MovieID", movie)?;
        let rating = match rating.trim().parse::<u8>() {
            Ok(r @ 1..=5) => r,
            _ => return Err(line_error(F, line, format!("rating {rating:?} is not an integer 1..5"))),
        };
        let _: u64 = number(F, line, "timestamp", timestamp)?;
        out.push(RawRating { user, movie, rating, line });
    }
    Ok(out)
}

/// Builds the tables from parsed files (steps 2-4 of the module docs).
pub fn build(
    users: &[RawUser],
    movies: &[RawMovie],
    ratings: &[RawRating],
    options: &MovieLensOptions,
) -> Result<MovieLens> {
    let k = options.top_k;
    if k == 0 || k > MAX_ARMS {
        return Err(MovieLensError::Data(format!("top_k = {k} is out of range (expected 1 ..= {MAX_ARMS})")));
    }
    let max_dim = MAX_DIM.min(k);
    if options.dim == 0 || options.dim > max_dim {
        return Err(MovieLensError::Data(format!(
            "dim = {} is out of range (expected 1 ..= {max_dim})",
            options.dim
        )));
    }
    let mut user_index = HashMap::new();
    for (i, u) in users.iter().enumerate() {
        if user_index.insert(u.id, i).is_some() {
            return Err(MovieLensError::Data(format!("users.dat: UserID {} appears twice", u.id)));
        }
    }
    let mut movie_index = HashMap::new();
    for (i, m) in movies.iter().enumerate() {
        if movie_index.insert(m.id, i).is_some() {
            return Err(MovieLensError::Data(format!("movies.dat: MovieID {} appears twice", m.id)));
        }
    }

    // Step 2: the K most-rated movies.
    let mut counts = vec![0usize; movies.len()];
    let mut sums = vec![0.0f64; movies.len()];
    for r in ratings {
        let Some(&m) = movie_index.get(&r.movie) else {
            return Err(line_error(
                "ratings.dat",
                r.line,
                format!("MovieID {} is not in movies.dat", r.movie),
            ));
        };
        if !user_index.contains_key(&r.user) {
            return Err(line_error("ratings.dat", r.line, format!("UserID {} is not in users.dat", r.user)));
        }
        counts[m] += 1;
        sums[m] += r.rating as f64;
    }
    let mut order: Vec<usize> = (0..movies.len()).filter(|&m| counts[m] > 0).collect();
    if order.len() < k {
        return Err(MovieLensError::Data(format!(
            "only {} movies have ratings; top_k = {k} needs more",
            order.len()
        )));
    }
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(movies[a].id.cmp(&movies[b].id)));
    order.truncate(k);
    let mut arm_of = HashMap::new();
    for (arm, &m) in order.iter().enumerate() {
        arm_of.insert(movies[m].id, arm);
    }

    // Step 3: the rating matrix over the kept users.
    let mut observed: Vec<Option<u8>> = vec![None; users.len() * k];
    let mut rated = vec![0usize; users.len()];
    for r in ratings {
        if let Some(&arm) = arm_of.get(&r.movie) {
            let u = user_index[&r.user];
            let cell = &mut observed[u * k + arm];
            if cell.is_some() {
                return Err(line_error(
                    "ratings.dat",
                    r.line,
                    format!("UserID {} rated MovieID {} twice", r.user, r.movie),
                ));
            }
            *cell = Some(r.rating);
            rated[u] += 1;
        }
    }
    let fill: Vec<f64> = order
        .iter()
        .map(|&m| match options.imputation {
            Imputation::MovieMean => sums[m] / counts[m] as f64,
            Imputation::Zero => 0.0,
        })
        .collect();
    let kept: Vec<usize> =
        (0..users.len()).filter(|&u| rated[u] >= options.min_user_ratings.max(1)).collect();
    if kept.is_empty() {
        return Err(MovieLensError::Data(format!(
            "no user rated at least {} of the top {k} movies",
            options.min_user_ratings.max(1)
        )));
    }
    let mut matrix = Vec::with_capacity(kept.len() * k);
    for &u in &kept {
        for arm in 0..k {
            matrix.push(observed[u * k + arm].map_or(fill[arm], f64::from));
        }
    }

    // Step 4: rank-d reconstruction.
    let svd = RatingSvd::from_matrix(&matrix, kept.len(), k)?;
    let dim = options.dim;
    let mut profiles = Vec::with_capacity(kept.len());
    for (row, &u) in matrix.chunks(k).zip(&kept) {
        let mut prefs = [0.0; MAX_DIM];
        svd.user_factors(row, &mut prefs[..dim])?;
        let raw = &users[u];
        profiles.push(UserProfile::new(raw.age, raw.gender, raw.occupation, &raw.zip, &prefs[..dim])?);
    }
    let mut arms = Vec::with_capacity(k);
    for (arm, &m) in order.iter().enumerate() {
        let mut features = [0.0; MAX_DIM];
        svd.movie_factors(arm, &mut features[..dim])?;
        let raw = &movies[m];
        arms.push(MovieProfile::new(truncate(&raw.title, TITLE_CAPACITY), raw.genres, &features[..dim])?);
    }
    Ok(MovieLens {
        users: profiles,
        movies: arms,
        user_ids: kept.iter().map(|&u| users[u].id).collect(),
        movie_ids: order.iter().map(|&m| movies[m].id).collect(),
        rating_counts: order.iter().map(|&m| counts[m]).collect(),
        ratings: matrix,
        singular_values: svd.singular_values().to_vec(),
        dim,
    })
}

/// `text` cut to at most `max` bytes at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_and_truncation() {
        assert_eq!(latin1(b"Caf\xe9 \xff"), "Café ÿ");
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 5), "abc");
    }

    #[test]
    fn parsers_skip_blank_lines_and_crlf() {
        let users = parse_users("1::M::25::12::12345\r\n\r\n2::F::18::0::9\n").unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].zip, "9");
        let err = parse_ratings("1::2::3::4\n1::2::0::4\n").unwrap_err();
        assert_eq!(err.to_string(), "ratings.dat:2: rating \"0\" is not an integer 1..5");
        let movies = parse_movies("7::Title (1999)::Comedy|IMAX\n").unwrap();
        assert_eq!(movies[0].genres.names().collect::<Vec<_>>(), ["Comedy"]);
    }
}
