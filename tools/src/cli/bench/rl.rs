//! `greedy bench --rl`: what one update of `greedy train rl` costs when a rollout feeds exactly
//! one update, through the library's own code paths:
//!
//! 1. generation: `--batch` seeded random prompts of `--prompt-len` token ids, `--new-tokens`
//!    sampled at temperature 1 (no top-k / top-p) from the learner's LIVE weights
//!    ([`GpuLearner::engine`]), with each token's log-prob (the old log-probs) and entropy, as a
//!    rollout samples. No id stops a sequence (the stop list holds only `u32::MAX`), so every
//!    sequence runs the whole budget, as the peer's `min_new_tokens = max_new_tokens` does;
//! 2. reference: the frozen start in bf16 on the same GPU scores every completion token
//!    ([`Engine::load_shared`] + [`Engine::score_tokens`]);
//! 3. learning: one [`update`] (the clipped objective with k3 KL, beta 0.05, eps 0.2; the whole
//!    batch in one micro-batch; gradient clip 1.0; AdaFactor or AdamW at lr 1e-4) on the samples,
//!    advantages seeded standard-normal draws normalised over the batch.
//!
//! It reports env-steps/s (samples/s: one sample is one environment step of a rollout),
//! updates/hour, the split of the time between the three phases, generated tokens/s, and the GPU
//! memory per parameter by what holds it (policy weights, gradients, optimizer state, reference,
//! KV caches, activations), cross-checked by wgpu's allocator where the backend reports one.
//! Not measured: the environments, prompt rendering and tokenization of a real rollout (cheap
//! next to the model: see `greedy bench --env`), evaluations and checkpoints.
//!
//! With `--peer PYTHON`, `tools/bench/hf_rl_bench.py` (transformers `generate`, a bf16 reference
//! copy, the same loss and optimizer in PyTorch eager) runs the same workload on the same
//! checkpoint in the same run: on CUDA when our adapter is a GPU, on the CPU when it is a CPU
//! adapter (lavapipe), as `greedy bench --train --peer` decides.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::Rng;
use gpu_trainer::generate::{Engine, EngineMemory, GenerateOptions, WeightDType};
use gpu_trainer::model::Config;
use gpu_trainer::rl::advantage::mean_std;
use gpu_trainer::rl::samples::Sample;
use gpu_trainer::rl::update::{UpdateStats, update};
use gpu_trainer::rl::{KlEstimator, Objective};
use gpu_trainer::train::learner::{GpuLearner, LearnerSettings, OptimSettings, OptimizerKind};
use gpu_trainer::{Gpu, GpuOptions};
use serde_json::{Value, json};

use super::BenchArgs;
use super::inference::{fmt_val, peer_script, peer_stdout};
use super::train::device_allocated;

/// Learning rate (SPEC section 5's peak; constant here: the value does not change the cost).
const LR: f64 = 1e-4;
/// Global gradient-norm clip (SPEC section 5).
const MAX_GRAD_NORM: f64 = 1.0;
/// The PPO clip range epsilon (SPEC section 5).
const CLIP_EPS: f64 = 0.2;
/// The KL coefficient beta (SPEC section 5).
const KL_COEF: f64 = 0.05;
/// The objective of SPEC section 5 with `greedy train rl`'s default KL estimator.
const OBJECTIVE: Objective =
    Objective { clip_eps: CLIP_EPS as f32, kl_coef: KL_COEF as f32, kl: KlEstimator::K3 };
/// Where the peer script lives, relative to the repository root.
const PEER_SCRIPT: &str = "tools/bench/hf_rl_bench.py";
/// Seed of the prompts, the advantages and the sampling.
const SEED: u64 = 0;

/// The workload of one measured RL step.
#[derive(Clone, Copy, Debug)]
struct Workload {
    /// Samples per update (= prompts generated together).
    batch: usize,
    /// Tokens per prompt.
    prompt_len: usize,
    /// Tokens generated per prompt.
    new_tokens: usize,
}

impl Workload {
    fn of(args: &BenchArgs) -> Workload {
        Workload { batch: args.batch, prompt_len: args.prompt_len, new_tokens: args.new_tokens }
    }

