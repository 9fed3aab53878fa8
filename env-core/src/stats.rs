//! Per-arm statistics of a bandit history, and the UCB rule computed from them.
//!
//! Agents, prompt summaries, expert rationales and the diagnostics all read a history through
//! [`ArmStats`], so "the greedy arm" or "the UCB arm" means the same thing everywhere.

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};

/// Pull counts and reward sums per arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmStats {
    counts: [u32; MAX_ARMS],
    sums: [f64; MAX_ARMS],
    arms: usize,
    total: u32,
    /// Arms with a non-zero count (kept so "is anything untried?" costs nothing).
    tried: u32,
}

impl ArmStats {
    /// Empty statistics for `arms` arms (1..=32).
    pub fn new(arms: usize) -> Result<Self> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        Ok(ArmStats { counts: [0; MAX_ARMS], sums: [0.0; MAX_ARMS], arms, total: 0, tried: 0 })
    }

    /// Statistics of a history given as parallel slices of actions and rewards.
    pub fn from_history(arms: usize, actions: &[usize], rewards: &[f64]) -> Result<Self> {
        if actions.len() != rewards.len() {
            return Err(Error::ShapeMismatch {
                what: "rewards",
                expected: actions.len(),
                got: rewards.len(),
            });
        }
        let mut s = ArmStats::new(arms)?;
        for (&a, &r) in actions.iter().zip(rewards) {
            s.record(a, r)?;
        }
        Ok(s)
    }

    /// Adds one observation.
    pub fn record(&mut self, arm: usize, reward: f64) -> Result<()> {
        if arm >= self.arms {
            return Err(Error::InvalidAction { action: arm, num_actions: self.arms });
        }
        if !reward.is_finite() {
            return Err(Error::NotFinite { name: "reward" });
        }
        self.tried += (self.counts[arm] == 0) as u32;
        self.counts[arm] += 1;
        self.sums[arm] += reward;
        self.total += 1;
        Ok(())
    }

    /// Number of arms.
    pub fn arms(&self) -> usize {
        self.arms
    }

    /// Total number of observations.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Times `arm` was pulled (0 for an arm index out of range).
    pub fn count(&self, arm: usize) -> u32 {
        if arm < self.arms { self.counts[arm] } else { 0 }
    }

    /// Pull counts, in arm order.
    pub fn counts(&self) -> &[u32] {
        &self.counts[..self.arms]
    }

    /// Mean reward of `arm`, `None` if it was never pulled.
    pub fn mean(&self, arm: usize) -> Option<f64> {
        let n = self.count(arm);
        if n == 0 { None } else { Some(self.sums[arm] / n as f64) }
    }

    /// Number of arms pulled at least once.
    pub fn tried(&self) -> usize {
        self.tried as usize
    }

    /// The lowest-index arm never pulled, if any.
    pub fn first_untried(&self) -> Option<usize> {
        if self.tried as usize == self.arms {
            return None;
        }
        self.counts().iter().position(|&c| c == 0)
    }

    /// The highest mean reward among tried arms.
    pub fn best_mean(&self) -> Option<f64> {
        (0..self.arms).filter_map(|a| self.mean(a)).fold(None, |m, x| match m {
            Some(m) if m >= x => Some(m),
            _ => Some(x),
        })
    }

    /// The greedy arm: the best mean among tried arms (lowest index among ties).
    pub fn greedy_arm(&self) -> Option<usize> {
        let best = self.best_mean()?;
        (0..self.arms).find(|&a| self.mean(a) == Some(best))
    }

    /// Whether `arm` is a greedy arm (tried, and its mean equals the best mean; ties all count).
    pub fn is_greedy(&self, arm: usize) -> bool {
        match (self.mean(arm), self.best_mean()) {
            (Some(m), Some(b)) => m == b,
            _ => false,
        }
    }

    /// The most frequently pulled arm (lowest index among ties), `None` before any pull.
    pub fn most_frequent(&self) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let max = *self.counts().iter().max()?;
        self.counts().iter().position(|&c| c == max)
    }
}

