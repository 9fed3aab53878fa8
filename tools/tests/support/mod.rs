//! Shared helpers of the CLI tests that run a model: a tiny random Gemma2 with the fixture
//! tokenizer, temporary directories, running the `greedy` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gpu_trainer::model::weights::{expected_tensors, f32_bytes, write_safetensors};
use gpu_trainer::model::{Config, DType, GemmaTokenizer};
use serde_json::Value;
use tempfile::TempDir;

/// gpu-trainer's test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures")
}

/// The `greedy` binary of this build, as a command to add arguments and environment to.
pub fn greedy_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_greedy"))
}

/// Runs `greedy` with `args`.
pub fn greedy(args: &[&str]) -> Output {
    greedy_cmd().args(args).output().expect("run greedy")
}

/// Runs `greedy` and returns its stdout; panics with stderr on failure.
pub fn ok_stdout(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(out.status.success(), "greedy {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs `greedy`, expects a failure, returns stderr.
pub fn err_text(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(!out.status.success(), "greedy {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh temporary directory named after `prefix` and `tag`, deleted when the returned guard
/// drops (also when the test fails): keep it alive while the test uses `.path()`.
pub fn tmpdir(prefix: &str, tag: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("greedy-{prefix}-{tag}-")).tempdir().unwrap()
}

/// A tiny random Gemma2 model (the gemma2_tiny_f32 fixture's shapes) whose vocabulary is the
/// fixture tokenizer's, with that tokenizer.json, in a directory of its own (`dir`).
pub fn tiny_model_with_tokenizer(dir: &Path) {
    let tok_path = fixtures().join("tokenizer/tokenizer.json");
    let tok = GemmaTokenizer::from_file(&tok_path).unwrap();
    let cfg_text = std::fs::read_to_string(fixtures().join("gemma2_tiny_f32/config.json")).unwrap();
    let mut cfg: Value = serde_json::from_str(&cfg_text).unwrap();
    cfg["vocab_size"] = tok.vocab_size().into();
    cfg["max_position_embeddings"] = 8192.into();
    cfg["bos_token_id"] = tok.bos_id.into();
    cfg["eos_token_id"] = tok.eos_id.into();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    std::fs::copy(&tok_path, dir.join("tokenizer.json")).unwrap();
    let config = Config::from_dir(dir).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = expected_tensors(&config)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
                })
                .collect();
            (name, shape, f32_bytes(&data))
        })
        .collect();
    let refs: Vec<(&str, DType, &[usize], &[u8])> =
        tensors.iter().map(|(n, s, b)| (n.as_str(), DType::F32, s.as_slice(), b.as_slice())).collect();
    write_safetensors(&dir.join("model.safetensors"), &refs).unwrap();
}

/// The lines of a JSONL file.
pub fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}