    /// Prompt + completion tokens of one sample.
    fn seq_len(&self) -> usize {
        self.prompt_len + self.new_tokens
    }

    /// Tokens generated per step.
    fn generated(&self) -> usize {
        self.batch * self.new_tokens
    }
}

/// Seconds spent in each phase (summed over steps, or of one step).
#[derive(Clone, Copy, Debug, Default)]
struct Phases {
    generate: f64,
    reference: f64,
    learn: f64,
}

impl Phases {
    fn total(&self) -> f64 {
        self.generate + self.reference + self.learn
    }

    fn add(&mut self, o: &Phases) {
        self.generate += o.generate;
        self.reference += o.reference;
        self.learn += o.learn;
    }

    fn scaled(&self, k: f64) -> Phases {
        Phases { generate: self.generate * k, reference: self.reference * k, learn: self.learn * k }
    }
}

/// GPU bytes by what holds them, after the steps (every buffer is sized for the largest step).
#[derive(Clone, Copy, Debug, Default)]
struct RlMemory {
    /// The policy's f32 master weights (the generation engine reads the same buffers).
    policy: u64,
    /// f32 gradients.
    grads: u64,
    /// The optimizer's state tensors.
    optimizer: u64,
    /// The bf16 reference model's weights.
    reference: u64,
    /// The generation engine's KV cache (f32, as allocated).
    kv_cache: u64,
    /// The reference engine's KV cache while scoring (as allocated).
    reference_kv_cache: u64,
    /// The training forward/backward's activations, gradient scratch and logits chunks.
    learn_activations: u64,
    /// The generation engine's activation workspace.
    generation_workspace: u64,
    /// The reference engine's activation workspace.
    reference_workspace: u64,
}

impl RlMemory {
    fn of(learner: &GpuLearner, policy: &EngineMemory, reference: &EngineMemory) -> RlMemory {
        let m = learner.model().memory_bytes();
        let optimizer = learner
            .optimizer()
            .state_tensors()
            .iter()
            .map(|(_, t)| t.parts().iter().map(|p| p.buffer.size()).sum::<u64>())
            .sum();
        RlMemory {
            policy: m.params,
            grads: m.grads,
            optimizer,
            reference: reference.weights,
            kv_cache: policy.kv_cache,
            reference_kv_cache: reference.kv_cache,
            learn_activations: m.activations,
            generation_workspace: policy.workspace,
            reference_workspace: reference.workspace,
        }
    }

    /// Weights, gradients and optimizer state of the policy (the goal: at most 16 B/param).
    fn policy_state(&self) -> u64 {
        self.policy + self.grads + self.optimizer
    }

    /// KV caches and activation buffers of all three phases.
    fn transient(&self) -> u64 {
        self.kv_cache
            + self.reference_kv_cache
            + self.learn_activations
            + self.generation_workspace
            + self.reference_workspace
    }

    fn total(&self) -> u64 {
        self.policy_state() + self.reference + self.transient()
    }

    /// `(name, bytes)` of every figure, in report order.
    fn named(&self) -> [(&'static str, u64); 12] {
        [
            ("policy", self.policy),
            ("grads", self.grads),
            ("optimizer", self.optimizer),
            ("policy_state", self.policy_state()),
            ("reference", self.reference),
            ("kv_cache", self.kv_cache),
            ("reference_kv_cache", self.reference_kv_cache),
            ("learn_activations", self.learn_activations),
            ("generation_workspace", self.generation_workspace),
            ("reference_workspace", self.reference_workspace),
            ("transient", self.transient()),
            ("total", self.total()),
        ]
    }
}

/// What the timed steps measured.
struct Measured {
    /// Mean seconds per step, by phase.
    per_step: Phases,
    /// The last step's update.
    last: UpdateStats,
    /// Mean entropy (nats) of the last step's generated tokens.
    entropy: f64,
    /// Largest |lp - old| over every timed step's generated tokens (generation vs training forward).
    old_gap_max: f64,
    /// wgpu's allocator, most bytes seen after a step (None: the backend reports none).
    peak_allocated: Option<u64>,
}

/// Refuses arguments no RL step can run with, naming the flag.
fn check_args(args: &BenchArgs) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be >= 1 (samples per update)");
    }
    if args.prompt_len == 0 {
        bail!("--prompt-len must be >= 1 (a completion needs a token to follow)");
    }
    if args.new_tokens == 0 {
        bail!("--new-tokens must be >= 1 (the objective has no token to train on without one)");
    }
    if args.steps == 0 {
        bail!("--steps must be >= 1 (timed steps)");
    }
    if args.loss_chunk_rows == 0 {
        bail!("--loss-chunk-rows must be >= 1");
    }
    let w = Workload::of(args);
    if w.prompt_len
        .checked_add(w.new_tokens)
        .and_then(|n| n.checked_mul(w.batch))
        .is_none_or(|n| n > u32::MAX as usize)
    {
        bail!(
            "--batch {} x (--prompt-len {} + --new-tokens {}): too many tokens in one step",
            w.batch,
            w.prompt_len,
            w.new_tokens
        );
    }
    Ok(())
}

