//! `greedy bench --train`: training tokens per second of [`TrainModel`] (forward + backward,
//! gradient-norm clip, optimizer step, zero grads) on seeded random token sequences, and the GPU
//! memory per parameter from the model's and the optimizer's own accounting of the tensors they
//! allocated (weights, gradients, optimizer state, activations), cross-checked by wgpu's
//! allocator where the backend reports one. With `--peer PYTHON`, `tools/bench/hf_train_bench.py`
//! (transformers, PyTorch eager, f32) runs the same workload on the same checkpoint in the same
//! run: on CUDA when our adapter is a GPU, on the CPU when it is a CPU adapter (lavapipe), so the
//! two sides always share the silicon.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::Rng;
use gpu_trainer::model::{Config, Weights};
use gpu_trainer::train::optim::{
    AdaFactorConfig, AdamWConfig, GradNorm, Optimizer, OptimizerConfig, StepOutcome,
};
use gpu_trainer::train::{Sequence, TrainModel, TrainOptions};
use gpu_trainer::{Gpu, GpuOptions, Tensor};
use serde_json::{Value, json};

use super::BenchArgs;
use super::inference::{fmt_val, peer_num, peer_script, ratio, run_peer};
use gpu_trainer::train::learner::OptimizerKind;

/// Learning rate of the timed steps (SPEC section 5's peak; the value does not change the cost).
const LR: f64 = 1e-4;
/// Global gradient-norm clip (SPEC section 5).
const MAX_GRAD_NORM: f64 = 1.0;
/// Where the peer script lives, relative to the repository root.
const PEER_SCRIPT: &str = "tools/bench/hf_train_bench.py";

/// Bytes held on the GPU, by what holds them.
#[derive(Clone, Copy, Debug, Default)]
struct Memory {
    /// f32 master weights
    params: u64,
    /// f32 gradients
    grads: u64,
    /// the optimizer's state tensors (moments / factored second moments)
    optimizer: u64,
    /// activations, gradient scratch and logits chunks, sized for the largest step
    activations: u64,
}

impl Memory {
    fn state(&self) -> u64 {
        self.params + self.grads + self.optimizer
    }

    fn total(&self) -> u64 {
        self.state() + self.activations
    }
}

/// Bytes of the buffers behind a tensor (every row part).
fn tensor_bytes(t: &Tensor) -> u64 {
    t.parts().iter().map(|p| p.buffer.size()).sum()
}

/// wgpu's allocator: bytes of all live allocations, where the backend reports them (Vulkan,
/// DX12); None elsewhere.
pub(super) fn device_allocated(gpu: &Gpu) -> Option<u64> {
    gpu.device().generate_allocator_report().map(|r| r.total_allocated_bytes)
}

/// `batch` sequences of `seq_len` ids uniform in [3, vocab) (ids 0..2 are pad/eos/bos, as the
/// peer draws them), every position after the first weighted 1 / (batch * (seq_len - 1)): the
/// mean next-token cross-entropy over the batch, what transformers computes for `labels = ids`.
fn random_batch(rng: &mut Rng, vocab: usize, seq_len: usize, batch: usize) -> Vec<Sequence> {
    let w = 1.0 / (batch * (seq_len - 1)) as f32;
    let lo = 3.min(vocab - 1);
    (0..batch)
        .map(|_| {
            let ids = (0..seq_len).map(|_| (lo + rng.below(vocab - lo)) as u32).collect();
            Sequence::uniform(ids, w)
        })
        .collect()
}

fn check_args(args: &BenchArgs) -> Result<()> {
    if args.seq_len < 2 {
        bail!("--seq-len {}: a training sequence needs at least 2 tokens (one target)", args.seq_len);
    }
    if args.batch == 0 {
        bail!("--batch must be >= 1");
    }
    if args.steps == 0 {
        bail!("--steps must be >= 1 (timed steps)");
    }
    if args.loss_chunk_rows == 0 {
        bail!("--loss-chunk-rows must be >= 1");
    }
    if args.seq_len.checked_mul(args.batch).is_none_or(|n| n > u32::MAX as usize) {
        bail!("--seq-len {} x --batch {}: too many tokens in one step", args.seq_len, args.batch);
    }
    Ok(())
}

