//! The RLFT objective (SPEC section 5), as a pure function of per-token numbers: no GPU, so it
//! is tested against closed forms, and the GPU backward only consumes its `dloss/dlp` through
//! the per-token coefficient path of [`crate::train::TrainModel::forward_backward_with`].
//!
//! For every completion token t of a batch of N tokens (token-mean over the whole batch):
//!
//! ```text
//! ratio_t = exp(lp_t - old_t)                 (the log-ratio clamped to +-20 first)
//! pg_t    = -min(ratio_t * A_t, clip(ratio_t, 1-eps, 1+eps) * A_t)
//! kl_t    = lp_t - ref_t                                  (k1)
//!         | exp(ref_t - lp_t) - (ref_t - lp_t) - 1        (k3, the default; >= 0)
//! loss    = (1/N) * sum_t (pg_t + beta * kl_t)
//! ```
//!
//! `lp_t` is the policy's log-probability of completion token t (log softmax of its logits at
//! temperature 1, after Gemma2's final soft-cap), `old_t` the sampling policy's, `ref_t` the
//! frozen starting model's, `A_t` the step's advantage. `clip_frac` is the share of tokens with
//! (ratio < 1-eps and A < 0) or (ratio > 1+eps and A > 0): exactly the tokens whose clipped term
//! is the active one and whose gradient is therefore zero.
//!
//! Gradient: dpg/dlp = -A * ratio unless the clipped side is active (then 0); dk1/dlp = 1;
//! dk3/dlp = 1 - exp(ref - lp). With the log-ratio clamped, a token whose log-ratio is past the
//! clamp gets the clamped ratio and no gradient through it (OpenRLHF clamps at +-20 too).

use serde::{Deserialize, Serialize};

/// The log-ratio `lp - old` is clamped to +-this before `exp`, so no ratio is inf or NaN.
pub const LOG_RATIO_CLAMP: f32 = 20.0;

/// Which per-token KL approximation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum KlEstimator {
    /// `lp - ref` (unbiased, can be negative).
    K1,
    /// `exp(ref - lp) - (ref - lp) - 1` (never negative; Schulman's k3).
    K3,
}

impl KlEstimator {
    /// The per-token estimate and its derivative with respect to `lp`.
    pub fn value_and_grad(self, lp: f32, reference: f32) -> (f64, f64) {
        let (lp, r) = (lp as f64, reference as f64);
        match self {
            KlEstimator::K1 => (lp - r, 1.0),
            KlEstimator::K3 => {
                let d = r - lp;
                let e = d.exp();
                (e - d - 1.0, 1.0 - e)
            }
        }
    }

    /// `k1` or `k3`.
    pub fn name(self) -> &'static str {
        match self {
            KlEstimator::K1 => "k1",
            KlEstimator::K3 => "k3",
        }
    }
}

/// The objective's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    /// The PPO clip range epsilon (the paper: 0.2).
    pub clip_eps: f32,
    /// The KL coefficient beta (the paper: 0.05).
    pub kl_coef: f32,
    /// The KL estimator.
    pub kl: KlEstimator,
}

/// One completion token's numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenTerms {
    /// log p under the current policy.
    pub lp: f32,
    /// log p under the sampling (old) policy.
    pub old: f32,
    /// log p under the reference policy.
    pub reference: f32,
    /// The advantage of the token's step.
    pub advantage: f32,
}

/// Sums over a batch's tokens (divide by `tokens` for the means).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ObjectiveSums {
    /// Completion tokens.
    pub tokens: usize,
    /// Sum of pg_t.
    pub pg: f64,
    /// Sum of kl_t.
    pub kl: f64,
    /// Tokens on the clipped side.
    pub clipped: usize,
    /// Sum of ratio_t (its mean should stay near 1).
    pub ratio: f64,
    /// Sum of (old_t - lp_t): the approximate KL(old || current) TRL logs as `policy/approxkl`.
    pub approx_kl_old: f64,
}

impl ObjectiveSums {
    /// Adds another batch's sums.
    pub fn add(&mut self, o: &ObjectiveSums) {
        self.tokens += o.tokens;
        self.pg += o.pg;
        self.kl += o.kl;
        self.clipped += o.clipped;
        self.ratio += o.ratio;
        self.approx_kl_old += o.approx_kl_old;
    }

