//! The knowing-doing gap (SPEC section 4): is the stated UCB rationale right, and is the action
//! optimal, greedy or other?

use crate::error::{Error, Result};
use crate::stats::{ArmStats, UcbRule};

/// What an action is, judged against the history before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionClass {
    /// An argmax-UCB arm (any untried arm while some arm is untried).
    Optimal,
    /// Not optimal, but a greedy arm (best empirical mean among tried arms).
    Greedy,
    /// Neither.
    Other,
}

impl ActionClass {
    /// All classes, in the confusion matrix's column order.
    pub const ALL: [ActionClass; 3] = [ActionClass::Optimal, ActionClass::Greedy, ActionClass::Other];

    /// Column index: optimal 0, greedy 1, other 2.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            ActionClass::Optimal => "optimal",
            ActionClass::Greedy => "greedy",
            ActionClass::Other => "other",
        }
    }
}

/// Checks that `arm` is one of the arms of `stats`.
fn check_arm(stats: &ArmStats, arm: usize) -> Result<()> {
    if arm >= stats.arms() {
        return Err(Error::InvalidAction { action: arm, num_actions: stats.arms() });
    }
    Ok(())
}

/// Whether `arm` is UCB-optimal given the history `stats`: while some arm is untried, any untried
/// arm; otherwise an arm whose `rule` value equals the largest (ties all count).
pub fn is_ucb_optimal(rule: &UcbRule, stats: &ArmStats, arm: usize) -> Result<bool> {
    check_arm(stats, arm)?;
    rule.validate()?;
    if stats.first_untried().is_some() {
        return Ok(stats.count(arm) == 0);
    }
    let best = (0..stats.arms())
        .filter_map(|a| rule.value(stats, a))
        .fold(f64::NEG_INFINITY, |m, v| if v > m { v } else { m });
    Ok(rule.value(stats, arm) == Some(best))
}

/// Classifies `action` as optimal (argmax UCB under `rule`), else greedy, else other.
pub fn classify_action(rule: &UcbRule, stats: &ArmStats, action: usize) -> Result<ActionClass> {
    Ok(if is_ucb_optimal(rule, stats, action)? {
        ActionClass::Optimal
    } else if stats.is_greedy(action) {
        ActionClass::Greedy
    } else {
        ActionClass::Other
    })
}

/// The arm a stated list of UCB values points to: the largest value, NaN (how an untried arm's
/// value is written) counting as +infinity, lowest index among ties. Errors on an empty slice.
pub fn stated_argmax(values: &[f64]) -> Result<usize> {
    if values.is_empty() {
        return Err(Error::Empty { what: "stated UCB values" });
    }
    let key = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if key(v) > key(values[best]) {
            best = i;
        }
    }
    Ok(best)
}

/// "Knowing": whether the argmax of the model's stated UCB values (one per arm, see
/// [`stated_argmax`]) is a UCB-optimal arm recomputed from the history.
pub fn rationale_is_correct(rule: &UcbRule, stats: &ArmStats, stated: &[f64]) -> Result<bool> {
    if stated.len() != stats.arms() {
        return Err(Error::ShapeMismatch {
            what: "stated UCB values",
            expected: stats.arms(),
            got: stated.len(),
        });
    }
    is_ucb_optimal(rule, stats, stated_argmax(stated)?)
}

/// The knowing-doing confusion matrix: rows rationale correct / incorrect, columns
/// optimal / greedy / other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KnowingDoing {
    /// `counts[row][col]`: row 0 correct rationale, row 1 incorrect; columns in
    /// [`ActionClass::index`] order.
    pub counts: [[u64; 3]; 2],
}

impl KnowingDoing {
    /// Row index of a rationale: correct 0, incorrect 1.
    fn row(correct: bool) -> usize {
        if correct { 0 } else { 1 }
    }

    /// Counts one decision.
    pub fn add(&mut self, rationale_correct: bool, class: ActionClass) {
        self.counts[Self::row(rationale_correct)][class.index()] += 1;
    }

    /// Adds another matrix.
    pub fn merge(&mut self, other: &KnowingDoing) {
        for (r, o) in self.counts.iter_mut().zip(&other.counts) {
            for (c, x) in r.iter_mut().zip(o) {
                *c += x;
            }
        }
    }