/// Refuses a workload longer than the model's context.
fn check_context(config: &Config, w: &Workload) -> Result<()> {
    if let Some(ctx) = config.max_position_embeddings
        && w.seq_len() > ctx
    {
        bail!(
            "--prompt-len {} + --new-tokens {} = {} tokens: past the model's context of {ctx} tokens \
             (max_position_embeddings)",
            w.prompt_len,
            w.new_tokens,
            w.seq_len()
        );
    }
    Ok(())
}

/// `batch` prompts of `len` ids uniform in [3, vocab) (ids 0..2 are pad/eos/bos, as the train
/// bench and the peers draw them).
fn random_prompts(rng: &mut Rng, vocab: usize, batch: usize, len: usize) -> Vec<Vec<u32>> {
    let lo = 3.min(vocab - 1);
    (0..batch).map(|_| (0..len).map(|_| (lo + rng.below(vocab - lo)) as u32).collect()).collect()
}

/// `batch` standard-normal draws normalised to mean 0, std 1 over the batch (a single sample
/// gets +1: normalising one value leaves nothing).
fn random_advantages(rng: &mut Rng, batch: usize) -> Vec<f32> {
    if batch == 1 {
        return vec![1.0];
    }
    let xs: Vec<f64> = (0..batch).map(|_| rng.normal(0.0, 1.0)).collect();
    let (mean, std) = mean_std(&xs);
    xs.iter().map(|x| ((x - mean) / (std + 1e-8)) as f32).collect()
}

/// The rollout's sampling: temperature 1 over the whole vocabulary, per-token log-probs and
/// entropies, and no stop id (every sequence runs `new_tokens`).
fn sampling(new_tokens: usize, step: usize) -> GenerateOptions {
    GenerateOptions {
        max_new_tokens: new_tokens,
        temperature: 1.0,
        top_k: None,
        top_p: None,
        seed: SEED.wrapping_add(step as u64),
        stop_ids: vec![u32::MAX],
        entropy: true,
    }
}

/// The engines and the learner of a run, on one GPU.
struct Models {
    learner: GpuLearner,
    policy: Engine,
    reference: Engine,
}

/// One RL step: generate, score with the reference, update. Returns the phases' seconds, the
/// update's statistics and the mean entropy of the generated tokens.
fn rl_step(m: &mut Models, w: &Workload, rng: &mut Rng, step: usize) -> Result<(Phases, UpdateStats, f64)> {
    let vocab = m.learner.model().config().vocab_size;
    let prompts = random_prompts(rng, vocab, w.batch, w.prompt_len);
    let advantages = random_advantages(rng, w.batch);

    let t = Instant::now();
    let gens = m.policy.generate(&prompts, &sampling(w.new_tokens, step)).context("generation")?;
    let generate = t.elapsed().as_secs_f64();
    let mut samples = Vec::with_capacity(w.batch);
    let mut entropy = 0.0;
    for (b, ((prompt, g), &advantage)) in prompts.iter().zip(&gens).zip(&advantages).enumerate() {
        if g.ids.len() != w.new_tokens || g.logprobs.len() != w.new_tokens {
            bail!("generation: sequence {b} has {} tokens, not the budget of {}", g.ids.len(), w.new_tokens);
        }
        entropy += g.entropies.iter().map(|&e| e as f64).sum::<f64>();
        samples.push(sample(prompt, &g.ids, &g.logprobs, advantage, b));
    }
    entropy /= w.generated() as f64;

    let t = Instant::now();
    let pairs: Vec<(Vec<u32>, usize)> = samples.iter().map(|s| (s.ids.clone(), s.prompt_len)).collect();
    for (s, lp) in samples.iter_mut().zip(m.reference.score_tokens(&pairs).context("reference log-probs")?) {
        s.reference = lp;
    }
    let reference = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let batch: Vec<&Sample> = samples.iter().collect();
    let stats = update(&mut m.learner, &batch, w.batch, &OBJECTIVE, None, false, LR).context("update")?;
    m.learner.gpu().wait()?; // the optimizer step has finished on the GPU
    let learn = t.elapsed().as_secs_f64();
    if let Some(why) = &stats.skipped {
        bail!("step {step}: the update was skipped: {why}");
    }
    Ok((Phases { generate, reference, learn }, stats, entropy))
}

