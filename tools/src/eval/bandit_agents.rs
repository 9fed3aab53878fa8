//! Building a bandit policy from an [`AgentSpec`].

use anyhow::{bail, Result};
use env_core::{Rng, UcbRule};

use crate::eval::interim::{BanditPolicy, EpsilonExplore, Rule, Simple, TryAll};
use crate::eval::{AgentSpec, BaseAgent, Wrapper};

/// Any bandit policy, boxed; wrappers compose around it.
pub struct DynPolicy(Box<dyn BanditPolicy + Send>);

impl BanditPolicy for DynPolicy {
    fn reset(&mut self, arms: usize) -> env_core::Result<()> {
        self.0.reset(arms)
    }
    fn select(&mut self, rng: &mut Rng) -> env_core::Result<usize> {
        self.0.select(rng)
    }
    fn update(&mut self, arm: usize, reward: f64) -> env_core::Result<()> {
        self.0.update(arm, reward)
    }
    fn name(&self) -> &str {
        self.0.name()
    }
}

/// The policy `spec` names, `epsilon` for eps-greedy and the `eps:` wrapper.
pub fn build_bandit_policy(spec: &AgentSpec, epsilon: f64) -> Result<DynPolicy> {
    let rule = match spec.base {
        BaseAgent::Ucb => Rule::Ucb(UcbRule::PAPER),
        BaseAgent::UcbLog => Rule::Ucb(UcbRule::LOG_HALF),
        BaseAgent::Thompson => Rule::Thompson,
        BaseAgent::EpsGreedy => Rule::EpsGreedy(epsilon),
        BaseAgent::Greedy => Rule::Greedy,
        BaseAgent::Random => Rule::Random,
        other => bail!("agent {other:?} does not play multi-armed bandits"),
    };
    let mut policy = DynPolicy(Box::new(Simple::new(rule)));
    for w in spec.wrappers.iter().rev() {
        policy = match w {
            Wrapper::TryAll => DynPolicy(Box::new(TryAll::new(policy))),
            Wrapper::Eps => DynPolicy(Box::new(EpsilonExplore::new(policy, epsilon))),
        };
    }
    Ok(policy)
}