    fn mean(&self, x: f64) -> f64 {
        if self.tokens == 0 { 0.0 } else { x / self.tokens as f64 }
    }

    /// Token-mean pg term.
    pub fn pg_loss(&self) -> f64 {
        self.mean(self.pg)
    }

    /// Token-mean KL estimate.
    pub fn kl_mean(&self) -> f64 {
        self.mean(self.kl)
    }

    /// The loss: pg_loss + beta * kl.
    pub fn loss(&self, kl_coef: f32) -> f64 {
        self.pg_loss() + kl_coef as f64 * self.kl_mean()
    }

    /// Share of tokens on the clipped side.
    pub fn clip_frac(&self) -> f64 {
        self.mean(self.clipped as f64)
    }

    /// Mean ratio.
    pub fn ratio_mean(&self) -> f64 {
        self.mean(self.ratio)
    }
}

impl Objective {
    /// One token's (pg_t, kl_t, on the clipped side, ratio, dloss_t/dlp_t before the 1/N).
    pub fn token(&self, t: &TokenTerms) -> (f64, f64, bool, f64, f64) {
        let log_ratio = (t.lp - t.old).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP) as f64;
        let in_clamp = (t.lp - t.old).abs() <= LOG_RATIO_CLAMP;
        let ratio = log_ratio.exp();
        let a = t.advantage as f64;
        let eps = self.clip_eps as f64;
        let clipped_ratio = ratio.clamp(1.0 - eps, 1.0 + eps);
        let (unclipped, clipped) = (ratio * a, clipped_ratio * a);
        let pg = -unclipped.min(clipped);
        let on_clipped_side = (ratio < 1.0 - eps && a < 0.0) || (ratio > 1.0 + eps && a > 0.0);
        let dpg = if on_clipped_side || !in_clamp { 0.0 } else { -a * ratio };
        let (kl, dkl) = self.kl.value_and_grad(t.lp, t.reference);
        (pg, kl, on_clipped_side, ratio, dpg + self.kl_coef as f64 * dkl)
    }

    /// The sums over `tokens` and, per token, dloss/dlp where loss is the token-mean over
    /// `n_total` tokens (the whole optimizer batch, of which `tokens` may be one micro-batch).
    pub fn evaluate(&self, tokens: &[TokenTerms], n_total: usize) -> (ObjectiveSums, Vec<f64>) {
        let mut s = ObjectiveSums { tokens: tokens.len(), ..ObjectiveSums::default() };
        let scale = 1.0 / n_total.max(1) as f64;
        let mut grads = Vec::with_capacity(tokens.len());
        for t in tokens {
            let (pg, kl, clipped, ratio, g) = self.token(t);
            s.pg += pg;
            s.kl += kl;
            s.clipped += clipped as usize;
            s.ratio += ratio;
            s.approx_kl_old += (t.old - t.lp) as f64;
            grads.push(g * scale);
        }
        (s, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kl: KlEstimator) -> Objective {
        Objective { clip_eps: 0.2, kl_coef: 0.05, kl }
    }

    fn tok(lp: f32, old: f32, reference: f32, advantage: f32) -> TokenTerms {
        TokenTerms { lp, old, reference, advantage }
    }

    #[test]
    fn at_the_old_policy_the_ratio_is_one_and_nothing_clips() {
        let o = obj(KlEstimator::K3);
        let ts = [tok(-1.2, -1.2, -1.2, 0.7), tok(-0.3, -0.3, -0.3, -1.5)];
        let (s, g) = o.evaluate(&ts, 2);
        assert_eq!((s.clipped, s.kl), (0, 0.0));
        assert!((s.ratio_mean() - 1.0).abs() < 1e-12);
        // pg = -A, gradient = plain REINFORCE -(1/N) A
        assert!((s.pg_loss() - (-(0.7 - 1.5) / 2.0)).abs() < 1e-6);
        assert!((g[0] - (-0.7 / 2.0)).abs() < 1e-6 && (g[1] - (1.5 / 2.0)).abs() < 1e-6);
    }

    #[test]
    fn the_clipped_side_has_no_gradient_and_counts_in_clip_frac() {
        let o = Objective { kl_coef: 0.0, ..obj(KlEstimator::K1) };
        let r = |x: f64| x.ln() as f32;
        // ratio 1.5 with A > 0: clipped (pg = -1.2 A), zero gradient
        let (pg, _, c, ratio, g) = o.token(&tok(r(1.5), 0.0, 0.0, 2.0));
        assert!(c && g == 0.0 && (pg + 1.2 * 2.0).abs() < 1e-5 && (ratio - 1.5).abs() < 1e-6);
        // ratio 1.5 with A < 0: unclipped is the min (pg = -1.5 A), gradient -A * ratio
        let (pg, _, c, _, g) = o.token(&tok(r(1.5), 0.0, 0.0, -2.0));
        assert!(!c && (pg - 3.0).abs() < 1e-5 && (g - 3.0).abs() < 1e-5);
        // ratio 0.5 with A < 0: clipped (pg = -0.8 A), zero gradient
        let (pg, _, c, _, g) = o.token(&tok(r(0.5), 0.0, 0.0, -2.0));
        assert!(c && g == 0.0 && (pg - 1.6).abs() < 1e-5);
        // ratio 0.5 with A > 0: unclipped (pg = -0.5 A)
        let (pg, _, c, _, g) = o.token(&tok(r(0.5), 0.0, 0.0, 2.0));
        assert!(!c && (pg + 1.0).abs() < 1e-5 && (g + 1.0).abs() < 1e-5);
        let (s, _) = o.evaluate(&[tok(r(1.5), 0.0, 0.0, 2.0), tok(r(1.5), 0.0, 0.0, -2.0)], 2);
        assert_eq!(s.clip_frac(), 0.5);
    }

    #[test]
    fn kl_estimators_and_their_gradients() {
        for (lp, r) in [(-1.0f32, -2.0f32), (-2.0, -1.0), (-0.5, -0.5)] {
            let (k1, g1) = KlEstimator::K1.value_and_grad(lp, r);
            assert!((k1 - (lp - r) as f64).abs() < 1e-12 && g1 == 1.0);
            let (k3, g3) = KlEstimator::K3.value_and_grad(lp, r);
            let d = (r - lp) as f64;
            assert!((k3 - (d.exp() - d - 1.0)).abs() < 1e-12);
            assert!(k3 >= 0.0, "k3 is never negative");
            // gradient against a central difference
            let h = 1e-4f64;
            let f = |x: f64| (r as f64 - x).exp() - (r as f64 - x) - 1.0;
            let fd = (f(lp as f64 + h) - f(lp as f64 - h)) / (2.0 * h);
            assert!((g3 - fd).abs() < 1e-6, "{g3} vs {fd}");
        }
    }

    #[test]
    fn the_whole_gradient_matches_finite_differences_of_the_loss() {
        for kl in [KlEstimator::K1, KlEstimator::K3] {
            let o = obj(kl);
            let ts = [tok(-0.9, -1.0, -1.3, 1.1), tok(-2.0, -1.5, -1.9, -0.4), tok(-0.2, -0.6, -0.1, 0.3)];
            let n = ts.len();
            let loss = |ts: &[TokenTerms]| o.evaluate(ts, n).0.loss(o.kl_coef);
            let (_, g) = o.evaluate(&ts, n);
            for i in 0..n {
                let h = 1e-3f32;
                let (mut a, mut b) = (ts, ts);
                a[i].lp += h;
                b[i].lp -= h;
                let fd = (loss(&a) - loss(&b)) / (2.0 * h as f64);
                assert!((g[i] - fd).abs() < 1e-4, "{kl:?} token {i}: {} vs {fd}", g[i]);
            }
        }
    }

    #[test]
    fn extreme_log_ratios_stay_finite() {
        let o = obj(KlEstimator::K3);
        let (pg, _, _, ratio, g) = o.token(&tok(0.0, -500.0, 0.0, 1.0));
        assert!(pg.is_finite() && ratio.is_finite() && g.is_finite());
        assert_eq!(ratio, (LOG_RATIO_CLAMP as f64).exp());
    }
}
