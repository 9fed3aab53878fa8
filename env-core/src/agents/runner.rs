//! Running a policy on a multi-armed bandit for one episode.

use super::BanditPolicy;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::mab::MultiArmedBandit;
use crate::rng::Rng;

/// The sub-stream of the episode seed that feeds the policy's generator ("POLICY"), distinct from
/// the environment's noise stream (the environment is reset with the episode seed itself).
pub const POLICY_STREAM: u64 = 0x504F_4C49_4359;

/// Runs one episode: resets `env` with `episode_seed` and `policy` with the bandit's arm count,
/// then selects, steps and updates until the horizon. The policy draws from
/// `Rng::from_stream(episode_seed, POLICY_STREAM)`.
///
/// Writes the arm and reward of step t to `actions[t]` and `rewards[t]` and returns the number of
/// steps (the horizon). Errors with [`Error::CapacityExceeded`] (before anything runs) when a
/// buffer is shorter than the horizon, and passes on any error of the policy (an arm out of
/// range is [`Error::InvalidAction`]).
pub fn run_bandit_episode(
    env: &mut MultiArmedBandit,
    policy: &mut dyn BanditPolicy,
    episode_seed: u64,
    actions: &mut [usize],
    rewards: &mut [f64],
) -> Result<usize> {
    let horizon = env.config().horizon;
    if actions.len() < horizon {
        return Err(Error::CapacityExceeded { what: "actions", capacity: actions.len(), requested: horizon });
    }
    if rewards.len() < horizon {
        return Err(Error::CapacityExceeded { what: "rewards", capacity: rewards.len(), requested: horizon });
    }
    env.reset(episode_seed)?;
    policy.reset(env.num_actions())?;
    let mut rng = Rng::from_stream(episode_seed, POLICY_STREAM);
    let mut t = 0;
    while !env.is_done() {
        let arm = policy.select(&mut rng)?;
        let tr = env.step(arm)?;
        policy.update(arm, tr.reward)?;
        actions[t] = arm;
        rewards[t] = tr.reward;
        t += 1;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::{Ucb, UniformRandom};
    use crate::mab::MabConfig;

    #[test]
    fn fills_the_buffers_and_checks_them() {
        let cfg = MabConfig { arms: 3, horizon: 5, ..MabConfig::default() };
        let mut env = MultiArmedBandit::new(cfg, 1).unwrap();
        let mut p = Ucb::paper();
        let mut a = [99usize; 6];
        let mut r = [0.0; 6];
        assert_eq!(run_bandit_episode(&mut env, &mut p, 3, &mut a, &mut r), Ok(5));
        assert_eq!(&a[..3], &[0, 1, 2]);
        assert_eq!(a[5], 99);
        let mut short = [0usize; 4];
        assert_eq!(
            run_bandit_episode(&mut env, &mut p, 3, &mut short, &mut r),
            Err(Error::CapacityExceeded { what: "actions", capacity: 4, requested: 5 })
        );
        let mut short_r = [0.0; 2];
        assert!(matches!(
            run_bandit_episode(&mut env, &mut UniformRandom::new(), 3, &mut a, &mut short_r),
            Err(Error::CapacityExceeded { what: "rewards", .. })
        ));
    }
}
