//! Evaluation: agents ([`AgentSpec`]: the baselines of [`baselines`], and the LLM agent of
//! [`crate::agent`]) over many seeded episodes of one environment, in parallel ([`runner`]),
//! summarised per agent ([`summary`]).
//!
//! Every agent faces the same scenarios (see [`crate::envs`]), and the output does not depend on
//! the number of threads, nor on how the episodes are split into shards ([`crate::shard`]):
//! [`runner::run_episodes`] plays a shard's episodes, [`merge`] puts shards back together.

pub mod agent_spec;
pub mod baselines;
pub mod merge;
pub mod runner;
pub mod settings;
pub mod summary;

pub use crate::progress::Progress;
pub use agent_spec::{AgentSpec, BaseAgent, Wrapper};
pub use runner::{EvalOutput, run_episodes, run_eval, run_eval_on};
pub use settings::EvalSettings;
pub use summary::AgentSummary;
