//! One optimizer update: the minibatch's samples through the training forward in micro-batches,
//! the objective's per-token coefficients from the current log-probs ([`super::objective`]),
//! the backward, then one clipped optimizer step. With a value head the value term
//! ([`super::value`]) joins the loss: the learner's forward gives each sample's V, the
//! backward takes its dL/dV.

use std::time::Instant;

use anyhow::{Result, bail};

use super::objective::{Objective, ObjectiveSums, TokenTerms};
use super::samples::Sample;
use super::value::{ValueLoss, ValueSums, ValueTerms};
use crate::train::learner::{GpuLearner, Learner};
use crate::train::{RlBackward, Sequence};

/// What an update did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStats {
    /// The objective's sums over the minibatch's completion tokens.
    pub sums: ObjectiveSums,
    /// The value term's sums over the minibatch's samples (zero without a value head).
    pub value: ValueSums,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Why the optimizer skipped the step, if it did.
    pub skipped: Option<String>,
    /// Tokens run through the model (prompts included).
    pub tokens: usize,
    /// Largest |lp - old| over the generated tokens (before any update of the rollout: the gap
    /// between the generation's and the training forward's log-probs).
    pub old_gap_max: f64,
    /// Wall time.
    pub seconds: f64,
}

/// The training sequence of a sample: its ids, targets on the completion (weight 1 marks them;
/// the coefficients come from the objective).
pub fn sequence(s: &Sample) -> Sequence {
    let weights = (0..s.ids.len()).map(|t| if t >= s.prompt_len && t > 0 { 1.0 } else { 0.0 }).collect();
    Sequence::new(s.ids.clone(), weights)
}

/// Is a sample in the loss (`mask_truncated`: completions the budget cut are left out)?
pub fn in_loss(s: &Sample, mask_truncated: bool) -> bool {
    !mask_truncated || s.stopped
}

/// One update over `batch` at learning rate `lr` (with the value term when `value` is given:
/// the learner needs a value head and every sample a value target).
#[allow(clippy::too_many_arguments)]
pub fn update(
    learner: &mut GpuLearner,
    batch: &[&Sample],
    micro_batch: usize,
    objective: &Objective,
    value: Option<&ValueLoss>,
    mask_truncated: bool,
    lr: f64,
) -> Result<UpdateStats> {
    let t0 = Instant::now();
    let kept: Vec<&Sample> = batch.iter().copied().filter(|s| in_loss(s, mask_truncated)).collect();
    let n_total: usize = kept.iter().map(|s| s.completion_len()).sum();
    let mut sums = ObjectiveSums::default();
    let mut vsums = ValueSums::default();
    let mut tokens = 0;
    let mut old_gap_max = 0f64;
    for micro in kept.chunks(micro_batch.max(1)) {
        for s in micro {
            if s.old.len() != s.completion_len() || s.reference.len() != s.completion_len() {
                bail!(
                    "episode {} step {}: {} completion tokens but {} old and {} reference log-probs",
                    s.episode,
                    s.t,
                    s.completion_len(),
                    s.old.len(),
                    s.reference.len()
                );
            }
        }
        let seqs: Vec<Sequence> = micro.iter().map(|s| sequence(s)).collect();
        let mut micro_sums = ObjectiveSums::default();
        let mut micro_vsums = ValueSums::default();
        let stats = learner.accumulate_rl(&seqs, |fwd| {
            let lps = &fwd.logprobs;
            let dvalues = match (value, &fwd.values) {
                (None, _) => None,
                (Some(_), None) => bail!("the value term needs a learner with a value head"),
                (Some(loss), Some(v)) => {
                    let terms = micro
                        .iter()
                        .zip(v)
                        .map(|(s, &value)| {
                            let (Some(target), Some(old)) = (s.value_target, s.value) else {
                                bail!("episode {} step {}: no value target", s.episode, s.t);
                            };
                            Ok(ValueTerms { value, target, old })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let (vs, g) = loss.evaluate(&terms, kept.len());
                    micro_vsums = vs;
                    Some(g.iter().map(|&x| x as f32).collect())
                }
            };
            let mut coefs = Vec::with_capacity(lps.len());
            for (s, lp) in micro.iter().zip(lps) {
                if lp.len() != s.completion_len() {
                    bail!("{} log-probs for {} completion tokens", lp.len(), s.completion_len());
                }
                let terms: Vec<TokenTerms> = (0..lp.len())
                    .map(|i| TokenTerms {
                        lp: lp[i],
                        old: s.old[i],
                        reference: s.reference[i],
                        advantage: s.advantage,
                    })
                    .collect();
                if !s.forced {
                    for t in &terms {
                        old_gap_max = old_gap_max.max((t.lp - t.old).abs() as f64);
                    }
                }
                let (sm, grads) = objective.evaluate(&terms, n_total);
                micro_sums.add(&sm);
                // the backward adds d(sum coef * -lp): coef = -dloss/dlp
                coefs.push(grads.iter().map(|&g| -g as f32).collect());
            }
            Ok(RlBackward { coef: coefs, dvalues })
        })?;
        tokens += stats.tokens;
        sums.add(&micro_sums);
        vsums.add(&micro_vsums);
    }
    let applied = if n_total == 0 {
        learner.discard()?;
        crate::train::learner::Applied {
            grad_norm: 0.0,
            skipped: Some("no completion token in the batch".into()),
        }
    } else if !sums.pg.is_finite() || !sums.kl.is_finite() || !vsums.loss.is_finite() {
        learner.discard()?;
        crate::train::learner::Applied {
            grad_norm: f64::NAN,
            skipped: Some(format!("non-finite loss (pg {}, kl {}, value {})", sums.pg, sums.kl, vsums.loss)),
        }
    } else {
        learner.apply(lr)?
    };
    Ok(UpdateStats {
        sums,
        value: vsums,
        grad_norm: applied.grad_norm,
        skipped: applied.skipped,
        tokens,
        old_gap_max,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
