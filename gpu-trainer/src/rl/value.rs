//! The value head's loss (RLFT with GAE, the tic-tac-toe setting of SPEC section 5): per step,
//! `0.5 * (V - target)^2` with the GAE return as the target, averaged over the batch's steps and
//! added to the policy loss with the coefficient `vf_coef`:
//!
//! ```text
//! loss = policy loss + vf_coef * mean_steps 0.5 * (V - target)^2
//! ```
//!
//! Value clipping (PPO2's, off by default): with the rollout's value `V_old`,
//! `V_clip = V_old + clamp(V - V_old, -c, c)` and the step's loss is
//! `0.5 * max((V - target)^2, (V_clip - target)^2)`.
//!
//! [`explained_variance`]: `1 - Var(target - V) / Var(target)`, how much of the returns' spread
//! the value head accounts for (1: all of it, 0: no better than their mean, below 0: worse).

/// The value term's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueLoss {
    /// Its weight in the total loss (default 0.1).
    pub vf_coef: f32,
    /// PPO2's value clipping range, off by default.
    pub clip: Option<f32>,
}

impl Default for ValueLoss {
    fn default() -> Self {
        ValueLoss { vf_coef: 0.1, clip: None }
    }
}

/// One step's numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueTerms {
    /// V under the current weights.
    pub value: f32,
    /// The regression target (the GAE return).
    pub target: f32,
    /// V at rollout time (needed by value clipping).
    pub old: f32,
}

/// Sums over a batch's steps (divide by `steps` for the means).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ValueSums {
    /// Steps.
    pub steps: usize,
    /// Sum of the steps' 0.5 * (V - target)^2 (clipped form when clipping).
    pub loss: f64,
    /// Steps where the clipped form was the larger.
    pub clipped: usize,
    /// Sum of V.
    pub value: f64,
}

impl ValueSums {
    /// Adds another batch's sums.
    pub fn add(&mut self, o: &ValueSums) {
        self.steps += o.steps;
        self.loss += o.loss;
        self.clipped += o.clipped;
        self.value += o.value;
    }

    fn mean(&self, x: f64) -> f64 {
        if self.steps == 0 { 0.0 } else { x / self.steps as f64 }
    }

    /// The mean value loss (before vf_coef).
    pub fn value_loss(&self) -> f64 {
        self.mean(self.loss)
    }

    /// Share of steps on the clipped side.
    pub fn clip_frac(&self) -> f64 {
        self.mean(self.clipped as f64)
    }

    /// Mean V.
    pub fn value_mean(&self) -> f64 {
        self.mean(self.value)
    }
}

impl ValueLoss {
    /// One step's (loss, clipped side, dloss/dV), before vf_coef and the 1/N.
    pub fn step(&self, t: &ValueTerms) -> (f64, bool, f64) {
        let (v, target) = (t.value as f64, t.target as f64);
        let unclipped = 0.5 * (v - target) * (v - target);
        let Some(c) = self.clip else { return (unclipped, false, v - target) };
        let old = t.old as f64;
        let d = v - old;
        let v_clip = old + d.clamp(-(c as f64), c as f64);
        let clipped = 0.5 * (v_clip - target) * (v_clip - target);
        if clipped > unclipped {
            // the clamp is flat outside [-c, c]: no gradient there
            let inside = d.abs() <= c as f64;
            (clipped, true, if inside { v_clip - target } else { 0.0 })
        } else {
            (unclipped, false, v - target)
        }
    }

    /// The sums over `steps` and, per step, d(total loss)/dV where the value term is
    /// `vf_coef` times the mean over `n_total` steps (the whole optimizer batch).
    pub fn evaluate(&self, steps: &[ValueTerms], n_total: usize) -> (ValueSums, Vec<f64>) {
        let mut s = ValueSums { steps: steps.len(), ..ValueSums::default() };
        let scale = self.vf_coef as f64 / n_total.max(1) as f64;
        let grads = steps
            .iter()
            .map(|t| {
                let (l, c, g) = self.step(t);
                s.loss += l;
                s.clipped += c as usize;
                s.value += t.value as f64;
                g * scale
            })
            .collect();
        (s, grads)
    }
}

