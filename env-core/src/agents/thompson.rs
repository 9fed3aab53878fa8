//! Thompson sampling: Beta-Bernoulli and known-variance Gaussian.

use super::BanditPolicy;
use super::tracker::Tracker;
use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count, check_range};
use crate::rng::Rng;

/// Index of the largest sample (lowest index among ties).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Beta-Bernoulli Thompson sampling for rewards in `[0, 1]`.
///
/// Each arm has a Beta(alpha, beta) posterior, starting at the prior (1, 1 by default). A reward
/// r in `[0, 1]` is turned into a success with probability r (the Bernoulli trick of Agrawal and
/// Goyal, 2012), so fractional rewards keep the posterior a Beta: 0/1 rewards are counted
/// exactly. The coin is drawn from a generator re-seeded from the `select` generator at every
/// select, so the whole trajectory is fixed by the episode's policy seed. Rewards outside
/// `[0, 1]` are an [`Error::OutOfRange`]: rescale Gaussian rewards first or use
/// [`GaussianThompson`].
#[derive(Debug, Clone, PartialEq)]
pub struct BetaThompson {
    prior: (f64, f64),
    alpha: [f64; MAX_ARMS],
    beta: [f64; MAX_ARMS],
    arms: usize,
    coin: Rng,
}

impl Default for BetaThompson {
    /// The uniform prior Beta(1, 1).
    fn default() -> Self {
        BetaThompson {
            prior: (1.0, 1.0),
            alpha: [1.0; MAX_ARMS],
            beta: [1.0; MAX_ARMS],
            arms: 0,
            coin: Rng::new(0),
        }
    }
}

/// Smallest allowed prior or scale parameter (must be strictly positive).
const TINY: f64 = 1.0e-12;

impl BetaThompson {
    /// Thompson sampling with a Beta(`alpha`, `beta`) prior on every arm (both in (0, 1e6]).
    pub fn new(alpha: f64, beta: f64) -> Result<Self> {
        check_range("prior alpha", alpha, TINY, 1.0e6)?;
        check_range("prior beta", beta, TINY, 1.0e6)?;
        Ok(BetaThompson {
            prior: (alpha, beta),
            alpha: [alpha; MAX_ARMS],
            beta: [beta; MAX_ARMS],
            arms: 0,
            coin: Rng::new(0),
        })
    }

    /// The posterior Beta(alpha, beta) of `arm`, `None` for an arm out of range.
    pub fn posterior(&self, arm: usize) -> Option<(f64, f64)> {
        (arm < self.arms).then(|| (self.alpha[arm], self.beta[arm]))
    }
}

impl BanditPolicy for BetaThompson {
    fn reset(&mut self, arms: usize) -> Result<()> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        self.arms = arms;
        self.alpha = [self.prior.0; MAX_ARMS];
        self.beta = [self.prior.1; MAX_ARMS];
        self.coin = Rng::new(0);
        Ok(())
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        if self.arms == 0 {
            return Err(super::tracker::NOT_RESET);
        }
        let mut samples = [0.0; MAX_ARMS];
        for (a, s) in samples.iter_mut().enumerate().take(self.arms) {
            *s = rng.beta(self.alpha[a], self.beta[a]);
        }
        self.coin = Rng::new(rng.next_u64());
        Ok(argmax(&samples[..self.arms]))
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        super::tracker::check_observation(self.arms, arm, reward)?;
        check_range("reward", reward, 0.0, 1.0)?;
        if self.coin.bernoulli(reward) {
            self.alpha[arm] += 1.0;
        } else {
            self.beta[arm] += 1.0;
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "thompson_beta"
    }
}

/// Gaussian Thompson sampling with known noise: prior N(`prior_mean`, `prior_sd`^2) on every
/// arm's mean, rewards N(mu_a, `noise_sd`^2). After n rewards with sum S the posterior is Normal
/// with precision 1/prior_sd^2 + n/noise_sd^2 and mean
/// (prior_mean/prior_sd^2 + S/noise_sd^2) / precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianThompson {
    prior_mean: f64,
    prior_sd: f64,
    noise_sd: f64,
    tracker: Tracker,
}

impl Default for GaussianThompson {
    /// Prior N(0.5, 1), noise sd 1: the paper's main Gaussian bandit (means in (0, 1), sigma 1).
    fn default() -> Self {
        GaussianThompson { prior_mean: 0.5, prior_sd: 1.0, noise_sd: 1.0, tracker: Tracker::default() }
    }
}

impl GaussianThompson {
    /// Gaussian Thompson sampling; `prior_sd` and `noise_sd` must be positive, `prior_mean`
    /// finite.
    pub fn new(prior_mean: f64, prior_sd: f64, noise_sd: f64) -> Result<Self> {
        if !prior_mean.is_finite() {
            return Err(Error::NotFinite { name: "prior mean" });
        }
        check_range("prior sd", prior_sd, TINY, 1.0e6)?;
        check_range("noise sd", noise_sd, TINY, 1.0e6)?;
        Ok(GaussianThompson { prior_mean, prior_sd, noise_sd, tracker: Tracker::default() })
    }

