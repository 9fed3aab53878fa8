//! Epsilon-greedy.

use super::BanditPolicy;
use super::greedy::greedy_choice;
use super::tracker::Tracker;
use crate::error::{Result, check_range};
use crate::rng::Rng;

/// With probability `epsilon` a uniformly random arm, otherwise the [`super::Greedy`] choice
/// (best empirical mean among tried arms; a random arm before anything was tried).
///
/// Every step draws one uniform number for the coin, then one more if it explores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpsilonGreedy {
    epsilon: f64,
    tracker: Tracker,
}

impl EpsilonGreedy {
    /// Epsilon-greedy with `epsilon` in `[0, 1]` (the paper's exploration mechanism uses 0.1).
    pub fn new(epsilon: f64) -> Result<Self> {
        check_range("epsilon", epsilon, 0.0, 1.0)?;
        Ok(EpsilonGreedy { epsilon, tracker: Tracker::default() })
    }

    /// The exploration probability.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }
}

impl BanditPolicy for EpsilonGreedy {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.tracker.reset(arms)
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        let arms = self.tracker.stats()?.arms();
        if rng.bernoulli(self.epsilon) {
            return Ok(rng.below(arms));
        }
        greedy_choice(&self.tracker, rng)
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tracker.record(arm, reward)
    }

    fn name(&self) -> &'static str {
        "epsilon_greedy"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn epsilon_is_validated() {
        assert!(matches!(EpsilonGreedy::new(1.5), Err(Error::OutOfRange { name: "epsilon", .. })));
        assert!(matches!(EpsilonGreedy::new(f64::NAN), Err(Error::NotFinite { .. })));
        assert_eq!(EpsilonGreedy::new(0.25).unwrap().epsilon(), 0.25);
    }

    #[test]
    fn zero_is_greedy_and_one_is_random() {
        let mut g = EpsilonGreedy::new(0.0).unwrap();
        g.reset(3).unwrap();
        g.update(1, 1.0).unwrap();
        g.update(0, 0.0).unwrap();
        let mut rng = Rng::new(9);
        assert!((0..50).all(|_| g.select(&mut rng).unwrap() == 1));

        let mut r = EpsilonGreedy::new(1.0).unwrap();
        r.reset(3).unwrap();
        r.update(1, 1.0).unwrap();
        let mut seen = [false; 3];
        for _ in 0..60 {
            seen[r.select(&mut rng).unwrap()] = true;
        }
        assert_eq!(seen, [true; 3]);
    }
}
