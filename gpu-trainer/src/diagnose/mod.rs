//! The paper's two failure-mode studies on a model (SPEC section 4).
//!
//! - [`frequency`]: frequency bias, by scoring every action's answer (no generation) after
//!   histories whose last action is repeated 0..100 times; [`scorer`] is the batched scoring.
//! - [`knowing`]: the knowing-doing gap, by generating UCB rationales and grading them.
//! - [`merge`]: shards of either study (contexts `c mod N == I`) put back together exactly.

pub mod frequency;
pub mod knowing;
pub mod merge;
pub mod scorer;
