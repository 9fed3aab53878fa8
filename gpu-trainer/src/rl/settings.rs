//! The validated settings of an RLFT run (`greedy train rl` resolves them from its flags and
//! config file; the defaults are the paper's, SPEC section 5).

use std::path::PathBuf;

use env_core::MabConfig;
use env_core::agents::Exploration;
use serde_json::{Value, json};

use super::advantage::RewardNorm;
use super::objective::Objective;
use super::value::ValueLoss;
use crate::agent::AgentSettings;
use crate::envs::{CbSettings, TttSettings};
use crate::train::learner::OptimSettings;

/// The environment RLFT trains on.
#[derive(Debug, Clone, PartialEq)]
pub enum RlEnv {
    /// Multi-armed bandits: a pool of instances of this bandit.
    Mab(MabConfig),
    /// The contextual bandit (synthetic tables, or MovieLens-1M).
    Cb(CbSettings),
    /// Tic-tac-toe against an opponent: rewards at the end of a game (+1 win, 0 draw, -1 loss).
    Ttt(TttSettings),
}

impl RlEnv {
    /// Steps per episode.
    pub fn horizon(&self) -> usize {
        match self {
            RlEnv::Mab(c) => c.horizon,
            RlEnv::Cb(c) => c.horizon,
            RlEnv::Ttt(_) => crate::agent::ttt::MAX_MOVES,
        }
    }

    /// In words: "5-armed gaussian bandits (sigma 1), horizon 50" and the like.
    pub fn describe(&self) -> String {
        match self {
            RlEnv::Mab(c) => {
                let dist = match c.distribution {
                    env_core::ArmDistribution::Gaussian { sigma } => {
                        format!("gaussian bandits (sigma {sigma})")
                    }
                    env_core::ArmDistribution::Bernoulli { gap } => format!("bernoulli bandits (gap {gap})"),
                };
                format!("{}-armed {dist}, horizon {}", c.arms, c.horizon)
            }
            RlEnv::Cb(c) => format!(
                "the contextual bandit ({} movies, {}), horizon {}",
                c.movies,
                if c.movielens.is_some() {
                    "MovieLens-1M".to_string()
                } else {
                    format!("{} synthetic users", c.users)
                },
                c.horizon
            ),
            RlEnv::Ttt(t) => {
                let opp = match t.opponent {
                    crate::envs::OpponentKind::Random => "the random opponent".to_string(),
                    crate::envs::OpponentKind::Minimax => "minimax".to_string(),
                    crate::envs::OpponentKind::Mcts => format!("MCTS ({} simulations)", t.mcts_budget),
                    crate::envs::OpponentKind::NoisyMcts => {
                        format!("noisy MCTS ({} simulations, p {})", t.mcts_budget, t.noise_p)
                    }
                };
                let first = match t.first {
                    crate::envs::FirstKind::Agent => "the agent first",
                    crate::envs::FirstKind::Opponent => "the opponent first",
                    crate::envs::FirstKind::Alternate => "first mover alternating",
                };
                format!("tic-tac-toe against {opp}, {first}")
            }
        }
    }

    /// `mab`, `cb` or `ttt`.
    pub fn name(&self) -> &'static str {
        match self {
            RlEnv::Mab(_) => "mab",
            RlEnv::Cb(_) => "cb",
            RlEnv::Ttt(_) => "ttt",
        }
    }
}

/// Where the old log-probs (the sampling policy's) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum OldLogprobs {
    /// The sampler's log-probs at generation time (free; the engine's forward).
    Generation,
    /// Recomputed with the training forward before the first update of the rollout (one more
    /// forward over every sample; ratio exactly 1 at the first update).
    Recompute,
}

/// The value head and GAE (instead of Monte-Carlo rewards-to-go normalised over the rollout).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueSettings {
    /// The value term of the loss.
    pub loss: ValueLoss,
    /// GAE's lambda (default 0.95; gamma is [`RlSettings::gamma`]).
    pub lambda: f64,
    /// The value head's peak learning rate (it follows the policy's schedule, scaled; default
    /// 10x the policy's: a linear head from zero on a fine-tuning learning rate barely moves).
    pub lr: f64,
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RlSettings {
    /// The starting checkpoint: the policy's first weights and the frozen reference.
    pub model: PathBuf,
    /// The environment.
    pub env: RlEnv,
    /// Training pool: bandit instances rollouts draw from (the paper: 512).
    pub pool: usize,
    /// Parallel environments per rollout (the paper: 16).
    pub envs: usize,
    /// Tic-tac-toe: agent steps per rollout (the paper: 2048): waves of `envs` whole games are
    /// played until at least this many are collected (0: bandits, one wave of `envs` episodes).
    pub rollout_steps: usize,
    /// The value head and GAE (`None`: Monte-Carlo rewards-to-go).
    pub value: Option<ValueSettings>,
    /// Optimizer steps (the paper's "updates").
    pub updates: u64,
    /// Step-samples per update (the paper: 128), accumulated in micro-batches.
    pub batch: usize,
    /// Step-samples per forward/backward.
    pub micro_batch: usize,
    /// Passes over each rollout's samples (the paper: 1 on bandits).
    pub epochs: usize,
    /// Optimizer and schedule (the paper: AdaFactor, lr 1e-4, 100 warm-up steps, cosine to 1e-6,
    /// clip 1.0).
    pub optim: OptimSettings,
    /// The clipped objective.
    pub objective: Objective,
    /// The agent while training (temperature 1, budget G, the prompt switches).
    pub agent: AgentSettings,
    /// Exploration mechanisms that take steps while training (try-all, epsilon), outermost first.
    pub explore: Vec<Exploration>,
    /// Their epsilon.
    pub epsilon: f64,
    /// +1 for an arm not tried before in the episode.
    pub explore_bonus: bool,
    /// Added to a step whose answer names no valid action.
    pub invalid_penalty: f64,
    /// How environment rewards are normalised before shaping.
    pub reward_norm: RewardNorm,
    /// Discount of the rewards-to-go.
    pub gamma: f64,
    /// Where the old log-probs come from.
    pub old_logprobs: OldLogprobs,
    /// Leave completions the budget cut (no stop token) out of the loss (TRL's
    /// `mask_truncated_completions`).
    pub mask_truncated: bool,
    /// Evaluate every this many updates (0: only at the start and the end).
    pub eval_every: u64,
    /// Held-out evaluation episodes (greedy decoding).
    pub eval_episodes: usize,
    /// Save `checkpoint-<update>` at the first rollout boundary after every this many updates
    /// (and at the end).
    pub save_every: u64,
    /// Keep the newest this many checkpoints (older ones are removed).
    pub keep_checkpoints: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its newest checkpoint.
    pub resume: bool,
    /// Stop (and save) after this update although the schedule spans `updates`.
    pub stop_at: u64,
}

