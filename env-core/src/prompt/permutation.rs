//! Context randomization (SPEC section 6): the labels are permuted every step, the whole
//! history of one prompt is written with that step's permutation, and the parsed answer is
//! mapped back to the true arm.
//!
//! With a permutation `p`, true arm `a` is *shown* under the label that arm `p.shown(a)` has in
//! the canonical [`LabelSet`]. [`LabelPermutation::relabel`] builds the set of shown labels
//! (`shown[a]` = label of `a` in this prompt): parsing an answer against it gives the true arm
//! directly; parsing against the canonical set gives a canonical index `j`, and
//! [`LabelPermutation::true_arm`] maps it back.

use crate::MAX_ARMS;
use crate::error::{Error, Result, check_count};
use crate::labels::{Label, LabelSet};
use crate::rng::{Rng, derive_seed};

/// Stream id of the per-step permutations ("PERM").
const PERM_STREAM: u64 = 0x5045_524D;

/// A permutation of `k` arms and its inverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelPermutation {
    perm: [u8; MAX_ARMS],
    inv: [u8; MAX_ARMS],
    len: usize,
}

impl LabelPermutation {
    /// The identity on `k` arms (1..=32).
    pub fn identity(k: usize) -> Result<Self> {
        check_count("arms", k, 1, MAX_ARMS)?;
        let mut perm = [0u8; MAX_ARMS];
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i as u8;
        }
        Ok(LabelPermutation { perm, inv: perm, len: k })
    }

    /// The permutation of step `step` of the episode seeded `episode_seed`: deterministic, and
    /// independent across steps and episodes.
    pub fn for_step(k: usize, episode_seed: u64, step: u64) -> Result<Self> {
        let mut p = LabelPermutation::identity(k)?;
        let mut rng = Rng::from_stream(derive_seed(episode_seed, PERM_STREAM), step);
        rng.shuffle(&mut p.perm[..k]);
        p.fill_inverse();
        Ok(p)
    }

    /// A permutation given explicitly: `shown[a]` is the canonical index arm `a` is shown as.
    /// Errors unless `shown` is a permutation of `0..shown.len()`.
    pub fn from_shown(shown: &[usize]) -> Result<Self> {
        let k = shown.len();
        let mut p = LabelPermutation::identity(k)?;
        let mut seen = [false; MAX_ARMS];
        for (a, &s) in shown.iter().enumerate() {
            if s >= k || seen[s] {
                return Err(Error::InvalidAction { action: s, num_actions: k });
            }
            seen[s] = true;
            p.perm[a] = s as u8;
        }
        p.fill_inverse();
        Ok(p)
    }

    fn fill_inverse(&mut self) {
        for a in 0..self.len {
            self.inv[self.perm[a] as usize] = a as u8;
        }
    }

    /// Number of arms.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a permutation has at least one arm.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The canonical index true arm `arm` is shown as.
    pub fn shown(&self, arm: usize) -> Result<usize> {
        self.check(arm)?;
        Ok(self.perm[arm] as usize)
    }

    /// The true arm behind canonical index `shown` (the inverse of [`LabelPermutation::shown`]).
    pub fn true_arm(&self, shown: usize) -> Result<usize> {
        self.check(shown)?;
        Ok(self.inv[shown] as usize)
    }

    /// The inverse permutation.
    pub fn inverse(&self) -> Self {
        LabelPermutation { perm: self.inv, inv: self.perm, len: self.len }
    }

    /// The label true arm `arm` has in this prompt.
    pub fn label(&self, labels: &LabelSet, arm: usize) -> Result<Label> {
        labels.get(self.shown(arm)?)
    }

    /// The labels as shown: entry `a` is the label of true arm `a` in this prompt.
    pub fn relabel(&self, labels: &LabelSet) -> Result<LabelSet> {
        if labels.len() != self.len {
            return Err(Error::ShapeMismatch { what: "permutation", expected: labels.len(), got: self.len });
        }
        let mut shown = [Label::Index(0); MAX_ARMS];
        for (a, l) in shown.iter_mut().enumerate().take(self.len) {
            *l = labels.get(self.perm[a] as usize)?;
        }
        LabelSet::from_labels(&shown[..self.len])
    }

    fn check(&self, i: usize) -> Result<()> {
        if i >= self.len {
            return Err(Error::InvalidAction { action: i, num_actions: self.len });
        }
        Ok(())
    }
}
