//! The validated settings of an evaluation run (`greedy eval` resolves them from its flags).

use std::path::Path;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::AgentSpec;
use crate::agent::AgentSettings;
use crate::envs::EnvSettings;

/// Everything an evaluation run needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    /// Environment.
    pub env: EnvSettings,
    /// Agents, in command-line order.
    pub agents: Vec<AgentSpec>,
    /// Exploration rate of eps-greedy and the `eps:` wrapper.
    pub epsilon: f64,
    /// MCTS simulations per move of the mcts agent.
    pub mcts_budget: u32,
    /// Episodes per agent.
    pub episodes: usize,
    /// Seed of the run.
    pub seed: u64,
    /// The LLM agent's settings, when `llm` is among the agents.
    pub llm: Option<AgentSettings>,
}

/// Largest number of episodes.
pub const MAX_EPISODES: usize = 1_000_000;
/// Largest bandit horizon.
pub const MAX_HORIZON: usize = 100_000;

/// `v` if it is in `min..=max`, else an error naming `flag` and the range.
pub fn check_usize(flag: &str, v: usize, min: usize, max: usize) -> Result<usize> {
    if v < min || v > max {
        bail!("invalid value {v} for {flag}: allowed {min}..={max}");
    }
    Ok(v)
}

/// `v` if it is finite and in `min..=max`, else an error naming `flag` and the range.
pub fn check_f64(flag: &str, v: f64, min: f64, max: f64) -> Result<f64> {
    if !v.is_finite() || v < min || v > max {
        bail!("invalid value {v} for {flag}: allowed a number in {min}..={max}");
    }
    Ok(v)
}

impl EvalSettings {
    /// The same settings with the LLM agent's model at `model` (what a run records when its model
    /// is moved after the run, as `greedy demo` does).
    pub fn with_model(&self, model: &Path) -> EvalSettings {
        let mut s = self.clone();
        if let Some(l) = &mut s.llm {
            l.model = model.to_path_buf();
        }
        s
    }
}

impl EvalSettings {
    /// The settings as a run records them (`summary.json`'s `settings`, a shard's manifest):
    /// everything that decides the run's output.
    pub fn to_json(&self) -> Value {
        let s = self;
        let env = match &s.env {
            EnvSettings::Mab(c) => {
                let (dist, param) = match c.distribution {
                    env_core::ArmDistribution::Gaussian { sigma } => ("gaussian", json!({ "sigma": sigma })),
                    env_core::ArmDistribution::Bernoulli { gap } => ("bernoulli", json!({ "gap": gap })),
                };
                let labels = match c.labels {
                    env_core::LabelStyle::Buttons => "buttons",
                    env_core::LabelStyle::Numeric => "numeric",
                };
                json!({ "env": "mab", "dist": dist, "params": param, "arms": c.arms, "horizon": c.horizon, "labels": labels })
            }
            EnvSettings::Cb(c) => json!({
                "env": "cb", "movies": c.movies, "users": c.users, "horizon": c.horizon,
                "movielens": c.movielens.as_ref().map(|p| p.display().to_string()),
            }),
            EnvSettings::Ttt(t) => json!({
                "env": "ttt", "opponent": format!("{:?}", t.opponent).to_lowercase(), "mcts_budget": t.mcts_budget,
                "noise_p": t.noise_p, "first": format!("{:?}", t.first).to_lowercase(),
            }),
        };
        let mut v = json!({
            "environment": env,
            "agents": s.agents.iter().map(|a| a.name()).collect::<Vec<_>>(),
            "epsilon": s.epsilon,
            "episodes": s.episodes,
            "seed": s.seed,
        });
        if let Some(l) = &s.llm {
            v["llm"] = json!({
                "model": l.model.display().to_string(), "dtype": format!("{:?}", l.dtype).to_lowercase(),
                "max_new_tokens": l.max_new_tokens, "temperature": l.temperature, "cot": l.cot,
                "summary": l.summary, "randomize": l.randomize, "chat": !l.base, "answer_chars": l.answer_chars,
                "samples": l.samples, "self_correct": l.self_correct, "answer_prefix": l.answer_prefix,
            });
            if let EnvSettings::Ttt(_) = &s.env {
                v["llm"]["legal_moves"] = json!(l.legal_moves);
            }
        }
        v
    }
}