/// Runs the training benchmark (and its peer); the report as JSON.
pub fn train_bench(args: &BenchArgs) -> Result<Value> {
    check_args(args)?;
    let dir = args.model.as_ref().context("--train needs --model DIR")?;
    if !dir.join("config.json").is_file() {
        bail!(
            "--model {}: no config.json in it (expected a HuggingFace checkpoint directory)",
            dir.display()
        );
    }
    let gpu = Gpu::with_options(GpuOptions { adapter: args.adapter.clone(), ..GpuOptions::default() })?;
    let info = gpu.adapter_info().clone();
    let base_alloc = device_allocated(&gpu);
    let config = Config::from_dir(dir)?;
    let vocab = config.vocab_size;
    let (layers, hidden) = (config.num_layers, config.hidden_size);
    let t0 = Instant::now();
    let weights = Weights::open_dir(dir)?;
    let opts = TrainOptions {
        checkpointing: args.checkpointing,
        loss_chunk_rows: args.loss_chunk_rows,
        max_tokens: args.seq_len * args.batch,
    };
    let mut model = TrainModel::from_weights(&gpu, config, &weights, opts)
        .with_context(|| format!("loading {} for training", dir.display()))?;
    drop(weights);
    let load_s = t0.elapsed().as_secs_f64();
    let (opt_config, opt_label) = match args.optimizer.unwrap_or(OptimizerKind::Adamw) {
        OptimizerKind::Adamw => (OptimizerConfig::AdamW(AdamWConfig::default()), "adamw"),
        OptimizerKind::Adafactor => (OptimizerConfig::AdaFactor(AdaFactorConfig::default()), "adafactor"),
    };
    let norm = GradNorm::new(&gpu, model.params())?;
    let mut opt = Optimizer::new(&gpu, model.params(), &opt_config)?;
    let num_params: u64 = model.params().iter().map(|p| p.numel() as u64).sum();
    if num_params == 0 {
        bail!("--model {}: no parameters", dir.display());
    }

    let mut rng = Rng::new(0);
    let (mut fb_s, mut opt_s) = (0.0, 0.0);
    let mut peak_alloc = base_alloc;
    let (mut loss, mut tokens_run) = (0.0, 0);
    for step in 0..args.warmup_steps + args.steps {
        let seqs = random_batch(&mut rng, vocab, args.seq_len, args.batch);
        let t = Instant::now();
        // ends with the log-prob readback: the GPU has finished the step when it returns
        let stats = model.forward_backward(&gpu, &seqs).with_context(|| format!("training step {step}"))?;
        let t_fb = t.elapsed().as_secs_f64();
        let grad_stats = norm.compute(&gpu, model.params())?;
        if let StepOutcome::Skipped { reason } =
            opt.step(&gpu, model.params(), LR as f32, &grad_stats, Some(MAX_GRAD_NORM as f32))?
        {
            bail!("training step {step}: the optimizer skipped the update: {reason}");
        }
        model.zero_grads(&gpu)?;
        gpu.wait()?;
        let t_all = t.elapsed().as_secs_f64();
        if step >= args.warmup_steps {
            fb_s += t_fb;
            opt_s += t_all - t_fb;
        }
        (loss, tokens_run) = (stats.loss, stats.tokens);
        peak_alloc = match (peak_alloc, device_allocated(&gpu)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    // one forward alone (log-probs, no gradient), untimed in the throughput: how the step's
    // forward+backward splits
    let seqs = random_batch(&mut rng, vocab, args.seq_len, args.batch);
    let t = Instant::now();
    model.token_logprobs(&gpu, &seqs).context("forward-only step")?;
    let forward_s = t.elapsed().as_secs_f64();
    let steps = args.steps as f64;
    let step_s = (fb_s + opt_s) / steps;
    let tokens_per_step = args.seq_len * args.batch;
    let train_tok_s = tokens_per_step as f64 / step_s;

    let m = model.memory_bytes();
    let mem = Memory {
        params: m.params,
        grads: m.grads,
        optimizer: opt.state_tensors().iter().map(|(_, t)| tensor_bytes(t)).sum(),
        activations: m.activations,
    };
    let per = |b: u64| b as f64 / num_params as f64;
    let alloc = match (peak_alloc, base_alloc) {
        (Some(p), Some(b)) => Some(p.saturating_sub(b)),
        _ => None,
    };
    let cpu_adapter = info.device_type == wgpu::DeviceType::Cpu;
    let host_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lp_threads = std::env::var("LP_NUM_THREADS").ok();
    let ours = json!({
        "adapter": info.name,
        "backend": format!("{:?}", info.backend),
        "device_type": format!("{:?}", info.device_type),
        "host_threads": host_threads,
        "lp_num_threads": lp_threads,
        "model": dir.display().to_string(),
        "params": num_params,
        "layers": layers, "hidden": hidden, "vocab": vocab,
        "seq_len": args.seq_len, "batch": args.batch, "tokens_per_step": tokens_per_step,
        // the model runs each sequence up to its last target's predicting row: seq_len - 1 rows
        "tokens_run_per_step": tokens_run,
        "steps": args.steps, "warmup_steps": args.warmup_steps,
        "optimizer": opt_label, "lr": LR, "max_grad_norm": MAX_GRAD_NORM,
        "checkpointing": args.checkpointing, "loss_chunk_rows": args.loss_chunk_rows,
        "load_s": load_s,
        "step_s": step_s,
        "forward_backward_s": fb_s / steps,
        "forward_only_s": forward_s,
        "optimizer_s": opt_s / steps,
        "train_tok_s": train_tok_s,
        "loss_last": loss,
        "params_bytes": mem.params,
        "grads_bytes": mem.grads,
        "optimizer_bytes": mem.optimizer,
        "activations_bytes": mem.activations,
        "total_bytes": mem.total(),
        "params_bytes_per_param": per(mem.params),
        "grads_bytes_per_param": per(mem.grads),
        "optimizer_bytes_per_param": per(mem.optimizer),
        "state_bytes_per_param": per(mem.state()),
        "activations_bytes_per_param": per(mem.activations),
        "total_bytes_per_param": per(mem.total()),
        "device_allocated_bytes": alloc,
        "device_allocated_bytes_per_param": alloc.map(per),
    });
    let mut report = serde_json::Map::new();
    report.insert("greedy_train".into(), ours);
    if let Some(python) = &args.peer {
        let device = if cpu_adapter { "cpu" } else { "cuda" };
        report
            .insert("peer_hf_train".into(), peer(args, python, dir, device, opt_label, train_tok_s, &info)?);
    }
    Ok(Value::Object(report))
}

/// Runs the PyTorch peer on `device` and reports its figures next to ours.
fn peer(
    args: &BenchArgs,
    python: &Path,
    dir: &Path,
    device: &str,
    optimizer: &str,
    our_tok_s: f64,
    info: &wgpu::AdapterInfo,
) -> Result<Value> {
    let script = peer_script(args, PEER_SCRIPT)?;
    let extra: Vec<String> = [
        dir.display().to_string(),
        "--seq-len".into(),
        args.seq_len.to_string(),
        "--batch".into(),
        args.batch.to_string(),
        "--steps".into(),
        args.steps.to_string(),
        "--warmup".into(),
        args.warmup_steps.to_string(),
        "--optimizer".into(),
        optimizer.into(),
        "--lr".into(),
        LR.to_string(),
        "--max-grad-norm".into(),
        MAX_GRAD_NORM.to_string(),
        "--device".into(),
        device.into(),
    ]
    .into();
    let pairs = match run_peer(python, &script, &extra) {
        Ok(p) => p,
        Err(e) => return Ok(json!({"script": script.display().to_string(), "error": format!("{e:#}")})),
    };
    let text = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let tok_s = peer_num(&pairs, "train_tok_s");
    let params = peer_num(&pairs, "params");
    let per = |k: &str| match (peer_num(&pairs, k), params) {
        (Some(b), Some(p)) if p > 0.0 => json!(b / p),
        _ => Value::Null,
    };
    let peer_device = text("device").unwrap_or_else(|| device.to_string());
    let comparison = super::peer_comparison(device, &peer_device, info);
    Ok(json!({
        "script": script.display().to_string(),
        "device": peer_device,
        "comparison": comparison,
        "params": params,
        "train_tok_s": tok_s,
        "loss_last": peer_num(&pairs, "loss"),
        "peak_mem_bytes": peer_num(&pairs, "peak_mem_bytes"),
        "peak_bytes_per_param": per("peak_mem_bytes"),
        "mem_source": text("mem_source"),
        "params_bytes_per_param": per("param_bytes"),
        "grads_bytes_per_param": per("grad_bytes"),
        "optimizer_bytes_per_param": per("optim_bytes"),
        "train_tok_s_ratio_greedy_over_peer": ratio(our_tok_s, tok_s),
    }))
}

/// The report as a side-by-side table (greedy | PyTorch peer | ratio).
pub fn render(v: &Value) -> String {
    let g = &v["greedy_train"];
    let p = &v["peer_hf_train"];
    let mut out = format!(
        "model     {}: {:.2} M parameters ({} layers, hidden {}, vocab {})\n\
         workload  {} x {} tokens per step ({} rows run: the last position has no target), {} f32 \
         (lr {}, clip {}), {} timed steps after {} warm-up, checkpointing {}\n\
         greedy    {} ({}, {}; {} host threads)\n",
        fmt_val(&g["model"]),
        g["params"].as_f64().unwrap_or(0.0) / 1e6,
        g["layers"],
        g["hidden"],
        g["vocab"],
        g["batch"],
        g["seq_len"],
        g["tokens_run_per_step"],
        fmt_val(&g["optimizer"]),
        g["lr"],
        g["max_grad_norm"],
        g["steps"],
        g["warmup_steps"],
        if g["checkpointing"].as_bool() == Some(true) { "on" } else { "off" },
        fmt_val(&g["adapter"]),
        fmt_val(&g["backend"]),
        fmt_val(&g["device_type"]),
        g["host_threads"],
    );
    let has_peer = p.is_object();
    if has_peer {
        if let Some(e) = p["error"].as_str() {
            out.push_str(&format!("peer      FAILED: {e}\n"));
        } else {
            out.push_str(&format!("peer      PyTorch eager on {}\n", fmt_val(&p["device"])));
        }
    }
    out.push('\n');
    let row = |out: &mut String, label: &str, ours: &Value, theirs: &Value, r: &Value| {
        let cell = |x: &Value| if x.is_null() { "-".to_string() } else { fmt_val(x) };
        out.push_str(&format!("{label:<34} {:>14}", cell(ours)));
        if has_peer {
            out.push_str(&format!(" {:>14} {:>12}", cell(theirs), cell(r)));
        }
        out.push('\n');
    };
    let header = |out: &mut String| {
        out.push_str(&format!("{:<34} {:>14}", "", "greedy"));
        if has_peer {
            out.push_str(&format!(" {:>14} {:>12}", "pytorch", "greedy/peer"));
        }
        out.push('\n');
    };
    let n = Value::Null;
    header(&mut out);
    row(
        &mut out,
        "train tokens/s",
        &g["train_tok_s"],
        &p["train_tok_s"],
        &p["train_tok_s_ratio_greedy_over_peer"],
    );
    row(&mut out, "s per step", &g["step_s"], &n, &n);
    row(&mut out, "  forward+backward", &g["forward_backward_s"], &n, &n);
    row(&mut out, "  clip+optimizer+zero grads", &g["optimizer_s"], &n, &n);
    row(&mut out, "forward alone (one, untimed above)", &g["forward_only_s"], &n, &n);
    row(&mut out, "loss (last step)", &g["loss_last"], &p["loss_last"], &n);
    row(&mut out, "weights bytes/param", &g["params_bytes_per_param"], &p["params_bytes_per_param"], &n);
    row(&mut out, "gradients bytes/param", &g["grads_bytes_per_param"], &p["grads_bytes_per_param"], &n);
    row(
        &mut out,
        "optimizer state bytes/param",
        &g["optimizer_bytes_per_param"],
        &p["optimizer_bytes_per_param"],
        &n,
    );
    row(&mut out, "  weights+grads+state bytes/param", &g["state_bytes_per_param"], &n, &n);
    row(&mut out, "activations bytes/param", &g["activations_bytes_per_param"], &n, &n);
    row(
        &mut out,
        "total bytes/param (peer: peak)",
        &g["total_bytes_per_param"],
        &p["peak_bytes_per_param"],
        &n,
    );
    row(&mut out, "wgpu allocator bytes/param", &g["device_allocated_bytes_per_param"], &n, &n);
    if has_peer && p["error"].is_null() {
        out.push_str(&format!("\npeer memory: {}\n", fmt_val(&p["mem_source"])));
        out.push_str(&format!("comparison: {}\n", fmt_val(&p["comparison"])));
    }
    out
}
