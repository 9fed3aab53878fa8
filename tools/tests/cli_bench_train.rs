//! `greedy bench --train` on the tiny Gemma2 fixture: the JSON carries every field, the memory
//! per parameter agrees with the parameter count read independently from the safetensors header
//! (f32 weights and gradients, AdamW's two moments, AdaFactor's factored second moment), the
//! loss is within the bounds the final logit softcap allows, and a peer's figures are passed
//! through with the right ratio. No timing assertions (the numbers depend on the machine).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures/gemma2_tiny_f32")
}

fn greedy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greedy")).arg("bench").args(args).output().unwrap()
}

fn bench_json(extra: &[&str]) -> Value {
    let model = fixture();
    let mut args = vec!["--train", "--model", model.to_str().unwrap()];
    args.extend_from_slice(&["--seq-len", "8", "--batch", "2", "--steps", "1", "--warmup-steps", "1"]);
    args.extend_from_slice(extra);
    args.push("--json");
    let out = greedy(&args);
    assert!(out.status.success(), "greedy bench {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every tensor's shape in the fixture's safetensors header (read here, not through gpu-trainer).
fn fixture_shapes() -> Vec<Vec<u64>> {
    let bytes = std::fs::read(fixture().join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, v)| v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect())
        .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} missing or not a number in {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn adamw_memory_per_parameter_and_fields() {
    let v = bench_json(&[]);
    let g = &v["greedy_train"];
    // the tiny fixture ties the LM head to the embedding: the file holds every parameter once
    let params: u64 = fixture_shapes().iter().map(|s| s.iter().product::<u64>()).sum();
    assert_eq!(g["params"].as_u64(), Some(params), "{g}");
    assert_eq!(
        (g["layers"].as_u64(), g["hidden"].as_u64(), g["vocab"].as_u64()),
        (Some(4), Some(64), Some(256))
    );
    assert_eq!(g["tokens_per_step"].as_u64(), Some(16));
    // the last position predicts nothing: 2 x 7 rows go through the model
    assert_eq!(g["tokens_run_per_step"].as_u64(), Some(14));
    assert_eq!(g["optimizer"], "adamw");
    // f32 weights and gradients, AdamW: exp_avg + exp_avg_sq, f32 each
    assert_eq!(g["params_bytes"].as_u64(), Some(4 * params));
    assert_eq!(g["grads_bytes"].as_u64(), Some(4 * params));
    assert_eq!(g["optimizer_bytes"].as_u64(), Some(8 * params));
    let p = params as f64;
    for k in ["params", "grads", "optimizer", "activations", "total"] {
        let bytes = num(g, &format!("{k}_bytes"));
        assert!(close(num(g, &format!("{k}_bytes_per_param")), bytes / p), "{k}: {g}");
    }
    assert!(close(num(g, "state_bytes_per_param"), 16.0), "the goal's 16 bytes/param: {g}");
    let act = num(g, "activations_bytes");
    assert!(act > 0.0, "a training step holds activations: {g}");
    assert!(close(num(g, "total_bytes"), 16.0 * p + act));
    // wgpu's allocator (where the backend has one) saw at least the tensors we counted
    if let Some(alloc) = g["device_allocated_bytes"].as_f64() {
        assert!(alloc >= num(g, "total_bytes"), "allocator {alloc} < counted tensors: {g}");
        assert!(close(num(g, "device_allocated_bytes_per_param"), alloc / p));
    }
    let tok_s = num(g, "train_tok_s");
    assert!(tok_s.is_finite() && tok_s > 0.0);
    assert!(close(tok_s, 16.0 / num(g, "step_s")), "tokens/s = tokens per step / s per step");
    assert!(close(num(g, "step_s"), num(g, "forward_backward_s") + num(g, "optimizer_s")));
    // final_logit_softcapping 3.0 bounds every logit to (-3, 3): with vocab 256 the mean
    // cross-entropy lies in (ln(1 + 255 e^-6), ln(1 + 255 e^6))
    let loss = num(g, "loss_last");
    let (lo, hi) = ((1.0 + 255.0 * (-6f64).exp()).ln(), (1.0 + 255.0 * 6f64.exp()).ln());
    assert!(loss > lo && loss < hi, "loss {loss} outside ({lo}, {hi})");
    assert!(v.get("peer_hf_train").is_none(), "no --peer, no peer section");
}

#[test]
fn adafactor_state_is_factored() {
    let v = bench_json(&["--optimizer", "adafactor", "--checkpointing"]);
    let g = &v["greedy_train"];
    // no first moment; rank >= 2: a row and a column vector, else the full second moment
    let floats: u64 = fixture_shapes()
        .iter()
        .map(|s| if s.len() >= 2 { s[..s.len() - 1].iter().product::<u64>() + s[s.len() - 1] } else { s[0] })
        .sum();
    assert_eq!(g["optimizer"], "adafactor");
    assert_eq!(g["checkpointing"], true);
    assert_eq!(g["optimizer_bytes"].as_u64(), Some(4 * floats), "{g}");
    assert!(num(g, "optimizer_bytes_per_param") < 1.0, "{g}");
}

#[test]
fn peer_figures_and_ratio() {
    // a stand-in peer: checks that it is asked for the same workload, prints a result line
    let dir = tempfile::Builder::new().prefix("greedy-bench-train-").tempdir().unwrap();
    let script = dir.path().join("peer.sh");
    std::fs::write(
        &script,
        "dev=none; args=\"$*\"\n\
         while [ $# -gt 0 ]; do [ \"$1\" = --device ] && dev=$2; shift; done\n\
         case \"$args\" in *'--seq-len 8 --batch 2 --steps 1 --warmup 1 --optimizer adamw'*) ;; \
         *) echo \"unexpected args: $args\" >&2; exit 3;; esac\n\
         echo loading...\n\
         echo \"train_tok_s=50 peak_mem_bytes=4000000 params=200000 param_bytes=800000 grad_bytes=800000 \
         optim_bytes=1600000 mem_source=test device=$dev loss=5.5\"\n",
    )
    .unwrap();
    let v = bench_json(&["--peer", "/bin/sh", "--peer-script", script.to_str().unwrap()]);
    let (g, p) = (&v["greedy_train"], &v["peer_hf_train"]);
    assert!(p["error"].is_null(), "{p}");
    // the peer runs on the same silicon as our adapter
    let want = if g["device_type"] == "Cpu" { "cpu" } else { "cuda" };
    assert_eq!(p["device"], want, "{v}");
    assert!(close(num(p, "train_tok_s_ratio_greedy_over_peer"), num(g, "train_tok_s") / 50.0));
    assert!(close(num(p, "peak_bytes_per_param"), 20.0));
    assert!(close(num(p, "optimizer_bytes_per_param"), 8.0));
    assert_eq!(p["mem_source"], "test");
    let what = if want == "cpu" { "same CPU" } else { "CUDA" };
    assert!(p["comparison"].as_str().unwrap().contains(what), "{p}");
}

#[test]
fn failing_peer_is_reported_not_fatal() {
    let any_file = fixture().join("config.json");
    let v = bench_json(&["--peer", "/bin/false", "--peer-script", any_file.to_str().unwrap()]);
    let p = &v["peer_hf_train"];
    assert!(p["error"].as_str().unwrap().contains("failed"), "{p}");
    assert!(num(&v["greedy_train"], "train_tok_s") > 0.0);
}

#[test]
fn bad_arguments_are_named() {
    let model = fixture();
    let m = model.to_str().unwrap();
    let out = greedy(&["--train", "--model", m, "--seq-len", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seq-len 1"), "{out:?}");
    let out = greedy(&["--train", "--model", m, "--steps", "0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--steps"), "{out:?}");
    let out = greedy(&["--train"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--model"), "{out:?}");
    let out = greedy(&["--train", "--model", "/nonexistent/dir"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir"), "{out:?}");
    let out = greedy(&["--train", "--env"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--env"), "{out:?}");
}