/// The training sample of one generated sequence (a budget-cut completion: `stopped` false;
/// the bench keeps it in the loss, `mask_truncated` off).
fn sample(prompt: &[u32], ids: &[u32], old: &[f32], advantage: f32, b: usize) -> Sample {
    Sample {
        ids: [prompt, ids].concat(),
        prompt_len: prompt.len(),
        old: old.to_vec(),
        reference: Vec::new(),
        advantage,
        value: None,
        value_target: None,
        env_reward: 0.0,
        reward: 0.0,
        invalid: false,
        new_action: false,
        forced: false,
        stopped: false,
        entropy: None,
        episode: b,
        t: 0,
    }
}

/// The warm-up and timed steps.
fn measure(m: &mut Models, w: &Workload, args: &BenchArgs, base_alloc: Option<u64>) -> Result<Measured> {
    let mut rng = Rng::new(SEED);
    let mut sum = Phases::default();
    let mut peak_allocated = base_alloc;
    let mut old_gap_max = 0f64;
    let mut last = None;
    for step in 0..args.warmup_steps + args.steps {
        let (phases, stats, entropy) =
            rl_step(m, w, &mut rng, step).with_context(|| format!("RL step {step}"))?;
        peak_allocated = match (peak_allocated, device_allocated(m.learner.gpu())) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if step >= args.warmup_steps {
            sum.add(&phases);
            old_gap_max = old_gap_max.max(stats.old_gap_max);
        }
        last = Some((stats, entropy));
    }
    let (last, entropy) = last.context("no step ran")?;
    Ok(Measured { per_step: sum.scaled(1.0 / args.steps as f64), last, entropy, old_gap_max, peak_allocated })
}

/// Loads the learner (f32 policy + optimizer), the engine over its live weights and the bf16
/// reference, all on one GPU.
fn load(gpu: Arc<Gpu>, dir: &Path, w: &Workload, args: &BenchArgs, kind: OptimizerKind) -> Result<Models> {
    let settings = LearnerSettings {
        optim: OptimSettings {
            kind,
            lr: LR,
            warmup: 0,
            min_lr: LR,
            clip: Some(MAX_GRAD_NORM),
            weight_decay: 0.0,
        },
        max_tokens: w.batch * w.seq_len(),
        loss_chunk_rows: args.loss_chunk_rows,
        checkpointing: args.checkpointing,
        value_head: false,
    };
    let learner = GpuLearner::open_on(Arc::clone(&gpu), dir, &settings, false)?;
    let mut policy = learner.engine()?;
    // fresh prompts every step: nothing to reuse, and each step prefills its whole prompts as
    // the peer does
    policy.set_prefix_cache(false);
    let reference = Engine::load_shared(gpu, dir, WeightDType::BF16)
        .with_context(|| format!("loading the reference model {}", dir.display()))?;
    Ok(Models { learner, policy, reference })
}

/// The optimizer of `--optimizer` (AdaFactor by default: the paper's).
fn optimizer(args: &BenchArgs) -> (OptimizerKind, &'static str) {
    match args.optimizer.unwrap_or(OptimizerKind::Adafactor) {
        OptimizerKind::Adamw => (OptimizerKind::Adamw, "adamw"),
        OptimizerKind::Adafactor => (OptimizerKind::Adafactor, "adafactor"),
    }
}

