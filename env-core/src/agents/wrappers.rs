//! Exploration mechanisms (SPEC section 6) as wrappers around any policy.

use super::BanditPolicy;
use super::tracker::{NOT_RESET, check_observation};
use crate::MAX_ARMS;
use crate::error::{Result, check_count, check_range};
use crate::rng::Rng;

/// Try-all: plays every untried arm first (in increasing index order, without drawing from the
/// generator), then delegates to the inner policy. The inner policy receives every update, the
/// forced ones included. Its name is `"try_all"`; the inner policy's is `inner().name()`.
#[derive(Debug, Clone, PartialEq)]
pub struct TryAll<P> {
    inner: P,
    tried: [bool; MAX_ARMS],
    arms: usize,
}

impl<P: BanditPolicy> TryAll<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        TryAll { inner, tried: [false; MAX_ARMS], arms: 0 }
    }

    /// The wrapped policy.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> P {
        self.inner
    }
}

impl<P: BanditPolicy> BanditPolicy for TryAll<P> {
    fn reset(&mut self, arms: usize) -> Result<()> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        self.inner.reset(arms)?;
        self.tried = [false; MAX_ARMS];
        self.arms = arms;
        Ok(())
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        if self.arms == 0 {
            return Err(NOT_RESET);
        }
        match self.tried[..self.arms].iter().position(|&t| !t) {
            Some(a) => Ok(a),
            None => self.inner.select(rng),
        }
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        check_observation(self.arms, arm, reward)?;
        self.inner.update(arm, reward)?;
        self.tried[arm] = true;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "try_all"
    }
}

/// Epsilon exploration: with probability `epsilon` a uniformly random arm, otherwise the inner
/// policy's choice. The inner policy still receives every update (of explored arms too).
///
/// Every step draws one uniform number for the coin; the inner policy is asked only when the
/// coin says exploit. Its name is `"epsilon_explore"`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpsilonExplore<P> {
    inner: P,
    epsilon: f64,
    arms: usize,
}

impl<P: BanditPolicy> EpsilonExplore<P> {
    /// Wraps `inner`, exploring with probability `epsilon` in `[0, 1]` (the paper uses 0.1).
    pub fn new(inner: P, epsilon: f64) -> Result<Self> {
        check_range("epsilon", epsilon, 0.0, 1.0)?;
        Ok(EpsilonExplore { inner, epsilon, arms: 0 })
    }

    /// The exploration probability.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// The wrapped policy.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> P {
        self.inner
    }
}

impl<P: BanditPolicy> BanditPolicy for EpsilonExplore<P> {
    fn reset(&mut self, arms: usize) -> Result<()> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        self.inner.reset(arms)?;
        self.arms = arms;
        Ok(())
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        if self.arms == 0 {
            return Err(NOT_RESET);
        }
        if rng.bernoulli(self.epsilon) {
            return Ok(rng.below(self.arms));
        }
        self.inner.select(rng)
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        check_observation(self.arms, arm, reward)?;
        self.inner.update(arm, reward)
    }

    fn name(&self) -> &'static str {
        "epsilon_explore"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::agents::{Greedy, Ucb, UniformRandom};

    #[derive(Default)]
    struct Counting {
        selects: u32,
        updates: u32,
    }

    impl BanditPolicy for Counting {
        fn reset(&mut self, _arms: usize) -> Result<()> {
            Ok(())
        }
        fn select(&mut self, _rng: &mut Rng) -> Result<usize> {
            self.selects += 1;
            Ok(0)
        }
        fn update(&mut self, _arm: usize, _reward: f64) -> Result<()> {
            self.updates += 1;
            Ok(())
        }
        fn name(&self) -> &'static str {
            "counting"
        }
    }

    #[test]
    fn try_all_plays_every_arm_first() {
        let mut p = TryAll::new(Greedy::new());
        let mut rng = Rng::new(4);
        assert!(p.select(&mut rng).is_err());
        p.reset(4).unwrap();
        p.update(2, 5.0).unwrap(); // an arm played from outside counts as tried
        let mut order = [0usize; 3];
        for o in order.iter_mut() {
            *o = p.select(&mut rng).unwrap();
            p.update(*o, 0.0).unwrap();
        }
        assert_eq!(order, [0, 1, 3]);
        // then greedy: arm 2 has the best mean
        assert_eq!(p.select(&mut rng).unwrap(), 2);
        assert_eq!(p.update(4, 0.0), Err(Error::InvalidAction { action: 4, num_actions: 4 }));
        assert_eq!(p.name(), "try_all");
        assert_eq!(p.inner().name(), "greedy");
        // reset forgets
        p.reset(2).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 0);
    }

    #[test]
    fn epsilon_explore_zero_and_one() {
        assert!(EpsilonExplore::new(Ucb::paper(), -0.1).is_err());
        let mut p = EpsilonExplore::new(Ucb::paper(), 0.0).unwrap();
        p.reset(3).unwrap();
        let mut rng = Rng::new(8);
        for want in 0..3 {
            assert_eq!(p.select(&mut rng).unwrap(), want);
            p.update(want, 0.0).unwrap();
        }
        let mut q = EpsilonExplore::new(Ucb::paper(), 1.0).unwrap();
        q.reset(3).unwrap();
        let mut seen = [0u32; 3];
        for _ in 0..90 {
            let a = q.select(&mut rng).unwrap();
            seen[a] += 1;
            q.update(a, 1.0).unwrap();
        }
        assert!(seen.iter().all(|&c| c > 10), "{seen:?}");
        // the inner policy saw every update
        let mut c = EpsilonExplore::new(Counting::default(), 1.0).unwrap();
        c.reset(2).unwrap();
        for _ in 0..7 {
            let a = c.select(&mut rng).unwrap();
            c.update(a, 1.0).unwrap();
        }
        assert_eq!(c.inner().updates, 7);
        assert_eq!(c.inner().selects, 0);
        let _ = UniformRandom::new();
    }
}
