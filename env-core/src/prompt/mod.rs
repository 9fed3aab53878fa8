//! Prompt serialization (SPEC sections 3, 4, 6, 7): the text the model reads, written into any
//! caller-supplied [`core::fmt::Write`] (a `heapless::String<N>` on a microcontroller, a
//! `String` on a host) without allocating.
//!
//! Every text is data: the template structs ([`MabTemplates`], [`OutputTemplates`],
//! [`TttTemplates`], [`CbTemplates`], [`RationaleTemplates`]) hold `&str` templates rendered by
//! the small placeholder renderer of [`template`] (`{name}`, `{{` / `}}` escapes), and their
//! `Default` impls hold the project's wording. The top-level writers are
//! [`write_mab_prompt`], [`write_cb_prompt`] and [`write_ttt_prompt`]; [`required_len`] measures
//! a prompt before writing it. A writer that runs out of room gives [`crate::Error::BufferTooSmall`]
//! (possibly after writing a prefix).

pub mod cb;
pub mod chat;
pub mod counting;
pub mod format;
pub mod mab;
pub mod output;
pub mod permutation;
pub mod rationale;
pub mod template;
pub mod ttt;

pub use cb::{CbPromptSpec, CbTemplates, write_cb_prompt, write_user};
pub use chat::ChatFormat;
pub use counting::{CountingWriter, required_len};
pub use format::{Dp2, RuleFormula, Whole};
pub use mab::{MabPromptSpec, MabTemplates, MabWording, write_mab_history, write_mab_prompt};
pub use output::{OutputMode, OutputTemplates};
pub use permutation::LabelPermutation;
pub use rationale::{
    GreedyTemplates, RationaleTemplates, write_action, write_explore_rationale, write_greedy_rationale,
    write_ucb_rationale, write_ucb_values,
};
pub use template::render;
pub use ttt::{TttPromptSpec, TttTemplates, write_ttt_prompt};
