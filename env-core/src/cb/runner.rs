//! Plays one contextual-bandit episode with a [`ContextualPolicy`].

use crate::env::Environment;
use crate::error::{Error, Result};
use crate::rng::Rng;

use super::bandit::ContextualBandit;
use super::policy::ContextualPolicy;

const POLICY_STREAM: u64 = 0x504F_4C49_4359; // "POLICY"

/// Resets `env` with `episode_seed` and `policy` for the table's shape, then plays the whole
/// horizon. Step `t`'s action, pseudo-regret and reward go to `actions_out[t]`,
/// `regrets_out[t]` and `rewards_out[t]`; each buffer needs at least `env.horizon()` entries
/// (checked before anything is played). The policy's random draws come from a sub-stream of
/// `episode_seed`. Returns the number of steps played.
pub fn run_cb_episode(
    env: &mut ContextualBandit<'_>,
    policy: &mut dyn ContextualPolicy,
    episode_seed: u64,
    actions_out: &mut [usize],
    regrets_out: &mut [f64],
    rewards_out: &mut [f64],
) -> Result<usize> {
    let horizon = env.horizon();
    for (what, len) in [
        ("actions_out", actions_out.len()),
        ("regrets_out", regrets_out.len()),
        ("rewards_out", rewards_out.len()),
    ] {
        if len < horizon {
            return Err(Error::CapacityExceeded { what, capacity: len, requested: horizon });
        }
    }
    env.reset(episode_seed)?;
    policy.reset(env.num_actions(), env.tables().dim())?;
    let mut rng = Rng::from_stream(episode_seed, POLICY_STREAM);
    let mut t = 0;
    while !env.is_done() {
        let context = env.context();
        let arm = policy.select(context, &mut rng)?;
        let tr = env.step(arm)?;
        policy.update(arm, context, tr.reward)?;
        actions_out[t] = arm;
        regrets_out[t] = tr.info.regret;
        rewards_out[t] = tr.reward;
        t += 1;
    }
    Ok(t)
}
