//! `Engine::score_continuations` against the CPU reference: log p(continuation | prompt) is the
//! sum over the continuation's tokens of the f64 log-softmax of `CpuModel::forward(prompt +
//! continuation)` at the position before each token. Covers shared prefixes, multi-token tails
//! (the prefix-copy path), duplicates, single continuations, chunking, and input errors.

use gpu_trainer::cpu::model::CpuModel;
use gpu_trainer::generate::sampler::log_softmax;
use gpu_trainer::generate::{Engine, LoadOptions, ScoreOptions};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The CPU reference score of one continuation.
fn reference(cpu: &CpuModel, prompt: &[u32], cont: &[u32]) -> f64 {
    let vocab = cpu.config.vocab_size;
    let mut ids = prompt.to_vec();
    ids.extend_from_slice(cont);
    let logits = cpu.forward(&ids);
    (0..cont.len())
        .map(|j| {
            let r = prompt.len() - 1 + j;
            log_softmax(&logits[r * vocab..(r + 1) * vocab], 1.0)[cont[j] as usize]
        })
        .sum()
}

/// (prompt index, continuation tokens)
type Continuation = (usize, Vec<u32>);

fn cases() -> (Vec<Vec<u32>>, Vec<Continuation>) {
    let prompts = vec![
        vec![2, 15, 237, 72, 22, 43, 210, 9],
        vec![2, 75],
        vec![2, 104, 7, 162, 177, 95, 75, 213, 47, 63, 31, 218, 5],
        vec![2, 9, 9, 9], // no continuation: skipped
    ];
    let conts = vec![
        // prompt 0: common prefix [40, 41], one-token tails except one long tail
        (0, vec![40, 41, 3]),
        (0, vec![40, 41, 17]),
        (0, vec![40, 41, 17, 200, 6]),
        (0, vec![40, 41, 3]), // duplicate
        // prompt 1: a single continuation (everything but its last token is prefilled)
        (1, vec![11, 12, 13, 14]),
        // prompt 2: no common prefix, several multi-token tails (prefix copies)
        (2, vec![30, 31, 32]),
        (2, vec![50]),
        (2, vec![60, 61]),
        (2, vec![30, 99, 98, 97]),
        // prompt 0 again, out of order
        (0, vec![40, 8]),
    ];
    (prompts, conts)
}

fn check(name: &str, opts: &ScoreOptions) {
    let dir = fixture(name);
    let cpu = CpuModel::load(&dir).unwrap();
    let mut e = Engine::load(&dir, &LoadOptions::default()).unwrap();
    let (prompts, conts) = cases();
    let got = e.score_continuations_with(&prompts, &conts, opts).unwrap();
    assert_eq!(got.len(), conts.len());
    for (c, ((p, toks), g)) in conts.iter().zip(&got).enumerate() {
        let want = reference(&cpu, &prompts[*p], toks);
        assert!(g.is_finite() && *g < 0.0, "{name}: continuation {c}: score {g}");
        let err = (g - want).abs();
        assert!(err <= 1e-4 * (1.0 + want.abs()), "{name}: continuation {c}: GPU {g} vs CPU {want}");
    }
    assert_eq!(got[0], got[3], "{name}: duplicates score the same");
}

#[test]
fn scores_match_the_cpu_reference() {
    check("gemma2_tiny_f32", &ScoreOptions::default());
    check("gemma3_tiny_f32_sharded", &ScoreOptions::default());
}

#[test]
fn chunked_scores_equal_one_chunk() {
    let dir = fixture("gemma2_tiny_f32");
    let mut e = Engine::load(&dir, &LoadOptions::default()).unwrap();
    let (prompts, conts) = cases();
    let one = e.score_continuations(&prompts, &conts).unwrap();
    // every prompt in a chunk of its own (budgets below one prompt), and tiny cache bounds
    let tight = ScoreOptions { max_step_tokens: 3, max_out_rows: 2, max_cache_bytes: 1 };
    let many = e.score_continuations_with(&prompts, &conts, &tight).unwrap();
    for (c, (a, b)) in one.iter().zip(&many).enumerate() {
        assert!((a - b).abs() <= 1e-5, "continuation {c}: one chunk {a}, chunked {b}");
    }
    check(
        "gemma2_tiny_f32",
        &ScoreOptions { max_step_tokens: 16, max_out_rows: 4, max_cache_bytes: 1 << 20 },
    );
    assert!(e.score_continuations(&prompts, &[]).unwrap().is_empty());
}

#[test]
fn bad_input_is_an_error_naming_it() {
    let mut e = Engine::load(&fixture("gemma2_tiny_f32"), &LoadOptions::default()).unwrap();
    let p = vec![vec![2, 5]];
    let err = |r: anyhow::Result<Vec<f64>>| r.unwrap_err().to_string();
    assert!(err(e.score_continuations(&p, &[(1, vec![3])])).contains("prompt 1"));
    assert!(err(e.score_continuations(&p, &[(0, vec![])])).contains("empty"));
    assert!(err(e.score_continuations(&p, &[(0, vec![3, 256])])).contains("256"));
    assert!(err(e.score_continuations(&[vec![]], &[(0, vec![3])])).contains("prompt 0 is empty"));
    let zero = ScoreOptions { max_step_tokens: 0, ..Default::default() };
    assert!(err(e.score_continuations_with(&p, &[(0, vec![3])], &zero)).contains("max_step_tokens"));
}
