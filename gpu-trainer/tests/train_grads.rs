//! The GPU training forward/backward ([`TrainModel`]) against PyTorch autograd on the tiny
//! fixtures (tools/gen_grad_fixtures.py: transformers, f32, eager attention,
//! loss = model(ids, labels=ids).loss, i.e. weights 1/(n-1) at every t >= 1), and against the
//! CPU reference forward for the log-probs.
//!
//! Tolerances: loss 1e-5 relative; every gradient ||g - g_torch|| / ||g_torch|| <= 1e-3 (the
//! same f32 math, summation order differs); checkpointing, chunking, packing and micro-batching
//! change only the order of f32 sums: 1e-5 relative between our own runs.

use gpu_trainer::cpu::model::CpuModel;
use gpu_trainer::model::weights::{f32_bytes, write_safetensors};
use gpu_trainer::model::{Config, DType, Weights};
use gpu_trainer::train::{Sequence, StepStats, TrainModel, TrainOptions};
use gpu_trainer::{Gpu, GpuOptions};
use std::path::PathBuf;

const GRAD_TOL: f64 = 1e-3;
const LOSS_TOL: f64 = 1e-5;
const SELF_TOL: f64 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn gpu() -> Gpu {
    Gpu::new().unwrap_or_else(|e| panic!("{e} (no GPU adapter? install mesa-vulkan-drivers)"))
}

/// Torch's reference: input ids, loss, gradients (HF names), token log-probs [T-1].
struct Reference {
    ids: Vec<u32>,
    loss: f64,
    grads: Weights,
}

fn reference(name: &str) -> Reference {
    let dir = fixture(name);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grads.json")).unwrap()).unwrap();
    let ids = meta["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let loss = meta["loss"].as_f64().unwrap();
    let grads = Weights::open_file(&dir.join("grads.safetensors")).unwrap();
    Reference { ids, loss, grads }
}

fn load_on(gpu: &Gpu, name: &str, opts: TrainOptions) -> TrainModel {
    let dir = fixture(name);
    let config = Config::from_dir(&dir).unwrap();
    let w = Weights::open_dir(&dir).unwrap();
    TrainModel::from_weights(gpu, config, &w, opts).unwrap()
}

/// The mean next-token loss of transformers: weight 1/(n-1) at every t >= 1.
fn mean_loss_seq(ids: &[u32]) -> Sequence {
    Sequence::uniform(ids.to_vec(), 1.0 / (ids.len() - 1) as f32)
}

fn norm(a: &[f32]) -> f64 {
    a.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt()
}

fn rel_err(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let d: f64 = got.iter().zip(want).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
    d / norm(want).max(1e-30)
}

fn grads(gpu: &Gpu, m: &TrainModel) -> Vec<(String, Vec<f32>)> {
    m.params().iter().map(|p| (p.name.clone(), p.grad.to_f32(gpu).unwrap())).collect()
}

/// Largest relative error over all tensors of two gradient sets (same names, same order).
fn max_rel(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|((na, ga), (nb, gb))| {
            assert_eq!(na, nb);
            rel_err(ga, gb)
        })
        .fold(0.0, f64::max)
}

/// forward_backward on the fixture's sequence; loss and every gradient against torch.
fn check_against_torch(gpu: &Gpu, name: &str, opts: TrainOptions) -> Vec<(String, Vec<f32>)> {
    let r = reference(name);
    let mut m = load_on(gpu, name, opts);
    let stats = m.forward_backward(gpu, &[mean_loss_seq(&r.ids)]).unwrap();
    let loss_err = (stats.loss - r.loss).abs() / r.loss.abs();
    println!("{name} {opts:?}: loss {} (torch {}), rel err {loss_err:.2e}", stats.loss, r.loss);
    assert!(loss_err <= LOSS_TOL, "{name}: loss {} vs torch {} (rel {loss_err:e})", stats.loss, r.loss);
    assert_eq!(stats.target_tokens, r.ids.len() - 1);
    assert_eq!(stats.tokens, r.ids.len() - 1, "the last token predicts nothing and is not run");
    let want_lp = r.grads.to_f32("token_logprobs").unwrap();
    assert_eq!(stats.token_logprobs.len(), 1);
    let lp_err = stats.token_logprobs[0].iter().zip(&want_lp).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(lp_err <= 1e-4, "{name}: token log-probs max abs error {lp_err}");

    let got = grads(gpu, &m);
    let names: Vec<&str> = r.grads.names().filter(|n| *n != "token_logprobs").collect();
    assert_eq!(names.len(), got.len(), "{name}: one gradient per parameter (tied embedding once)");
    let mut worst = (0.0, String::new());
    for (pname, g) in &got {
        let want =
            r.grads.to_f32(pname).unwrap_or_else(|e| panic!("{name}: torch has no gradient {pname}: {e}"));
        let e = rel_err(g, &want);
        assert!(e <= GRAD_TOL, "{name}: gradient of {pname}: relative error {e:.3e} > {GRAD_TOL}");
        if e > worst.0 {
            worst = (e, pname.clone());
        }
    }
    println!("{name}: worst gradient relative error {:.3e} ({})", worst.0, worst.1);
    got
}

