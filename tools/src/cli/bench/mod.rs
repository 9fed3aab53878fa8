//! `greedy bench`: inference throughput (prefill and decode tokens/s through the engine), the
//! matmul kernel's GFLOP/s against the device's f32 peak, environment steps/s ([`inference`]),
//! training tokens/s with the memory per parameter ([`train`]), and the cost of one RL update
//! (generation, reference log-probs, learning) with its memory per parameter ([`rl`]); each
//! next to its Python peer (`../shared/peers/*.py`, `tools/bench/hf_train_bench.py`,
//! `tools/bench/hf_rl_bench.py`) when `--peer PYTHON` is given.

pub mod inference;
pub mod peak;
pub mod rl;
pub mod train;

use std::path::PathBuf;

use clap::Args;
use gpu_trainer::generate::WeightDType;
use gpu_trainer::train::learner::OptimizerKind;

pub use inference::run;

/// `greedy bench` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Model directory to benchmark (inference, training with --train, RL with --rl). Not needed
    /// with --env or --matmul-only.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["env", "matmul_only"])]
    pub model: Option<PathBuf>,
    /// Prompt tokens per sequence (prefill; --rl: per sample).
    #[arg(long, default_value_t = 128)]
    pub prompt_len: usize,
    /// Tokens generated per sequence (decode; --rl: every sample runs the whole budget).
    #[arg(long, default_value_t = 32)]
    pub new_tokens: usize,
    /// Sequences per step: generated together (inference), trained together (--train), samples
    /// per update = prompts generated together (--rl).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Weight precision on the GPU.
    #[arg(long, value_enum, default_value_t = WeightDType::Auto)]
    pub dtype: WeightDType,
    /// GPU adapter: index or name substring (see GREEDY_ADAPTER).
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
    /// Matmul size M,K,N for the GFLOP/s measurement (Y[M,N] = X[M,K] W[N,K]^T).
    #[arg(long, value_name = "M,K,N", default_value = "256,1024,1024")]
    pub matmul: String,
    /// Only the matmul GFLOP/s (no model needed).
    #[arg(long)]
    pub matmul_only: bool,
    /// The device's f32 peak in GFLOP/s, for the % of peak (default: a table by adapter name;
    /// on CPU adapters a measured host FMA rate).
    #[arg(long, value_name = "GFLOPS")]
    pub peak_gflops: Option<f64>,
    /// Run the Python peer with this interpreter in the same run and print both with the ratio
    /// (inference: hf_generate_bench.py; --env: banditbench_steps.py; --train:
    /// tools/bench/hf_train_bench.py; --rl: tools/bench/hf_rl_bench.py; the last two on CUDA
    /// when our adapter is a GPU, on the CPU otherwise).
    #[arg(long, value_name = "PYTHON")]
    pub peer: Option<PathBuf>,
    /// The peer script [default: ../shared/peers/hf_generate_bench.py, or banditbench_steps.py
    /// with --env, looked up from the repository root upwards; tools/bench/hf_train_bench.py
    /// with --train; tools/bench/hf_rl_bench.py with --rl].
    #[arg(long, value_name = "FILE")]
    pub peer_script: Option<PathBuf>,
    /// Environment steps/s instead: UCB on a 10-arm Gaussian bandit, horizon 50, single thread
    /// and all threads.
    #[arg(long)]
    pub env: bool,
    /// --env: episodes per measurement.
    #[arg(long, default_value_t = 20000)]
    pub episodes: u64,
    /// Training throughput instead: forward + backward + gradient clip + optimizer step + zero
    /// grads of --model (f32 master weights) on seeded random tokens, --batch sequences of
    /// --seq-len, with the memory per parameter (weights, gradients, optimizer state, activations).
    #[arg(long, conflicts_with_all = ["env", "matmul_only"])]
    pub train: bool,
    /// One RL update's cost instead: generate --new-tokens for --batch seeded random prompts of
    /// --prompt-len tokens from the live f32 weights (temperature 1), score them with the bf16
    /// reference, one clipped-objective update (k3 KL, beta 0.05, eps 0.2); env-steps/s,
    /// updates/hour, the time split and the memory per parameter.
    #[arg(long, conflicts_with_all = ["env", "matmul_only", "train"])]
    pub rl: bool,
    /// --train: tokens per sequence.
    #[arg(long, default_value_t = 128)]
    pub seq_len: usize,
    /// --train, --rl: timed steps.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// --train, --rl: untimed steps first (pipeline compilation, buffer growth).
    #[arg(long, default_value_t = 1)]
    pub warmup_steps: usize,
    /// --train, --rl: the optimizer (f32 state; lr 1e-4, clip 1.0 as SPEC section 5) [default:
    /// adamw with --train, adafactor (the paper's) with --rl].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// --train, --rl: keep only each layer's input and recompute its activations in the backward.
    #[arg(long)]
    pub checkpointing: bool,
    /// --train, --rl: target rows per logits chunk of the loss ([rows, vocab] f32 is the largest
    /// head buffer).
    #[arg(long, default_value_t = 256)]
    pub loss_chunk_rows: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

const BENCH_EXAMPLES: &str = "\
Examples:
  # Prefill/decode tokens/s and matmul GFLOP/s of a model, next to HuggingFace transformers
  greedy bench --model models/gemma-2-2b-it --prompt-len 128 --new-tokens 32 --peer .venv/bin/python

  # Only the matmul kernel, with a known peak
  greedy bench --matmul-only --matmul 512,2304,9216 --peak-gflops 51200

  # Training tokens/s and bytes per parameter, next to PyTorch eager on the same model and device
  greedy bench --train --model DIR --seq-len 128 --batch 4 --steps 5 --peer .venv/bin/python

  # One RL update (generate, reference log-probs, learn): env-steps/s, updates/hour, time split and
  # bytes per parameter, next to transformers generate + the same loss and Adafactor step
  greedy bench --rl --model DIR --batch 8 --prompt-len 128 --new-tokens 64 --steps 3 --peer .venv/bin/python

  # Environment steps/s next to BanditBench
  greedy bench --env --peer .peers/bin/python --json";

/// What a peer comparison compares, in words: on a CPU adapter (the software driver) the same CPU
/// through different backends, not a GPU figure; on a GPU ours against PyTorch eager CUDA.
pub fn peer_comparison(device: &str, peer_device: &str, info: &wgpu::AdapterInfo) -> String {
    if device == "cpu" {
        format!(
            "same CPU, different backends: greedy's WGSL kernels through the {} software Vulkan driver \
             (a CPU adapter, {} host threads) vs PyTorch eager's native CPU kernels ({peer_device}); \
             not a GPU figure",
            info.name,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )
    } else {
        format!("greedy on {} ({:?}) vs PyTorch eager CUDA on {peer_device}", info.name, info.backend)
    }
}
