//! `greedy bench --rl` on the tiny Gemma2 fixture: the JSON carries every field, finite; the
//! memory per parameter agrees with the parameter count read independently from the safetensors
//! header (f32 policy weights and gradients, AdaFactor's factored second moment or AdamW's two
//! moments, the bf16 reference) and with the KV cache sizes computed from config.json; the time
//! split adds up; a peer's figures are passed through with the right ratios (a stand-in peer
//! printing fixed JSON, so no torch is needed); bad arguments are named. No timing assertions
//! (the numbers depend on the machine).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The workload of every run here: 2 samples of 6 prompt + 4 generated tokens.
const BATCH: u64 = 2;
const PROMPT_LEN: u64 = 6;
const NEW_TOKENS: u64 = 4;
/// The engine allocates KV caches with their length rounded up to a multiple of this.
const CACHE_LEN_STEP: u64 = 256;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures/gemma2_tiny_f32")
}

fn greedy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greedy")).arg("bench").args(args).output().unwrap()
}

fn bench_json(extra: &[&str]) -> Value {
    let model = fixture();
    let (b, p, g) = (BATCH.to_string(), PROMPT_LEN.to_string(), NEW_TOKENS.to_string());
    let mut args = vec!["--rl", "--model", model.to_str().unwrap()];
    args.extend_from_slice(&["--batch", &b, "--prompt-len", &p, "--new-tokens", &g]);
    args.extend_from_slice(&["--steps", "1", "--warmup-steps", "1"]);
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

/// The fixture's parameters (it ties the LM head to the embedding: the file holds each once).
fn fixture_params() -> u64 {
    fixture_shapes().iter().map(|s| s.iter().product::<u64>()).sum()
}

/// f32 KV cache bytes of `seqs` sequences of `len` positions, from config.json: K and V per
/// layer, [len, kv_heads, head_dim] per sequence.
fn kv_bytes(seqs: u64, len: u64) -> u64 {
    let c: Value = serde_json::from_slice(&std::fs::read(fixture().join("config.json")).unwrap()).unwrap();
    let u = |k: &str| c[k].as_u64().unwrap();
    2 * u("num_hidden_layers") * seqs * len * u("num_key_value_heads") * u("head_dim") * 4
}

fn num(v: &Value, key: &str) -> f64 {
    let x = v[key].as_f64().unwrap_or_else(|| panic!("{key} missing or not a number in {v}"));
    assert!(x.is_finite(), "{key} = {x} is not finite");
    x
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// Every byte figure of our side, with its per-parameter twin.
const MEMORY: [&str; 12] = [
    "policy",
    "grads",
    "optimizer",
    "policy_state",
    "reference",
    "kv_cache",
    "reference_kv_cache",
    "learn_activations",
    "generation_workspace",
    "reference_workspace",
    "transient",
    "total",
];

/// The figures every report carries, all finite numbers.
const NUMBERS: [&str; 27] = [
    "params",
    "layers",
    "hidden",
    "vocab",
    "batch",
    "prompt_len",
    "new_tokens",
    "lr",
    "max_grad_norm",
    "clip_eps",
    "kl_coef",
    "load_s",
    "step_s",
    "generate_s",
    "reference_s",
    "learn_s",
    "generate_share",
    "reference_share",
    "learn_share",
    "env_steps_per_s",
    "updates_per_hour",
    "gen_tok_s",
    "learn_tok_s",
    "loss",
    "kl_mean",
    "entropy",
    "old_logprob_gap_max",
];

fn check_common(g: &Value) {
    for k in NUMBERS {
        num(g, k);
    }
    for k in ["clip_frac", "ratio_mean", "grad_norm", "pg_loss"] {
        num(g, k);
    }
    let params = fixture_params();
    assert_eq!(g["params"].as_u64(), Some(params), "{g}");
    assert_eq!(
        (g["kl"].as_str(), g["policy_dtype"].as_str(), g["reference_dtype"].as_str()),
        (Some("k3"), Some("f32"), Some("bf16"))
    );
    assert!(close(num(g, "clip_eps"), 0.2) && close(num(g, "kl_coef"), 0.05) && close(num(g, "lr"), 1e-4));
    // every sample generated the whole budget, and every completion token is in the loss
    assert_eq!(g["generated_tokens_per_step"].as_u64(), Some(BATCH * NEW_TOKENS));
    assert_eq!(g["completion_tokens"].as_u64(), Some(BATCH * NEW_TOKENS));

    // the time split adds up; the rates follow from it
    let step_s = num(g, "step_s");
    assert!(step_s > 0.0);
    assert!(close(step_s, num(g, "generate_s") + num(g, "reference_s") + num(g, "learn_s")), "{g}");
    let shares = num(g, "generate_share") + num(g, "reference_share") + num(g, "learn_share");
    assert!((shares - 1.0).abs() < 1e-9, "shares sum to {shares}");
    assert!(close(num(g, "env_steps_per_s"), BATCH as f64 / step_s));
    assert!(close(num(g, "updates_per_hour"), 3600.0 / step_s));
    assert!(close(num(g, "gen_tok_s"), (BATCH * NEW_TOKENS) as f64 / num(g, "generate_s")));

    // memory: f32 policy weights and gradients, bf16 reference, KV caches from the config
    let b = |k: &str| g[format!("{k}_bytes")].as_u64().unwrap_or_else(|| panic!("{k}_bytes in {g}"));
    assert_eq!(b("policy"), 4 * params);
    assert_eq!(b("grads"), 4 * params);
    assert_eq!(b("reference"), 2 * params);
    // generation caches prompt + new - 1 positions (the last token is never fed back), scoring
    // the whole sequence; both lengths rounded up by the engine
    let round = |n: u64| n.next_multiple_of(CACHE_LEN_STEP);
    assert_eq!(b("kv_cache"), kv_bytes(BATCH, round(PROMPT_LEN + NEW_TOKENS - 1)), "{g}");
    assert_eq!(b("reference_kv_cache"), kv_bytes(BATCH, round(PROMPT_LEN + NEW_TOKENS)), "{g}");
    for k in ["learn_activations", "generation_workspace", "reference_workspace"] {
        assert!(b(k) > 0, "{k}: every phase holds activations: {g}");
    }
    assert_eq!(b("policy_state"), b("policy") + b("grads") + b("optimizer"));
    let transient = b("kv_cache")
        + b("reference_kv_cache")
        + b("learn_activations")
        + b("generation_workspace")
        + b("reference_workspace");
    assert_eq!(b("transient"), transient);
    assert_eq!(b("total"), b("policy_state") + b("reference") + transient);
    for k in MEMORY {
        assert!(close(num(g, &format!("{k}_bytes_per_param")), b(k) as f64 / params as f64), "{k}: {g}");
    }
    // wgpu's allocator (where the backend has one) saw at least the tensors we counted
    if let Some(alloc) = g["device_allocated_bytes"].as_f64() {
        assert!(alloc >= b("total") as f64, "allocator {alloc} < counted tensors: {g}");
        assert!(close(num(g, "device_allocated_bytes_per_param"), alloc / params as f64));
    }

    // the numbers are those of a real step: the generation's log-probs are the training
    // forward's (f32 both), k3 is never negative, the entropy at most ln(vocab)
    assert!(num(g, "old_logprob_gap_max") < 1e-3, "{g}");
    assert!(num(g, "kl_mean") >= 0.0);
    let entropy = num(g, "entropy");
    assert!(entropy > 0.0 && entropy <= (256f64).ln() + 1e-6, "{entropy}");
}

/// A stand-in peer: checks that it is asked for the same workload, prints a line of noise and
/// then a fixed report.
const FAKE_PEER: &str = "\
dev=none; args=\"$*\"\n\
while [ $# -gt 0 ]; do [ \"$1\" = --device ] && dev=$2; shift; done\n\
case \"$args\" in *'--batch 2 --prompt-len 6 --new-tokens 4 --steps 1 --warmup 1 --optimizer adafactor \
--lr 0.0001 --max-grad-norm 1 --clip-eps 0.2 --kl-coef 0.05'*) ;; \
*) echo \"unexpected args: $args\" >&2; exit 3;; esac\n\
echo 'Loading weights: 100%'\n\
echo \"{\\\"device\\\": \\\"$dev\\\", \\\"params\\\": 1000, \\\"step_s\\\": 4.0, \\\"generate_s\\\": 2.0, \
\\\"reference_s\\\": 0.5, \\\"learn_s\\\": 1.5, \\\"generate_share\\\": 0.5, \\\"reference_share\\\": 0.125, \
\\\"learn_share\\\": 0.375, \\\"env_steps_per_s\\\": 0.5, \\\"updates_per_hour\\\": 900, \\\"gen_tok_s\\\": 4, \
\\\"loss\\\": 0.1, \\\"kl_mean\\\": 0.01, \\\"clip_frac\\\": 0, \\\"entropy\\\": 5.0, \\\"param_bytes\\\": 4000, \
\\\"grad_bytes\\\": 4000, \\\"optim_bytes\\\": 500, \\\"reference_bytes\\\": 2000, \\\"kv_cache_bytes\\\": 300, \
\\\"peak_mem_bytes\\\": 20000, \\\"mem_source\\\": \\\"test\\\"}\"\n";

#[test]
fn adafactor_fields_memory_and_peer() {
    let dir = tempfile::Builder::new().prefix("greedy-bench-rl-").tempdir().unwrap();
    let script = dir.path().join("peer.sh");
    std::fs::write(&script, FAKE_PEER).unwrap();
    let v = bench_json(&["--peer", "/bin/sh", "--peer-script", script.to_str().unwrap()]);
    let g = &v["greedy_rl"];
    check_common(g);
    assert_eq!(g["optimizer"], "adafactor", "the paper's optimizer is the default");
    // no first moment; rank >= 2: a row and a column vector, else the full second moment
    let floats: u64 = fixture_shapes()
        .iter()
        .map(|s| if s.len() >= 2 { s[..s.len() - 1].iter().product::<u64>() + s[s.len() - 1] } else { s[0] })
        .sum();
    assert_eq!(g["optimizer_bytes"].as_u64(), Some(4 * floats), "{g}");
    assert!(num(g, "optimizer_bytes_per_param") < 1.0, "{g}");
    assert_eq!(g["memory_goal_met"], true, "8 + < 1 B/param policy, 2 B/param reference: {g}");

    let p = &v["peer_hf_rl"];
    assert!(p["error"].is_null(), "{p}");
    // the peer runs on the same silicon as our adapter
    let want = if g["device_type"] == "Cpu" { "cpu" } else { "cuda" };
    assert_eq!(p["device"], want, "{v}");
    let what = if want == "cpu" { "same CPU" } else { "CUDA" };
    assert!(p["comparison"].as_str().unwrap().contains(what), "{p}");
    assert_eq!(p["mem_source"], "test");
    assert!(close(num(p, "env_steps_per_s_ratio_greedy_over_peer"), num(g, "env_steps_per_s") / 0.5));
    assert!(close(num(p, "updates_per_hour_ratio_greedy_over_peer"), num(g, "updates_per_hour") / 900.0));
    assert!(close(num(p, "gen_tok_s_ratio_greedy_over_peer"), num(g, "gen_tok_s") / 4.0));
    assert!(close(num(p, "generate_speedup"), 2.0 / num(g, "generate_s")));
    assert!(close(num(p, "reference_speedup"), 0.5 / num(g, "reference_s")));
    assert!(close(num(p, "learn_speedup"), 1.5 / num(g, "learn_s")));
    for (k, want) in [
        ("param", 4.0),
        ("grad", 4.0),
        ("optim", 0.5),
        ("reference", 2.0),
        ("kv_cache", 0.3),
        ("peak_mem", 20.0),
    ] {
        assert!(close(num(p, &format!("{k}_bytes_per_param")), want), "{k}: {p}");
    }
    for k in ["step_s", "generate_s", "learn_share", "loss", "kl_mean", "entropy", "env_steps_per_s"] {
        assert_eq!(p[k], p["report"][k], "{k} passed through");
    }
    assert!(close(num(p, "step_s"), 4.0));
}

#[test]
fn adamw_state_and_failing_peer() {
    let any_file = fixture().join("config.json");
    let v = bench_json(&[
        "--optimizer",
        "adamw",
        "--peer",
        "/bin/false",
        "--peer-script",
        any_file.to_str().unwrap(),
    ]);
    let g = &v["greedy_rl"];
    check_common(g);
    assert_eq!(g["optimizer"], "adamw");
    // AdamW: exp_avg + exp_avg_sq, f32 each: the goal's 16 bytes/param exactly
    assert_eq!(g["optimizer_bytes"].as_u64(), Some(8 * fixture_params()), "{g}");
    assert!(close(num(g, "policy_state_bytes_per_param"), 16.0), "{g}");
    assert_eq!(g["memory_goal_met"], true);
    // a failing peer is reported, not fatal
    let p = &v["peer_hf_rl"];
    assert!(p["error"].as_str().unwrap().contains("failed"), "{p}");
}

#[test]
fn table_names_the_phases_and_the_memory() {
    let model = fixture();
    let m = model.to_str().unwrap();
    let out = greedy(&[
        "--rl",
        "--model",
        m,
        "--batch",
        "1",
        "--prompt-len",
        "4",
        "--new-tokens",
        "2",
        "--steps",
        "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "env-steps/s",
        "updates/hour",
        "generation s",
        "reference log-probs s",
        "learning s",
        "KV cache",
        "goal",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
}

#[test]
fn bad_arguments_are_named() {
    let model = fixture();
    let m = model.to_str().unwrap();
    let err = |args: &[&str]| {
        let out = greedy(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = err(&["--rl", "--train", "--model", m]);
    assert!(e.contains("--rl") && e.contains("--train"), "{e}");
    let e = err(&["--rl", "--env"]);
    assert!(e.contains("--rl") && e.contains("--env"), "{e}");
    assert!(err(&["--rl", "--model", m, "--batch", "0"]).contains("--batch"));
    assert!(err(&["--rl", "--model", m, "--new-tokens", "0"]).contains("--new-tokens"));
    assert!(err(&["--rl", "--model", m, "--prompt-len", "0"]).contains("--prompt-len"));
    assert!(err(&["--rl", "--model", m, "--steps", "0"]).contains("--steps"));
    // the fixture's context is 128 tokens
    let e = err(&["--rl", "--model", m, "--prompt-len", "100", "--new-tokens", "29"]);
    assert!(e.contains("context of 128"), "{e}");
    assert!(err(&["--rl"]).contains("--model"));
    assert!(err(&["--rl", "--model", "/nonexistent/dir"]).contains("/nonexistent/dir"));
}

/// A Python with torch and transformers for the real peer: `GREEDY_TEST_PYTHON`, else the
/// repository's `.venv`, else this workplace's `/work/venv/py`; the reason when there is none.
fn torch_python() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates: Vec<PathBuf> = match std::env::var_os("GREEDY_TEST_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![root.join(".venv/bin/python"), PathBuf::from("/work/venv/py/bin/python")],
    };
    let mut why = Vec::new();
    for py in candidates {
        if !py.is_file() {
            why.push(format!("{}: no such file", py.display()));
            continue;
        }
        match Command::new(&py).args(["-c", "import torch, transformers"]).output() {
            Ok(o) if o.status.success() => return Ok(py),
            Ok(o) => why.push(format!(
                "{}: no torch/transformers ({})",
                py.display(),
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            )),
            Err(e) => why.push(format!("{}: {e}", py.display())),
        }
    }
    Err(why.join("; "))
}

#[test]
fn real_pytorch_peer() {
    let python = match torch_python() {
        Ok(p) => p,
        Err(why) => {
            eprintln!(
                "SKIPPED real_pytorch_peer: no Python with torch and transformers (set GREEDY_TEST_PYTHON): {why}"
            );
            return;
        }
    };
    // the default script, tools/bench/hf_rl_bench.py, found from the repository
    let v = bench_json(&["--peer", python.to_str().unwrap()]);
    let g = &v["greedy_rl"];
    check_common(g);
    let p = &v["peer_hf_rl"];
    assert!(p["error"].is_null(), "the peer failed: {p}");
    assert!(p["script"].as_str().unwrap().ends_with("tools/bench/hf_rl_bench.py"), "{p}");
    let r = &p["report"];
    // the same workload on the same checkpoint: the same parameter count (the tied head once)
    assert_eq!(r["params"].as_u64(), Some(fixture_params()), "{r}");
    assert_eq!(
        (r["batch"].as_u64(), r["prompt_len"].as_u64(), r["new_tokens"].as_u64(), r["optimizer"].as_str()),
        (Some(BATCH), Some(PROMPT_LEN), Some(NEW_TOKENS), Some("adafactor")),
        "{r}"
    );
    // the peer runs on the same silicon as our adapter (a CPU adapter: the CPU)
    if g["device_type"] == "Cpu" {
        assert!(p["device"].as_str().unwrap().starts_with("cpu"), "{p}");
    }
    // its time split adds up too, and the ratios follow from both sides
    let step_s = num(p, "step_s");
    assert!(step_s > 0.0);
    assert!(close(step_s, num(p, "generate_s") + num(p, "reference_s") + num(p, "learn_s")), "{p}");
    assert!(close(num(p, "env_steps_per_s"), BATCH as f64 / step_s));
    assert!(close(
        num(p, "env_steps_per_s_ratio_greedy_over_peer"),
        num(g, "env_steps_per_s") / num(p, "env_steps_per_s")
    ));
    assert!(close(
        num(p, "updates_per_hour_ratio_greedy_over_peer"),
        num(g, "updates_per_hour") / num(p, "updates_per_hour")
    ));
    assert!(close(num(p, "learn_speedup"), num(p, "learn_s") / num(g, "learn_s")));
    // exact tensor sizes: f32 policy and gradients, bf16 reference, AdaFactor's factored state
    // the same as ours plus the 0-d f32 `RMS` transformers keeps per tensor (used only by
    // scale_parameter, which is off)
    assert!(close(num(p, "param_bytes_per_param"), 4.0), "{p}");
    assert!(close(num(p, "grad_bytes_per_param"), 4.0), "{p}");
    assert!(close(num(p, "reference_bytes_per_param"), 2.0), "{p}");
    let tensors = fixture_shapes().len() as u64;
    assert_eq!(r["optim_bytes"].as_u64(), g["optimizer_bytes"].as_u64().map(|b| b + 4 * tensors), "{r}");
    assert!(num(p, "peak_mem_bytes_per_param") > 0.0, "{p}");
    // the same objective from the same start: k3 >= 0, the entropy at most ln(vocab)
    assert!(num(p, "kl_mean") >= 0.0 && num(p, "entropy") <= (256f64).ln() + 1e-4, "{p}");
}
