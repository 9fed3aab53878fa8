//! The objective's loss and every parameter's gradient norm on a given batch
//! (`greedy debug rl-grad`): the check of the whole RL backward against PyTorch autograd through
//! transformers (tools/gen_rl_grad_fixtures.py).
//!
//! The batch file: `{"clip_eps": 0.2, "kl_coef": 0.05, "kl_estimator": "k3", "sequences":
//! [{"prompt": [ids], "completion": [ids], "old_logprobs": [...], "ref_logprobs": [...],
//! "advantages": [...]}]}`, one value per completion token in each list (here the advantage may
//! differ per token).
//!
//! The optional value part (RLFT with GAE): `"vf_coef": 0.1`, `"value_head": {"weight": [H],
//! "bias": b}` and per sequence `"value_target": t`. V is the value head on the final-norm hidden
//! state at the last prompt token; the total is the policy loss plus vf_coef times the mean over
//! sequences of 0.5 * (V - t)^2, and the report adds `value_loss`, `values` and the value head's
//! gradient norms.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use super::objective::{KlEstimator, Objective, ObjectiveSums, TokenTerms};
use super::value::{ValueLoss, ValueSums, ValueTerms};
use crate::model::{Config, Weights};
use crate::runtime::Gpu;
use crate::train::{RlBackward, Sequence, TrainModel, TrainOptions};

/// One sequence of the batch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradSequence {
    /// Prompt token ids (BOS first).
    pub prompt: Vec<u32>,
    /// Completion token ids.
    pub completion: Vec<u32>,
    /// Per completion token: the old policy's log-prob.
    pub old_logprobs: Vec<f32>,
    /// Per completion token: the reference policy's log-prob.
    pub ref_logprobs: Vec<f32>,
    /// Per completion token: the advantage.
    pub advantages: Vec<f32>,
    /// The value head's regression target (with a value part).
    #[serde(default)]
    pub value_target: Option<f32>,
}

/// The value head of the batch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradValueHead {
    /// `value_head.weight` [H].
    pub weight: Vec<f32>,
    /// `value_head.bias`.
    pub bias: f32,
}

/// The batch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradBatch {
    /// epsilon.
    pub clip_eps: f32,
    /// beta.
    pub kl_coef: f32,
    /// `k1` or `k3`.
    pub kl_estimator: KlEstimator,
    /// The sequences.
    pub sequences: Vec<GradSequence>,
    /// The value term's weight (with a value part).
    #[serde(default)]
    pub vf_coef: Option<f32>,
    /// The value head (with a value part).
    #[serde(default)]
    pub value_head: Option<GradValueHead>,
}

impl GradBatch {
    /// Reads and checks a batch file.
    pub fn read(path: &Path) -> Result<GradBatch> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--batch: cannot read {}", path.display()))?;
        let b: GradBatch = serde_json::from_str(&text)
            .with_context(|| format!("--batch {}: not a valid batch file", path.display()))?;
        if b.sequences.is_empty() {
            bail!("--batch {}: \"sequences\" is empty", path.display());
        }
        for (i, s) in b.sequences.iter().enumerate() {
            let n = s.completion.len();
            if s.prompt.is_empty() || n == 0 {
                bail!(
                    "--batch {}: sequence {i}: prompt and completion need at least one token each",
                    path.display()
                );
            }
            for (name, len) in [
                ("old_logprobs", s.old_logprobs.len()),
                ("ref_logprobs", s.ref_logprobs.len()),
                ("advantages", s.advantages.len()),
            ] {
                if len != n {
                    bail!(
                        "--batch {}: sequence {i}: \"{name}\" has {len} values for {n} completion tokens",
                        path.display()
                    );
                }
            }
        }
        let targets = b.sequences.iter().filter(|s| s.value_target.is_some()).count();
        match (&b.value_head, b.vf_coef) {
            (None, None) if targets == 0 => {}
            (Some(_), Some(c)) if targets == b.sequences.len() && c.is_finite() && c >= 0.0 => {}
            _ => bail!(
                "--batch {}: a value part needs \"vf_coef\" (>= 0), \"value_head\" and a \"value_target\" in every sequence ({} of {} have one)",
                path.display(),
                targets,
                b.sequences.len()
            ),
        }
        if !(b.clip_eps > 0.0 && b.clip_eps < 1.0 && b.kl_coef.is_finite() && b.kl_coef >= 0.0) {
            bail!("--batch {}: clip_eps must be in (0, 1) and kl_coef >= 0", path.display());
        }
        Ok(b)
    }
}

