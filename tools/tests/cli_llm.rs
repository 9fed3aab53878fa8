//! End-to-end tests of `greedy logits`, `greedy generate` and `greedy eval --agent llm` on the
//! tiny HuggingFace fixtures of gpu-trainer (run on lavapipe where there is no GPU).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gpu_trainer::model::Weights;
use serde_json::Value;
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures")
}

fn gemma2_tiny() -> PathBuf {
    fixtures().join("gemma2_tiny_f32")
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

/// A fresh directory, deleted when the guard drops (also when the test fails).
fn tmpdir(tag: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("greedy-cli-llm-{tag}-")).tempdir().unwrap()
}

/// The fixture's input ids and HF logits [T, vocab].
fn reference() -> (Vec<u32>, Vec<f32>) {
    let dir = gemma2_tiny();
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let ids = meta["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    let w = Weights::open_file(&dir.join("reference.safetensors")).unwrap();
    (ids, w.to_f32("logits").unwrap())
}

fn ids_arg(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn rows(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
        .collect()
}

#[test]
fn logits_json_matches_huggingface_reference() {
    let (ids, want) = reference();
    let model = gemma2_tiny();
    let out = ok_stdout(&["logits", "--model", model.to_str().unwrap(), "--ids", &ids_arg(&ids), "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let got = rows(&v["logits"]);
    assert_eq!(got.len(), ids.len(), "one row per position");
    let vocab = want.len() / ids.len();
    let mut err = 0f32;
    for (t, row) in got.iter().enumerate() {
        assert_eq!(row.len(), vocab);
        for (j, &x) in row.iter().enumerate() {
            err = err.max((x - want[t * vocab + j]).abs());
        }
    }
    assert!(err <= 1e-4, "max |greedy - HF| = {err}");

    // --top 3: the three largest logits of each row, largest first
    let out = ok_stdout(&[
        "logits",
        "--model",
        model.to_str().unwrap(),
        "--ids",
        &ids_arg(&ids[..4]),
        "--top",
        "3",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let top = v["top"].as_array().unwrap();
    assert_eq!(top.len(), 4);
    for (t, entry) in top.iter().enumerate() {
        assert_eq!(entry["pos"].as_u64().unwrap() as usize, t);
        let tids: Vec<usize> =
            entry["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        let row = &got[t];
        let mut sorted: Vec<usize> = (0..vocab).collect();
        sorted.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        assert_eq!(tids, sorted[..3].to_vec(), "position {t}");
    }
}

#[test]
fn generate_greedy_is_deterministic_and_starts_with_the_argmax() {
    let (ids, _) = reference();
    let prompt = ids_arg(&ids[..10]);
    let model = gemma2_tiny();
    let m = model.to_str().unwrap();
    let args = [
        "generate",
        "--model",
        m,
        "--ids",
        &prompt,
        "--max-new-tokens",
        "12",
        "--temperature",
        "0",
        "--json",
    ];
    let a = ok_stdout(&args);
    let b = ok_stdout(&args);
    assert_eq!(a, b, "greedy generation must be deterministic");
    let v: Value = serde_json::from_str(&a).unwrap();
    let generated: Vec<u32> =
        v["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
    let lp = v["logprobs"].as_array().unwrap();
    assert!(!generated.is_empty() && generated.len() <= 12);
    assert_eq!(lp.len(), generated.len());
    assert!(lp.iter().all(|x| x.as_f64().unwrap() <= 1e-6), "log-probabilities are <= 0");

    let logits: Value =
        serde_json::from_str(&ok_stdout(&["logits", "--model", m, "--ids", &prompt, "--json"])).unwrap();
    let last = rows(&logits["logits"]).pop().unwrap();
    let argmax = (0..last.len()).fold(0, |b, j| if last[j] > last[b] { j } else { b });
    assert_eq!(generated[0] as usize, argmax, "the first greedy token is the argmax of the last logits row");

    // sampling is reproducible given the seed
    let s = [
        "generate",
        "--model",
        m,
        "--ids",
        &prompt,
        "--max-new-tokens",
        "8",
        "--temperature",
        "1",
        "--top-k",
        "20",
        "--seed",
        "7",
        "--json",
    ];
    assert_eq!(ok_stdout(&s), ok_stdout(&s));
}

#[test]
fn errors_say_what_to_do() {
    let m = gemma2_tiny();
    let m = m.to_str().unwrap();
    let e = err_text(&["generate", "--model", m, "--prompt", "hello"]);
    assert!(e.contains("tokenizer") && e.contains("--ids"), "{e}");
    let e = err_text(&["logits", "--model", m, "--text", "hello"]);
    assert!(e.contains("--ids"), "{e}");
    let e = err_text(&["logits", "--model", m, "--ids", "2,x,5"]);
    assert!(e.contains("'x'") && e.contains("--ids"), "{e}");
    let e = err_text(&["logits", "--model", m, "--ids", "2,256"]);
    assert!(e.contains("256") && e.contains("vocabulary"), "{e}");
    let e = err_text(&["generate", "--model", "/nonexistent/model", "--ids", "2"]);
    assert!(e.contains("/nonexistent/model") && e.contains("no such directory"), "{e}");
    let e = err_text(&["eval", "--env", "mab", "--agent", "llm"]);
    assert!(e.contains("--model"), "{e}");
    let e = err_text(&["eval", "--env", "mab", "--agent", "ucb", "--temperature", "1"]);
    assert!(e.contains("--temperature") && e.contains("--agent llm"), "{e}");
}

/// A tiny random Gemma2 model whose vocabulary is the fixture tokenizer's (the fixture
/// checkpoints have 256 tokens, the tokenizer more), with that tokenizer.json, in a directory
/// of its own per test, deleted when the returned guard drops.
fn tiny_model_with_tokenizer(tag: &str) -> TempDir {
    let guard = tmpdir(&format!("model-{tag}"));
    support::tiny_model_with_tokenizer(guard.path());
    guard
}

#[test]
fn eval_llm_agent_completes_records_answers_and_is_reproducible() {
    let model_dir = tiny_model_with_tokenizer("mab");
    let model = model_dir.path();
    let run = |tag: &str| -> TempDir {
        let out = tmpdir(tag);
        let args = [
            "eval",
            "--env",
            "mab",
            "--arms",
            "3",
            "--horizon",
            "3",
            "--episodes",
            "2",
            "--seed",
            "5",
            "--agent",
            "llm",
            "--agent",
            "ucb",
            "--model",
            model.to_str().unwrap(),
            "--max-new-tokens",
            "8",
            "--randomize",
            "--out",
            out.path().to_str().unwrap(),
        ];
        let table = ok_stdout(&args);
        assert!(table.contains("invalid") && table.contains("llm"), "{table}");
        out
    };
    let (a_dir, b_dir) = (run("eval-a"), run("eval-b"));
    let (a, b) = (a_dir.path(), b_dir.path());
    let ja = std::fs::read(a.join("episodes.jsonl")).unwrap();
    let jb = std::fs::read(b.join("episodes.jsonl")).unwrap();
    assert_eq!(ja, jb, "episodes.jsonl must be byte-identical across runs");

    let lines: Vec<Value> =
        String::from_utf8(ja).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let llm: Vec<&Value> = lines.iter().filter(|l| l["agent"] == "llm").collect();
    assert_eq!(llm.len(), 2, "2 llm episodes");
    assert_eq!(lines.len(), 4, "plus 2 ucb episodes");
    assert_eq!(lines[0]["agent"], "llm", "agents in the order given");
    for ep in &llm {
        assert_eq!(ep["actions"].as_array().unwrap().len(), 3, "every episode completes its 3 steps");
        assert!(ep["actions"].as_array().unwrap().iter().all(|a| a.as_u64().unwrap() < 3));
        assert_eq!(ep["answers"].as_array().unwrap().len(), 3, "one stored answer per step");
        let inv = ep["invalid_answers"].as_u64().unwrap();
        assert!(inv <= 3);
    }
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    let agents = summary["agents"].as_array().unwrap();
    let rate = agents[0]["invalid_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate), "invalid_rate {rate}");
    let total: u64 = llm.iter().map(|e| e["invalid_answers"].as_u64().unwrap()).sum();
    assert!((rate - total as f64 / 6.0).abs() < 1e-12, "invalid_rate = invalid answers / steps");
    assert!(agents[1].get("invalid_rate").is_none(), "baselines have no invalid_rate");
    assert_eq!(summary["settings"]["llm"]["max_new_tokens"], 8);
}

/// Runs `eval --agent llm` with `extra` into a fresh directory and returns the parsed
/// episodes.jsonl lines, its raw bytes, summary.json and the directory's guard.
fn run_llm_eval(model: &Path, tag: &str, extra: &[&str]) -> (Vec<Value>, Vec<u8>, Value, TempDir) {
    let guard = tmpdir(tag);
    let out = guard.path();
    let mut args =
        vec!["eval", "--agent", "llm", "--model", model.to_str().unwrap(), "--max-new-tokens", "8"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let table = ok_stdout(&args);
    assert!(table.contains("invalid") && table.contains("llm"), "{table}");
    let raw = std::fs::read(out.join("episodes.jsonl")).unwrap();
    let lines =
        String::from_utf8(raw.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (lines, raw, summary, guard)
}

#[test]
fn eval_llm_agent_plays_tic_tac_toe() {
    let model_dir = tiny_model_with_tokenizer("ttt");
    let model = model_dir.path();
    let extra =
        ["--env", "ttt", "--opponent", "random", "--episodes", "2", "--seed", "3", "--first", "alternate"];
    let (lines, ja, summary, _a) = run_llm_eval(model, "ttt-a", &extra);
    let (_, jb, _, _b) = run_llm_eval(model, "ttt-b", &extra);
    assert_eq!(ja, jb, "episodes.jsonl must be byte-identical across runs");
    assert_eq!(lines.len(), 2);
    let (mut steps, mut invalid) = (0, 0);
    for ep in &lines {
        assert_eq!(ep["agent"], "llm");
        assert_eq!(ep["env"], "ttt");
        let ret = ep["return"].as_f64().unwrap();
        assert!([-1.0, 0.0, 1.0].contains(&ret), "return {ret}");
        let outcome = ep["outcome"].as_str().unwrap();
        assert!(["win", "draw", "loss"].contains(&outcome), "{outcome}");
        let actions: Vec<u64> =
            ep["actions"].as_array().unwrap().iter().map(|a| a.as_u64().unwrap()).collect();
        assert!(!actions.is_empty() && actions.len() <= 5);
        assert!(actions.iter().all(|&a| a < 9));
        let mut seen = actions.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), actions.len(), "the agent never plays an occupied cell: {actions:?}");
        assert_eq!(ep["answers"].as_array().unwrap().len(), actions.len(), "one answer per move");
        let inv = ep["invalid_answers"].as_u64().unwrap() as usize;
        assert!(inv <= actions.len());
        steps += actions.len();
        invalid += inv;
    }
    let agent = &summary["agents"][0];
    let rate = agent["invalid_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate), "invalid_rate {rate}");
    assert!((rate - invalid as f64 / steps as f64).abs() < 1e-12, "invalid_rate = invalid answers / moves");
    let (w, d, l) = (
        agent["win_rate"].as_f64().unwrap(),
        agent["draw_rate"].as_f64().unwrap(),
        agent["loss_rate"].as_f64().unwrap(),
    );
    assert!((w + d + l - 1.0).abs() < 1e-12, "win/draw/loss rates sum to 1");
    assert_eq!(summary["settings"]["llm"]["legal_moves"], true);

    // without the legal moves in the prompt, still complete games
    let (lines, _, summary, _c) =
        run_llm_eval(model, "ttt-c", &["--env", "ttt", "--episodes", "1", "--no-legal-moves"]);
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["outcome"].is_string());
    assert_eq!(summary["settings"]["llm"]["legal_moves"], false);
    let e = err_text(&[
        "eval",
        "--env",
        "mab",
        "--agent",
        "llm",
        "--model",
        model.to_str().unwrap(),
        "--no-legal-moves",
    ]);
    assert!(e.contains("--no-legal-moves"), "{e}");
}

#[test]
fn eval_llm_agent_plays_the_contextual_bandit() {
    let model_dir = tiny_model_with_tokenizer("cb");
    let model = model_dir.path();
    let extra = [
        "--env",
        "cb",
        "--movies",
        "4",
        "--horizon",
        "3",
        "--episodes",
        "2",
        "--seed",
        "4",
        "--agent",
        "linucb",
    ];
    let (lines, ja, summary, _a) = run_llm_eval(model, "cb-a", &extra);
    let (_, jb, _, _b) = run_llm_eval(model, "cb-b", &extra);
    assert_eq!(ja, jb, "episodes.jsonl must be byte-identical across runs");
    assert_eq!(lines.len(), 4, "2 llm + 2 linucb episodes");
    let llm: Vec<&Value> = lines.iter().filter(|l| l["agent"] == "llm").collect();
    assert_eq!(llm.len(), 2);
    assert_eq!(lines[0]["agent"], "llm", "agents in the order given");
    let mut invalid = 0;
    for ep in &llm {
        assert_eq!(ep["env"], "cb");
        let actions = ep["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 3, "every episode completes its 3 steps");
        assert!(actions.iter().all(|a| a.as_u64().unwrap() < 4));
        assert_eq!(ep["answers"].as_array().unwrap().len(), 3);
        assert_eq!(ep["cumulative_regret"].as_array().unwrap().len(), 3);
        assert_eq!(ep["coverage_curve"].as_array().unwrap().len(), 3);
        assert!(ep["final_regret"].as_f64().unwrap() >= -1e-9);
        let cov = ep["coverage"].as_f64().unwrap();
        assert!(cov > 0.0 && cov <= 1.0);
        let inv = ep["invalid_answers"].as_u64().unwrap();
        assert!(inv <= 3);
        invalid += inv;
    }
    let agents = summary["agents"].as_array().unwrap();
    let rate = agents[0]["invalid_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate), "invalid_rate {rate}");
    assert!((rate - invalid as f64 / 6.0).abs() < 1e-12);
    assert!(agents[0]["mean_regret"].is_number() && agents[0]["mean_coverage"].is_number());
    assert!(agents[1].get("invalid_rate").is_none(), "linucb has no invalid_rate");
}
