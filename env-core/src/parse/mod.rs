//! Answer parsing (SPEC sections 3 and 4): the action of an answer ([`parse_action`]: the last
//! `ACTION=X` counts) and the `<ucb_values>` block of a knowing-doing answer
//! ([`parse_ucb_values`]). Any UTF-8 input is accepted; nothing here panics or allocates.
//!
//! Under context randomization, parse against the prompt's shown labels
//! ([`crate::prompt::MabPromptSpec::shown_labels`]) to get the true arm directly, or against
//! the canonical labels and map back with [`crate::prompt::LabelPermutation::true_arm`].

pub mod action;
pub mod names;
pub mod ucb;

pub use action::{ParsedAction, Span, last_marker, parse_action, parse_action_arm};
pub use names::{ActionNames, Titles};
pub use ucb::{UcbValues, parse_ucb_values, ucb_block};
