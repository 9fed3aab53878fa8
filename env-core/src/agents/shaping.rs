//! Reward shaping used during RL fine-tuning (SPEC sections 5 and 6).

use crate::error::{Result, check_range};
use crate::stats::ArmStats;

/// Reward added when the model's answer names no valid action (a random action is executed).
pub const INVALID_ACTION_PENALTY: f64 = -5.0;

/// Reward added for pulling an arm that had not been tried before this step (exploration bonus).
pub const UNTRIED_ARM_BONUS: f64 = 1.0;

/// [`INVALID_ACTION_PENALTY`] when the answer had no valid action, else 0.
pub fn invalid_action_penalty(valid: bool) -> f64 {
    if valid { 0.0 } else { INVALID_ACTION_PENALTY }
}

/// [`UNTRIED_ARM_BONUS`] when `arm` had not been tried in `before` (the history before this
/// step), else 0. An arm out of range has a count of 0 in [`ArmStats`], so check the arm first.
pub fn untried_arm_bonus(before: &ArmStats, arm: usize) -> f64 {
    if before.count(arm) == 0 { UNTRIED_ARM_BONUS } else { 0.0 }
}

/// The shaped training reward: environment reward + invalid-action penalty (+ untried-arm
/// bonus when enabled).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardShaping {
    /// Added when no valid action was given (the paper: -5; must be <= 0).
    pub invalid_penalty: f64,
    /// Added for an arm untried before this step (the paper: +1 when the bonus is on; 0 = off).
    pub untried_bonus: f64,
}

impl Default for RewardShaping {
    /// The paper's training reward without the exploration bonus: penalty -5, bonus 0.
    fn default() -> Self {
        RewardShaping { invalid_penalty: INVALID_ACTION_PENALTY, untried_bonus: 0.0 }
    }
}

impl RewardShaping {
    /// The paper's training reward with the exploration bonus: penalty -5, bonus +1.
    pub const WITH_BONUS: RewardShaping =
        RewardShaping { invalid_penalty: INVALID_ACTION_PENALTY, untried_bonus: UNTRIED_ARM_BONUS };

    /// Checks the settings: penalty in [-1e6, 0], bonus in [0, 1e6].
    pub fn validate(&self) -> Result<()> {
        check_range("invalid penalty", self.invalid_penalty, -1.0e6, 0.0)?;
        check_range("untried bonus", self.untried_bonus, 0.0, 1.0e6)
    }

    /// The shaped reward of a step: `reward` from the environment, `valid` whether the answer
    /// named a valid action, `was_untried` whether the executed arm had not been tried before.
    pub fn shape(&self, reward: f64, valid: bool, was_untried: bool) -> f64 {
        let mut r = reward;
        if !valid {
            r += self.invalid_penalty;
        }
        if was_untried {
            r += self.untried_bonus;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalties_and_bonuses() {
        assert_eq!(invalid_action_penalty(false), -5.0);
        assert_eq!(invalid_action_penalty(true), 0.0);
        let s = ArmStats::from_history(3, &[0, 0], &[1.0, 0.0]).unwrap();
        assert_eq!(untried_arm_bonus(&s, 0), 0.0);
        assert_eq!(untried_arm_bonus(&s, 2), 1.0);
        let d = RewardShaping::default();
        assert_eq!(d.shape(0.5, true, true), 0.5);
        assert_eq!(d.shape(0.5, false, true), -4.5);
        let b = RewardShaping::WITH_BONUS;
        assert_eq!(b.shape(0.5, true, true), 1.5);
        assert_eq!(b.shape(0.5, false, false), -4.5);
        assert!(b.validate().is_ok());
        assert!(RewardShaping { invalid_penalty: 1.0, untried_bonus: 0.0 }.validate().is_err());
        assert!(RewardShaping { invalid_penalty: -5.0, untried_bonus: f64::NAN }.validate().is_err());
    }
}
