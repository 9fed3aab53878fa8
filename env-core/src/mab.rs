//! Multi-armed bandits with Gaussian or Bernoulli arms (SPEC section 2).
//!
//! A *scenario* (the arm means and the label order) is drawn from a scenario seed when the bandit
//! is built; an *episode* (the reward noise) from the seed given to [`Environment::reset`].

use crate::MAX_ARMS;
use crate::env::{Environment, Transition};
use crate::error::{Error, Result, check_count, check_range};
use crate::labels::{LabelSet, LabelStyle};
use crate::rng::Rng;

/// Largest supported horizon.
pub const MAX_HORIZON: usize = 1_000_000;

/// The reward distribution of the arms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArmDistribution {
    /// Reward ~ N(mu_a, sigma^2), mu_a ~ U(0, 1). The paper uses sigma 0.1 / 1 / 3.
    Gaussian {
        /// Standard deviation of every arm's reward.
        sigma: f64,
    },
    /// Reward ~ Bernoulli(p_a): one best arm with p = 0.5 + gap/2, the others 0.5 - gap/2.
    Bernoulli {
        /// Difference between the best and the other arms' success probabilities (0.2, 0.5).
        gap: f64,
    },
}

impl ArmDistribution {
    /// Short name: `gaussian` or `bernoulli`.
    pub fn name(&self) -> &'static str {
        match self {
            ArmDistribution::Gaussian { .. } => "gaussian",
            ArmDistribution::Bernoulli { .. } => "bernoulli",
        }
    }
}

/// Settings of a multi-armed bandit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MabConfig {
    /// Number of arms, 2..=32.
    pub arms: usize,
    /// Steps per episode (default 50).
    pub horizon: usize,
    /// Reward distribution.
    pub distribution: ArmDistribution,
    /// Colour or numeric labels.
    pub labels: LabelStyle,
}

impl Default for MabConfig {
    /// The paper's main setting: 10 Gaussian arms with sigma 1, buttons, horizon 50.
    fn default() -> Self {
        MabConfig {
            arms: 10,
            horizon: 50,
            distribution: ArmDistribution::Gaussian { sigma: 1.0 },
            labels: LabelStyle::Buttons,
        }
    }
}

impl MabConfig {
    /// Checks every setting.
    pub fn validate(&self) -> Result<()> {
        check_count("arms", self.arms, 2, MAX_ARMS)?;
        check_count("horizon", self.horizon, 1, MAX_HORIZON)?;
        match self.distribution {
            ArmDistribution::Gaussian { sigma } => check_range("sigma", sigma, 0.0, 1.0e6),
            ArmDistribution::Bernoulli { gap } => check_range("gap", gap, 0.0, 1.0),
        }
    }
}

/// What a bandit step reports besides the reward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmInfo {
    /// The arm pulled.
    pub arm: usize,
    /// Its expected reward mu_a.
    pub expected_reward: f64,
    /// The best arm's expected reward mu*.
    pub best_expected_reward: f64,
    /// mu* - mu_a: this step's pseudo-regret.
    pub regret: f64,
}

/// A k-armed bandit. The observation is the index of the next step.
#[derive(Debug, Clone)]
pub struct MultiArmedBandit {
    config: MabConfig,
    means: [f64; MAX_ARMS],
    labels: LabelSet,
    best: usize,
    rng: Rng,
    t: usize,
}

impl MultiArmedBandit {
    /// Draws a scenario (arm means, label order) from `scenario_seed`. Call
    /// [`Environment::reset`] before stepping; until then the noise stream is the scenario's own.
    pub fn new(config: MabConfig, scenario_seed: u64) -> Result<Self> {
        config.validate()?;
        let k = config.arms;
        let mut rng = Rng::from_stream(scenario_seed, 0x004D_4541_4E53); // "MEANS"
        let mut means = [0.0; MAX_ARMS];
        match config.distribution {
            ArmDistribution::Gaussian { .. } => {
                for m in means.iter_mut().take(k) {
                    *m = rng.uniform();
                }
            }
            ArmDistribution::Bernoulli { gap } => {
                let best = rng.below(k);
                for (i, m) in means.iter_mut().enumerate().take(k) {
                    *m = if i == best { 0.5 + gap / 2.0 } else { 0.5 - gap / 2.0 };
                }
            }
        }
        Self::with_means(config, &means[..k], scenario_seed)
    }

