//! The one error type of the crate: every fallible public operation returns [`Result<T>`].

use core::fmt;

/// What went wrong, with the values needed to say so precisely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Error {
    /// A setting lies outside the range the environment or agent supports.
    OutOfRange {
        /// The setting's name, as a user would write it (`arms`, `sigma`, `epsilon`, ...).
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// Smallest allowed value (inclusive).
        min: f64,
        /// Largest allowed value (inclusive).
        max: f64,
    },
    /// A value that must be finite was NaN or infinite.
    NotFinite {
        /// The name of the value.
        name: &'static str,
    },
    /// An action index that is not one of the environment's actions.
    InvalidAction {
        /// The action given.
        action: usize,
        /// How many actions there are (valid indices are `0..num_actions`).
        num_actions: usize,
    },
    /// A tic-tac-toe move onto an occupied cell.
    IllegalMove {
        /// The board position (0..=8) that is not free.
        position: usize,
    },
    /// `step` was called after the episode terminated or was truncated; call `reset` first.
    EpisodeOver,
    /// A label that is not one of the environment's action labels.
    UnknownLabel,
    /// The caller-supplied text buffer is too small for what had to be written.
    BufferTooSmall,
    /// A fixed capacity of the crate (or a const-generic one chosen by the caller) is too small.
    CapacityExceeded {
        /// What did not fit.
        what: &'static str,
        /// The capacity.
        capacity: usize,
        /// How much was requested.
        requested: usize,
    },
    /// Two inputs that must agree in length (or dimension) do not.
    ShapeMismatch {
        /// What is being compared.
        what: &'static str,
        /// The expected length.
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// An input that must not be empty was empty.
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// The model's answer contains no `ACTION=X` naming a valid action.
    NoValidAction,
    /// A template refers to a placeholder the renderer does not know, or is malformed.
    BadTemplate {
        /// Byte offset of the problem in the template.
        offset: usize,
    },
}

/// Shorthand for `core::result::Result<T, Error>`.
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::OutOfRange { name, value, min, max } => {
                write!(f, "{name} = {value} is out of range (expected {min} ..= {max})")
            }
            Error::NotFinite { name } => write!(f, "{name} must be a finite number"),
            Error::InvalidAction { action, num_actions } => {
                write!(f, "action {action} does not exist (expected 0 ..= {})", num_actions.saturating_sub(1))
            }
            Error::IllegalMove { position } => {
                write!(f, "position {position} is not a free cell of the board")
            }
            Error::EpisodeOver => write!(f, "the episode is over; call reset before stepping again"),
            Error::UnknownLabel => write!(f, "the label is not one of the environment's actions"),
            Error::BufferTooSmall => write!(f, "the output buffer is too small"),
            Error::CapacityExceeded { what, capacity, requested } => {
                write!(f, "{what}: {requested} requested but the capacity is {capacity}")
            }
            Error::ShapeMismatch { what, expected, got } => {
                write!(f, "{what}: expected length {expected}, got {got}")
            }
            Error::Empty { what } => write!(f, "{what} must not be empty"),
            Error::NoValidAction => write!(f, "the answer contains no valid ACTION=X"),
            Error::BadTemplate { offset } => write!(f, "malformed template at byte {offset}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Error::BufferTooSmall
    }
}

/// Checks `min <= value <= max` for a setting, returning [`Error::OutOfRange`] otherwise.
pub fn check_range(name: &'static str, value: f64, min: f64, max: f64) -> Result<()> {
    if value.is_nan() {
        return Err(Error::NotFinite { name });
    }
    if value < min || value > max {
        return Err(Error::OutOfRange { name, value, min, max });
    }
    Ok(())
}

/// [`check_range`] for counts.
pub fn check_count(name: &'static str, value: usize, min: usize, max: usize) -> Result<()> {
    if value < min || value > max {
        return Err(Error::OutOfRange { name, value: value as f64, min: min as f64, max: max as f64 });
    }
    Ok(())
}