/// Runs the RL benchmark (and its peer); the report as JSON.
pub fn rl_bench(args: &BenchArgs) -> Result<Value> {
    check_args(args)?;
    let dir = args.model.as_ref().context("--rl needs --model DIR")?;
    if !dir.join("config.json").is_file() {
        bail!(
            "--model {}: no config.json in it (expected a HuggingFace checkpoint directory)",
            dir.display()
        );
    }
    let w = Workload::of(args);
    let config = Config::from_dir(dir)?;
    check_context(&config, &w)?;
    let (kind, opt_label) = optimizer(args);
    let gpu =
        Arc::new(Gpu::with_options(GpuOptions { adapter: args.adapter.clone(), ..GpuOptions::default() })?);
    let info = gpu.adapter_info().clone();
    let base_alloc = device_allocated(&gpu);
    let t0 = Instant::now();
    let mut models = load(Arc::clone(&gpu), dir, &w, args, kind)?;
    let load_s = t0.elapsed().as_secs_f64();
    let num_params: u64 = models.learner.model().params().iter().map(|p| p.numel() as u64).sum();
    if num_params == 0 {
        bail!("--model {}: no parameters", dir.display());
    }
    let measured = measure(&mut models, &w, args, base_alloc)?;
    let mem = RlMemory::of(&models.learner, &models.policy.memory_bytes(), &models.reference.memory_bytes());
    let alloc = match (measured.peak_allocated, base_alloc) {
        (Some(p), Some(b)) => Some(p.saturating_sub(b)),
        _ => None,
    };
    let ours = report(&Report {
        args,
        w: &w,
        dir,
        config: &config,
        info: &info,
        num_params,
        optimizer: opt_label,
        load_s,
        measured: &measured,
        mem: &mem,
        alloc,
    });
    let mut out = serde_json::Map::new();
    out.insert("greedy_rl".into(), ours);
    if let Some(python) = &args.peer {
        let device = if info.device_type == wgpu::DeviceType::Cpu { "cpu" } else { "cuda" };
        let ours = &out["greedy_rl"];
        let peer = peer(args, python, dir, device, opt_label, ours, &info);
        out.insert("peer_hf_rl".into(), peer);
    }
    Ok(Value::Object(out))
}

/// What goes into our side of the report.
struct Report<'a> {
    args: &'a BenchArgs,
    w: &'a Workload,
    dir: &'a Path,
    config: &'a Config,
    info: &'a wgpu::AdapterInfo,
    num_params: u64,
    optimizer: &'static str,
    load_s: f64,
    measured: &'a Measured,
    mem: &'a RlMemory,
    alloc: Option<u64>,
}

