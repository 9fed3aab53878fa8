//! The uniform random baseline.

use super::BanditPolicy;
use super::tracker::NOT_RESET;
use crate::MAX_ARMS;
use crate::error::{Result, check_count};
use crate::rng::Rng;

/// Plays a uniformly random arm every step; learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UniformRandom {
    arms: usize,
}

impl UniformRandom {
    /// A random agent.
    pub fn new() -> Self {
        UniformRandom::default()
    }
}

impl BanditPolicy for UniformRandom {
    fn reset(&mut self, arms: usize) -> Result<()> {
        check_count("arms", arms, 1, MAX_ARMS)?;
        self.arms = arms;
        Ok(())
    }

    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        if self.arms == 0 {
            return Err(NOT_RESET);
        }
        Ok(rng.below(self.arms))
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        super::tracker::check_observation(self.arms, arm, reward)
    }

    fn name(&self) -> &'static str {
        "random"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn covers_every_arm() {
        let mut p = UniformRandom::new();
        assert!(p.update(0, 0.0).is_err());
        assert!(p.reset(0).is_err());
        p.reset(5).unwrap();
        let mut rng = Rng::new(2);
        let mut seen = [0u32; 5];
        for _ in 0..500 {
            seen[p.select(&mut rng).unwrap()] += 1;
        }
        assert!(seen.iter().all(|&c| c > 60), "{seen:?}");
        assert_eq!(p.update(5, 0.0), Err(Error::InvalidAction { action: 5, num_actions: 5 }));
    }
}
