//! The UCB expert.

use super::BanditPolicy;
use super::tracker::Tracker;
use crate::error::Result;
use crate::rng::Rng;
use crate::stats::UcbRule;

/// Upper confidence bound: every untried arm first (lowest index first), then the arm with the
/// highest [`UcbRule`] value. Ties among equal UCB values go to the lowest index, so UCB is fully
/// deterministic and never draws from the generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ucb {
    rule: UcbRule,
    tracker: Tracker,
}

impl Ucb {
    /// UCB with `rule` (errors on a negative or non-finite constant).
    pub fn new(rule: UcbRule) -> Result<Self> {
        rule.validate()?;
        Ok(Ucb { rule, tracker: Tracker::default() })
    }

    /// The paper's expert: mean + sqrt(1/N) (SPEC section 7).
    pub fn paper() -> Self {
        Ucb { rule: UcbRule::PAPER, tracker: Tracker::default() }
    }

    /// mean + sqrt(0.5 ln t / N).
    pub fn log_half() -> Self {
        Ucb { rule: UcbRule::LOG_HALF, tracker: Tracker::default() }
    }

    /// The rule in use.
    pub fn rule(&self) -> UcbRule {
        self.rule
    }
}

impl BanditPolicy for Ucb {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.tracker.reset(arms)
    }

    fn select(&mut self, _rng: &mut Rng) -> Result<usize> {
        Ok(self.rule.choose(self.tracker.stats()?))
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tracker.record(arm, reward)
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
