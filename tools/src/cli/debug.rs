//! `greedy debug`: inspection tools for the training path. `greedy debug loss-grad` runs one
//! GPU training forward/backward ([`gpu_trainer::train::TrainModel`]) on token ids and prints
//! the loss and every parameter's gradient norm, the numbers to compare with
//! `model(ids, labels=ids).loss.backward()` in transformers.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use gpu_trainer::model::{Config, Weights};
use gpu_trainer::train::{Sequence, TrainModel, TrainOptions};
use gpu_trainer::{Gpu, GpuOptions};
use serde_json::json;

use super::model::parse_ids;

/// `greedy debug` arguments.
#[derive(Debug, Clone, Args)]
pub struct DebugArgs {
    #[command(subcommand)]
    pub command: DebugCommand,
}

/// The `greedy debug` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum DebugCommand {
    /// Loss (mean next-token cross-entropy, as transformers' `labels=input_ids`) and every
    /// parameter's gradient norm, from one GPU forward/backward.
    LossGrad(LossGradArgs),
    /// The RLFT objective (clipped ratio, k1/k3 KL, token-mean) on a batch file: loss, its terms
    /// and every parameter's gradient norm, from one GPU forward/backward.
    RlGrad(RlGradArgs),
}

/// `greedy debug rl-grad` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = RL_GRAD_EXAMPLES)]
pub struct RlGradArgs {
    /// Model directory: config.json and *.safetensors.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The batch: `{"clip_eps", "kl_coef", "kl_estimator": "k1"|"k3", "sequences": [{"prompt",
    /// "completion", "old_logprobs", "ref_logprobs", "advantages"}]}` (one value per completion
    /// token in each list).
    #[arg(long, value_name = "FILE.json")]
    pub batch: PathBuf,
    /// GPU adapter: index or name substring (see GREEDY_ADAPTER).
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
    /// JSON on stdout: `{"loss", "pg_loss", "kl", "clip_frac", "grad_norms": {name: norm}}`.
    #[arg(long)]
    pub json: bool,
}

const RL_GRAD_EXAMPLES: &str = "\
Examples:
  greedy debug rl-grad --model gpu-trainer/tests/fixtures/gemma2_tiny_f32 \\
      --batch gpu-trainer/tests/fixtures/rl/gemma2_tiny_f32.batch.json --json

Compared with PyTorch autograd through transformers by gpu-trainer/tests/rl_grad.rs (fixtures made
by tools/gen_rl_grad_fixtures.py).";

/// `greedy debug loss-grad` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = LOSS_GRAD_EXAMPLES)]
pub struct LossGradArgs {
    /// Model directory: config.json and *.safetensors (or model.safetensors.index.json).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Token ids of the sequence, comma-separated (at least 2).
    #[arg(long, value_name = "IDS")]
    pub ids: String,
    /// Recompute each layer's activations in the backward (same gradients, less memory).
    #[arg(long)]
    pub checkpointing: bool,
    /// GPU adapter: index or name substring (see GREEDY_ADAPTER).
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
    /// JSON on stdout: `{"loss": x, "grad_norms": {"<HF name>": norm, ...}}`.
    #[arg(long)]
    pub json: bool,
}

const LOSS_GRAD_EXAMPLES: &str = "\
Examples:
  greedy debug loss-grad --model gpu-trainer/tests/fixtures/gemma2_tiny_f32 --ids 2,17,5,90,3 --json
  greedy debug loss-grad --model models/gemma-3-270m --ids 2,651,6037,576,6081 --checkpointing";

/// Runs `greedy debug ...`; returns what to print.
pub fn run(args: &DebugArgs) -> Result<String> {
    match &args.command {
        DebugCommand::LossGrad(a) => loss_grad(a),
        DebugCommand::RlGrad(a) => rl_grad(a),
    }
}

/// Loss and (HF name, gradient L2 norm) of every parameter, in checkpoint order.
pub fn loss_and_grad_norms(
    dir: &Path,
    ids: &str,
    checkpointing: bool,
    adapter: Option<String>,
) -> Result<(f64, Vec<(String, f64)>)> {
    if !dir.join("config.json").is_file() {
        bail!(
            "--model {}: no config.json in it (expected a HuggingFace checkpoint directory)",
            dir.display()
        );
    }
    let config = Config::from_dir(dir)?;
    let ids = parse_ids(ids, config.vocab_size)?;
    if ids.len() < 2 {
        bail!("--ids needs at least 2 token ids (the loss predicts each token from the ones before it)");
    }
    let weights = Weights::open_dir(dir)?;
    let gpu = Gpu::with_options(GpuOptions { adapter, ..Default::default() })?;
    let opts = TrainOptions { checkpointing, max_tokens: ids.len(), ..Default::default() };
    let mut model = TrainModel::from_weights(&gpu, config, &weights, opts)
        .with_context(|| format!("loading {} for training", dir.display()))?;
    let n = ids.len();
    let stats = model.forward_backward(&gpu, &[Sequence::uniform(ids, 1.0 / (n - 1) as f32)])?;
    let mut norms = Vec::with_capacity(model.params().len());
    for p in model.params() {
        let g = p.grad.to_f32(&gpu)?;
        norms.push((p.name.clone(), g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt()));
    }
    Ok((stats.loss, norms))
}

fn loss_grad(a: &LossGradArgs) -> Result<String> {
    let (loss, norms) = loss_and_grad_norms(&a.model, &a.ids, a.checkpointing, a.adapter.clone())?;
    if a.json {
        let map: serde_json::Map<String, serde_json::Value> =
            norms.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
        return Ok(serde_json::to_string(&json!({"loss": loss, "grad_norms": map}))? + "\n");
    }
    let width = norms.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out =
        format!("loss {loss:.6}  (mean next-token cross-entropy)\n\n{:<width$}  grad norm\n", "parameter");
    for (n, v) in &norms {
        out.push_str(&format!("{n:<width$}  {v:.6e}\n"));
    }
    Ok(out)
}

fn rl_grad(a: &RlGradArgs) -> Result<String> {
    if !a.model.join("config.json").is_file() {
        bail!(
            "--model {}: no config.json in it (expected a HuggingFace checkpoint directory)",
            a.model.display()
        );
    }
    let batch = gpu_trainer::rl::grad::GradBatch::read(&a.batch)?;
    let gpu = Gpu::with_options(GpuOptions { adapter: a.adapter.clone(), ..Default::default() })?;
    let v = gpu_trainer::rl::grad::rl_grad(&gpu, &a.model, &batch)
        .with_context(|| format!("--model {}", a.model.display()))?;
    if a.json {
        return Ok(serde_json::to_string(&v)? + "\n");
    }
    let mut out = format!(
        "loss {:.6}  pg_loss {:.6}  kl {:.6}  clip_frac {:.4}  ({} completion tokens)\n\n",
        v["loss"].as_f64().unwrap_or(f64::NAN),
        v["pg_loss"].as_f64().unwrap_or(f64::NAN),
        v["kl"].as_f64().unwrap_or(f64::NAN),
        v["clip_frac"].as_f64().unwrap_or(f64::NAN),
        v["tokens"]
    );
    if let Some(m) = v["grad_norms"].as_object() {
        let width = m.keys().map(String::len).max().unwrap_or(0);
        out.push_str(&format!("{:<width$}  grad norm\n", "parameter"));
        for (n, g) in m {
            out.push_str(&format!("{n:<width$}  {:.6e}\n", g.as_f64().unwrap_or(f64::NAN)));
        }
    }
    Ok(out)
}
