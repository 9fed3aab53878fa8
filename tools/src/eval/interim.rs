//! TEMPORARY stand-ins for `env_core::agents` and `env_core::metrics`, which are being written in
//! another branch. They mirror the announced interfaces so that the framework can be built and
//! tested now; this file is deleted once the real ones are merged.

use env_core::{ArmStats, Result, Rng, UcbRule};

/// Mirror of `env_core::agents::BanditPolicy`.
pub trait BanditPolicy {
    /// Forgets everything; `arms` actions from now on.
    fn reset(&mut self, arms: usize) -> Result<()>;
    /// The next arm.
    fn select(&mut self, rng: &mut Rng) -> Result<usize>;
    /// Observes the reward of `arm`.
    fn update(&mut self, arm: usize, reward: f64) -> Result<()>;
    /// Short name.
    fn name(&self) -> &str;
}

/// What each stand-in decides from.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// UCB rule.
    Ucb(UcbRule),
    /// Gaussian Thompson sampling, N(mean, 1/(n+1)) posterior, prior N(0.5, 1).
    Thompson,
    /// Epsilon-greedy.
    EpsGreedy(f64),
    /// Greedy (untried arms first: none).
    Greedy,
    /// Uniform.
    Random,
}

/// A stand-in base policy.
#[derive(Debug, Clone)]
pub struct Simple {
    rule: Rule,
    stats: ArmStats,
}

impl Simple {
    /// A policy following `rule`.
    pub fn new(rule: Rule) -> Self {
        Simple { rule, stats: ArmStats::new(2).expect("2 arms") }
    }
}

fn greedy_or_random(stats: &ArmStats, rng: &mut Rng) -> usize {
    match stats.greedy_arm() {
        Some(a) => a,
        None => rng.below(stats.arms()),
    }
}

impl BanditPolicy for Simple {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.stats = ArmStats::new(arms)?;
        Ok(())
    }
    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        let k = self.stats.arms();
        Ok(match self.rule {
            Rule::Ucb(r) => r.choose(&self.stats),
            Rule::Random => rng.below(k),
            Rule::Greedy => greedy_or_random(&self.stats, rng),
            Rule::EpsGreedy(e) => {
                if rng.bernoulli(e) { rng.below(k) } else { greedy_or_random(&self.stats, rng) }
            }
            Rule::Thompson => {
                let mut best = 0;
                let mut best_v = f64::NEG_INFINITY;
                for a in 0..k {
                    let n = self.stats.count(a) as f64;
                    let m = self.stats.mean(a).map_or(0.5, |m| (m * n + 0.5) / (n + 1.0));
                    let v = rng.normal(m, (1.0 / (n + 1.0)).sqrt());
                    if v > best_v {
                        best = a;
                        best_v = v;
                    }
                }
                best
            }
        })
    }
    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.stats.record(arm, reward)
    }
    fn name(&self) -> &str {
        "simple"
    }
}

/// Stand-in for `TryAll<P>`: untried arms first, then `P`.
pub struct TryAll<P>(pub P, ArmStats);
impl<P> TryAll<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        TryAll(inner, ArmStats::new(2).expect("2 arms"))
    }
}
impl<P: BanditPolicy> BanditPolicy for TryAll<P> {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.1 = ArmStats::new(arms)?;
        self.0.reset(arms)
    }
    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        match self.1.first_untried() {
            Some(a) => Ok(a),
            None => self.0.select(rng),
        }
    }
    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.1.record(arm, reward)?;
        self.0.update(arm, reward)
    }
    fn name(&self) -> &str {
        "try-all"
    }
}

/// Stand-in for `EpsilonExplore<P>`: a random arm with probability epsilon, else `P`.
pub struct EpsilonExplore<P>(pub P, f64, usize);
impl<P> EpsilonExplore<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, epsilon: f64) -> Self {
        EpsilonExplore(inner, epsilon, 2)
    }
}
impl<P: BanditPolicy> BanditPolicy for EpsilonExplore<P> {
    fn reset(&mut self, arms: usize) -> Result<()> {
        self.2 = arms;
        self.0.reset(arms)
    }
    fn select(&mut self, rng: &mut Rng) -> Result<usize> {
        if rng.bernoulli(self.1) { Ok(rng.below(self.2)) } else { self.0.select(rng) }
    }
    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.0.update(arm, reward)
    }
    fn name(&self) -> &str {
        "eps"
    }
}

/// Stand-ins for `env_core::metrics`.
pub mod metrics {
    use env_core::ArmStats;

    /// Running sum of per-step regrets.
    pub fn cumulative_regret(regrets: &[f64]) -> Vec<f64> {
        let mut s = 0.0;
        regrets.iter().map(|r| {
            s += r;
            s
        }).collect()
    }

    /// Fraction of the `arms` arms tried by each step.
    pub fn coverage_curve(actions: &[usize], arms: usize) -> Vec<f64> {
        let mut seen = vec![false; arms];
        let mut n = 0;
        actions.iter().map(|&a| {
            if !seen[a] {
                seen[a] = true;
                n += 1;
            }
            n as f64 / arms as f64
        }).collect()
    }

    /// Whether the best arm is never played in the second half of the episode.
    pub fn suffix_failure(actions: &[usize], best: usize) -> bool {
        !actions[actions.len() / 2..].contains(&best)
    }

    /// Pulls of the least-pulled arm relative to an even share, `min_a N(a) / (T / K)`.
    pub fn min_frac(actions: &[usize], arms: usize) -> f64 {
        let mut counts = vec![0usize; arms];
        for &a in actions {
            counts[a] += 1;
        }
        let min = counts.iter().copied().min().unwrap_or(0);
        min as f64 * arms as f64 / actions.len().max(1) as f64
    }

    /// Fraction of steps (after the first) whose action is a greedy arm of the history before it.
    pub fn greedy_frac(actions: &[usize], rewards: &[f64], arms: usize) -> f64 {
        let mut stats = ArmStats::new(arms).expect("arms");
        let mut greedy = 0;
        for (t, (&a, &r)) in actions.iter().zip(rewards).enumerate() {
            if t > 0 && stats.is_greedy(a) {
                greedy += 1;
            }
            stats.record(a, r).expect("valid");
        }
        greedy as f64 / (actions.len().saturating_sub(1)).max(1) as f64
    }

    /// Mean and 95% confidence half-width (normal approximation, sample standard deviation).
    pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
        let n = values.len();
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return (mean, 0.0);
        }
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        (mean, 1.96 * (var / n as f64).sqrt())
    }
}
