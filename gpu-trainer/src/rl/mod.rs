//! RL fine-tuning on the model's own chain-of-thought (RLFT, SPEC sections 5 and 6): the policy
//! plays the environment through its text prompts, its completions are rewarded by the
//! environment, and a clipped policy-gradient objective with a KL penalty to the starting model
//! updates it.
//!
//! - [`settings`]: the run's settings ([`RlSettings`]; the paper's defaults);
//! - [`pool`]: the training pool of bandit instances rollouts draw from;
//! - [`samples`]: one training sample per step of a rollout (forced steps' template rationales
//!   tokenized as completions);
//! - [`collect`]: one rollout from play to samples (bandit pool draws, tic-tac-toe waves of
//!   games, reference / old log-probs, values and GAE);
//! - [`advantage`]: reward normalisation and shaping, rewards-to-go, advantages;
//! - [`gae`]: generalised advantage estimation over an episode (with a value head);
//! - [`value`]: the value head's loss (optionally clipped) and explained variance;
//! - [`objective`]: the clipped objective with k1 / k3 KL, a pure function with its gradient;
//! - [`update`]: one optimizer update through the learner's per-token coefficients;
//! - [`run`]: rollouts, reference log-probs, updates, evaluations, checkpoints, exact resume;
//! - [`log`]: the run's `log.jsonl`;
//! - [`ablation`]: the thinking-budget ablation (one run per generation budget, one summary);
//! - [`grad`]: the objective's loss and gradient norms on a given batch (`greedy debug rl-grad`).

pub mod ablation;
pub mod advantage;
pub mod collect;
pub mod gae;
pub mod grad;
pub mod log;
pub mod objective;
pub mod pool;
pub mod run;
pub mod samples;
pub mod settings;
pub mod update;
pub mod value;

pub use objective::{KlEstimator, Objective};
pub use run::{RlOutcome, RlState, run_rl};
pub use settings::{OldLogprobs, RlEnv, RlSettings};