/// Our side of the report as JSON.
fn report(r: &Report) -> Value {
    let (w, m, c) = (r.w, r.measured, r.config);
    let p = &m.per_step;
    let step_s = p.total();
    let share = |s: f64| if step_s > 0.0 { s / step_s } else { 0.0 };
    let per = |b: u64| b as f64 / r.num_params as f64;
    let u = &m.last;
    let mut v = json!({
        "adapter": r.info.name,
        "backend": format!("{:?}", r.info.backend),
        "device_type": format!("{:?}", r.info.device_type),
        "host_threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "lp_num_threads": std::env::var("LP_NUM_THREADS").ok(),
        "model": r.dir.display().to_string(),
        "params": r.num_params,
        "layers": c.num_layers, "hidden": c.hidden_size, "vocab": c.vocab_size,
        "num_kv_heads": c.num_kv_heads, "head_dim": c.head_dim,
        "batch": w.batch, "prompt_len": w.prompt_len, "new_tokens": w.new_tokens,
        "steps": r.args.steps, "warmup_steps": r.args.warmup_steps,
        "optimizer": r.optimizer, "lr": LR, "max_grad_norm": MAX_GRAD_NORM,
        "clip_eps": CLIP_EPS, "kl_coef": KL_COEF, "kl": OBJECTIVE.kl.name(),
        "policy_dtype": "f32", "reference_dtype": "bf16",
        "checkpointing": r.args.checkpointing, "loss_chunk_rows": r.args.loss_chunk_rows,
        "load_s": r.load_s,
    });
    // two objects: one would pass serde_json's macro recursion limit
    let times = json!({
        "step_s": step_s,
        "generate_s": p.generate, "reference_s": p.reference, "learn_s": p.learn,
        "generate_share": share(p.generate), "reference_share": share(p.reference), "learn_share": share(p.learn),
        "env_steps_per_s": w.batch as f64 / step_s,
        "updates_per_hour": 3600.0 / step_s,
        "gen_tok_s": w.generated() as f64 / p.generate,
        "learn_tok_s": (w.batch * w.seq_len()) as f64 / p.learn,
        "generated_tokens_per_step": w.generated(),
        "loss": u.sums.loss(OBJECTIVE.kl_coef), "pg_loss": u.sums.pg_loss(), "kl_mean": u.sums.kl_mean(),
        "clip_frac": u.sums.clip_frac(), "ratio_mean": u.sums.ratio_mean(), "grad_norm": u.grad_norm,
        "completion_tokens": u.sums.tokens, "entropy": m.entropy,
        "old_logprob_gap_max": m.old_gap_max,
        "device_allocated_bytes": r.alloc,
        "device_allocated_bytes_per_param": r.alloc.map(per),
    });
    if let (Some(obj), Value::Object(times)) = (v.as_object_mut(), times) {
        obj.extend(times);
        for (name, bytes) in r.mem.named() {
            obj.insert(format!("{name}_bytes"), json!(bytes));
            obj.insert(format!("{name}_bytes_per_param"), json!(per(bytes)));
        }
        // the goal: policy at most 16 B/param, reference at most 2 B/param (+ activations)
        let goal = per(r.mem.policy_state()) <= 16.0 && per(r.mem.reference) <= 2.0;
        obj.insert("memory_goal_met".into(), json!(goal));
    }
    v
}

/// Runs the PyTorch peer on `device`; its figures next to ours with the ratios, or the error
/// (a failing peer does not fail the bench).
fn peer(
    args: &BenchArgs,
    python: &Path,
    dir: &Path,
    device: &str,
    optimizer: &str,
    ours: &Value,
    info: &wgpu::AdapterInfo,
) -> Value {
    let script = match peer_script(args, PEER_SCRIPT) {
        Ok(s) => s,
        Err(e) => return json!({"error": format!("{e:#}")}),
    };
    let extra = peer_args(args, dir, device, optimizer);
    let raw = peer_stdout(python, &script, &extra).and_then(|text| parse_peer(&text));
    match raw {
        Ok(raw) => compare(&raw, ours, device, info, &script),
        Err(e) => json!({"script": script.display().to_string(), "error": format!("{e:#}")}),
    }
}

/// The peer's command line: the same workload, optimizer and objective.
fn peer_args(args: &BenchArgs, dir: &Path, device: &str, optimizer: &str) -> Vec<String> {
    let mut v = vec![dir.display().to_string()];
    let pairs: [(&str, String); 11] = [
        ("--batch", args.batch.to_string()),
        ("--prompt-len", args.prompt_len.to_string()),
        ("--new-tokens", args.new_tokens.to_string()),
        ("--steps", args.steps.to_string()),
        ("--warmup", args.warmup_steps.to_string()),
        ("--optimizer", optimizer.into()),
        ("--lr", LR.to_string()),
        ("--max-grad-norm", MAX_GRAD_NORM.to_string()),
        ("--clip-eps", CLIP_EPS.to_string()),
        ("--kl-coef", KL_COEF.to_string()),
        ("--device", device.into()),
    ];
    for (k, val) in pairs {
        v.push(k.into());
        v.push(val);
    }
    v
}

/// The peer's report: the last line of its output that is a JSON object.
fn parse_peer(text: &str) -> Result<Value> {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .context("the peer printed no JSON object")?;
    let v: Value =
        serde_json::from_str(line).with_context(|| format!("the peer's report is not JSON: {line}"))?;
    if !v.is_object() {
        bail!("the peer's report is not a JSON object: {line}");
    }
    Ok(v)
}

/// `ours / theirs`, null when either is missing or not positive.
fn ratio(ours: &Value, theirs: &Value) -> Value {
    match (ours.as_f64(), theirs.as_f64()) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => json!(a / b),
        _ => Value::Null,
    }
}