    /// The posterior (mean, sd) of `arm`'s expected reward; errors before reset or for an arm
    /// out of range.
    pub fn posterior(&self, arm: usize) -> Result<(f64, f64)> {
        let stats = self.tracker.stats()?;
        if arm >= stats.arms() {
            return Err(Error::InvalidAction { action: arm, num_actions: stats.arms() });
        }
        let n = stats.count(arm) as f64;
        let sum = stats.mean(arm).map_or(0.0, |m| m * n);
        let prior_prec = 1.0 / (self.prior_sd * self.prior_sd);
        let noise_prec = 1.0 / (self.noise_sd * self.noise_sd);
        let prec = prior_prec + n * noise_prec;
        let mean = (self.prior_mean * prior_prec + sum * noise_prec) / prec;
        Ok((mean, libm::sqrt(1.0 / prec)))
    }
}

impl BanditPolicy for GaussianThompson {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.tracker.reset(arms)
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        let arms = self.tracker.stats()?.arms();
        let mut samples = [0.0; MAX_ARMS];
        for (a, s) in samples.iter_mut().enumerate().take(arms) {
            let (m, sd) = self.posterior(a)?;
            *s = rng.normal(m, sd);
        }
        Ok(argmax(&samples[..arms]))
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tracker.record(arm, reward)
    }

    fn name(&self) -> &'static str {
        "thompson_gaussian"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_posterior_counts_binary_rewards() {
        let mut p = BetaThompson::default();
        assert!(p.select(&mut Rng::new(0)).is_err());
        p.reset(2).unwrap();
        p.update(0, 1.0).unwrap();
        p.update(0, 1.0).unwrap();
        p.update(1, 0.0).unwrap();
        assert_eq!(p.posterior(0), Some((3.0, 1.0)));
        assert_eq!(p.posterior(1), Some((1.0, 2.0)));
        assert_eq!(p.posterior(2), None);
        assert!(matches!(p.update(0, 1.5), Err(Error::OutOfRange { name: "reward", .. })));
        assert!(BetaThompson::new(0.0, 1.0).is_err());
        p.reset(2).unwrap();
        assert_eq!(p.posterior(0), Some((1.0, 1.0)));
    }

    #[test]
    fn beta_fractional_rewards_are_coins_with_that_probability() {
        let mut p = BetaThompson::default();
        p.reset(1).unwrap();
        let mut rng = Rng::new(1);
        for _ in 0..4000 {
            p.select(&mut rng).unwrap();
            p.update(0, 0.25).unwrap();
        }
        let (a, b) = p.posterior(0).unwrap();
        assert_eq!(a + b, 4002.0);
        let share = (a - 1.0) / 4000.0;
        assert!((share - 0.25).abs() < 0.03, "{share}");
    }

    #[test]
    fn beta_prefers_the_winning_arm() {
        let mut p = BetaThompson::default();
        p.reset(2).unwrap();
        for _ in 0..30 {
            p.update(1, 1.0).unwrap();
            p.update(0, 0.0).unwrap();
        }
        let mut rng = Rng::new(5);
        assert!((0..20).all(|_| p.select(&mut rng).unwrap() == 1));
    }

    #[test]
    fn gaussian_posterior_by_hand() {
        let mut p = GaussianThompson::new(0.0, 1.0, 2.0).unwrap();
        p.reset(2).unwrap();
        p.update(0, 1.0).unwrap();
        p.update(0, 3.0).unwrap();
        // precision 1 + 2/4 = 1.5; mean (0 + 4/4) / 1.5 = 2/3; sd sqrt(1/1.5)
        let (m, sd) = p.posterior(0).unwrap();
        assert!((m - 2.0 / 3.0).abs() < 1e-12);
        assert!((sd - libm::sqrt(1.0 / 1.5)).abs() < 1e-12);
        assert_eq!(p.posterior(1).unwrap(), (0.0, 1.0));
        assert!(p.posterior(2).is_err());
        assert!(GaussianThompson::new(0.0, 0.0, 1.0).is_err());
        assert!(GaussianThompson::new(0.0, 1.0, -1.0).is_err());
        assert!(GaussianThompson::new(f64::INFINITY, 1.0, 1.0).is_err());
        for _ in 0..200 {
            p.update(1, -1.0).unwrap();
        }
        let mut rng = Rng::new(2);
        assert!((0..20).all(|_| p.select(&mut rng).unwrap() == 0));
        assert_eq!(p.name(), "thompson_gaussian");
    }
}
