//! Disjoint LinUCB (Li et al. 2010), the contextual baseline of SPEC section 2.
//!
//! Each arm `a` keeps `A_a = I + sum x x^T` (as its inverse, updated by Sherman-Morrison) and
//! `b_a = sum r x`; it scores `theta_a . x + alpha * sqrt(x^T A_a^-1 x)` with
//! `theta_a = A_a^-1 b_a` and plays the best score, breaking exact ties uniformly at random.
//! Features are the context (the user's preference vector), optionally followed by a constant
//! 1 (bias term). Off by default: the synthetic and MovieLens rewards are exactly linear in
//! the preference vector.

// Matrix code reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use crate::error::{Error, Result, check_count, check_range};
use crate::rng::Rng;

use super::MAX_DIM;
use super::policy::{ContextualPolicy, check_arm, check_context, check_reward};
use crate::MAX_ARMS;

/// The paper's exploration strength.
pub const DEFAULT_ALPHA: f64 = 0.5;

/// LinUCB with room for the crate's largest tables: [`MAX_ARMS`] arms and [`MAX_DIM`]
/// features plus a bias term.
pub type DefaultLinUcb = LinUcb<MAX_ARMS, { MAX_DIM + 1 }>;

/// Disjoint LinUCB for at most `ARMS` arms and `D` features (context length, plus one with
/// the bias term).
#[derive(Debug, Clone)]
pub struct LinUcb<const ARMS: usize, const D: usize> {
    a_inv: [[[f64; D]; D]; ARMS],
    b: [[f64; D]; ARMS],
    arms: usize,
    dim: usize,
    alpha: f64,
    bias: bool,
}

impl<const ARMS: usize, const D: usize> LinUcb<ARMS, D> {
    /// LinUCB with exploration strength `alpha` (finite, 0..=1e6; the paper uses
    /// [`DEFAULT_ALPHA`]) and, if `bias`, a constant feature appended to the context.
    pub fn new(alpha: f64, bias: bool) -> Result<Self> {
        check_range("alpha", alpha, 0.0, 1.0e6)?;
        Ok(LinUcb { a_inv: [[[0.0; D]; D]; ARMS], b: [[0.0; D]; ARMS], arms: 0, dim: 0, alpha, bias })
    }

    /// The exploration strength.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Whether a bias feature is appended.
    pub fn has_bias(&self) -> bool {
        self.bias
    }

    fn features(&self) -> usize {
        self.dim + usize::from(self.bias)
    }

    fn feature_vector(&self, context: &[f64]) -> Result<[f64; D]> {
        check_context(context, self.dim)?;
        let mut x = [0.0; D];
        x[..self.dim].copy_from_slice(context);
        if self.bias {
            x[self.dim] = 1.0;
        }
        Ok(x)
    }

    /// The score `theta . x + alpha * sqrt(x^T A^-1 x)` of `arm` for `context`.
    pub fn score(&self, arm: usize, context: &[f64]) -> Result<f64> {
        check_arm(arm, self.arms)?;
        let x = self.feature_vector(context)?;
        Ok(self.score_features(arm, &x))
    }

    fn score_features(&self, arm: usize, x: &[f64; D]) -> f64 {
        let n = self.features();
        let a = &self.a_inv[arm];
        let b = &self.b[arm];
        let mut mean = 0.0;
        let mut var = 0.0;
        for i in 0..n {
            let mut theta_i = 0.0;
            let mut ax_i = 0.0;
            for j in 0..n {
                theta_i += a[i][j] * b[j];
                ax_i += a[i][j] * x[j];
            }
            mean += theta_i * x[i];
            var += x[i] * ax_i;
        }
        mean + self.alpha * libm::sqrt(if var > 0.0 { var } else { 0.0 })
    }
}

impl<const ARMS: usize, const D: usize> ContextualPolicy for LinUcb<ARMS, D> {
    fn reset(&mut self, arms: usize, dim: usize) -> Result<()> {
        check_count("arms", arms, 1, ARMS)?;
        let features = dim + usize::from(self.bias);
        if dim == 0 || features > D {
            return Err(Error::OutOfRange {
                name: "context dim",
                value: dim as f64,
                min: 1.0,
                max: (D - usize::from(self.bias).min(D)) as f64,
            });
        }
        self.arms = arms;
        self.dim = dim;
        for a in 0..arms {
            self.b[a] = [0.0; D];
            self.a_inv[a] = [[0.0; D]; D];
            for i in 0..features {
                self.a_inv[a][i][i] = 1.0;
            }
        }
        Ok(())
    }

    fn select(&mut self, context: &[f64], rng: &mut Rng) -> Result<usize> {
        if self.arms == 0 {
            return Err(Error::Empty { what: "arms (call reset first)" });
        }
        let x = self.feature_vector(context)?;
        let mut scores = [0.0; ARMS];
        let mut best = f64::NEG_INFINITY;
        for (a, s) in scores.iter_mut().enumerate().take(self.arms) {
            *s = self.score_features(a, &x);
            if *s > best {
                best = *s;
            }
        }
        rng.choose_where(self.arms, |a| scores[a] == best).ok_or(Error::NotFinite { name: "LinUCB score" })
    }

    fn update(&mut self, arm: usize, context: &[f64], reward: f64) -> Result<()> {
        check_arm(arm, self.arms)?;
        check_reward(reward)?;
        let x = self.feature_vector(context)?;
        let n = self.features();
        let a = &mut self.a_inv[arm];
        // Sherman-Morrison: (A + x x^T)^-1 = A^-1 - (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x),
        // using the symmetry of A^-1.
        let mut u = [0.0; D];
        for i in 0..n {
            u[i] = (0..n).map(|j| a[i][j] * x[j]).sum();
        }
        let denom = 1.0 + (0..n).map(|i| x[i] * u[i]).sum::<f64>();
        for i in 0..n {
            for j in 0..n {
                a[i][j] -= u[i] * u[j] / denom;
            }
        }
        for i in 0..n {
            self.b[arm][i] += reward * x[i];
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "linucb"
    }
}
