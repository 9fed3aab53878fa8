//! `ec_cb_agent_*`: the contextual-bandit baselines, LinUCB (alpha 0.5 in the paper) and
//! uniformly random.
//!
//! The agent owns its generator (random tie-breaking, random arms), seeded by
//! `ec_cb_agent_reset` with `Rng::new(seed)`.

use env_core::cb::{ContextualPolicy, DefaultLinUcb, UniformRandom};
use env_core::Rng;

use crate::object::{self, Storage};
use crate::status::{to_status, EcStatus};
use crate::text::{arg, out, slice_arg};

/// 8-byte words of an [`EcCbAgent`].
pub const EC_CB_AGENT_WORDS: usize = 10240;

/// Bytes of an [`EcCbAgent`] (`sizeof`).
pub const EC_CB_AGENT_SIZE: usize = EC_CB_AGENT_WORDS * 8;

/// A contextual-bandit agent, in caller storage (80 KiB: LinUCB keeps a 17x17 inverse for each
/// of up to 32 arms).
#[repr(C)]
pub struct EcCbAgent {
    /// Opaque: written and read by the library only.
    pub opaque: [u64; EC_CB_AGENT_WORDS],
}

/// Disjoint LinUCB; `alpha` is its exploration strength.
pub const EC_CB_AGENT_LINUCB: u32 = 0;
/// Uniformly random arms.
pub const EC_CB_AGENT_RANDOM: u32 = 1;

/// Which agent and its settings.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcCbAgentConfig {
    /// `EC_CB_AGENT_LINUCB` or `EC_CB_AGENT_RANDOM`.
    pub kind: u32,
    /// LinUCB's alpha (0..=1e6; 0.5 in the paper).
    pub alpha: f64,
    /// LinUCB: 1 appends a constant bias feature, 0 does not.
    pub bias: u8,
}

/// The agent. The object's storage is sized for the largest variant anyway (no heap to box
/// into), so the size difference costs nothing.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
enum Policy {
    LinUcb(DefaultLinUcb),
    Random(UniformRandom),
}

/// What the storage holds.
#[derive(Debug, Clone)]
pub struct CbAgent {
    policy: Policy,
    rng: Rng,
}

impl CbAgent {
    fn policy(&mut self) -> &mut dyn ContextualPolicy {
        match &mut self.policy {
            Policy::LinUcb(p) => p,
            Policy::Random(p) => p,
        }
    }
}

impl Storage for EcCbAgent {
    type Inner = CbAgent;
    const TAG: u64 = 0x4543_5F43_4241_0004;
}

/// Initialises `agent` from `config`; it must be reset before it selects.
///
/// # Safety
/// `agent` must point to `EC_CB_AGENT_SIZE` writable bytes, `config` to a config.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_agent_init(agent: *mut EcCbAgent, config: *const EcCbAgentConfig) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let c = unsafe { arg(config)? };
        let bias = match c.bias {
            0 => false,
            1 => true,
            _ => return Err(EcStatus::OutOfRange),
        };
        let policy = match c.kind {
            EC_CB_AGENT_LINUCB => Policy::LinUcb(DefaultLinUcb::new(c.alpha, bias)?),
            EC_CB_AGENT_RANDOM => Policy::Random(UniformRandom::new()),
            _ => return Err(EcStatus::OutOfRange),
        };
        // SAFETY: the caller's contract.
        unsafe { object::init(agent, CbAgent { policy, rng: Rng::new(0) }) }
    })())
}

/// Forgets everything, prepares for `arms` arms and contexts of length `dim`, and seeds the
/// agent's generator with `seed`.
///
/// # Safety
/// `agent` must be null or point to an `EcCbAgent`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_agent_reset(
    agent: *mut EcCbAgent,
    arms: usize,
    dim: usize,
    seed: u64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let a = unsafe { object::get_mut(agent)? };
        // Check the sizes on a fresh agent of the same kind first: a failed reset changes nothing.
        match &a.policy {
            Policy::LinUcb(p) => DefaultLinUcb::new(p.alpha(), p.has_bias())?.reset(arms, dim)?,
            Policy::Random(_) => UniformRandom::new().reset(arms, dim)?,
        }
        a.policy().reset(arms, dim)?;
        a.rng = Rng::new(seed);
        Ok(())
    })())
}

/// The arm for `context` (`len` values, the length given at reset), into `*arm`.
///
/// # Safety
/// `agent` must be null or point to an `EcCbAgent`, `context` to `len` doubles, `arm` to a
/// `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_agent_select(
    agent: *mut EcCbAgent,
    context: *const f64,
    len: usize,
    arm: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (a, context, arm) = unsafe { (object::get_mut(agent)?, slice_arg(context, len)?, out(arm)?) };
        let mut rng = a.rng.clone();
        *arm = a.policy().select(context, &mut rng)?;
        a.rng = rng;
        Ok(())
    })())
}

/// Tells the agent that `arm` earned `reward` in `context`.
///
/// # Safety
/// `agent` must be null or point to an `EcCbAgent`, `context` to `len` doubles.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_agent_update(
    agent: *mut EcCbAgent,
    arm: usize,
    context: *const f64,
    len: usize,
    reward: f64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (a, context) = unsafe { (object::get_mut(agent)?, slice_arg(context, len)?) };
        a.policy().update(arm, context, reward)?;
        Ok(())
    })())
}
