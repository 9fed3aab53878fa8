//! MovieLens-style contextual bandit (filled by its owner).

pub mod user;

pub use user::UserContext;
