//! The RLFT objective's loss terms and every parameter's gradient against PyTorch autograd
//! through transformers (tools/gen_rl_grad_fixtures.py: float32, eager attention), on the tiny
//! Gemma2 and Gemma3 fixtures, with ratios on both sides of the clip range, advantages of both
//! signs, and both KL estimators; and with a value head (`k3.value`: V on the final-norm hidden
//! state at the last prompt token, 0.1 * mean 0.5 (V - target)^2 added; its gradient reaches the
//! trunk). Loss terms within 1e-5, gradient norms within 1e-3 relative.

mod common;

use gpu_trainer::Gpu;
use gpu_trainer::rl::grad::{GradBatch, rl_grad};
use serde_json::Value;

fn check(model: &str, kl: &str) {
    let dir = common::fixture(model);
    let rl = common::fixture("rl");
    let batch = GradBatch::read(&rl.join(format!("{model}.{kl}.batch.json"))).unwrap();
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(rl.join(format!("{model}.{kl}.expected.json"))).unwrap(),
    )
    .unwrap();
    let gpu = Gpu::new().unwrap();
    let got = rl_grad(&gpu, &dir, &batch).unwrap();
    let value = kl.ends_with(".value");
    let keys: &[&str] = if value {
        &["loss", "pg_loss", "kl", "clip_frac", "value_loss"]
    } else {
        &["loss", "pg_loss", "kl", "clip_frac"]
    };
    for &key in keys {
        let (g, w) = (got[key].as_f64().unwrap(), want[key].as_f64().unwrap());
        assert!((g - w).abs() <= 1e-5, "{model} {kl} {key}: {g} vs PyTorch {w}");
    }
    assert_eq!(got["tokens"], want["tokens"]);
    if value {
        let (g, w) = (got["values"].as_array().unwrap(), want["values"].as_array().unwrap());
        assert_eq!(g.len(), w.len());
        for (g, w) in g.iter().zip(w) {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{model}: V {g} vs PyTorch {w}");
        }
    }
    let (gn, wn) = (got["grad_norms"].as_object().unwrap(), want["grad_norms"].as_object().unwrap());
    assert_eq!(gn.len(), wn.len(), "{model}: one norm per parameter");
    let mut worst = (0.0f64, String::new());
    for (name, w) in wn {
        let w = w.as_f64().unwrap();
        let g = gn.get(name).unwrap_or_else(|| panic!("{model}: no gradient for {name}")).as_f64().unwrap();
        let rel = (g - w).abs() / w.abs().max(1e-12);
        if rel > worst.0 {
            worst = (rel, name.clone());
        }
    }
    println!("{model} {kl}: worst gradient norm {:.2e} relative ({})", worst.0, worst.1);
    assert!(worst.0 <= 1e-3, "{model} {kl}: gradient norm of {} off by {:.3e} relative", worst.1, worst.0);
}

#[test]
fn gemma2_k1_and_k3_match_pytorch() {
    check("gemma2_tiny_f32", "k1");
    check("gemma2_tiny_f32", "k3");
}

#[test]
fn gemma3_k1_and_k3_match_pytorch() {
    check("gemma3_tiny_f32_sharded", "k1");
    check("gemma3_tiny_f32_sharded", "k3");
}

#[test]
fn the_value_head_matches_pytorch_on_gemma2_and_gemma3() {
    check("gemma2_tiny_f32", "k3.value");
    check("gemma3_tiny_f32_sharded", "k3.value");
}

#[test]
fn bad_batch_files_are_named_errors() {
    let tmp = common::tmpdir("rl-batch");
    let p = tmp.path().join("b.json");
    std::fs::write(&p, r#"{"clip_eps": 0.2, "kl_coef": 0.05, "kl_estimator": "k3", "sequences": [{"prompt": [2], "completion": [5, 6], "old_logprobs": [-1], "ref_logprobs": [-1, -1], "advantages": [1, 1]}]}"#).unwrap();
    let e = GradBatch::read(&p).unwrap_err().to_string();
    assert!(e.contains("old_logprobs") && e.contains("sequence 0"), "{e}");
    std::fs::write(&p, r#"{"clip_eps": 0.2, "kl_coef": 0.05, "kl_estimator": "k2", "sequences": []}"#)
        .unwrap();
    let e = format!("{:#}", GradBatch::read(&p).unwrap_err());
    assert!(e.contains("k2") || e.contains("kl_estimator"), "{e}");
    // a value part without targets
    std::fs::write(&p, r#"{"clip_eps": 0.2, "kl_coef": 0.05, "kl_estimator": "k3", "vf_coef": 0.1, "value_head": {"weight": [0.5], "bias": 0}, "sequences": [{"prompt": [2], "completion": [5], "old_logprobs": [-1], "ref_logprobs": [-1], "advantages": [1]}]}"#).unwrap();
    let e = GradBatch::read(&p).unwrap_err().to_string();
    assert!(e.contains("value_target") && e.contains("0 of 1"), "{e}");
    // a value head of the wrong size
    std::fs::write(&p, r#"{"clip_eps": 0.2, "kl_coef": 0.05, "kl_estimator": "k3", "vf_coef": 0.1, "value_head": {"weight": [0.5], "bias": 0}, "sequences": [{"prompt": [2], "completion": [5], "old_logprobs": [-1], "ref_logprobs": [-1], "advantages": [1], "value_target": 1}]}"#).unwrap();
    let batch = GradBatch::read(&p).unwrap();
    let e = format!(
        "{:#}",
        rl_grad(&Gpu::new().unwrap(), &common::fixture("gemma2_tiny_f32"), &batch).unwrap_err()
    );
    assert!(e.contains("value_head") && e.contains("hidden size"), "{e}");
}