fn opts(checkpointing: bool, loss_chunk_rows: usize) -> TrainOptions {
    TrainOptions { checkpointing, loss_chunk_rows, max_tokens: 256 }
}

#[test]
fn gemma2_loss_and_gradients_match_torch() {
    let gpu = gpu();
    // 19 target rows in chunks of 7, 7, 5
    let plain = check_against_torch(&gpu, "gemma2_tiny_f32", opts(false, 7));
    let ckpt = check_against_torch(&gpu, "gemma2_tiny_f32", opts(true, 256));
    let e = max_rel(&ckpt, &plain);
    assert!(e <= SELF_TOL, "checkpointing changes gradients by {e:e}");
}

#[test]
fn gemma3_loss_and_gradients_match_torch() {
    let gpu = gpu();
    let plain = check_against_torch(&gpu, "gemma3_tiny_f32_sharded", opts(false, 256));
    let ckpt = check_against_torch(&gpu, "gemma3_tiny_f32_sharded", opts(true, 5));
    let e = max_rel(&ckpt, &plain);
    assert!(e <= SELF_TOL, "checkpointing changes gradients by {e:e}");
}

#[test]
fn split_embedding_table_gives_the_same_gradients() {
    // one binding holds 32 KiB: the 256 x 64 f32 embedding / tied head (and its gradient) is
    // split into row parts; gather, scatter-add and the head matmuls go part by part
    let gpu = Gpu::with_options(GpuOptions { max_binding_override: Some(32 * 1024), ..Default::default() })
        .unwrap();
    let m = load_on(&gpu, "gemma2_tiny_f32", opts(false, 8));
    assert!(m.params()[0].grad.parts().len() > 1, "the embedding gradient should be split");
    drop(m);
    check_against_torch(&gpu, "gemma2_tiny_f32", opts(false, 8));
}

/// Two sequences of different lengths and weights (prompt tokens unweighted).
fn two_sequences(ids: &[u32]) -> (Sequence, Sequence) {
    let a: Vec<u32> = ids[..13].to_vec();
    let wa = (0..13).map(|t| if t < 4 { 0.0 } else { 0.1 + 0.01 * t as f32 }).collect();
    let b: Vec<u32> = ids.iter().rev().copied().collect();
    let wb = (0..b.len()).map(|t| if t == 0 || t % 3 == 0 { 0.0 } else { 0.05 }).collect();
    (Sequence::new(a, wa), Sequence::new(b, wb))
}

