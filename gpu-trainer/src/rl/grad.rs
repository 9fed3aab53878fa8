//! The objective's loss and every parameter's gradient norm on a given batch
//! (`greedy debug rl-grad`): the check of the whole RL backward against PyTorch autograd through
//! transformers (tools/gen_rl_grad_fixtures.py).
//!
//! The batch file: `{"clip_eps": 0.2, "kl_coef": 0.05, "kl_estimator": "k3", "sequences":
//! [{"prompt": [ids], "completion": [ids], "old_logprobs": [...], "ref_logprobs": [...],
//! "advantages": [...]}]}`, one value per completion token in each list (here the advantage may
//! differ per token).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use super::objective::{KlEstimator, Objective, ObjectiveSums, TokenTerms};
use crate::model::{Config, Weights};
use crate::runtime::Gpu;
use crate::train::{Sequence, TrainModel, TrainOptions};

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
    model.forward_backward_with(gpu, &seqs, |lps| {
        lps.iter()
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
            .collect()
    })?;
    let mut norms = serde_json::Map::new();
    for p in model.params() {
        let g = p.grad.to_f32(gpu)?;
        norms.insert(p.name.clone(), json!(g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt()));
    }
    Ok(json!({
        "loss": sums.loss(batch.kl_coef),
        "pg_loss": sums.pg_loss(),
        "kl": sums.kl_mean(),
        "clip_frac": sums.clip_frac(),
        "tokens": sums.tokens,
        "grad_norms": norms,
    }))
}