    /// Number of decisions counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// The count of one cell.
    pub fn count(&self, rationale_correct: bool, class: ActionClass) -> u64 {
        self.counts[Self::row(rationale_correct)][class.index()]
    }

    /// Every cell as a share of all decisions. Errors when nothing was counted.
    pub fn shares(&self) -> Result<[[f64; 3]; 2]> {
        let n = self.total();
        if n == 0 {
            return Err(Error::Empty { what: "knowing-doing matrix" });
        }
        let mut s = [[0.0; 3]; 2];
        for (sr, cr) in s.iter_mut().zip(&self.counts) {
            for (x, &c) in sr.iter_mut().zip(cr) {
                *x = c as f64 / n as f64;
            }
        }
        Ok(s)
    }

    /// The share of decisions with a correct rationale. Errors when nothing was counted.
    pub fn correct_share(&self) -> Result<f64> {
        let n = self.total();
        if n == 0 {
            return Err(Error::Empty { what: "knowing-doing matrix" });
        }
        Ok(self.counts[0].iter().sum::<u64>() as f64 / n as f64)
    }

    /// The share of `class` within one row (e.g. greedy actions among correct rationales: the
    /// paper's 64% for 27B). Errors when the row is empty.
    pub fn row_share(&self, rationale_correct: bool, class: ActionClass) -> Result<f64> {
        let row = &self.counts[Self::row(rationale_correct)];
        let n: u64 = row.iter().sum();
        if n == 0 {
            return Err(Error::Empty { what: "knowing-doing row" });
        }
        Ok(row[class.index()] as f64 / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_by_hand() {
        // arm 0: mean 1.0 (n=4) -> UCB 1.5; arm 1: mean 0.8 (n=1) -> 1.8; arm 2: 0.1 (n=1) -> 1.1
        let s = ArmStats::from_history(3, &[0, 0, 0, 0, 1, 2], &[1.0, 1.0, 1.0, 1.0, 0.8, 0.1]).unwrap();
        let r = UcbRule::PAPER;
        assert_eq!(classify_action(&r, &s, 1), Ok(ActionClass::Optimal));
        assert_eq!(classify_action(&r, &s, 0), Ok(ActionClass::Greedy));
        assert_eq!(classify_action(&r, &s, 2), Ok(ActionClass::Other));
        assert!(classify_action(&r, &s, 3).is_err());
        let untried = ArmStats::from_history(3, &[0], &[1.0]).unwrap();
        assert_eq!(classify_action(&r, &untried, 2), Ok(ActionClass::Optimal));
        assert_eq!(classify_action(&r, &untried, 0), Ok(ActionClass::Greedy));
        assert_eq!(rationale_is_correct(&r, &s, &[1.5, 1.8, 1.1]), Ok(true));
        assert_eq!(rationale_is_correct(&r, &s, &[1.9, 1.8, 1.1]), Ok(false));
        assert_eq!(rationale_is_correct(&r, &untried, &[2.0, f64::NAN, 1.0]), Ok(true));
        assert!(rationale_is_correct(&r, &s, &[1.0]).is_err());
        assert_eq!(stated_argmax(&[1.0, f64::NAN, 3.0]), Ok(1));
    }

    #[test]
    fn matrix_shares() {
        let mut m = KnowingDoing::default();
        assert!(m.shares().is_err());
        m.add(true, ActionClass::Greedy);
        m.add(true, ActionClass::Greedy);
        m.add(true, ActionClass::Optimal);
        m.add(false, ActionClass::Other);
        assert_eq!(m.total(), 4);
        assert_eq!(m.count(true, ActionClass::Greedy), 2);
        assert_eq!(m.shares().unwrap(), [[0.25, 0.5, 0.0], [0.0, 0.0, 0.25]]);
        assert_eq!(m.correct_share(), Ok(0.75));
        assert_eq!(m.row_share(true, ActionClass::Greedy), Ok(2.0 / 3.0));
        let copy = m;
        m.merge(&copy);
        assert_eq!(m.count(false, ActionClass::Other), 2);
    }
}
