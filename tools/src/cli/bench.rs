//! Arguments of `greedy bench`.

use std::path::PathBuf;

use clap::Args;

use crate::llm::DTypeArg;

/// `greedy bench` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Model directory to benchmark (inference). Not needed with --env or --matmul-only.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["env", "matmul_only"])]
    pub model: Option<PathBuf>,
    /// Prompt tokens per sequence (prefill).
    #[arg(long, default_value_t = 128)]
    pub prompt_len: usize,
    /// Tokens generated per sequence (decode).
    #[arg(long, default_value_t = 32)]
    pub new_tokens: usize,
    /// Sequences generated together.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Weight precision on the GPU.
    #[arg(long, value_enum, default_value_t = DTypeArg::Auto)]
    pub dtype: DTypeArg,
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
    /// (inference: hf_generate_bench.py; --env: banditbench_steps.py).
    #[arg(long, value_name = "PYTHON")]
    pub peer: Option<PathBuf>,
    /// The peer script [default: ../shared/peers/hf_generate_bench.py, or banditbench_steps.py
    /// with --env, looked up from the repository root upwards].
    #[arg(long, value_name = "FILE")]
    pub peer_script: Option<PathBuf>,
    /// Environment steps/s instead: UCB on a 10-arm Gaussian bandit, horizon 50, single thread
    /// and all threads.
    #[arg(long)]
    pub env: bool,
    /// --env: episodes per measurement.
    #[arg(long, default_value_t = 20000)]
    pub episodes: u64,
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

  # Environment steps/s next to BanditBench
  greedy bench --env --peer .peers/bin/python --json";
