//! The frequency-bias classification (SPEC section 4): is an action the most frequent one in the
//! context, the greedy one, or neither?

use crate::error::{Error, Result};
use crate::stats::ArmStats;

/// What an action is, relative to the history it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrequencyClass {
    /// The most frequently pulled arm (all arms tied at the highest count), and not greedy.
    Frequent,
    /// A greedy arm: best mean among tried arms (it counts as greedy even when also frequent).
    Greedy,
    /// Neither.
    Other,
}

impl FrequencyClass {
    /// All classes in share order: frequent, greedy, other.
    pub const ALL: [FrequencyClass; 3] =
        [FrequencyClass::Frequent, FrequencyClass::Greedy, FrequencyClass::Other];

    /// Index: frequent 0, greedy 1, other 2.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            FrequencyClass::Frequent => "frequent",
            FrequencyClass::Greedy => "greedy",
            FrequencyClass::Other => "other",
        }
    }
}

/// Classifies `action` against the history `stats`: greedy if it has the best mean among tried
/// arms, else frequent if no arm was pulled more often, else other. Errors on an arm out of range.
pub fn classify_frequency(stats: &ArmStats, action: usize) -> Result<FrequencyClass> {
    if action >= stats.arms() {
        return Err(Error::InvalidAction { action, num_actions: stats.arms() });
    }
    let max = stats.counts().iter().copied().max().unwrap_or(0);
    Ok(if stats.is_greedy(action) {
        FrequencyClass::Greedy
    } else if max > 0 && stats.count(action) == max {
        FrequencyClass::Frequent
    } else {
        FrequencyClass::Other
    })
}

/// Accumulates F_f, F_g, F_o: how much of the decisions (or of the probability mass) falls on
/// frequent, greedy and other actions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrequencyBias {
    /// Accumulated weight per class, in [`FrequencyClass::index`] order.
    pub weights: [f64; 3],
}

impl FrequencyBias {
    /// Counts one chosen action.
    pub fn add(&mut self, class: FrequencyClass) {
        self.weights[class.index()] += 1.0;
    }

    /// Adds `weight` (finite, >= 0: e.g. a probability) to `class`.
    pub fn add_weighted(&mut self, class: FrequencyClass, weight: f64) -> Result<()> {
        crate::error::check_range("weight", weight, 0.0, f64::MAX)?;
        self.weights[class.index()] += weight;
        Ok(())
    }

    /// Adds a policy's whole action distribution `probs` (one entry per arm of `stats`): each
    /// arm's probability goes to its class.
    pub fn add_distribution(&mut self, stats: &ArmStats, probs: &[f64]) -> Result<()> {
        if probs.len() != stats.arms() {
            return Err(Error::ShapeMismatch {
                what: "action probabilities",
                expected: stats.arms(),
                got: probs.len(),
            });
        }
        let mut add = [0.0; 3];
        for (a, &p) in probs.iter().enumerate() {
            crate::error::check_range("probability", p, 0.0, f64::MAX)?;
            add[classify_frequency(stats, a)?.index()] += p;
        }
        for (w, x) in self.weights.iter_mut().zip(add) {
            *w += x;
        }
        Ok(())
    }

    /// The shares [F_f, F_g, F_o] (summing to 1). Errors when nothing was added.
    pub fn shares(&self) -> Result<[f64; 3]> {
        let total: f64 = self.weights.iter().sum();
        if total <= 0.0 {
            return Err(Error::Empty { what: "frequency-bias counts" });
        }
        Ok(self.weights.map(|w| w / total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_hand() {
        // counts 3, 1, 1, 0; means 0.1, 0.9, 0.5, -
        let s = ArmStats::from_history(4, &[0, 0, 0, 1, 2], &[0.1, 0.1, 0.1, 0.9, 0.5]).unwrap();
        assert_eq!(classify_frequency(&s, 0), Ok(FrequencyClass::Frequent));
        assert_eq!(classify_frequency(&s, 1), Ok(FrequencyClass::Greedy));
        assert_eq!(classify_frequency(&s, 2), Ok(FrequencyClass::Other));
        assert_eq!(classify_frequency(&s, 3), Ok(FrequencyClass::Other));
        assert!(classify_frequency(&s, 4).is_err());
        // frequent and greedy at once counts as greedy
        let both = ArmStats::from_history(2, &[0, 0, 1], &[1.0, 1.0, 0.0]).unwrap();
        assert_eq!(classify_frequency(&both, 0), Ok(FrequencyClass::Greedy));
        let empty = ArmStats::new(2).unwrap();
        assert_eq!(classify_frequency(&empty, 0), Ok(FrequencyClass::Other));
    }

    #[test]
    fn shares() {
        let mut f = FrequencyBias::default();
        assert!(f.shares().is_err());
        f.add(FrequencyClass::Frequent);
        f.add(FrequencyClass::Frequent);
        f.add(FrequencyClass::Frequent);
        f.add(FrequencyClass::Other);
        assert_eq!(f.shares(), Ok([0.75, 0.0, 0.25]));
        assert!(f.add_weighted(FrequencyClass::Greedy, -1.0).is_err());
        let s = ArmStats::from_history(3, &[0, 0, 1], &[0.0, 0.0, 1.0]).unwrap();
        let mut g = FrequencyBias::default();
        g.add_distribution(&s, &[0.5, 0.25, 0.25]).unwrap();
        assert_eq!(g.shares(), Ok([0.5, 0.25, 0.25]));
        assert!(g.add_distribution(&s, &[1.0]).is_err());
    }
}
