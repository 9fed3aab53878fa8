//! MovieLens-style contextual bandit (SPEC section 2): tables of users and movies handed in by
//! the caller (real MovieLens-1M through the host tools, or [`synthetic`]), the environment,
//! the rank-d SVD that turns ratings into factors, and the LinUCB and random baselines.

pub mod bandit;
pub mod linucb;
pub mod policy;
pub mod profile;
pub mod runner;
pub mod svd;
pub mod synthetic;
pub mod tables;
pub mod user;

pub use bandit::{CbInfo, ContextualBandit, DEFAULT_HORIZON};
pub use linucb::{DEFAULT_ALPHA, DefaultLinUcb, LinUcb};
pub use policy::{ContextualPolicy, UniformRandom};
pub use profile::{
    AGE_GROUPS, GENRES, Gender, Genres, LOCATION_CAPACITY, MovieProfile, OCCUPATIONS, TITLE_CAPACITY,
    UserProfile,
};
pub use runner::run_cb_episode;
pub use svd::{Gram, RatingSvd};
pub use synthetic::{DEFAULT_DIM, DEFAULT_NOISE_SD, SyntheticTables, fill_synthetic};
pub use tables::CbTables;
pub use user::UserContext;

/// Largest length of a user's preference vector and a movie's feature vector.
pub const MAX_DIM: usize = 16;
