//! `ec_bandit_agent_*`: the classic bandit agents (UCB, Thompson sampling, epsilon-greedy,
//! greedy, random) with the optional try-all and epsilon-explore wrappers (SPEC section 6).
//!
//! The agent owns its random generator: `ec_bandit_agent_reset(agent, arms, episode_seed)`
//! seeds it from the episode seed exactly as env-core's `run_bandit_episode` does, so an
//! episode played through C (`reset` the bandit and the agent with the same seed, then
//! `select` / `step` / `update`) is the Rust episode, bit for bit.

use env_core::agents::{
    BanditPolicy, BetaThompson, EpsilonExplore, EpsilonGreedy, GaussianThompson, Greedy, TryAll, Ucb,
    UniformRandom, POLICY_STREAM,
};
use env_core::{Result, Rng, UcbRule};

use crate::object::{self, Storage};
use crate::status::{to_status, EcStatus};
use crate::text::{arg, out};

/// 8-byte words of an [`EcBanditAgent`].
pub const EC_BANDIT_AGENT_WORDS: usize = 112;

/// Bytes of an [`EcBanditAgent`] (`sizeof`).
pub const EC_BANDIT_AGENT_SIZE: usize = EC_BANDIT_AGENT_WORDS * 8;

/// A bandit agent, in caller storage.
#[repr(C)]
pub struct EcBanditAgent {
    /// Opaque: written and read by the library only.
    pub opaque: [u64; EC_BANDIT_AGENT_WORDS],
}

/// UCB with the paper's rule mean + c * sqrt(1/N); `param1` is c (1 in the paper).
pub const EC_AGENT_UCB: u32 = 0;
/// UCB with mean + sqrt(alpha * ln t / N); `param1` is alpha (0.5 is usual).
pub const EC_AGENT_UCB_LOG: u32 = 1;
/// Gaussian Thompson sampling: `param1` prior mean, `param2` prior sd, `param3` noise sd
/// (0.5, 1, 1 suit the paper's bandit).
pub const EC_AGENT_THOMPSON_GAUSSIAN: u32 = 2;
/// Beta-Bernoulli Thompson sampling: `param1` prior alpha, `param2` prior beta (1, 1 uniform).
pub const EC_AGENT_THOMPSON_BETA: u32 = 3;
/// Epsilon-greedy: `param1` is epsilon (0..=1).
pub const EC_AGENT_EPSILON_GREEDY: u32 = 4;
/// Greedy: the best mean so far (untried arms first).
pub const EC_AGENT_GREEDY: u32 = 5;
/// Uniformly random arms.
pub const EC_AGENT_RANDOM: u32 = 6;

/// Which agent, its parameters and its exploration wrappers.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcBanditAgentConfig {
    /// `EC_AGENT_UCB`, ...
    pub kind: u32,
    /// First parameter (see the kind).
    pub param1: f64,
    /// Second parameter (see the kind).
    pub param2: f64,
    /// Third parameter (see the kind).
    pub param3: f64,
    /// 1: play every untried arm first (try-all), 0: off.
    pub try_all: u8,
    /// Above 0: with this probability play a random arm (epsilon-explore), 0: off.
    pub explore_epsilon: f64,
}

/// The agent without wrappers.
#[derive(Debug, Clone)]
enum Base {
    Ucb(Ucb),
    GaussianThompson(GaussianThompson),
    BetaThompson(BetaThompson),
    EpsilonGreedy(EpsilonGreedy),
    Greedy(Greedy),
    Random(UniformRandom),
}

impl Base {
    fn policy(&mut self) -> &mut dyn BanditPolicy {
        match self {
            Base::Ucb(p) => p,
            Base::GaussianThompson(p) => p,
            Base::BetaThompson(p) => p,
            Base::EpsilonGreedy(p) => p,
            Base::Greedy(p) => p,
            Base::Random(p) => p,
        }
    }
}

impl BanditPolicy for Base {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.policy().reset(arms)
    }
    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        self.policy().select(rng)
    }
    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.policy().update(arm, reward)
    }
    fn name(&self) -> &'static str {
        match self {
            Base::Ucb(p) => p.name(),
            Base::GaussianThompson(p) => p.name(),
            Base::BetaThompson(p) => p.name(),
            Base::EpsilonGreedy(p) => p.name(),
            Base::Greedy(p) => p.name(),
            Base::Random(p) => p.name(),
        }
    }
}

/// The agent with its wrappers.
#[derive(Debug, Clone)]
enum Wrapped {
    Plain(Base),
    TryAll(TryAll<Base>),
    Explore(EpsilonExplore<Base>),
    Both(EpsilonExplore<TryAll<Base>>),
}

