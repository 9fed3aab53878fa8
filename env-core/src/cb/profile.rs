//! The rows of the contextual bandit's tables: one user, one movie (MovieLens-1M vocabulary).

use heapless::String;

use crate::error::{Error, Result};

use super::MAX_DIM;

/// Capacity in bytes of a movie title (UTF-8). MovieLens-1M titles are at most about 90 bytes.
pub const TITLE_CAPACITY: usize = 128;

/// Capacity in bytes of a user's location (MovieLens-1M: a zip code such as `98107-2117`).
pub const LOCATION_CAPACITY: usize = 16;

/// The 21 occupations of MovieLens-1M's `users.dat`, indexed by the file's occupation code.
pub const OCCUPATIONS: [&str; 21] = [
    "other or not specified",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
];

/// The age codes of MovieLens-1M (the lower bound of each age group; 1 means "under 18").
pub const AGE_GROUPS: [u16; 7] = [1, 18, 25, 35, 45, 50, 56];

/// The 18 genres of MovieLens-1M's `movies.dat`, in the bit order of [`Genres`].
pub const GENRES: [&str; 18] = [
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// A user's gender as MovieLens-1M records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gender {
    /// `F` in `users.dat`.
    Female,
    /// `M` in `users.dat`.
    Male,
    /// Not recorded (not used by MovieLens-1M; for hand-made tables).
    #[default]
    Unspecified,
}

impl Gender {
    /// The word a prompt prints: `female`, `male` or `unspecified`.
    pub fn word(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Unspecified => "unspecified",
        }
    }

    /// Parses the `users.dat` code (`F` or `M`, ASCII case-insensitive).
    pub fn from_code(code: &str) -> Option<Gender> {
        match code {
            "F" | "f" => Some(Gender::Female),
            "M" | "m" => Some(Gender::Male),
            _ => None,
        }
    }
}

/// A set of [`GENRES`] as a bit mask (bit `i` set: genre `GENRES[i]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Genres(pub u32);

impl Genres {
    /// The genre named `name` (exact MovieLens spelling, ASCII case-insensitive), if known.
    pub fn bit(name: &str) -> Option<u32> {
        GENRES.iter().position(|g| g.eq_ignore_ascii_case(name)).map(|i| 1u32 << i)
    }

    /// Parses a `|`-separated list such as `Animation|Children's|Comedy`; `None` if a name is
    /// not one of [`GENRES`].
    pub fn parse(list: &str) -> Option<Genres> {
        let mut mask = 0;
        for name in list.split('|').filter(|s| !s.is_empty()) {
            mask |= Genres::bit(name)?;
        }
        Some(Genres(mask))
    }

    /// Whether genre `GENRES[index]` is in the set.
    pub fn contains(self, index: usize) -> bool {
        index < GENRES.len() && self.0 & (1 << index) != 0
    }

    /// The names of the genres in the set, in [`GENRES`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        GENRES.iter().enumerate().filter(move |(i, _)| self.contains(*i)).map(|(_, g)| *g)
    }
}

/// One user of the table: demographics and the user's factors of the rank-d reconstruction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserProfile {
    /// Age code (see [`AGE_GROUPS`]).
    pub age: u16,
    /// Gender.
    pub gender: Gender,
    /// Index into [`OCCUPATIONS`].
    pub occupation: u8,
    /// Location (zip code).
    pub location: String<LOCATION_CAPACITY>,
    /// Preference vector; only the first `dim` entries of the table are used.
    pub preferences: [f64; MAX_DIM],
}

impl UserProfile {
    /// A user; errors if the occupation code is unknown, the location does not fit
    /// [`LOCATION_CAPACITY`] or `preferences` is longer than [`MAX_DIM`].
    pub fn new(
        age: u16,
        gender: Gender,
        occupation: u8,
        location: &str,
        preferences: &[f64],
    ) -> Result<Self> {
        check_occupation(occupation)?;
        Ok(UserProfile {
            age,
            gender,
            occupation,
            location: bounded_string(location, "location")?,
            preferences: padded(preferences, "preferences")?,
        })
    }

    /// The occupation as a word (`"other or not specified"` for an unknown code).
    pub fn occupation_name(&self) -> &'static str {
        OCCUPATIONS.get(self.occupation as usize).copied().unwrap_or(OCCUPATIONS[0])
    }
}

/// One movie (arm) of the table: title, genres and the movie's factors of the reconstruction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MovieProfile {
    /// Title as printed in prompts, e.g. `Toy Story (1995)`.
    pub title: String<TITLE_CAPACITY>,
    /// Genres (may be empty).
    pub genres: Genres,
    /// Feature vector; only the first `dim` entries of the table are used.
    pub features: [f64; MAX_DIM],
}

impl MovieProfile {
    /// A movie; errors if the title does not fit [`TITLE_CAPACITY`] or `features` is longer
    /// than [`MAX_DIM`].
    pub fn new(title: &str, genres: Genres, features: &[f64]) -> Result<Self> {
        Ok(MovieProfile {
            title: bounded_string(title, "title")?,
            genres,
            features: padded(features, "features")?,
        })
    }
}

fn check_occupation(occupation: u8) -> Result<()> {
    crate::error::check_count("occupation", occupation as usize, 0, OCCUPATIONS.len() - 1)
}

pub(crate) fn bounded_string<const N: usize>(text: &str, what: &'static str) -> Result<String<N>> {
    let mut s = String::new();
    s.push_str(text).map_err(|_| Error::CapacityExceeded { what, capacity: N, requested: text.len() })?;
    Ok(s)
}

fn padded(values: &[f64], what: &'static str) -> Result<[f64; MAX_DIM]> {
    if values.len() > MAX_DIM {
        return Err(Error::CapacityExceeded { what, capacity: MAX_DIM, requested: values.len() });
    }
    let mut out = [0.0; MAX_DIM];
    out[..values.len()].copy_from_slice(values);
    Ok(out)
}