#[test]
fn packed_batch_equals_micro_batches() {
    let gpu = gpu();
    for name in ["gemma2_tiny_f32", "gemma3_tiny_f32_sharded"] {
        let ids = reference(name).ids;
        let (a, b) = two_sequences(&ids);
        let mut m = load_on(&gpu, name, opts(false, 6));
        let both = m.forward_backward(&gpu, &[a.clone(), b.clone()]).unwrap();
        let g_both = grads(&gpu, &m);
        m.zero_grads(&gpu).unwrap();
        assert!(grads(&gpu, &m).iter().all(|(_, g)| g.iter().all(|&x| x == 0.0)), "zero_grads");
        let sa = m.forward_backward(&gpu, std::slice::from_ref(&a)).unwrap();
        let sb = m.forward_backward(&gpu, std::slice::from_ref(&b)).unwrap();
        let g_two = grads(&gpu, &m);
        let e = max_rel(&g_two, &g_both);
        println!("{name}: packed vs two micro-batches: gradient rel err {e:.2e}");
        assert!(e <= SELF_TOL, "{name}: micro-batches accumulate to {e:e} off the packed batch");
        assert!(((sa.loss + sb.loss) - both.loss).abs() <= 1e-5 * both.loss.abs());
        let separate = [&sa.token_logprobs[0], &sb.token_logprobs[0]];
        assert_eq!(both.token_logprobs.len(), 2);
        for (p, s) in both.token_logprobs.iter().zip(separate) {
            assert_eq!(p.len(), s.len());
            let err = p.iter().zip(s).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err <= 1e-5, "{name}: packed vs alone log-probs differ by {err}");
        }
        assert_eq!(both.target_tokens, a.num_targets() + b.num_targets());
        // a packed sequence sees only itself: its log-probs equal the CPU reference's
        check_logprobs_vs_cpu(name, &[a, b], &both);
    }
}

/// log-softmax of the CPU reference's logits at each weighted position.
fn check_logprobs_vs_cpu(name: &str, seqs: &[Sequence], stats: &StepStats) {
    let cpu = CpuModel::load(&fixture(name)).unwrap();
    let v = cpu.config.vocab_size;
    for (s, got) in seqs.iter().zip(&stats.token_logprobs) {
        let logits = cpu.forward(&s.ids);
        let mut want = Vec::new();
        for t in 1..s.ids.len() {
            if s.weights[t] != 0.0 {
                let row = &logits[(t - 1) * v..t * v];
                let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
                let lse = max + row.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln();
                want.push((row[s.ids[t] as usize] as f64 - lse) as f32);
            }
        }
        assert_eq!(got.len(), want.len());
        let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err <= 1e-4, "{name}: log-probs vs CPU reference max abs error {err}");
    }
}

#[test]
fn token_logprobs_match_cpu_reference_and_leave_grads_alone() {
    let gpu = gpu();
    for name in ["gemma2_tiny_f32", "gemma3_tiny_f32_sharded"] {
        let ids = reference(name).ids;
        let (a, b) = two_sequences(&ids);
        let seqs = [a, Sequence::new(vec![2], vec![0.0]), b];
        let mut m = load_on(&gpu, name, opts(true, 4));
        let lp = m.token_logprobs(&gpu, &seqs).unwrap();
        assert_eq!(lp[1], Vec::<f32>::new(), "a sequence without targets");
        let stats = StepStats { token_logprobs: lp, ..Default::default() };
        check_logprobs_vs_cpu(name, &seqs, &stats);
        assert!(grads(&gpu, &m).iter().all(|(_, g)| g.iter().all(|&x| x == 0.0)), "no gradient written");
    }
}

#[test]
fn coefficient_callback_scales_the_gradient() {
    let gpu = gpu();
    let name = "gemma2_tiny_f32";
    let ids = reference(name).ids;
    let (a, b) = two_sequences(&ids);
    let seqs = [a, b];
    let mut m = load_on(&gpu, name, opts(false, 5));
    let plain = m.forward_backward(&gpu, &seqs).unwrap();
    let g_plain = grads(&gpu, &m);
    m.zero_grads(&gpu).unwrap();
    // coefficients 3 * weight: three times the gradient; the callback sees the log-probs
    let weights: Vec<Vec<f32>> = seqs
        .iter()
        .map(|s| s.weights.iter().copied().filter(|&w| w != 0.0).map(|w| 3.0 * w).collect())
        .collect();
    let mut seen = Vec::new();
    let with = m
        .forward_backward_with(&gpu, &seqs, |lp| {
            seen = lp.to_vec();
            Ok(weights.clone())
        })
        .unwrap();
    assert_eq!(seen, plain.token_logprobs, "the callback gets the current log-probs");
    assert_eq!(with.loss, plain.loss, "the reported loss uses the sequences' weights");
    let g3: Vec<(String, Vec<f32>)> =
        g_plain.iter().map(|(n, g)| (n.clone(), g.iter().map(|x| 3.0 * x).collect())).collect();
    let e = max_rel(&grads(&gpu, &m), &g3);
    assert!(e <= SELF_TOL, "coef = 3 * weights: gradient off by {e:e}");

    // a failing callback or a wrong shape: an error, and the gradients stay as they were
    let before = grads(&gpu, &m);
    let e = m.forward_backward_with(&gpu, &seqs, |_| anyhow::bail!("no advantages")).unwrap_err();
    assert!(format!("{e:#}").contains("no advantages"), "{e:#}");
    let e = m.forward_backward_with(&gpu, &seqs, |lp| Ok(vec![vec![1.0; lp[0].len()]])).unwrap_err();
    assert!(format!("{e:#}").contains("coefficients for 1 sequences, 2 expected"), "{e:#}");
    assert_eq!(grads(&gpu, &m), before);
}