/// `1 - Var(target - pred) / Var(target)` (population variances); NaN when the targets do not
/// vary or there are none.
pub fn explained_variance(pred: &[f64], target: &[f64]) -> f64 {
    use super::advantage::mean_std;
    let (_, sd_t) = mean_std(target);
    if target.is_empty() || pred.len() != target.len() || sd_t == 0.0 {
        return f64::NAN;
    }
    let resid: Vec<f64> = target.iter().zip(pred).map(|(t, p)| t - p).collect();
    let (_, sd_r) = mean_std(&resid);
    1.0 - (sd_r * sd_r) / (sd_t * sd_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(value: f32, target: f32, old: f32) -> ValueTerms {
        ValueTerms { value, target, old }
    }

    #[test]
    fn the_unclipped_loss_is_half_the_squared_error_and_its_gradient_the_error() {
        let l = ValueLoss { vf_coef: 0.1, clip: None };
        let (s, g) = l.evaluate(&[terms(1.5, 0.5, 0.0), terms(-1.0, 1.0, 0.0)], 2);
        assert!((s.value_loss() - (0.5 + 2.0) / 2.0).abs() < 1e-12);
        assert!(
            (g[0] - 0.1 * 1.0 / 2.0).abs() < 1e-8 && (g[1] - 0.1 * -2.0 / 2.0).abs() < 1e-8,
            "vf_coef / N times the error"
        );
        assert_eq!(s.clipped, 0);
        assert!((s.value_mean() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn clipping_keeps_the_larger_loss_and_has_no_gradient_outside_the_range() {
        let l = ValueLoss { vf_coef: 1.0, clip: Some(0.2) };
        // V moved from 0 to 1 towards target 2: the clipped V (0.2) is further: loss 0.5*1.8^2,
        // flat in V
        let (loss, c, g) = l.step(&terms(1.0, 2.0, 0.0));
        assert!(c && (loss - 0.5 * 1.8 * 1.8).abs() < 1e-6 && g == 0.0);
        // V moved past the target: the unclipped error is the larger
        let (loss, c, g) = l.step(&terms(1.0, 0.5, 0.0));
        assert!(!c && (loss - 0.125).abs() < 1e-6 && (g - 0.5).abs() < 1e-6);
        // inside the range both agree: the plain loss
        let (loss, c, g) = l.step(&terms(0.1, 1.0, 0.0));
        assert!(!c && (loss - 0.5 * 0.81).abs() < 1e-6 && (g + 0.9).abs() < 1e-6);
    }

    #[test]
    fn gradients_match_finite_differences() {
        for clip in [None, Some(0.3f32)] {
            let l = ValueLoss { vf_coef: 0.1, clip };
            let ts = [terms(0.4, 1.0, 0.0), terms(-0.2, -1.0, 0.5), terms(2.0, 0.0, 1.0)];
            let loss = |ts: &[ValueTerms]| l.vf_coef as f64 * l.evaluate(ts, 3).0.value_loss();
            let (_, g) = l.evaluate(&ts, 3);
            for i in 0..ts.len() {
                let h = 1e-3f32;
                let (mut a, mut b) = (ts, ts);
                a[i].value += h;
                b[i].value -= h;
                let fd = (loss(&a) - loss(&b)) / (2.0 * h as f64);
                assert!((g[i] - fd).abs() < 1e-5, "clip {clip:?} step {i}: {} vs {fd}", g[i]);
            }
        }
    }

    #[test]
    fn explained_variance_closed_forms() {
        let t = [1.0, -1.0, 0.0, 2.0];
        assert!((explained_variance(&t, &t) - 1.0).abs() < 1e-12, "perfect predictions");
        let mean = [0.5; 4];
        assert!(explained_variance(&mean, &t).abs() < 1e-12, "the mean explains nothing");
        // predicting 0: residual = target, Var(target - 0) = Var(target)
        assert!(explained_variance(&[0.0; 4], &t).abs() < 1e-12);
        // anti-correlated predictions are worse than the mean
        let neg: Vec<f64> = t.iter().map(|x| -x).collect();
        assert!((explained_variance(&neg, &t) - (1.0 - 4.0)).abs() < 1e-12);
        assert!(explained_variance(&[1.0], &[3.0]).is_nan(), "constant targets");
    }
}