    /// A bandit with the given arm means (for tests and hand-made scenarios). Bernoulli means
    /// must lie in `[0, 1]`.
    pub fn with_means(config: MabConfig, means: &[f64], scenario_seed: u64) -> Result<Self> {
        config.validate()?;
        if means.len() != config.arms {
            return Err(Error::ShapeMismatch { what: "arm means", expected: config.arms, got: means.len() });
        }
        let mut stored = [0.0; MAX_ARMS];
        for (s, &m) in stored.iter_mut().zip(means) {
            if !m.is_finite() {
                return Err(Error::NotFinite { name: "arm mean" });
            }
            if let ArmDistribution::Bernoulli { .. } = config.distribution {
                check_range("arm mean", m, 0.0, 1.0)?;
            }
            *s = m;
        }
        let best = argmax(&stored[..config.arms]);
        let labels = LabelSet::new(config.labels, config.arms, scenario_seed)?;
        Ok(MultiArmedBandit {
            config,
            means: stored,
            labels,
            best,
            rng: Rng::from_stream(scenario_seed, 0x004E_4F49_5345), // "NOISE"
            t: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &MabConfig {
        &self.config
    }

    /// The expected reward of every arm.
    pub fn means(&self) -> &[f64] {
        &self.means[..self.config.arms]
    }

    /// The arm with the highest expected reward (the lowest index among ties).
    pub fn best_arm(&self) -> usize {
        self.best
    }

    /// The highest expected reward mu*.
    pub fn best_mean(&self) -> f64 {
        self.means[self.best]
    }

    /// The action labels.
    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }
}

/// Index of the largest value (first among ties); 0 for an empty slice.
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

impl Environment for MultiArmedBandit {
    type Observation = usize;
    type Info = ArmInfo;

    fn reset(&mut self, seed: u64) -> Result<usize> {
        self.rng = Rng::new(seed);
        self.t = 0;
        Ok(0)
    }

    fn step(&mut self, action: usize) -> Result<Transition<usize, ArmInfo>> {
        if self.t >= self.config.horizon {
            return Err(Error::EpisodeOver);
        }
        if action >= self.config.arms {
            return Err(Error::InvalidAction { action, num_actions: self.config.arms });
        }
        let mu = self.means[action];
        let reward = match self.config.distribution {
            ArmDistribution::Gaussian { sigma } => self.rng.normal(mu, sigma),
            ArmDistribution::Bernoulli { .. } => {
                if self.rng.bernoulli(mu) {
                    1.0
                } else {
                    0.0
                }
            }
        };
        self.t += 1;
        let best = self.best_mean();
        Ok(Transition {
            observation: self.t,
            reward,
            terminated: false,
            truncated: self.t >= self.config.horizon,
            info: ArmInfo { arm: action, expected_reward: mu, best_expected_reward: best, regret: best - mu },
        })
    }

    fn num_actions(&self) -> usize {
        self.config.arms
    }

    fn steps_taken(&self) -> usize {
        self.t
    }

    fn is_done(&self) -> bool {
        self.t >= self.config.horizon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_settings_are_errors() {
        let mut c = MabConfig { arms: 1, ..MabConfig::default() };
        assert!(matches!(MultiArmedBandit::new(c, 0), Err(Error::OutOfRange { name: "arms", .. })));
        c.arms = 33;
        assert!(MultiArmedBandit::new(c, 0).is_err());
        c.arms = 5;
        c.distribution = ArmDistribution::Bernoulli { gap: 1.5 };
        assert!(matches!(MultiArmedBandit::new(c, 0), Err(Error::OutOfRange { name: "gap", .. })));
        c.distribution = ArmDistribution::Gaussian { sigma: f64::NAN };
        assert!(matches!(MultiArmedBandit::new(c, 0), Err(Error::NotFinite { .. })));
        c.distribution = ArmDistribution::Gaussian { sigma: 1.0 };
        c.horizon = 0;
        assert!(MultiArmedBandit::new(c, 0).is_err());
    }

    #[test]
    fn stepping_rules() {
        let c = MabConfig { arms: 3, horizon: 2, ..MabConfig::default() };
        let mut b = MultiArmedBandit::new(c, 1).unwrap();
        b.reset(5).unwrap();
        assert_eq!(b.step(3), Err(Error::InvalidAction { action: 3, num_actions: 3 }));
        assert_eq!(b.steps_taken(), 0);
        assert!(!b.step(0).unwrap().done());
        let last = b.step(1).unwrap();
        assert!(last.truncated && !last.terminated);
        assert_eq!(b.step(0), Err(Error::EpisodeOver));
        b.reset(5).unwrap();
        assert!(b.step(0).is_ok());
    }

    #[test]
    fn bernoulli_has_one_best_arm() {
        let c = MabConfig {
            arms: 5,
            distribution: ArmDistribution::Bernoulli { gap: 0.2 },
            ..MabConfig::default()
        };
        let b = MultiArmedBandit::new(c, 9).unwrap();
        let best = b.best_arm();
        for (i, &m) in b.means().iter().enumerate() {
            let want = if i == best { 0.6 } else { 0.4 };
            assert!((m - want).abs() < 1e-12);
        }
    }

    #[test]
    fn gaussian_rewards_have_the_arm_means() {
        let c = MabConfig { arms: 2, horizon: MAX_HORIZON, ..MabConfig::default() };
        let mut b = MultiArmedBandit::new(c, 3).unwrap();
        b.reset(0).unwrap();
        let n = 40_000;
        let mean = (0..n).map(|_| b.step(1).unwrap().reward).sum::<f64>() / n as f64;
        assert!((mean - b.means()[1]).abs() < 0.02);
    }
}