/// Sub-seeds of the run seed.
pub mod streams {
    /// The training pool's instances.
    pub const POOL: u64 = 0x504F_4F4C; // "POOL"
    /// Which pool instances a rollout plays, and their reward noise.
    pub const ROLLOUT: u64 = 0x524F_4C4C; // "ROLL"
    /// The held-out evaluation instances.
    pub const EVAL: u64 = 0x4556_414C; // "EVAL"
    /// The order of a rollout's samples in its minibatches.
    pub const SHUFFLE: u64 = 0x5348_5546; // "SHUF"
}

impl RlSettings {
    /// Updates one rollout feeds: its samples (envs x horizon) times the epochs, in batches (a
    /// remainder smaller than a batch is left out of each epoch, a different one each time).
    pub fn updates_per_rollout(&self) -> u64 {
        (self.rollout_samples() / self.batch.max(1) * self.epochs) as u64
    }

    /// Samples of a rollout (tic-tac-toe: at least this many).
    pub fn rollout_samples(&self) -> usize {
        match self.env {
            RlEnv::Ttt(_) => self.rollout_steps,
            _ => self.envs * self.env.horizon(),
        }
    }

    /// The settings that fix the result of a run, as JSON (`settings.json`; a resumed run must
    /// match it).
    pub fn to_json(&self) -> Value {
        let env = match &self.env {
            RlEnv::Mab(c) => json!({
                "env": "mab", "arms": c.arms, "horizon": c.horizon,
                "distribution": format!("{:?}", c.distribution), "labels": format!("{:?}", c.labels),
            }),
            RlEnv::Cb(c) => json!({
                "env": "cb", "movies": c.movies, "users": c.users, "horizon": c.horizon,
                "movielens": c.movielens.as_ref().map(|p| p.display().to_string()),
            }),
            RlEnv::Ttt(t) => json!({
                "env": "ttt", "opponent": format!("{:?}", t.opponent).to_lowercase(),
                "mcts_budget": t.mcts_budget, "noise_p": t.noise_p,
                "first": format!("{:?}", t.first).to_lowercase(), "rollout_steps": self.rollout_steps,
                "legal_moves": self.agent.legal_moves,
            }),
        };
        let a = &self.agent;
        let o = &self.optim;
        let mut out = json!({
            "model": self.model.display().to_string(),
            "env": env,
            "pool": self.pool, "envs": self.envs, "updates": self.updates, "batch": self.batch,
            "micro_batch": self.micro_batch, "epochs": self.epochs,
            "optimizer": {
                "kind": format!("{:?}", o.kind).to_lowercase(), "lr": o.lr, "warmup": o.warmup,
                "min_lr": o.min_lr, "clip": o.clip, "weight_decay": o.weight_decay,
            },
            "clip_eps": self.objective.clip_eps, "kl_coef": self.objective.kl_coef,
            "kl_estimator": self.objective.kl.name(),
            "agent": {
                "dtype": format!("{:?}", a.dtype).to_lowercase(), "max_new_tokens": a.max_new_tokens,
                "temperature": a.temperature, "cot": a.cot, "summary": a.summary,
                "randomize": a.randomize, "chat": !a.base, "answer_prefix": a.answer_prefix,
                "self_correct": a.self_correct,
            },
            "explore": self.explore.iter().map(|e| format!("{e:?}").to_lowercase()).collect::<Vec<_>>(),
            "epsilon": self.epsilon, "explore_bonus": self.explore_bonus,
            "invalid_penalty": self.invalid_penalty,
            "reward_norm": format!("{:?}", self.reward_norm).to_lowercase(), "gamma": self.gamma,
            "old_logprobs": format!("{:?}", self.old_logprobs).to_lowercase(),
            "mask_truncated": self.mask_truncated,

            "eval_every": self.eval_every, "eval_episodes": self.eval_episodes,
            "seed": self.seed,
        });
        // only when on: runs from before the value head resume with their settings.json
        if let Some(v) = self.value {
            out["value_head"] = json!({
                "vf_coef": v.loss.vf_coef, "value_clip": v.loss.clip, "gae_lambda": v.lambda,
                "value_lr": v.lr,
            });
        }
        out
    }
}
