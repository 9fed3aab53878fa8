//! Exploration diagnostics of Krishnamurthy et al. 2024, "Can large language models explore
//! in-context?": suffix failure, MinFrac and GreedyFrac.

use super::{check_actions, check_curve};
use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};
use crate::stats::ArmStats;

/// Checks the arms, the actions and that `best_arm` is one of the arms.
fn check_best(arms: usize, best_arm: usize, actions: &[usize]) -> Result<()> {
    check_actions(arms, actions)?;
    if best_arm >= arms {
        return Err(Error::InvalidAction { action: best_arm, num_actions: arms });
    }
    Ok(())
}

/// Suffix failure at step `t` (0-based): the best arm is never pulled in steps `t..T` (T the
/// trajectory length). Averaged over episodes this is SuffFailFreq(t). `t` must be below T.
pub fn suffix_failure(arms: usize, best_arm: usize, actions: &[usize], t: usize) -> Result<bool> {
    check_best(arms, best_arm, actions)?;
    if actions.is_empty() {
        return Err(Error::Empty { what: "actions" });
    }
    check_count("suffix start", t, 0, actions.len() - 1)?;
    Ok(!actions[t..].contains(&best_arm))
}

/// The suffix-failure curve of one episode: `out[t]` = 1.0 when the best arm is never pulled in
/// steps `t..T`, else 0.0. (It is non-decreasing in t; averaging over episodes gives
/// SuffFailFreq.)
pub fn suffix_failure_curve(arms: usize, best_arm: usize, actions: &[usize], out: &mut [f64]) -> Result<()> {
    check_best(arms, best_arm, actions)?;
    check_curve(out, actions.len())?;
    let mut failed = true;
    for (o, &a) in out.iter_mut().zip(actions).rev() {
        if a == best_arm {
            failed = false;
        }
        *o = if failed { 1.0 } else { 0.0 };
    }
    Ok(())
}

/// The MinFrac curve: `out[t]` = K * min_a N(a) / (t + 1), N counted over the first t + 1 steps
/// (1 when every arm was pulled equally often, 0 while an arm is untried). Returns the final value
/// (0 for an empty trajectory).
pub fn min_frac_curve(arms: usize, actions: &[usize], out: &mut [f64]) -> Result<f64> {
    check_actions(arms, actions)?;
    check_curve(out, actions.len())?;
    let mut counts = [0u32; MAX_ARMS];
    let mut last = 0.0;
    for (t, (o, &a)) in out.iter_mut().zip(actions).enumerate() {
        counts[a] += 1;
        let min = counts[..arms].iter().copied().min().unwrap_or(0);
        last = arms as f64 * min as f64 / (t + 1) as f64;
        *o = last;
    }
    Ok(last)
}

/// MinFrac of a whole trajectory: K * min_a N_T(a) / T. Errors on an empty trajectory.
pub fn min_frac(arms: usize, actions: &[usize]) -> Result<f64> {
    check_actions(arms, actions)?;
    if actions.is_empty() {
        return Err(Error::Empty { what: "actions" });
    }
    let mut counts = [0u32; MAX_ARMS];
    for &a in actions {
        counts[a] += 1;
    }
    let min = counts[..arms].iter().copied().min().unwrap_or(0);
    Ok(arms as f64 * min as f64 / actions.len() as f64)
}

/// GreedyFrac: the fraction of steps whose action is a greedy arm, i.e. has the best empirical
/// mean among the arms tried before that step (all arms tied at the best mean count). The first
/// step, with nothing tried yet, has no greedy arm and is not counted, so the fraction is over
/// steps `1..T`. Errors when there are fewer than 2 steps, on mismatched lengths, an action out
/// of range or a non-finite reward.
pub fn greedy_frac(arms: usize, actions: &[usize], rewards: &[f64]) -> Result<f64> {
    check_actions(arms, actions)?;
    if rewards.len() != actions.len() {
        return Err(Error::ShapeMismatch { what: "rewards", expected: actions.len(), got: rewards.len() });
    }
    if actions.len() < 2 {
        return Err(Error::Empty { what: "steps after the first" });
    }
    let mut stats = ArmStats::new(arms)?;
    let mut greedy = 0usize;
    for (t, (&a, &r)) in actions.iter().zip(rewards).enumerate() {
        if t > 0 && stats.is_greedy(a) {
            greedy += 1;
        }
        stats.record(a, r)?;
    }
    Ok(greedy as f64 / (actions.len() - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_failure_by_hand() {
        let acts = [2, 0, 2, 1, 1];
        let mut out = [9.0; 5];
        suffix_failure_curve(3, 2, &acts, &mut out).unwrap();
        assert_eq!(out, [0.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(suffix_failure(3, 2, &acts, 2), Ok(false));
        assert_eq!(suffix_failure(3, 2, &acts, 3), Ok(true));
        assert!(suffix_failure(3, 2, &acts, 5).is_err());
        assert!(suffix_failure(3, 3, &acts, 0).is_err());
    }

    #[test]
    fn min_frac_by_hand() {
        let mut out = [0.0; 4];
        assert_eq!(min_frac_curve(2, &[0, 1, 1, 0], &mut out), Ok(1.0));
        assert_eq!(out, [0.0, 1.0, 2.0 / 3.0, 1.0]);
        assert_eq!(min_frac(2, &[0, 1, 1, 1]), Ok(0.5));
        assert_eq!(min_frac(3, &[0, 1, 1, 1]), Ok(0.0));
    }

    #[test]
    fn greedy_frac_by_hand() {
        // step 1: best tried is arm 0 (1.0); plays 1 -> not greedy
        // step 2: means 0:1.0, 1:0.5; plays 0 -> greedy
        // step 3: means 0:0.5, 1:0.5 (tie); plays 1 -> greedy
        let a = [0, 1, 0, 1];
        let r = [1.0, 0.5, 0.0, 0.0];
        assert_eq!(greedy_frac(2, &a, &r), Ok(2.0 / 3.0));
    }
}
