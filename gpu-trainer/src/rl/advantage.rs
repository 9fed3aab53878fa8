//! From rewards to advantages (SPEC section 5, bandits): the shaped reward of every step, the
//! Monte-Carlo rewards-to-go of its episode, normalised over the rollout; every completion token
//! of a step gets its step's advantage.
//!
//! - Environment rewards are normalised first ([`RewardNorm`]): by default over the rollout,
//!   `(r - mean) / (std + 1e-8)` of all its steps' environment rewards (Gaussian bandit rewards
//!   are unbounded; the choice is OPEN in the paper);
//! - then the shaping is added (after the normalisation, so its size is in those units): -5 for
//!   an answer with no valid action, +1 for an arm not tried before in the episode with the
//!   exploration bonus (env-core's constants);
//! - returns: `G_t = r_t + gamma * G_{t+1}` within the episode (gamma 1: the sum of what is left);
//! - advantages: `(G - mean) / (std + 1e-8)` over every step of the rollout.

use serde::{Deserialize, Serialize};

/// How the environment's rewards are normalised before shaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum RewardNorm {
    /// `(r - mean) / (std + 1e-8)` over the rollout's steps.
    Rollout,
    /// The same with the running mean and std of every environment reward seen so far in the
    /// run (Welford; part of the checkpoint).
    Running,
    /// As the environment gives them.
    None,
}

/// Mean and standard deviation (population) of `xs`; (0, 0) when empty.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// `(x - mean) / (std + 1e-8)` of every value.
pub fn normalise(xs: &[f64], mean: f64, std: f64) -> Vec<f64> {
    xs.iter().map(|x| (x - mean) / (std + 1e-8)).collect()
}

/// A running mean and variance (Welford), exactly resumable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    /// Values seen.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl RunningStats {
    /// Adds `xs`.
    pub fn extend(&mut self, xs: &[f64]) {
        for &x in xs {
            self.count += 1;
            let d = x - self.mean;
            self.mean += d / self.count as f64;
            self.m2 += d * (x - self.mean);
        }
    }

    /// The population standard deviation.
    pub fn std(&self) -> f64 {
        if self.count == 0 { 0.0 } else { (self.m2 / self.count as f64).sqrt() }
    }
}

/// The shaping constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shaping {
    /// Added to a step whose answer named no valid action (the paper: -5).
    pub invalid_penalty: f64,
    /// Added to a step that tried an arm for the first time in its episode, when on (+1).
    pub explore_bonus: Option<f64>,
}

/// What one step contributes to its reward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReward {
    /// The environment's reward, normalised.
    pub env: f64,
    /// The answer named no valid action.
    pub invalid: bool,
    /// The played action was new in the episode.
    pub new_action: bool,
}

impl Shaping {
    /// The shaped reward of one step.
    pub fn reward(&self, s: &StepReward) -> f64 {
        let mut r = s.env;
        if s.invalid {
            r += self.invalid_penalty;
        }
        if s.new_action
            && let Some(b) = self.explore_bonus
        {
            r += b;
        }
        r
    }
}

/// Rewards-to-go of one episode's rewards: `G_t = r_t + gamma * G_{t+1}`, `G_T = 0`.
pub fn rewards_to_go(rewards: &[f64], gamma: f64) -> Vec<f64> {
    let mut out = vec![0.0; rewards.len()];
    let mut g = 0.0;
    for t in (0..rewards.len()).rev() {
        g = rewards[t] + gamma * g;
        out[t] = g;
    }
    out
}

/// Advantages of a rollout's episodes (each a list of shaped rewards): the rewards-to-go,
/// normalised over every step of every episode. Same shape as `episodes`.
pub fn advantages(episodes: &[Vec<f64>], gamma: f64) -> Vec<Vec<f64>> {
    let returns: Vec<Vec<f64>> = episodes.iter().map(|r| rewards_to_go(r, gamma)).collect();
    let all: Vec<f64> = returns.iter().flatten().copied().collect();
    let (mean, std) = mean_std(&all);
    returns.iter().map(|g| normalise(g, mean, std)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_to_go_against_closed_forms() {
        assert_eq!(rewards_to_go(&[1.0, 2.0, 3.0], 1.0), vec![6.0, 5.0, 3.0]);
        let g = rewards_to_go(&[1.0, 0.0, 4.0], 0.5);
        assert_eq!(g, vec![1.0 + 0.5 * 0.0 + 0.25 * 4.0, 2.0, 4.0]);
        assert_eq!(rewards_to_go(&[], 0.9), Vec::<f64>::new());
        assert_eq!(rewards_to_go(&[2.0, 2.0], 0.0), vec![2.0, 2.0], "gamma 0: the immediate reward");
    }

    #[test]
    fn advantages_are_normalised_over_the_rollout() {
        let a = advantages(&[vec![1.0, 1.0], vec![0.0, 2.0]], 1.0);
        // returns [2, 1] and [2, 2]: mean 1.75, std sqrt(0.1875)
        let std = 0.1875f64.sqrt();
        let want = [[(2.0 - 1.75) / std, (1.0 - 1.75) / std], [(2.0 - 1.75) / std, (2.0 - 1.75) / std]];
        for (e, w) in a.iter().zip(want) {
            for (x, y) in e.iter().zip(w) {
                assert!((x - y).abs() < 1e-6, "{x} vs {y}");
            }
        }
        let flat: Vec<f64> = a.iter().flatten().copied().collect();
        let (m, s) = mean_std(&flat);
        assert!(m.abs() < 1e-9 && (s - 1.0).abs() < 1e-6);
        // a constant rollout: all zero (no division by zero)
        assert!(advantages(&[vec![3.0, 0.0]], 0.0).iter().flatten().all(|x| x.abs() < 1e-6 || x.is_finite()));
    }

    #[test]
    fn shaping_adds_after_normalisation() {
        let s = Shaping { invalid_penalty: -5.0, explore_bonus: Some(1.0) };
        assert_eq!(s.reward(&StepReward { env: 0.3, invalid: true, new_action: false }), 0.3 - 5.0);
        assert_eq!(s.reward(&StepReward { env: 0.3, invalid: false, new_action: true }), 1.3);
        assert_eq!(s.reward(&StepReward { env: -0.2, invalid: true, new_action: true }), -0.2 - 5.0 + 1.0);
        let plain = Shaping { explore_bonus: None, ..s };
        assert_eq!(plain.reward(&StepReward { env: 0.3, invalid: false, new_action: true }), 0.3);
    }

    #[test]
    fn running_stats_match_the_batch_statistics() {
        let xs = [0.5, -1.0, 2.5, 3.0, 0.0];
        let mut r = RunningStats::default();
        r.extend(&xs[..2]);
        r.extend(&xs[2..]);
        let (m, s) = mean_std(&xs);
        assert!((r.mean - m).abs() < 1e-12 && (r.std() - s).abs() < 1e-12);
    }
}