/// The peer's figures (bytes per parameter from its own parameter count) with the ratios
/// greedy / peer of the rates and the speed-ups peer seconds / greedy seconds of the phases
/// (above 1: greedy is faster).
fn compare(raw: &Value, ours: &Value, device: &str, info: &wgpu::AdapterInfo, script: &Path) -> Value {
    let params = raw["params"].as_f64().filter(|&p| p > 0.0);
    let per = |k: &str| match (raw[k].as_f64(), params) {
        (Some(b), Some(p)) => json!(b / p),
        _ => Value::Null,
    };
    let peer_device = raw["device"].as_str().unwrap_or(device).to_string();
    let comparison = super::peer_comparison(device, &peer_device, info);
    let mut v = json!({
        "script": script.display().to_string(),
        "device": peer_device,
        "comparison": comparison,
        "mem_source": raw["mem_source"],
        "env_steps_per_s_ratio_greedy_over_peer": ratio(&ours["env_steps_per_s"], &raw["env_steps_per_s"]),
        "updates_per_hour_ratio_greedy_over_peer": ratio(&ours["updates_per_hour"], &raw["updates_per_hour"]),
        "gen_tok_s_ratio_greedy_over_peer": ratio(&ours["gen_tok_s"], &raw["gen_tok_s"]),
        "generate_speedup": ratio(&raw["generate_s"], &ours["generate_s"]),
        "reference_speedup": ratio(&raw["reference_s"], &ours["reference_s"]),
        "learn_speedup": ratio(&raw["learn_s"], &ours["learn_s"]),
    });
    let passed = [
        "params",
        "step_s",
        "generate_s",
        "reference_s",
        "learn_s",
        "generate_share",
        "reference_share",
        "learn_share",
        "env_steps_per_s",
        "updates_per_hour",
        "gen_tok_s",
        "loss",
        "kl_mean",
        "clip_frac",
        "entropy",
        "peak_mem_bytes",
    ];
    let bytes = ["param", "grad", "optim", "reference", "kv_cache", "peak_mem"];
    if let Some(obj) = v.as_object_mut() {
        for k in passed {
            obj.insert(k.into(), raw[k].clone());
        }
        for k in bytes {
            obj.insert(format!("{k}_bytes_per_param"), per(&format!("{k}_bytes")));
        }
        obj.insert("report".into(), raw.clone());
    }
    v
}

