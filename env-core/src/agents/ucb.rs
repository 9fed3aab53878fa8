//! The UCB expert.

use super::BanditPolicy;
use super::tracker::Tracker;
use crate::MAX_ARMS;
use crate::error::Result;
use crate::rng::Rng;
use crate::stats::UcbRule;

/// Upper confidence bound: every untried arm first (lowest index first), then the arm with the
/// highest [`UcbRule`] value. Ties among equal UCB values go to the lowest index, so UCB is fully
/// deterministic and never draws from the generator.
///
/// Under [`UcbRule::InverseSqrtCount`] an arm's value changes only when that arm is pulled, so the
/// values are cached and updated one arm per step (the choice is the same as
/// [`UcbRule::choose`]'s, which a test checks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ucb {
    rule: UcbRule,
    tracker: Tracker,
    /// Cached UCB values (`InverseSqrtCount` only); NaN for untried arms.
    values: [f64; MAX_ARMS],
}

impl Ucb {
    /// UCB with `rule` (errors on a negative or non-finite constant).
    pub fn new(rule: UcbRule) -> Result<Self> {
        rule.validate()?;
        Ok(Ucb { rule, tracker: Tracker::default(), values: [f64::NAN; MAX_ARMS] })
    }

    /// The paper's expert: mean + sqrt(1/N) (SPEC section 7).
    pub fn paper() -> Self {
        Ucb { rule: UcbRule::PAPER, tracker: Tracker::default(), values: [f64::NAN; MAX_ARMS] }
    }

    /// mean + sqrt(0.5 ln t / N).
    pub fn log_half() -> Self {
        Ucb { rule: UcbRule::LOG_HALF, tracker: Tracker::default(), values: [f64::NAN; MAX_ARMS] }
    }

    /// The rule in use.
    pub fn rule(&self) -> UcbRule {
        self.rule
    }
}

impl BanditPolicy for Ucb {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.values = [f64::NAN; MAX_ARMS];
        self.tracker.reset(arms)
    }

    fn select(&mut self, _rng: &mut Rng) -> Result<usize> {
        let stats = self.tracker.stats()?;
        let UcbRule::InverseSqrtCount { .. } = self.rule else {
            return Ok(self.rule.choose(stats));
        };
        if let Some(untried) = stats.first_untried() {
            return Ok(untried);
        }
        // Same scan as `UcbRule::choose`: the first arm with the strictly highest value.
        let values = &self.values[..stats.arms()];
        let (mut best, mut best_v) = (0, f64::NEG_INFINITY);
        for (a, &v) in values.iter().enumerate() {
            let better = v > best_v;
            best = if better { a } else { best };
            best_v = if better { v } else { best_v };
        }
        Ok(best)
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tracker.record(arm, reward)?;
        if let UcbRule::InverseSqrtCount { .. } = self.rule {
            self.values[arm] = self.rule.value(self.tracker.stats()?, arm).unwrap_or(f64::NAN);
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "ucb"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn cached_values_choose_like_the_rule() {
        for rule in [UcbRule::PAPER, UcbRule::InverseSqrtCount { c: 0.3 }, UcbRule::LOG_HALF] {
            let mut p = Ucb::new(rule).unwrap();
            let mut rng = Rng::new(4);
            p.reset(7).unwrap();
            let mut stats = crate::stats::ArmStats::new(7).unwrap();
            for step in 0..500 {
                let a = p.select(&mut rng).unwrap();
                assert_eq!(a, rule.choose(&stats), "step {step}");
                let r = rng.normal(a as f64 * 0.1, 1.0);
                p.update(a, r).unwrap();
                stats.record(a, r).unwrap();
            }
        }
    }

    #[test]
    fn plays_untried_then_highest_ucb() {
        let mut p = Ucb::paper();
        let mut rng = Rng::new(0);
        assert!(matches!(p.select(&mut rng), Err(Error::Empty { .. })));
        p.reset(3).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 0);
        p.update(0, 1.0).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 1);
        p.update(1, 0.2).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 2);
        p.update(2, 0.5).unwrap();
        // values: 2.0, 1.2, 1.5
        assert_eq!(p.select(&mut rng).unwrap(), 0);
        p.update(0, 1.0).unwrap();
        // arm 0: 1 + sqrt(1/2) = 1.707 > 1.5
        assert_eq!(p.select(&mut rng).unwrap(), 0);
        p.update(0, 0.0).unwrap();
        // arm 0: 2/3 + sqrt(1/3) = 1.244 < 1.5
        assert_eq!(p.select(&mut rng).unwrap(), 2);
        assert_eq!(p.update(3, 0.0), Err(Error::InvalidAction { action: 3, num_actions: 3 }));
        assert!(p.update(0, f64::NAN).is_err());
        assert!(Ucb::new(UcbRule::LogTime { alpha: -1.0 }).is_err());
    }

    #[test]
    fn ties_go_to_the_lowest_index() {
        let mut p = Ucb::log_half();
        p.reset(2).unwrap();
        p.update(0, 0.5).unwrap();
        p.update(1, 0.5).unwrap();
        assert_eq!(p.select(&mut Rng::new(1)).unwrap(), 0);
        assert_eq!(p.name(), "ucb");
    }
}
