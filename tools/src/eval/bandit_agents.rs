//! Building an `env_core::agents` bandit policy from an [`AgentSpec`].

use anyhow::{Context, Result, bail};
use env_core::agents::{
    BanditPolicy, BetaThompson, EpsilonExplore, EpsilonGreedy, GaussianThompson, Greedy, TryAll, Ucb,
    UniformRandom,
};
use env_core::{ArmDistribution, MabConfig, Rng};

use crate::eval::{AgentSpec, BaseAgent, Wrapper};

/// Any bandit policy, boxed, so that wrappers compose around any agent.
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
    fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// The policy `spec` names for the bandit `config`; `epsilon` is the rate of eps-greedy and of
/// the `eps:` wrapper. Thompson sampling is Beta-Bernoulli on Bernoulli arms and Gaussian (prior
/// N(0.5, 1), the arms' known sigma as noise) on Gaussian arms.
pub fn build_bandit_policy(spec: &AgentSpec, config: &MabConfig, epsilon: f64) -> Result<DynPolicy> {
    let base: Box<dyn BanditPolicy + Send> = match spec.base {
        BaseAgent::Ucb => Box::new(Ucb::paper()),
        BaseAgent::UcbLog => Box::new(Ucb::log_half()),
        BaseAgent::Thompson => match config.distribution {
            ArmDistribution::Gaussian { sigma } => {
                Box::new(GaussianThompson::new(0.5, 1.0, sigma.max(1e-3)).context("thompson settings")?)
            }
            ArmDistribution::Bernoulli { .. } => {
                Box::new(BetaThompson::new(1.0, 1.0).context("thompson settings")?)
            }
        },
        BaseAgent::EpsGreedy => Box::new(EpsilonGreedy::new(epsilon).context("--epsilon")?),
        BaseAgent::Greedy => Box::new(Greedy::new()),
        BaseAgent::Random => Box::new(UniformRandom::new()),
        other => bail!("agent {other:?} does not play multi-armed bandits"),
    };
    let mut policy = DynPolicy(base);
    for w in spec.wrappers.iter().rev() {
        policy = match w {
            Wrapper::TryAll => DynPolicy(Box::new(TryAll::new(policy))),
            Wrapper::Eps => DynPolicy(Box::new(EpsilonExplore::new(policy, epsilon).context("--epsilon")?)),
        };
    }
    Ok(policy)
}
