//! The batched KV-cache kernels against their CPU reference, and KV-cache
//! decoding against a full forward over the same tokens.

use gpu_trainer::cpu::ops::{self, AttnParams};
use gpu_trainer::generate::{Engine, LoadOptions};
use gpu_trainer::kernels::kv_cache;
use gpu_trainer::kv_cache::KvCache;
use gpu_trainer::model::gemma::Step;
use gpu_trainer::{DType, Gpu, Tensor};
use std::path::PathBuf;

const TOL: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// deterministic values in [-1, 1)
fn vals(n: usize, seed: u64) -> Vec<f32> {
    let mut r = env_core::Rng::new(seed);
    (0..n).map(|_| (r.uniform() * 2.0 - 1.0) as f32).collect()
}

#[test]
fn kv_store_attention_gather_match_cpu() {
    let gpu = Gpu::new().expect("a GPU adapter (lavapipe: mesa-vulkan-drivers)");
    // 3 sequences, max_len 70 (> one 64-key block), GQA 6/2, head_dim 72 (> 64)
    let (seqs, max_len, h, kvh, hd) = (3usize, 70usize, 6usize, 2usize, 72usize);
    let krow = kvh * hd;
    let kc = vals(seqs * max_len * krow, 1);
    let vc = vals(seqs * max_len * krow, 2);
    // ragged tokens: (seq, pos)
    let tok: Vec<(u32, u32)> = vec![(0, 0), (1, 69), (2, 5), (0, 64), (1, 3), (2, 66)];
    let n = tok.len();
    let q = vals(n * h * hd, 3);
    let kt = Tensor::from_f32(&gpu, "k", &[seqs * max_len, kvh, hd], DType::F32, &kc).unwrap();
    let vt = Tensor::from_f32(&gpu, "v", &[seqs * max_len, kvh, hd], DType::F32, &vc).unwrap();
    let flat: Vec<u32> = tok.iter().flat_map(|&(s, p)| [s, p]).collect();
    let tt = Tensor::from_u32(&gpu, "tok", &[n, 2], &flat).unwrap();
    let qt = Tensor::from_f32(&gpu, "q", &[n, h, hd], DType::F32, &q).unwrap();
    let out = Tensor::zeros(&gpu, "out", &[n, h, hd], DType::F32).unwrap();
    for (window, softcap) in [(None, None), (Some(7), Some(5.0)), (Some(1), None), (Some(64), Some(2.0))] {
        let p = AttnParams { heads: h, kv_heads: kvh, head_dim: hd, scale: 0.3, softcap, window };
        let mut b = gpu.batch();
        kv_cache::attention(&mut b, &qt, &tt, &kt, &vt, max_len, &out, &p).unwrap();
        b.submit().unwrap();
        let got = out.to_f32(&gpu).unwrap();
        let want = ops::kv_attention(&q, &kc, &vc, &tok, max_len, &p);
        let err = max_abs_diff(&got, &want);
        assert!(err <= 1e-5, "window {window:?} softcap {softcap:?}: error {err}");
    }

    // store: new rows land at s * max_len + p, nothing else changes
    let new = vals(n * krow, 4);
    let nt = Tensor::from_f32(&gpu, "new", &[n, kvh, hd], DType::F32, &new).unwrap();
    let mut b = gpu.batch();
    kv_cache::store(&mut b, &nt, &tt, &kt, max_len).unwrap();
    b.submit().unwrap();
    let mut want = kc.clone();
    for (i, &(s, p)) in tok.iter().enumerate() {
        let r = s as usize * max_len + p as usize;
        want[r * krow..(r + 1) * krow].copy_from_slice(&new[i * krow..(i + 1) * krow]);
    }
    assert_eq!(kt.to_f32(&gpu).unwrap(), want);

    // gather rows
    let idx = Tensor::from_u32(&gpu, "idx", &[3], &[5, 0, 2]).unwrap();
    let dst = Tensor::zeros(&gpu, "dst", &[3, kvh, hd], DType::F32).unwrap();
    let mut b = gpu.batch();
    kv_cache::gather_rows(&mut b, &nt, &idx, &dst).unwrap();
    b.submit().unwrap();
    let want: Vec<f32> =
        [5usize, 0, 2].iter().flat_map(|&r| new[r * krow..(r + 1) * krow].to_vec()).collect();
    assert_eq!(dst.to_f32(&gpu).unwrap(), want);
}

/// Prefill k tokens, then decode the rest one by one: every step's logits
/// equal the full forward's row of that position.
fn decode_matches_full(name: &str) {
    let e = Engine::load(&fixture(name), &LoadOptions::default()).unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("reference.json")).unwrap())
            .unwrap();
    let ids: Vec<u32> =
        meta["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let t = ids.len();
    let (gpu, model) = (e.gpu(), e.model());
    let v = model.config.vocab_size;
    let mut ws = None;
    let cache = KvCache::new(gpu, &model.config, 1, t).unwrap();
    let all: Vec<u32> = (0..t as u32).collect();
    let zeros = vec![0u32; t];
    let full = model
        .forward(gpu, &mut ws, &cache, Step { ids: &ids, seqs: &zeros, pos: &all, out_rows: &all })
        .unwrap();

    let mut worst = 0.0f32;
    for k in [1usize, 5, 9] {
        // a fresh cache (sized larger than needed, in slot 1 of 2) so nothing is left from the full pass
        let cache = KvCache::new(gpu, &model.config, 2, t + 3).unwrap();
        let ones = vec![1u32; k];
        let pre = model
            .forward(
                gpu,
                &mut ws,
                &cache,
                Step { ids: &ids[..k], seqs: &ones, pos: &all[..k], out_rows: &[k as u32 - 1] },
            )
            .unwrap();
        worst = worst.max(max_abs_diff(&pre, &full[(k - 1) * v..k * v]));
        for i in k..t {
            let row = model
                .forward(
                    gpu,
                    &mut ws,
                    &cache,
                    Step { ids: &ids[i..=i], seqs: &[1], pos: &[i as u32], out_rows: &[0] },
                )
                .unwrap();
            let err = max_abs_diff(&row, &full[i * v..(i + 1) * v]);
            assert!(err <= TOL, "{name}: prefill {k}, decode position {i}: error {err}");
            worst = worst.max(err);
        }
    }
    println!("{name}: max |decode - full| = {worst:.3e}");
}

#[test]
fn gemma2_decode_matches_full_forward() {
    decode_matches_full("gemma2_tiny_f32");
}

#[test]
fn gemma2_bf16_decode_matches_full_forward() {
    decode_matches_full("gemma2_tiny_bf16");
}

#[test]
fn gemma3_decode_matches_full_forward() {
    decode_matches_full("gemma3_tiny_f32_sharded");
}

#[test]
fn oversized_cache_is_a_clear_error() {
    let e = Engine::load(&fixture("gemma2_tiny_f32"), &LoadOptions::default()).unwrap();
    let err = KvCache::new(e.gpu(), e.config(), 1 << 20, 1 << 20).unwrap_err().to_string();
    assert!(err.contains("KV cache for 1048576 sequences"), "{err}");
}