#[test]
fn bad_sequences_are_errors_naming_the_sequence() {
    let gpu = gpu();
    let mut m = load_on(&gpu, "gemma2_tiny_f32", TrainOptions { max_tokens: 10, ..opts(false, 4) });
    let ok = Sequence::uniform(vec![2, 3, 4], 0.5);
    let e = m.forward_backward(&gpu, &[ok.clone(), Sequence::uniform(vec![2, 300], 1.0)]).unwrap_err();
    assert!(
        e.to_string().contains("sequence 1: token id 300 at position 1 is not below vocab_size 256"),
        "{e}"
    );
    let e = m.token_logprobs(&gpu, &[Sequence::new(vec![2, 3], vec![0.0, f32::NAN])]).unwrap_err();
    assert!(e.to_string().contains("sequence 0: weight NaN at position 1"), "{e}");
    let long = Sequence::uniform((0..12).collect(), 1.0);
    let e = m.forward_backward(&gpu, &[ok.clone(), long]).unwrap_err();
    assert!(e.to_string().contains("13 tokens, over TrainOptions::max_tokens = 10"), "{e}");
    // no targets at all: nothing runs, loss 0
    let s = m.forward_backward(&gpu, &[Sequence::new(vec![2, 3], vec![0.0, 0.0])]).unwrap();
    assert_eq!((s.loss, s.target_tokens, s.tokens), (0.0, 0, 0));
    assert!(grads(&gpu, &m).iter().all(|(_, g)| g.iter().all(|&x| x == 0.0)));
}

#[test]
fn export_load_round_trip_and_memory_report() {
    let gpu = gpu();
    let name = "gemma3_tiny_f32_sharded";
    let mut m = load_on(&gpu, name, opts(false, 256));
    let exported = m.export_f32(&gpu).unwrap();
    let w = Weights::open_dir(&fixture(name)).unwrap();
    for (n, shape, data) in &exported {
        assert_eq!(&w.to_f32_shaped(n, shape).unwrap(), data, "{n}: exported = checkpoint");
    }
    let ids = reference(name).ids;
    let before = m.token_logprobs(&gpu, &[mean_loss_seq(&ids)]).unwrap();
    // halve every weight, check it took, restore
    let halved: Vec<_> = exported
        .iter()
        .map(|(n, s, d)| (n.clone(), s.clone(), d.iter().map(|x| x * 0.5).collect()))
        .collect();
    m.load_f32(&gpu, &halved).unwrap();
    assert_eq!(m.export_f32(&gpu).unwrap(), halved);
    assert_ne!(m.token_logprobs(&gpu, &[mean_loss_seq(&ids)]).unwrap(), before);
    m.load_f32(&gpu, &exported).unwrap();
    assert_eq!(m.token_logprobs(&gpu, &[mean_loss_seq(&ids)]).unwrap(), before);
    // bad input: nothing written
    let mut missing = exported.clone();
    let gone = missing.remove(3).0;
    let e = m.load_f32(&gpu, &missing).unwrap_err().to_string();
    assert!(e.contains(&gone) && e.contains("missing"), "{e}");
    let mut bad = halved.clone();
    bad[1].1 = vec![1, 2];
    let e = m.load_f32(&gpu, &bad).unwrap_err().to_string();
    assert!(e.contains(&bad[1].0) && e.contains("shape [1, 2]"), "{e}");
    let mut unknown = halved.clone();
    unknown[0].0 = "lm_head.weight".into();
    assert!(m.load_f32(&gpu, &unknown).unwrap_err().to_string().contains("not a parameter"));
    assert_eq!(m.export_f32(&gpu).unwrap(), exported, "failed loads write nothing");

    // memory: checkpointing keeps one layer's activations instead of all of them
    let n_params: u64 = exported.iter().map(|(_, _, d)| d.len() as u64).sum();
    m.forward_backward(&gpu, &[mean_loss_seq(&ids)]).unwrap();
    let full = m.memory_bytes();
    assert_eq!((full.params, full.grads), (4 * n_params, 4 * n_params));
    assert_eq!(full.last_step_tokens, ids.len() - 1);
    let mut c = load_on(&gpu, name, opts(true, 256));
    c.forward_backward(&gpu, &[mean_loss_seq(&ids)]).unwrap();
    let ckpt = c.memory_bytes();
    println!("activations: {} bytes without checkpointing, {} with", full.activations, ckpt.activations);
    assert!(ckpt.activations * 2 < full.activations, "{ckpt:?} vs {full:?}");
}

