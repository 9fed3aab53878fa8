//! Steps larger than one forward may hold: when an activation [tokens, width] or the
//! [rows, vocab] logits would not fit one storage binding, the engine runs the step's tokens in
//! consecutive pieces (each attending to the keys and values the earlier ones cached). With a
//! forced 8 KiB binding (16 tokens, 8 logits rows of the tiny 256-word model per forward),
//! `Engine::logits` must give the CPU reference's logits at every position, and scoring must
//! give the same scores as an engine with the adapter's real limits.

use gpu_trainer::cpu::model::CpuModel;
use gpu_trainer::generate::{Engine, LoadOptions, WeightDType};
use gpu_trainer::{Gpu, GpuOptions};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// An engine whose storage bindings hold at most `bytes`.
fn small_binding_engine(name: &str, bytes: u64) -> Engine {
    let gpu =
        Gpu::with_options(GpuOptions { max_binding_override: Some(bytes), ..Default::default() }).unwrap();
    Engine::load_on(gpu, &fixture(name), WeightDType::Auto).unwrap()
}

#[test]
fn logits_of_a_long_sequence_are_chunked_and_exact() {
    let name = "gemma2_tiny_f32";
    let cpu = CpuModel::load(&fixture(name)).unwrap();
    let vocab = cpu.config.vocab_size;
    let mut small = small_binding_engine(name, 8 * 1024);
    assert_eq!(small.logits_rows_per_step(), 8);
    assert_eq!(small.tokens_per_step(), 16, "intermediate 128 x 4 bytes per token");
    let mut big = Engine::load(&fixture(name), &LoadOptions::default()).unwrap();
    assert!(big.logits_rows_per_step() >= 21);
    // 21 positions, 8 rows per forward: pieces of 8, 8, 5 tokens; longer than the fixture's sliding window (8)
    let ids: Vec<u32> = (0..21u32).map(|i| 2 + (i * 37 + 11) % 250).collect();
    let want = cpu.forward(&ids);
    for (what, e) in [("chunked", &mut small), ("one forward", &mut big)] {
        let got = e.logits(&ids).unwrap();
        assert_eq!(got.len(), ids.len() * vocab, "{what}");
        let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err <= 1e-4, "{what}: max logit error {err} vs the CPU reference");
    }
    // the prefix cache now holds the sequence: a longer one reuses it and stays exact
    let mut longer = ids.clone();
    longer.extend([5, 6, 7]);
    let want = cpu.forward(&longer);
    let got = small.logits(&longer).unwrap();
    let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(err <= 1e-4, "after reuse: max logit error {err}");
}

#[test]
fn scoring_runs_large_steps_in_pieces() {
    let name = "gemma2_tiny_f32";
    let mut small = small_binding_engine(name, 8 * 1024);
    let mut big = Engine::load(&fixture(name), &LoadOptions::default()).unwrap();
    let prompts: Vec<Vec<u32>> =
        (0..2u32).map(|p| (0..9 + p).map(|i| 2 + (i * 13 + p) % 250).collect()).collect();
    let conts: Vec<(usize, Vec<u32>)> =
        (0..2).flat_map(|p| [(p, vec![40, 41, 3]), (p, vec![40, 41, 17]), (p, vec![9])]).collect();
    let a = small.score_continuations(&prompts, &conts).unwrap();
    let b = big.score_continuations(&prompts, &conts).unwrap();
    for (c, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!((x - y).abs() <= 1e-4, "continuation {c}: small binding {x}, default {y}");
    }
}
