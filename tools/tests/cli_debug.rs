//! `greedy debug loss-grad` against PyTorch: the loss and every gradient norm of the tiny
//! fixtures (tools/gen_grad_fixtures.py: transformers, f32, eager attention,
//! `model(ids, labels=ids).loss.backward()`), run on lavapipe where there is no GPU.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures").join(name)
}

fn greedy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greedy")).args(args).output().expect("run greedy")
}

fn ok_stdout(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(out.status.success(), "greedy {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn err_text(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(!out.status.success(), "greedy {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The fixture's ids (as `--ids`), torch loss and gradient norms.
fn torch(name: &str) -> (String, f64, serde_json::Map<String, Value>) {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("grads.json")).unwrap()).unwrap();
    let ids: Vec<String> = meta["input_ids"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
    (ids.join(","), meta["loss"].as_f64().unwrap(), meta["grad_norms"].as_object().unwrap().clone())
}

fn check_json(name: &str, extra: &[&str]) {
    let (ids, loss, want) = torch(name);
    let model = fixture(name);
    let mut args = vec!["debug", "loss-grad", "--model", model.to_str().unwrap(), "--ids", &ids, "--json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
    let got_loss = v["loss"].as_f64().unwrap();
    assert!((got_loss - loss).abs() <= 1e-5 * loss, "{name}: loss {got_loss} vs torch {loss}");
    let got = v["grad_norms"].as_object().unwrap();
    assert_eq!(got.len(), want.len(), "{name}: one norm per parameter (HF names)");
    for (pname, w) in &want {
        let w = w.as_f64().unwrap();
        let g = got.get(pname).unwrap_or_else(|| panic!("{name}: no norm for {pname}")).as_f64().unwrap();
        assert!((g - w).abs() <= 1e-3 * w, "{name}: {pname}: grad norm {g} vs torch {w}");
    }
}

#[test]
fn loss_grad_json_matches_torch_gemma2() {
    check_json("gemma2_tiny_f32", &[]);
}

#[test]
fn loss_grad_json_matches_torch_gemma3_with_checkpointing() {
    check_json("gemma3_tiny_f32_sharded", &["--checkpointing"]);
}

#[test]
fn loss_grad_table_lists_every_parameter() {
    let (ids, loss, want) = torch("gemma2_tiny_f32");
    let model = fixture("gemma2_tiny_f32");
    let out = ok_stdout(&["debug", "loss-grad", "--model", model.to_str().unwrap(), "--ids", &ids]);
    let first = out.lines().next().unwrap();
    let shown: f64 = first.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!((shown - loss).abs() <= 1e-5, "{first} vs {loss}");
    for pname in want.keys() {
        let line = out.lines().find(|l| l.split_whitespace().next() == Some(pname.as_str()));
        let norm: f64 = line
            .unwrap_or_else(|| panic!("no row for {pname}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let w = want[pname].as_f64().unwrap();
        assert!((norm - w).abs() <= 1e-3 * w, "{pname}: {norm} vs {w}");
    }
}

#[test]
fn loss_grad_errors_name_the_problem() {
    let model = fixture("gemma2_tiny_f32");
    let m = model.to_str().unwrap();
    let e = err_text(&["debug", "loss-grad", "--model", m, "--ids", "2"]);
    assert!(e.contains("at least 2 token ids"), "{e}");
    let e = err_text(&["debug", "loss-grad", "--model", m, "--ids", "2,999"]);
    assert!(e.contains("999") && e.contains("vocabulary"), "{e}");
    let e = err_text(&["debug", "loss-grad", "--model", "/nonexistent/dir", "--ids", "2,3"]);
    assert!(e.contains("/nonexistent/dir") && e.contains("config.json"), "{e}");
}

#[test]
fn rl_grad_json_matches_torch_and_the_table_shows_it() {
    // The command the docs name, on the PyTorch autograd fixture (tools/gen_rl_grad_fixtures.py).
    let model = fixture("gemma2_tiny_f32");
    let batch = fixture("rl/gemma2_tiny_f32.k3.batch.json");
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("rl/gemma2_tiny_f32.k3.expected.json")).unwrap(),
    )
    .unwrap();
    let (m, b) = (model.to_str().unwrap(), batch.to_str().unwrap());
    let got: Value =
        serde_json::from_str(&ok_stdout(&["debug", "rl-grad", "--model", m, "--batch", b, "--json"]))
            .unwrap();
    for key in ["loss", "pg_loss", "kl", "clip_frac"] {
        let (g, w) = (got[key].as_f64().unwrap(), want[key].as_f64().unwrap());
        assert!((g - w).abs() <= 1e-5, "{key}: {g} vs PyTorch {w}");
    }
    let (gn, wn) = (got["grad_norms"].as_object().unwrap(), want["grad_norms"].as_object().unwrap());
    assert_eq!(gn.len(), wn.len());
    for (name, w) in wn {
        let (g, w) = (gn[name].as_f64().unwrap(), w.as_f64().unwrap());
        assert!((g - w).abs() <= 1e-3 * w.max(1e-6), "{name}: {g} vs PyTorch {w}");
    }
    let table = ok_stdout(&["debug", "rl-grad", "--model", m, "--batch", b]);
    assert!(table.starts_with("loss ") && table.contains("(17 completion tokens)"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("model.embed_tokens.weight")), "{table}");
    let e = err_text(&["debug", "rl-grad", "--model", m, "--batch", "/nonexistent/batch.json"]);
    assert!(e.contains("/nonexistent/batch.json"), "{e}");
}