/// The exploration bonus of a UCB rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UcbRule {
    /// UCB = mean + c * sqrt(1 / N). With c = 1 this is the paper's expert (SPEC section 7).
    InverseSqrtCount {
        /// The constant c.
        c: f64,
    },
    /// UCB = mean + sqrt(alpha * ln t / N), t the number of steps so far (UCB1 with alpha = 2).
    LogTime {
        /// The constant alpha (0.5 is a common choice for short horizons).
        alpha: f64,
    },
}

impl UcbRule {
    /// The paper's rule: mean + sqrt(1/N).
    pub const PAPER: UcbRule = UcbRule::InverseSqrtCount { c: 1.0 };
    /// mean + sqrt(0.5 ln t / N).
    pub const LOG_HALF: UcbRule = UcbRule::LogTime { alpha: 0.5 };

    /// Checks the constant: finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        let (name, v) = match *self {
            UcbRule::InverseSqrtCount { c } => ("ucb c", c),
            UcbRule::LogTime { alpha } => ("ucb alpha", alpha),
        };
        crate::error::check_range(name, v, 0.0, 1.0e6)
    }

    /// The UCB value of `arm`; `None` for an untried arm (whose value is +infinity, shown NaN).
    pub fn value(&self, stats: &ArmStats, arm: usize) -> Option<f64> {
        let mean = stats.mean(arm)?;
        let n = stats.count(arm) as f64;
        let bonus = match *self {
            UcbRule::InverseSqrtCount { c } => c * libm::sqrt(1.0 / n),
            UcbRule::LogTime { alpha } => {
                let t = stats.total().max(1) as f64;
                libm::sqrt(alpha * libm::log(t) / n)
            }
        };
        Some(mean + bonus)
    }

    /// The arm UCB plays next: the first untried arm if there is one, else the highest UCB value
    /// (lowest index among ties).
    pub fn choose(&self, stats: &ArmStats) -> usize {
        if let Some(a) = stats.first_untried() {
            return a;
        }
        let mut best = 0;
        let mut best_v = f64::NEG_INFINITY;
        for a in 0..stats.arms() {
            if let Some(v) = self.value(stats, a)
                && v > best_v
            {
                best = a;
                best_v = v;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_frequent() {
        let s = ArmStats::from_history(4, &[0, 1, 1, 2], &[0.5, 0.2, 0.4, 0.9]).unwrap();
        assert_eq!(s.count(1), 2);
        assert_eq!(s.mean(1), Some(0.30000000000000004));
        assert_eq!(s.mean(3), None);
        assert_eq!(s.greedy_arm(), Some(2));
        assert_eq!(s.most_frequent(), Some(1));
        assert_eq!(s.first_untried(), Some(3));
        assert_eq!(s.tried(), 3);
        assert!(ArmStats::from_history(4, &[4], &[0.0]).is_err());
        assert!(ArmStats::from_history(4, &[0], &[]).is_err());
    }

    #[test]
    fn ucb_rules() {
        let s = ArmStats::from_history(2, &[0, 0, 0, 0, 1], &[1.0, 1.0, 1.0, 1.0, 0.8]).unwrap();
        // arm 0: 1 + sqrt(1/4) = 1.5; arm 1: 0.8 + 1 = 1.8
        assert_eq!(UcbRule::PAPER.value(&s, 0), Some(1.5));
        assert_eq!(UcbRule::PAPER.choose(&s), 1);
        let v = UcbRule::LOG_HALF.value(&s, 0).unwrap();
        assert!((v - (1.0 + libm::sqrt(0.5 * libm::log(5.0) / 4.0))).abs() < 1e-12);
        let untried = ArmStats::from_history(3, &[0], &[1.0]).unwrap();
        assert_eq!(UcbRule::PAPER.choose(&untried), 1);
    }
}
