//! `greedy convert gguf FILE.gguf OUT_DIR`: a llama.cpp GGUF (Gemma2 / Gemma3 text) into a
//! HuggingFace checkpoint directory this project (and transformers) loads.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use gpu_trainer::gguf::{ConvertOptions, OutDType, convert};
use serde_json::json;

/// `greedy convert` arguments.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The input format.
    #[command(subcommand)]
    pub format: ConvertFormat,
}

/// Formats `greedy convert` reads.
#[derive(Debug, Clone, Subcommand)]
pub enum ConvertFormat {
    /// A llama.cpp GGUF file: dequantize every tensor, undo llama.cpp's +1 on the norms, map names
    /// and dimension order to HuggingFace's, write model.safetensors, config.json, tokenizer.json.
    #[command(after_help = CONVERT_EXAMPLES)]
    Gguf(GgufArgs),
}

/// `greedy convert gguf` arguments.
#[derive(Debug, Clone, Args)]
pub struct GgufArgs {
    /// The GGUF file.
    #[arg(value_name = "FILE.gguf")]
    pub file: PathBuf,
    /// The directory to create (written under a temporary name, renamed when complete).
    #[arg(value_name = "OUT_DIR")]
    pub out_dir: PathBuf,
    /// Element type of the written weights: f32 keeps the dequantized values exactly.
    #[arg(long, value_enum, default_value_t = OutDTypeArg::F32)]
    pub dtype: OutDTypeArg,
    /// Replace OUT_DIR if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--dtype` of `greedy convert gguf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutDTypeArg {
    F32,
    Bf16,
}

const CONVERT_EXAMPLES: &str = "\
Examples:
  greedy convert gguf models/gemma-3-270m-q4_k_m.gguf models/gemma-3-270m
  greedy convert gguf model.gguf out/ --dtype bf16 --force --json";

/// Runs `greedy convert`; returns what to print.
pub fn run(args: &ConvertArgs) -> Result<String> {
    let ConvertFormat::Gguf(a) = &args.format;
    let opts = ConvertOptions {
        dtype: match a.dtype {
            OutDTypeArg::F32 => OutDType::F32,
            OutDTypeArg::Bf16 => OutDType::Bf16,
        },
        overwrite: a.force,
    };
    let r = convert(&a.file, &a.out_dir, &opts)?;
    if a.json {
        let v = json!({
            "out_dir": r.out_dir, "architecture": r.architecture, "layers": r.layers,
            "tensors": r.tensors, "parameters": r.parameters, "gguf_types": r.types,
            "shifted_norms": r.shifted_norms, "vocab_size": r.vocab_size, "merges": r.merges,
        });
        return Ok(serde_json::to_string(&v)? + "\n");
    }
    let types: Vec<String> = r.types.iter().map(|(t, n)| format!("{n} {t}")).collect();
    Ok(format!(
        "wrote {}: {} ({} layers), {} tensors, {} parameters (from {}), {} norms shifted back by -1, \
         tokenizer: {} tokens, {} merges\n",
        r.out_dir.display(),
        r.architecture,
        r.layers,
        r.tensors,
        r.parameters,
        types.join(", "),
        r.shifted_norms,
        r.vocab_size,
        r.merges
    ))
}
