//! Exploration mechanisms (SPEC section 6) as wrappers around any policy ([`TryAll`],
//! [`EpsilonExplore`]), and the same decisions for a decision-maker that is not a
//! [`BanditPolicy`] (a language model): [`ExplorationGate`] says, before the model is asked,
//! whether a mechanism takes the step. Both use the same two decisions ([`first_untried`],
//! [`epsilon_choice`]), so a wrapped baseline and a gated LLM agent draw the same numbers.

use super::BanditPolicy;
use super::tracker::{NOT_RESET, check_observation};
use crate::MAX_ARMS;
use crate::error::{Result, check_count, check_range};
use crate::rng::Rng;

/// Try-all's decision: the lowest arm not tried yet (no draw), if any.
pub fn first_untried(tried: &[bool]) -> Option<usize> {
    tried.iter().position(|&t| !t)
}

/// Epsilon exploration's decision: one uniform draw for the coin; with probability `epsilon` a
/// second draw picks a uniform arm of `arms`, otherwise None (the policy decides).
pub fn epsilon_choice(epsilon: f64, arms: usize, rng: &mut Rng) -> Option<usize> {
    if rng.bernoulli(epsilon) { Some(rng.below(arms)) } else { None }
}

/// An exploration mechanism that can take a step from the decision-maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exploration {
    /// Every untried arm first ([`TryAll`]).
    TryAll,
    /// A uniform arm with probability epsilon ([`EpsilonExplore`]).
    Epsilon,
}

/// Exploration mechanisms around an external decision-maker, outermost first, exactly as the
/// same stack of [`TryAll`] / [`EpsilonExplore`] wrappers would decide around a policy: per
/// step [`ExplorationGate::decide`] either names the mechanism and the arm it plays, or None (ask
/// the decision-maker); [`ExplorationGate::observe`] records the arm played either way.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplorationGate {
    layers: [Option<Exploration>; MAX_LAYERS],
    epsilon: f64,
    tried: [bool; MAX_ARMS],
    arms: usize,
}

/// Most mechanisms one gate stacks.
pub const MAX_LAYERS: usize = 4;

impl ExplorationGate {
    /// `layers` outermost first (at most [`MAX_LAYERS`]); `epsilon` in [0, 1] for
    /// [`Exploration::Epsilon`].
    pub fn new(layers: &[Exploration], epsilon: f64) -> Result<Self> {
        check_range("epsilon", epsilon, 0.0, 1.0)?;
        check_count("exploration layers", layers.len(), 0, MAX_LAYERS)?;
        let mut l = [None; MAX_LAYERS];
        for (slot, &x) in l.iter_mut().zip(layers) {
            *slot = Some(x);
        }
        Ok(ExplorationGate { layers: l, epsilon, tried: [false; MAX_ARMS], arms: 0 })
    }

    /// A new episode of `arms` arms.
    pub fn reset(&mut self, arms: usize) -> Result<()> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        self.tried = [false; MAX_ARMS];
        self.arms = arms;
        Ok(())
    }

    /// The mechanism that takes this step and its arm, outermost first; None: ask the
    /// decision-maker. Draws from `rng` exactly as the wrappers' `select` does.
    pub fn decide(&self, rng: &mut Rng) -> Result<Option<(Exploration, usize)>> {
        if self.arms == 0 {
            return Err(NOT_RESET);
        }
        for layer in self.layers.iter().flatten() {
            let choice = match layer {
                Exploration::TryAll => first_untried(&self.tried[..self.arms]),
                Exploration::Epsilon => epsilon_choice(self.epsilon, self.arms, rng),
            };
            if let Some(arm) = choice {
                return Ok(Some((*layer, arm)));
            }
        }
        Ok(None)
    }

    /// Records the arm played this step (by a mechanism or by the decision-maker).
    pub fn observe(&mut self, arm: usize) -> Result<()> {
        if self.arms == 0 {
            return Err(NOT_RESET);
        }
        check_observation(self.arms, arm, 0.0)?;
        self.tried[arm] = true;
        Ok(())
    }
}

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
        match first_untried(&self.tried[..self.arms]) {
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
        match epsilon_choice(self.epsilon, self.arms, rng) {
            Some(a) => Ok(a),
            None => self.inner.select(rng),
        }
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
    fn the_gate_decides_as_the_same_stack_of_wrappers() {
        // try-all:eps:greedy as wrappers around a policy, and as a gate around "the model"
        // (greedy, asked only when the gate says None): the same arms from the same stream
        let mut wrapped = TryAll::new(EpsilonExplore::new(Greedy::new(), 0.5).unwrap());
        let gate0 = ExplorationGate::new(&[Exploration::TryAll, Exploration::Epsilon], 0.5).unwrap();
        for seed in 0..20 {
            let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
            wrapped.reset(4).unwrap();
            let mut gate = gate0.clone();
            gate.reset(4).unwrap();
            let mut model = Greedy::new();
            model.reset(4).unwrap();
            for t in 0..30 {
                let want = wrapped.select(&mut a).unwrap();
                let got = match gate.decide(&mut b).unwrap() {
                    Some((_, arm)) => arm,
                    None => model.select(&mut b).unwrap(),
                };
                assert_eq!(got, want, "seed {seed} step {t}");
                let r = (t * 7 % 5) as f64;
                wrapped.update(want, r).unwrap();
                model.update(got, r).unwrap();
                gate.observe(got).unwrap();
            }
            assert_eq!(a.uniform(), b.uniform(), "the same numbers were drawn");
        }
        // try-all names itself and draws nothing
        let mut g = ExplorationGate::new(&[Exploration::TryAll], 0.1).unwrap();
        let mut rng = Rng::new(3);
        assert!(g.decide(&mut rng).is_err(), "before reset");
        g.reset(2).unwrap();
        assert_eq!(g.decide(&mut rng).unwrap(), Some((Exploration::TryAll, 0)));
        g.observe(0).unwrap();
        g.observe(1).unwrap();
        assert_eq!(g.decide(&mut rng).unwrap(), None);
        assert_eq!(rng.uniform(), Rng::new(3).uniform());
        assert!(g.observe(2).is_err());
        assert!(ExplorationGate::new(&[Exploration::TryAll; 5], 0.1).is_err());
        assert!(ExplorationGate::new(&[], 1.5).is_err());
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