/// Loss, its terms and every parameter's gradient L2 norm (by HuggingFace name) of `batch` on
/// the model in `dir`: `{"loss", "pg_loss", "kl", "clip_frac", "grad_norms": {name: norm}}`.
pub fn rl_grad(gpu: &Gpu, dir: &Path, batch: &GradBatch) -> Result<Value> {
    let config = Config::from_dir(dir)?;
    let weights = Weights::open_dir(dir)?;
    let mut model = TrainModel::from_weights(gpu, config, &weights, TrainOptions::default())?;
    if let Some(v) = &batch.value_head {
        model.add_value_head(gpu, &v.weight, v.bias).context("--batch: \"value_head\"")?;
    }
    let value_loss = ValueLoss { vf_coef: batch.vf_coef.unwrap_or(0.0), clip: None };
    let objective = Objective { clip_eps: batch.clip_eps, kl_coef: batch.kl_coef, kl: batch.kl_estimator };
    let n: usize = batch.sequences.iter().map(|s| s.completion.len()).sum();
    let seqs: Vec<Sequence> = batch
        .sequences
        .iter()
        .map(|s| {
            let mut ids = s.prompt.clone();
            ids.extend(&s.completion);
            let weights = (0..ids.len()).map(|t| if t >= s.prompt.len() { 1.0 } else { 0.0 }).collect();
            Sequence::new(ids, weights)
        })
        .collect();
    let mut sums = ObjectiveSums::default();
    let mut vsums = ValueSums::default();
    let mut values = Vec::new();
    model.forward_backward_rl(gpu, &seqs, |fwd| {
        let dvalues = match &fwd.values {
            None => None,
            Some(v) => {
                values = v.clone();
                let terms: Vec<ValueTerms> = v
                    .iter()
                    .zip(&batch.sequences)
                    .map(|(&value, s)| ValueTerms {
                        value,
                        target: s.value_target.unwrap_or(0.0),
                        old: value,
                    })
                    .collect();
                let (vs, g) = value_loss.evaluate(&terms, terms.len());
                vsums = vs;
                Some(g.iter().map(|&x| x as f32).collect())
            }
        };
        let coef = fwd
            .logprobs
            .iter()
            .zip(&batch.sequences)
            .map(|(lp, s)| {
                let terms: Vec<TokenTerms> = (0..lp.len())
                    .map(|i| TokenTerms {
                        lp: lp[i],
                        old: s.old_logprobs[i],
                        reference: s.ref_logprobs[i],
                        advantage: s.advantages[i],
                    })
                    .collect();
                let (sm, g) = objective.evaluate(&terms, n);
                sums.add(&sm);
                Ok(g.iter().map(|&x| -x as f32).collect())
            })
            .collect::<Result<Vec<Vec<f32>>>>()?;
        Ok(RlBackward { coef, dvalues })
    })?;
    let mut norms = serde_json::Map::new();
    for p in model.params() {
        let g = p.grad.to_f32(gpu)?;
        norms.insert(p.name.clone(), json!(g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt()));
    }
    let mut out = json!({
        "loss": sums.loss(batch.kl_coef) + value_loss.vf_coef as f64 * vsums.value_loss(),
        "pg_loss": sums.pg_loss(),
        "kl": sums.kl_mean(),
        "clip_frac": sums.clip_frac(),
        "tokens": sums.tokens,
        "grad_norms": norms,
    });
    if batch.value_head.is_some() {
        out["value_loss"] = json!(vsums.value_loss());
        out["values"] = json!(values);
    }
    Ok(out)
}
