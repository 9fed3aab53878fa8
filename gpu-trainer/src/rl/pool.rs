//! The training pool (SPEC section 5): a fixed set of bandit instances (the paper: 512) that
//! rollouts draw their parallel environments from; each draw gets fresh reward noise. Held-out
//! evaluation uses instances from a disjoint seed (see [`super::settings::streams`]).

use anyhow::{Result, bail};
use env_core::Rng;
use env_core::rng::derive_seed;

use super::settings::streams;
use crate::envs::EpisodeSeeds;

/// The instances of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    seed: u64,
    size: usize,
}

impl Pool {
    /// The pool of a run seeded `seed`: `size` instances; instance i's scenario is
    /// `derive_seed(derive_seed(seed, POOL), i)`.
    pub fn new(seed: u64, size: usize) -> Result<Pool> {
        if size == 0 {
            bail!("the training pool needs at least one instance");
        }
        Ok(Pool { seed, size })
    }

    /// The scenario seed of instance `i`.
    pub fn scenario(&self, i: usize) -> u64 {
        derive_seed(derive_seed(self.seed, streams::POOL), i as u64)
    }

    /// The `envs` environments of rollout `rollout`: distinct instances drawn uniformly (a
    /// seeded partial shuffle of the pool), each with its own fresh episode seed. A pure function
    /// of (seed, rollout): a resumed run draws the same.
    pub fn draw(&self, rollout: u64, envs: usize) -> Result<Vec<(usize, EpisodeSeeds)>> {
        if envs > self.size {
            bail!("{envs} parallel environments but a training pool of {} instances", self.size);
        }
        let stream = derive_seed(self.seed, streams::ROLLOUT);
        let mut rng = Rng::from_stream(stream, rollout);
        let mut idx: Vec<usize> = (0..self.size).collect();
        for k in 0..envs {
            let j = k + rng.below(self.size - k);
            idx.swap(k, j);
        }
        Ok(idx[..envs]
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let episode = derive_seed(derive_seed(stream, rollout), k as u64);
                (i, EpisodeSeeds { scenario: self.scenario(i), episode })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_distinct_seeded_and_fresh() {
        let p = Pool::new(7, 10).unwrap();
        let a = p.draw(3, 6).unwrap();
        assert_eq!(a, p.draw(3, 6).unwrap(), "a pure function of the rollout");
        let mut inst: Vec<usize> = a.iter().map(|x| x.0).collect();
        inst.sort_unstable();
        inst.dedup();
        assert_eq!(inst.len(), 6, "distinct instances");
        assert!(a.iter().all(|(i, s)| s.scenario == p.scenario(*i)));
        let b = p.draw(4, 6).unwrap();
        assert_ne!(a, b);
        // the same instance in two rollouts: same scenario, different noise
        for (i, s) in &a {
            if let Some((_, t)) = b.iter().find(|(j, _)| j == i) {
                assert_eq!(s.scenario, t.scenario);
                assert_ne!(s.episode, t.episode);
            }
        }
        // over many rollouts every instance is used
        let mut seen = [false; 10];
        for r in 0..50 {
            for (i, _) in p.draw(r, 3).unwrap() {
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert!(p.draw(0, 11).is_err());
        assert!(Pool::new(1, 0).is_err());
    }
}
