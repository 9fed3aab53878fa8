//! The view of one user that a contextual-bandit prompt shows (SPEC section 3).

/// One user as the model sees them: demographic attributes and a short preference vector.
/// Shared by the environment (which produces it) and the prompt writer (which prints it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserContext<'a> {
    /// Age in years (MovieLens-1M gives age groups: the group's lower bound).
    pub age: u16,
    /// Gender as a word ("male", "female").
    pub gender: &'a str,
    /// Occupation as a word ("programmer", "artist", ...).
    pub occupation: &'a str,
    /// Location (MovieLens-1M: the zip code).
    pub location: &'a str,
    /// The user's preference vector (the user factors of the rank-d reconstruction).
    pub preferences: &'a [f64],
}
