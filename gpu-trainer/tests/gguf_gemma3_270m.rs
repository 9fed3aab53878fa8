//! The real gemma-3-270m, converted from its llama.cpp GGUF by `greedy convert gguf`
//! (tools/get-gemma3-270m.sh puts it in models/gemma-3-270m), against HuggingFace
//! transformers loading the same GGUF itself (tools/gen_gemma3_270m_refs.py ->
//! tests/fixtures/gguf/gemma3_270m_refs.json):
//! - identical token ids for strings with spaces, tabs, newlines, unicode, emoji, digits,
//!   `ACTION=x` and chat markers; identical merges and vocabulary (CRC-32);
//! - with `--dtype f32`: every tensor bit-identical to transformers' state dict (CRC-32);
//! - top-20 logits at several positions of four prompts (one past the 512-token sliding
//!   window) within 1e-3, through the GPU model (lavapipe where there is no GPU).
//!
//! Every test skips, saying so, when the model directory is absent (CI has no model).
//! `bash tools/check-gemma3-270m.sh` runs them with the model.

use gpu_trainer::kv_cache::KvCache;
use gpu_trainer::model::gemma::{GemmaModel, Step};
use gpu_trainer::model::{Config, DType, GemmaTokenizer, Weights};
use gpu_trainer::{Gpu, GpuOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

mod gguf_common;
use gguf_common::{check_tokenizer_json, crc32, u32s};

const LOGIT_TOL: f32 = 1e-3;

/// `GREEDY_GEMMA3_270M` or <repo>/models/gemma-3-270m; `None` (after a notice) when absent.
fn model_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("GREEDY_GEMMA3_270M")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/gemma-3-270m"));
    if dir.join("config.json").is_file() {
        Some(dir)
    } else {
        println!(
            "SKIPPED {test}: no gemma-3-270m in {} (run `bash tools/get-gemma3-270m.sh` to get and convert it)",
            dir.display()
        );
        None
    }
}

fn refs() -> Value {
    gguf_common::read_json(&gguf_common::fixture("gemma3_270m_refs.json"))
}

#[test]
fn tokenizer_matches_transformers() {
    let Some(dir) = model_dir("tokenizer_matches_transformers") else { return };
    let refs = refs();
    let tok = GemmaTokenizer::from_dir(&dir).unwrap();
    let mut mismatches = Vec::new();
    for case in refs["tokenize"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want = u32s(&case["ids"]);
        let got = tok.encode(text, true).unwrap();
        if got != want {
            mismatches.push(format!("{text:?}\n  ours {got:?}\n  hf   {want:?}"));
        }
    }
    assert!(mismatches.is_empty(), "token ids differ:\n{}", mismatches.join("\n"));
    println!("{} strings tokenized identically", refs["tokenize"].as_array().unwrap().len());

    check_tokenizer_json(&dir, &refs["tokenizer"]);
}

#[test]
fn weights_match_transformers() {
    let Some(dir) = model_dir("weights_match_transformers") else { return };
    let refs = refs();
    let w = Weights::open_dir(&dir).unwrap();
    let wanted = refs["weights"].as_object().unwrap();
    assert_eq!(w.len(), wanted.len(), "tensor count");
    let mut exact = 0;
    for (name, r) in wanted {
        let t = w.tensor(name).unwrap();
        let shape: Vec<usize> =
            r["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        assert_eq!(t.shape, shape.as_slice(), "{name}: shape");
        if t.dtype == DType::F32 {
            assert_eq!(
                crc32(0, t.bytes) as u64,
                r["crc32"].as_u64().unwrap(),
                "{name}: values differ from transformers'"
            );
            exact += 1;
        }
        if name.ends_with("norm.weight") {
            // The checkpoint GGUF was made from is bf16: after undoing llama.cpp's +1, every
            // norm weight is a bf16 value again (stored + 1 often is not).
            let v = t.to_f32();
            assert!(v.iter().all(|x| x.to_bits() & 0xFFFF == 0), "{name}: not bf16 values after the -1");
        }
    }
    if exact == 0 {
        println!("weights are not f32 (converted with --dtype bf16): compared shapes only");
    } else {
        println!("{exact} tensors bit-identical to transformers' dequantized state dict");
    }
}

#[test]
fn logits_match_transformers() {
    let Some(dir) = model_dir("logits_match_transformers") else { return };
    let refs = refs();
    let config = Config::from_dir(&dir).unwrap();
    let weights = Weights::open_dir(&dir).unwrap();
    if weights.tensor("model.embed_tokens.weight").unwrap().dtype != DType::F32 {
        println!(
            "SKIPPED logits_match_transformers: {} has bf16 weights (convert with --dtype f32)",
            dir.display()
        );
        return;
    }
    let gpu =
        Gpu::with_options(GpuOptions::default()).expect("a GPU adapter (lavapipe: mesa-vulkan-drivers)");
    let model = GemmaModel::load(&gpu, config.clone(), &weights, Some(gpu_trainer::DType::F32)).unwrap();
    let vocab = config.vocab_size;
    let mut ws = None;
    let mut worst = 0f32;
    let mut positions = 0;
    for prompt in refs["logits"].as_array().unwrap() {
        let label = prompt["label"].as_str().unwrap();
        let ids = u32s(&prompt["ids"]);
        let tops = prompt["top"].as_array().unwrap();
        let rows: Vec<u32> = tops.iter().map(|t| t["pos"].as_u64().unwrap() as u32).collect();
        let cache = KvCache::new(&gpu, &config, 1, ids.len()).unwrap();
        let seqs = vec![0u32; ids.len()];
        let pos: Vec<u32> = (0..ids.len() as u32).collect();
        let t0 = std::time::Instant::now();
        let logits = model
            .forward(&gpu, &mut ws, &cache, Step { ids: &ids, seqs: &seqs, pos: &pos, out_rows: &rows })
            .unwrap();
        let mut err = 0f32;
        for (r, t) in tops.iter().enumerate() {
            let row = &logits[r * vocab..(r + 1) * vocab];
            let want_ids = u32s(&t["ids"]);
            let want: Vec<f32> =
                t["logits"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            for (&id, &l) in want_ids.iter().zip(&want) {
                err = err.max((row[id as usize] - l).abs());
            }
            // our own top 20 is transformers' (up to near-ties at the cut)
            let mut order: Vec<usize> = (0..vocab).collect();
            order.select_nth_unstable_by(want.len(), |&a, &b| row[b].total_cmp(&row[a]));
            let cut = want[want.len() - 1];
            for &i in &order[..want.len()] {
                assert!(
                    want_ids.contains(&(i as u32)) || (row[i] - cut).abs() <= LOGIT_TOL,
                    "{label} pos {}: id {i} ({}) is in our top {} but not transformers'",
                    t["pos"],
                    row[i],
                    want.len()
                );
            }
        }
        println!(
            "{label}: {} tokens, {} positions, max |ours - transformers| = {err:.2e} ({:.1} s)",
            ids.len(),
            rows.len(),
            t0.elapsed().as_secs_f64()
        );
        assert!(err <= LOGIT_TOL, "{label}: max abs logit error {err} > {LOGIT_TOL}");
        worst = worst.max(err);
        positions += rows.len();
    }
    println!("all {positions} positions: max abs logit error {worst:.2e} (tolerance {LOGIT_TOL})");
}