/// The report as a side-by-side table (greedy | PyTorch peer | greedy/peer).
pub fn render(v: &Value) -> String {
    let g = &v["greedy_rl"];
    let p = &v["peer_hf_rl"];
    let has_peer = p.is_object();
    let mut out = header(g, p);
    let n = Value::Null;
    let row = |out: &mut String, label: &str, ours: &Value, theirs: &Value, r: &Value| {
        let cell = |x: &Value| match x.as_f64() {
            // a loss or a KL near 0 would read 0.00: three significant digits instead
            Some(f) if x.is_f64() && f != 0.0 && f.abs() < 0.01 => format!("{f:.2e}"),
            _ => fmt_val(x),
        };
        out.push_str(&format!("{label:<36} {:>14}", cell(ours)));
        if has_peer {
            out.push_str(&format!(" {:>14} {:>12}", cell(theirs), cell(r)));
        }
        out.push('\n');
    };
    out.push_str(&format!("{:<36} {:>14}", "", "greedy"));
    if has_peer {
        out.push_str(&format!(" {:>14} {:>12}", "pytorch", "greedy/peer"));
    }
    out.push('\n');
    row(
        &mut out,
        "env-steps/s (samples/s)",
        &g["env_steps_per_s"],
        &p["env_steps_per_s"],
        &p["env_steps_per_s_ratio_greedy_over_peer"],
    );
    row(
        &mut out,
        "updates/hour",
        &g["updates_per_hour"],
        &p["updates_per_hour"],
        &p["updates_per_hour_ratio_greedy_over_peer"],
    );
    row(
        &mut out,
        "generated tokens/s",
        &g["gen_tok_s"],
        &p["gen_tok_s"],
        &p["gen_tok_s_ratio_greedy_over_peer"],
    );
    row(&mut out, "s per RL step", &g["step_s"], &p["step_s"], &n);
    for (label, k, speedup) in [
        ("  generation s (speed-up)", "generate", "generate_speedup"),
        ("  reference log-probs s (speed-up)", "reference", "reference_speedup"),
        ("  learning s (speed-up)", "learn", "learn_speedup"),
    ] {
        row(&mut out, label, &g[format!("{k}_s")], &p[format!("{k}_s")], &p[speedup]);
    }
    for (label, k) in [
        ("  generation share", "generate"),
        ("  reference share", "reference"),
        ("  learning share", "learn"),
    ] {
        row(&mut out, label, &g[format!("{k}_share")], &p[format!("{k}_share")], &n);
    }
    row(&mut out, "loss (last step)", &g["loss"], &p["loss"], &n);
    row(&mut out, "KL to reference (k3, token mean)", &g["kl_mean"], &p["kl_mean"], &n);
    row(&mut out, "entropy per generated token", &g["entropy"], &p["entropy"], &n);
    out.push_str("bytes per parameter\n");
    for (label, ours, theirs) in [
        ("  policy weights (f32)", "policy", "param"),
        ("  gradients", "grads", "grad"),
        ("  optimizer state", "optimizer", "optim"),
        ("  reference weights (bf16)", "reference", "reference"),
        ("  KV cache (generation)", "kv_cache", "kv_cache"),
        ("  KV cache (reference scoring)", "reference_kv_cache", ""),
        ("  activations (learning)", "learn_activations", ""),
        ("  workspace (generation)", "generation_workspace", ""),
        ("  workspace (reference)", "reference_workspace", ""),
        ("  total (peer: peak)", "total", "peak_mem"),
        ("  wgpu allocator", "device_allocated", ""),
    ] {
        let theirs = if theirs.is_empty() { &n } else { &p[format!("{theirs}_bytes_per_param")] };
        row(&mut out, label, &g[format!("{ours}_bytes_per_param")], theirs, &n);
    }
    out.push_str(&format!(
        "\npolicy weights+grads+optimizer {} B/param, reference {} B/param: goal (<= 16 + 2) {}\n",
        fmt_val(&g["policy_state_bytes_per_param"]),
        fmt_val(&g["reference_bytes_per_param"]),
        if g["memory_goal_met"].as_bool() == Some(true) { "met" } else { "NOT met" }
    ));
    if has_peer && p["error"].is_null() {
        out.push_str(&format!("peer memory: {}\n", fmt_val(&p["mem_source"])));
        out.push_str(&format!("comparison: {}\n", fmt_val(&p["comparison"])));
    }
    out
}

/// The table's heading: model, workload, devices.
fn header(g: &Value, p: &Value) -> String {
    let mut out = format!(
        "model     {}: {:.2} M parameters ({} layers, hidden {}, vocab {})\n\
         workload  one RL step = generate {} x {} new tokens after {}-token prompts (temperature 1, \
         the whole budget), bf16 reference log-probs, one update ({} f32, lr {}, clip {}; eps {}, \
         beta {}, {}); {} timed steps after {} warm-up\n\
         greedy    {} ({}, {}; {} host threads)\n",
        fmt_val(&g["model"]),
        g["params"].as_f64().unwrap_or(0.0) / 1e6,
        g["layers"],
        g["hidden"],
        g["vocab"],
        g["batch"],
        g["new_tokens"],
        g["prompt_len"],
        fmt_val(&g["optimizer"]),
        g["lr"],
        g["max_grad_norm"],
        fmt_val(&g["clip_eps"]),
        fmt_val(&g["kl_coef"]),
        fmt_val(&g["kl"]),
        g["steps"],
        g["warmup_steps"],
        fmt_val(&g["adapter"]),
        fmt_val(&g["backend"]),
        fmt_val(&g["device_type"]),
        g["host_threads"],
    );
    if p.is_object() {
        match p["error"].as_str() {
            Some(e) => out.push_str(&format!("peer      FAILED: {e}\n")),
            None => out.push_str(&format!("peer      PyTorch eager on {}\n", fmt_val(&p["device"]))),
        }
    }
    out.push('\n');
    out
}
