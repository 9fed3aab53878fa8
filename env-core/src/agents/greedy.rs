//! Pure greedy play: always the best empirical mean.

use super::BanditPolicy;
use super::tracker::Tracker;
use crate::error::Result;
use crate::rng::Rng;

/// Greedy: the arm with the best empirical mean among the arms tried so far (lowest index among
/// ties). At the very first step, with nothing tried, a uniformly random arm.
///
/// Greedy never explores an untried arm on its own: that is the failure mode the paper
/// diagnoses in LLM agents (it commits to the first arm whose reward looks good). The classic
/// "play every arm once, then greedy" baseline is `TryAll::new(Greedy::new())`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Greedy {
    tracker: Tracker,
}

impl Greedy {
    /// A greedy agent.
    pub fn new() -> Self {
        Greedy::default()
    }
}

/// The greedy choice from a tracker: best mean among tried arms, else a random arm.
pub(crate) fn greedy_choice(tracker: &Tracker, rng: &mut Rng) -> Result<usize> {
    let stats = tracker.stats()?;
    Ok(match stats.greedy_arm() {
        Some(a) => a,
        None => rng.below(stats.arms()),
    })
}

impl BanditPolicy for Greedy {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.tracker.reset(arms)
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        greedy_choice(&self.tracker, rng)
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tracker.record(arm, reward)
    }

    fn name(&self) -> &'static str {
        "greedy"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticks_to_the_best_tried_arm() {
        let mut p = Greedy::new();
        p.reset(4).unwrap();
        let mut rng = Rng::new(3);
        let first = p.select(&mut rng).unwrap();
        assert!(first < 4);
        p.update(2, 0.1).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 2);
        p.update(1, 0.4).unwrap();
        p.update(3, 0.4).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 1);
        p.update(1, -1.0).unwrap();
        assert_eq!(p.select(&mut rng).unwrap(), 3);
        assert_eq!(p.name(), "greedy");
    }
}