impl Wrapped {
    fn policy(&mut self) -> &mut dyn BanditPolicy {
        match self {
            Wrapped::Plain(p) => p,
            Wrapped::TryAll(p) => p,
            Wrapped::Explore(p) => p,
            Wrapped::Both(p) => p,
        }
    }
}

/// What the storage holds.
#[derive(Debug, Clone)]
pub struct Agent {
    policy: Wrapped,
    rng: Rng,
}

impl Storage for EcBanditAgent {
    type Inner = Agent;
    const TAG: u64 = 0x4543_5F41_4745_0002;
}

impl EcBanditAgentConfig {
    fn base(&self) -> core::result::Result<Base, EcStatus> {
        Ok(match self.kind {
            EC_AGENT_UCB => Base::Ucb(Ucb::new(UcbRule::InverseSqrtCount { c: self.param1 })?),
            EC_AGENT_UCB_LOG => Base::Ucb(Ucb::new(UcbRule::LogTime { alpha: self.param1 })?),
            EC_AGENT_THOMPSON_GAUSSIAN => {
                Base::GaussianThompson(GaussianThompson::new(self.param1, self.param2, self.param3)?)
            }
            EC_AGENT_THOMPSON_BETA => Base::BetaThompson(BetaThompson::new(self.param1, self.param2)?),
            EC_AGENT_EPSILON_GREEDY => Base::EpsilonGreedy(EpsilonGreedy::new(self.param1)?),
            EC_AGENT_GREEDY => Base::Greedy(Greedy::new()),
            EC_AGENT_RANDOM => Base::Random(UniformRandom::new()),
            _ => return Err(EcStatus::OutOfRange),
        })
    }

    fn build(&self) -> core::result::Result<Agent, EcStatus> {
        let base = self.base()?;
        let eps = self.explore_epsilon;
        if eps.is_nan() {
            return Err(EcStatus::NotFinite);
        }
        let policy = match (self.try_all, eps > 0.0) {
            (0, false) => Wrapped::Plain(base),
            (1, false) => Wrapped::TryAll(TryAll::new(base)),
            (0, true) => Wrapped::Explore(EpsilonExplore::new(base, eps)?),
            (1, true) => Wrapped::Both(EpsilonExplore::new(TryAll::new(base), eps)?),
            _ => return Err(EcStatus::OutOfRange),
        };
        Ok(Agent { policy, rng: Rng::new(0) })
    }
}

/// Initialises `agent` from `config`. It must be reset before it selects.
///
/// # Safety
/// `agent` must point to `EC_BANDIT_AGENT_SIZE` writable bytes, `config` to a config.
#[no_mangle]
pub unsafe extern "C" fn ec_bandit_agent_init(
    agent: *mut EcBanditAgent,
    config: *const EcBanditAgentConfig,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let value = unsafe { arg(config)? }.build()?;
        // SAFETY: the caller's contract.
        unsafe { object::init(agent, value) }
    })())
}

/// Forgets everything, prepares for `arms` arms (2..=32) and seeds the agent's generator
/// from `episode_seed` (as env-core's episode runner does).
///
/// # Safety
/// `agent` must be null or point to an `EcBanditAgent`.
#[no_mangle]
pub unsafe extern "C" fn ec_bandit_agent_reset(
    agent: *mut EcBanditAgent,
    arms: usize,
    episode_seed: u64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let a = unsafe { object::get_mut(agent)? };
        // Reset a copy: a failed reset leaves the agent as it was.
        let mut policy = a.policy.clone();
        policy.policy().reset(arms)?;
        a.policy = policy;
        a.rng = Rng::from_stream(episode_seed, POLICY_STREAM);
        Ok(())
    })())
}

/// The arm the agent plays next, into `*arm`. `EC_STATUS_EMPTY` before a reset.
///
/// # Safety
/// `agent` must be null or point to an `EcBanditAgent`, `arm` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_bandit_agent_select(agent: *mut EcBanditAgent, arm: *mut usize) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (a, arm) = unsafe { (object::get_mut(agent)?, out(arm)?) };
        // Select with a copy of the generator, kept only on success.
        let mut rng = a.rng.clone();
        *arm = a.policy.policy().select(&mut rng)?;
        a.rng = rng;
        Ok(())
    })())
}

/// Tells the agent that `arm` earned `reward`. `EC_STATUS_INVALID_ACTION` for an arm out of
/// range, `EC_STATUS_NOT_FINITE` for a NaN or infinite reward.
///
/// # Safety
/// `agent` must be null or point to an `EcBanditAgent`.
#[no_mangle]
pub unsafe extern "C" fn ec_bandit_agent_update(
    agent: *mut EcBanditAgent,
    arm: usize,
    reward: f64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let a = unsafe { object::get_mut(agent)? };
        a.policy.policy().update(arm, reward)?;
        Ok(())
    })())
}