#[test]
fn untied_head_splits_the_tied_gradient() {
    // the gemma2 fixture rewritten with tie_word_embeddings = false and lm_head.weight = the
    // embedding: the same function, so grad(embed) + grad(lm_head) = torch's tied gradient
    let gpu = gpu();
    let name = "gemma2_tiny_f32";
    let src = fixture(name);
    let tmp = tempfile::Builder::new().prefix("train-grads-untied-").tempdir().unwrap();
    let dir = tmp.path();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    cfg["tie_word_embeddings"] = serde_json::Value::Bool(false);
    std::fs::write(dir.join("config.json"), serde_json::to_string(&cfg).unwrap()).unwrap();
    let w = Weights::open_dir(&src).unwrap();
    let config = Config::from_dir(dir).unwrap();
    assert!(!config.tie_word_embeddings);
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = gpu_trainer::model::weights::expected_tensors(&config)
        .into_iter()
        .map(|(n, shape)| {
            let from = if n == "lm_head.weight" { "model.embed_tokens.weight" } else { n.as_str() };
            let bytes = f32_bytes(&w.to_f32_shaped(from, &shape).unwrap());
            (n, shape, bytes)
        })
        .collect();
    let views: Vec<(&str, DType, &[usize], &[u8])> =
        tensors.iter().map(|(n, s, b)| (n.as_str(), DType::F32, s.as_slice(), b.as_slice())).collect();
    write_safetensors(&dir.join("model.safetensors"), &views).unwrap();
    let wu = Weights::open_dir(dir).unwrap();
    let mut m = TrainModel::from_weights(&gpu, config, &wu, opts(false, 7)).unwrap();
    tmp.close().unwrap();
    assert_eq!(m.params().last().unwrap().name, "lm_head.weight");
    let r = reference(name);
    let stats = m.forward_backward(&gpu, &[mean_loss_seq(&r.ids)]).unwrap();
    assert!((stats.loss - r.loss).abs() <= LOSS_TOL * r.loss);
    let g = grads(&gpu, &m);
    let get = |n: &str| g.iter().find(|(x, _)| x == n).unwrap().1.clone();
    let (ge, gh) = (get("model.embed_tokens.weight"), get("lm_head.weight"));
    let want = r.grads.to_f32("model.embed_tokens.weight").unwrap();
    let sum: Vec<f32> = ge.iter().zip(&gh).map(|(a, b)| a + b).collect();
    let e = rel_err(&sum, &want);
    assert!(e <= GRAD_TOL, "embed + lm_head gradients vs the tied one: {e:e}");
    assert!(norm(&ge) > 0.01 * norm(&want) && norm(&gh) > 0.01 * norm(&want), "both parts are non-trivial");
    for (n, gn) in &g {
        if n != "model.embed_tokens.weight" && n != "lm_head.weight" {
            let e = rel_err(gn, &r.grads.to_f32(n).unwrap());
            assert!(e <= GRAD_TOL, "{n}: {e:e}");
        }
    }
}
