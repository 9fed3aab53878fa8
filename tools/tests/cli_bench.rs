//! `greedy bench`: the inference, matmul and environment measurements run and report sane,
//! complete JSON (numbers themselves depend on the machine).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bench_json(args: &[&str]) -> Value {
    let out =
        Command::new(env!("CARGO_BIN_EXE_greedy")).arg("bench").args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "greedy bench {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn positive(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x.is_finite() && x > 0.0)
}

#[test]
fn env_steps_single_and_all_threads() {
    let v = bench_json(&["--env", "--episodes", "500"]);
    assert!(positive(&v["greedy"]["single_thread_steps_per_s"]), "{v}");
    assert!(positive(&v["greedy"]["all_threads_steps_per_s"]), "{v}");
    assert!(v["greedy"]["threads"].as_u64().unwrap() >= 1);
}

#[test]
fn inference_and_matmul_with_a_given_peak() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures/gemma2_tiny_f32");
    let v = bench_json(&[
        "--model",
        model.to_str().unwrap(),
        "--prompt-len",
        "8",
        "--new-tokens",
        "4",
        "--batch",
        "2",
        "--matmul",
        "64,64,64",
        "--peak-gflops",
        "1000",
    ]);
    let g = &v["greedy"];
    assert!(positive(&g["prefill_tok_s"]) && positive(&g["decode_tok_s"]), "{v}");
    assert_eq!(g["batch"], 2);
    let m = &v["matmul"];
    assert!(positive(&m["tiled_gflops"]) && positive(&m["matvec_m1_gflops"]), "{v}");
    assert_eq!(m["peak_source"], "--peak-gflops");
    let pct = m["tiled_pct_of_peak"].as_f64().unwrap();
    let want = 100.0 * m["tiled_gflops"].as_f64().unwrap() / 1000.0;
    assert!((pct - want).abs() < 1e-9, "% of peak = 100 * GFLOP/s / peak");
}

#[test]
fn bad_matmul_shape_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_greedy"))
        .args(["bench", "--matmul-only", "--matmul", "1,2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--matmul"));
}
