//! The CPU f32 reference forward against HuggingFace transformers' logits
//! (fixtures made by tools/gen_gemma_fixtures.py).
//!
//! Tolerance: max |logit - HF logit| <= 1e-4 for every fixture. For the bf16
//! checkpoint the reference is HF's forward on the bf16 weights upcast to f32
//! (bf16 -> f32 is exact), so the compute is the same f32 as for the f32
//! checkpoint and the same tolerance holds; what differs from HF is only f32
//! summation order (observed errors are ~1e-6).

use gpu_trainer::cpu::model::CpuModel;
use gpu_trainer::model::{Config, DType, LayerKind, ModelType, Weights};
use std::path::PathBuf;

const TOL: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

struct Reference {
    ids: Vec<u32>,
    logits: Vec<f32>,
    logits_no_window: Vec<f32>,
}

fn reference(name: &str) -> Reference {
    let dir = fixture(name);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let ids = meta["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let w = Weights::open_file(&dir.join("reference.safetensors")).unwrap();
    Reference {
        ids,
        logits: w.to_f32("logits").unwrap(),
        logits_no_window: w.to_f32("logits_no_window").unwrap(),
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Loads the fixture, runs the CPU forward, checks it against HF; returns the model.
fn check_fixture(name: &str, want_dtype: DType) -> (CpuModel, Reference) {
    let dir = fixture(name);
    let config = Config::from_dir(&dir).unwrap();
    let weights = Weights::open_dir(&dir).unwrap();
    assert_eq!(weights.check(&config).unwrap(), want_dtype, "{name}: checkpoint dtype");
    let model = CpuModel::from_weights(config, &weights).unwrap();
    let r = reference(name);
    let vocab = model.config.vocab_size;
    let logits = model.forward(&r.ids);
    assert_eq!(logits.len(), r.ids.len() * vocab);
    let err = max_abs_diff(&logits, &r.logits);
    println!("{name}: max |cpu - hf| = {err:.3e} over {} logits", logits.len());
    assert!(err <= TOL, "{name}: max abs error {err} > {TOL}");

    // the same model with no sliding window anywhere, against HF's
    let mut no_window = model.clone();
    for l in &mut no_window.config.layers {
        l.window = None;
    }
    let err = max_abs_diff(&no_window.forward(&r.ids), &r.logits_no_window);
    println!("{name}: no window: max |cpu - hf| = {err:.3e}");
    assert!(err <= TOL, "{name}: no-window max abs error {err} > {TOL}");
    (model, r)
}

#[test]
fn gemma2_f32_matches_hf() {
    let (m, _) = check_fixture("gemma2_tiny_f32", DType::F32);
    let c = &m.config;
    assert_eq!(c.model_type, ModelType::Gemma2);
    assert_eq!(
        c.layers.iter().map(|l| l.kind).collect::<Vec<_>>(),
        [LayerKind::Local, LayerKind::Global, LayerKind::Local, LayerKind::Global]
    );
    assert_eq!((c.num_heads, c.num_kv_heads, c.head_dim, c.query_pre_attn_scalar), (4, 2, 16, 24.0));
    assert_eq!((c.attn_softcap, c.final_softcap, c.sliding_window), (Some(5.0), Some(3.0), Some(8)));
}

#[test]
fn gemma2_bf16_matches_hf_on_upcast_weights() {
    let (m, _) = check_fixture("gemma2_tiny_bf16", DType::BF16);
    // every weight came from bf16: its low 16 bits are zero
    assert!(m.embed_tokens.iter().all(|x| x.to_bits() & 0xffff == 0));
}

#[test]
fn gemma3_sharded_f32_matches_hf() {
    let dir = fixture("gemma3_tiny_f32_sharded");
    assert!(dir.join("model.safetensors.index.json").exists(), "fixture should be sharded");
    let (m, _) = check_fixture("gemma3_tiny_f32_sharded", DType::F32);
    let c = &m.config;
    assert_eq!(c.model_type, ModelType::Gemma3Text);
    assert!(c.qk_norm && c.attn_softcap.is_none() && c.final_softcap.is_none());
    let thetas: Vec<f32> = c.layers.iter().map(|l| l.rope_theta).collect();
    assert_eq!(thetas, [1e4, 1e4, 1e6, 1e4]);
    let windows: Vec<Option<usize>> = c.layers.iter().map(|l| l.window).collect();
    assert_eq!(windows, [Some(6), Some(6), None, Some(6)]);
}

/// The window must change the last token's logits (so the fixture would catch
/// a port that ignores it), and so must an off-by-one window (W + 1 keys).
#[test]
fn window_matters() {
    for (name, w) in [("gemma2_tiny_f32", 8usize), ("gemma3_tiny_f32_sharded", 6)] {
        let model = CpuModel::load(&fixture(name)).unwrap();
        let r = reference(name);
        let (t, v) = (r.ids.len(), model.config.vocab_size);
        assert!(t > w + 1, "{name}: the sequence must be longer than the window");
        let last = |logits: &[f32]| logits[(t - 1) * v..].to_vec();
        let with = |window: Option<usize>| {
            let mut m = model.clone();
            for l in &mut m.config.layers {
                if l.kind == LayerKind::Local {
                    l.window = window;
                }
            }
            last(&m.forward(&r.ids))
        };
        let base = with(Some(w));
        let huge = with(Some(1 << 20));
        let off_by_one = with(Some(w + 1));
        let d_huge = max_abs_diff(&base, &huge);
        let d_obo = max_abs_diff(&base, &off_by_one);
        println!(
            "{name}: last-token change, window {w} -> huge: {d_huge:.3e}; {w} -> {}: {d_obo:.3e}",
            w + 1
        );
        assert!(d_huge > 1e-2, "{name}: window does not matter ({d_huge})");
        assert!(d_obo > 1e-2, "{name}: an off-by-one window would go unnoticed ({d_obo})");
        // and HF agrees that it matters
        assert!(max_abs_diff(&last(&r.logits), &last(&r.logits_no_window)) > 1e-2);
        // a window larger than the sequence is no window
        assert!(max_abs_diff(&huge, &last(&r.logits_no_window)) <= TOL);
    }
}

/// The same gemma2 checkpoint described by an older-form config.json (no
/// `layer_types`, `rope_theta` instead of `rope_parameters`) gives the same logits.
#[test]
fn gemma2_older_config_form_gives_same_logits() {
    let src = fixture("gemma2_tiny_f32");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    let obj = cfg.as_object_mut().unwrap();
    let theta = obj["rope_parameters"]["rope_theta"].clone();
    obj.remove("layer_types");
    obj.remove("rope_parameters");
    obj.insert("rope_theta".into(), theta);
    let tmp = tempfile::Builder::new().prefix("gt-oldcfg-").tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
    std::fs::copy(src.join("model.safetensors"), d.join("model.safetensors")).unwrap();
    let model = CpuModel::load(d).unwrap();
    let r = reference("gemma2_tiny_f32");
    let err = max_abs_diff(&model.forward(&r.ids), &r.logits);
    println!("gemma2_tiny_f32 (older config form): max |cpu - hf| = {err:.3e}");
    assert!(err <= TOL);
}
