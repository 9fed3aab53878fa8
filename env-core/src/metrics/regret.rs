//! Cumulative pseudo-regret.

use super::{check_actions, check_curve};
use crate::error::{Error, Result};

/// Cumulative pseudo-regret of a bandit trajectory: `out[t]` = sum over s <= t of
/// (mu* - mu_{a_s}), with mu* the largest of `means`. Returns the final value (0 for an empty
/// trajectory). Errors on an empty or non-finite `means`, an action out of range, or `out` not of
/// the trajectory's length.
pub fn cumulative_regret(means: &[f64], actions: &[usize], out: &mut [f64]) -> Result<f64> {
    if means.is_empty() {
        return Err(Error::Empty { what: "arm means" });
    }
    if means.iter().any(|m| !m.is_finite()) {
        return Err(Error::NotFinite { name: "arm mean" });
    }
    check_actions(means.len(), actions)?;
    check_curve(out, actions.len())?;
    let best = means.iter().fold(f64::NEG_INFINITY, |m, &x| if x > m { x } else { m });
    let mut total = 0.0;
    for (o, &a) in out.iter_mut().zip(actions) {
        total += best - means[a];
        *o = total;
    }
    Ok(total)
}

/// Cumulative regret from per-step regrets (the contextual bandit's regret against the best arm
/// of each step's context): `out[t]` = sum over s <= t of `step_regret[s]`. Returns the final
/// value (0 for an empty slice). Errors on a non-finite entry or a length mismatch.
pub fn cumulative_regret_from_steps(step_regret: &[f64], out: &mut [f64]) -> Result<f64> {
    check_curve(out, step_regret.len())?;
    let mut total = 0.0;
    for (o, &r) in out.iter_mut().zip(step_regret) {
        if !r.is_finite() {
            return Err(Error::NotFinite { name: "step regret" });
        }
        total += r;
        *o = total;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let means = [0.25, 1.0, 0.5];
        let mut out = [0.0; 4];
        assert_eq!(cumulative_regret(&means, &[0, 1, 2, 0], &mut out), Ok(2.0));
        assert_eq!(out, [0.75, 0.75, 1.25, 2.0]);
        let mut out = [0.0; 3];
        assert_eq!(cumulative_regret_from_steps(&[0.5, 0.0, 0.25], &mut out), Ok(0.75));
        assert_eq!(out, [0.5, 0.5, 0.75]);
        assert_eq!(cumulative_regret(&means, &[], &mut []), Ok(0.0));
    }
}
