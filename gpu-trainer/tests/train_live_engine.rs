//! Generation from the weights being trained (no checkpoint round-trip), and teacher-forced
//! scoring of given tokens:
//!
//! - an engine over a learner's live weights, built BEFORE an optimizer step, generates after
//!   the step exactly what an engine loaded from a checkpoint saved after the step generates
//!   (token for token, log-probs bit for bit);
//! - `Engine::score_tokens` (log-softmax on the GPU, one float per token read back) equals the
//!   CPU log-softmax of the full logits, and the training forward's log-probs, also when the
//!   step runs in pieces (forced small bindings).

mod common;

use std::sync::Arc;

use gpu_trainer::generate::sampler::log_softmax;
use gpu_trainer::generate::{Engine, GenerateOptions, LoadOptions, WeightDType};
use gpu_trainer::model::{Config, Weights};
use gpu_trainer::train::learner::{GpuLearner, Learner, LearnerSettings, OptimSettings, OptimizerKind};
use gpu_trainer::train::{Sequence, TrainModel, TrainOptions};
use gpu_trainer::{Gpu, GpuOptions};

fn settings() -> LearnerSettings {
    LearnerSettings {
        optim: OptimSettings {
            kind: OptimizerKind::Adamw,
            lr: 1e-2,
            warmup: 0,
            min_lr: 1e-2,
            clip: Some(1.0),
            weight_decay: 0.0,
        },
        max_tokens: 4096,
        loss_chunk_rows: 64,
        checkpointing: false,
        value_head: false,
    }
}

fn prompts() -> Vec<Vec<u32>> {
    vec![vec![2, 17, 5, 90, 33, 8], vec![2, 200, 31], vec![2, 7, 7, 7, 120, 64, 12, 3]]
}

#[test]
fn live_weights_generate_what_a_saved_checkpoint_generates() {
    let dir = common::fixture("gemma2_tiny_f32");
    let mut learner = GpuLearner::open(&dir, &settings(), false).unwrap();
    let mut live = learner.engine().unwrap();
    let opts = GenerateOptions { max_new_tokens: 12, stop_ids: vec![u32::MAX], ..Default::default() };
    let before = live.generate(&prompts(), &opts).unwrap();
    // one optimizer step on a sequence the model does not predict
    let seq = Sequence::uniform(vec![2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9], 1.0 / 11.0);
    learner.accumulate(&[seq]).unwrap();
    let applied = learner.apply(1e-2).unwrap();
    assert!(applied.skipped.is_none() && applied.grad_norm > 0.0);
    // the engine built before the step sees the new weights (prefix cache forgotten first: its
    // cached keys and values are the old weights')
    live.set_prefix_cache(true);
    let after = live.generate(&prompts(), &opts).unwrap();
    assert_ne!(before, after, "the step changed what the model generates");
    let tmp = common::tmpdir("live");
    let saved = tmp.path().join("ckpt");
    learner.save(&saved, &serde_json::json!({"step": 1})).unwrap();
    let mut loaded = Engine::load(&saved, &LoadOptions { dtype: WeightDType::F32, adapter: None }).unwrap();
    let reloaded = loaded.generate(&prompts(), &opts).unwrap();
    assert_eq!(after, reloaded, "live weights and the saved checkpoint generate the same, bit for bit");
    // sampling too
    let sampled = GenerateOptions { temperature: 1.0, seed: 3, ..opts };
    live.set_prefix_cache(true);
    loaded.set_prefix_cache(true);
    assert_eq!(live.generate(&prompts(), &sampled).unwrap(), loaded.generate(&prompts(), &sampled).unwrap());
}

/// (ids, from) pairs: prompts and continuations of several lengths.
fn scored() -> Vec<(Vec<u32>, usize)> {
    vec![
        (vec![2, 17, 5, 90, 33, 8, 41, 6, 19], 4),
        (vec![2, 200, 31, 4], 1),
        (vec![2, 7, 7, 7, 120, 64, 12, 3, 77, 78, 79, 80, 81, 82], 9),
        (vec![2, 5], 2),
    ]
}

fn check_against_logits(engine: &mut Engine, what: &str) {
    let got = engine.score_tokens(&scored()).unwrap();
    let vocab = engine.config().vocab_size;
    let mut worst = 0f64;
    for ((ids, from), lp) in scored().iter().zip(&got) {
        assert_eq!(lp.len(), ids.len() - from);
        let logits = engine.logits(ids).unwrap();
        for (k, t) in (*from..ids.len()).enumerate() {
            let row = &logits[(t - 1) * vocab..t * vocab];
            let want = log_softmax(row, 1.0)[ids[t] as usize];
            worst = worst.max((lp[k] as f64 - want).abs());
        }
    }
    println!("{what}: score_tokens vs CPU log-softmax of the logits: {worst:.2e}");
    assert!(worst <= 1e-5, "{what}: {worst}");
}

#[test]
fn scoring_given_tokens_matches_the_logits_and_the_training_forward() {
    for name in ["gemma2_tiny_f32", "gemma3_tiny_f32_sharded"] {
        let dir = common::fixture(name);
        let mut e = Engine::load(&dir, &LoadOptions::default()).unwrap();
        check_against_logits(&mut e, name);
        // bindings of 8 KiB: every step runs in pieces
        let gpu = Gpu::with_options(GpuOptions { max_binding_override: Some(8 << 10), ..Default::default() })
            .unwrap();
        let mut small = Engine::load_on(gpu, &dir, WeightDType::Auto).unwrap();
        check_against_logits(&mut small, &format!("{name}, 8 KiB bindings"));
        // the training forward's log-probs of the same tokens
        let gpu = Arc::new(Gpu::new().unwrap());
        let config = Config::from_dir(&dir).unwrap();
        let w = Weights::open_dir(&dir).unwrap();
        let mut tm = TrainModel::from_weights(&gpu, config, &w, TrainOptions::default()).unwrap();
        let seqs: Vec<Sequence> = scored()
            .into_iter()
            .map(|(ids, from)| {
                let weights = (0..ids.len()).map(|t| if t >= from { 1.0 } else { 0.0 }).collect();
                Sequence::new(ids, weights)
            })
            .collect();
        let train = tm.token_logprobs(&gpu, &seqs).unwrap();
        let got = e.score_tokens(&scored()).unwrap();
        let worst =
            train.iter().flatten().zip(got.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        println!("{name}: score_tokens vs the training forward: {worst:.2e}");
        assert!(worst <= 1e-5, "{name}: {worst}");
    }
    let mut e = Engine::load(&common::fixture("gemma2_tiny_f32"), &LoadOptions::default()).unwrap();
    assert!(e.score_tokens(&[(vec![2, 3], 0)]).is_err(), "position 0 predicts nothing");
    assert!(e.score_tokens(&[(vec![2, 3], 3)]).is_err());
    assert_eq!(e.score_tokens(&[(vec![2, 3], 2)]).unwrap(), vec![Vec::<f32>::new()]);
}
