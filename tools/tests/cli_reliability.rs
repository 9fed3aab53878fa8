//! A newcomer's first run, runs that fail or are killed, and files that lie: each test here
//! failed before its fix (the reliability issue), and keeps it fixed.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{err_text, fixtures, greedy_cmd, ok_stdout, tmpdir};

/// A pid no process has: a child that exited and was reaped.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

/// A copy of the tiny Gemma2 fixture whose config.json `edit` changes.
fn edited_model(dir: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> PathBuf {
    let m = dir.join("model");
    std::fs::create_dir_all(&m).unwrap();
    let src = fixtures().join("gemma2_tiny_f32");
    std::fs::copy(src.join("model.safetensors"), m.join("model.safetensors")).unwrap();
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    edit(cfg.as_object_mut().unwrap());
    std::fs::write(m.join("config.json"), serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    m
}

#[test]
fn no_false_xdg_runtime_dir_errors_when_it_is_unset() {
    let model = fixtures().join("gemma2_tiny_f32");
    let out = greedy_cmd()
        .args(["logits", "--model", model.to_str().unwrap(), "--ids", "2,17", "--top", "1"])
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("XDG_RUNTIME_DIR"), "false errors on stderr:\n{err}");
}

#[test]
fn a_huge_layer_count_is_a_named_error_not_an_allocation() {
    let tmp = tmpdir("reliability", "layers");
    for n in [1_000_000_000u64, 1 << 63] {
        let m = edited_model(tmp.path(), |c| {
            c.remove("layer_types"); // older configs have none: the count alone sizes the layers
            c.insert("num_hidden_layers".into(), n.into());
        });
        let t = Instant::now();
        let e = err_text(&["logits", "--model", m.to_str().unwrap(), "--ids", "2,3"]);
        assert!(e.contains("num_hidden_layers") && e.contains(&n.to_string()) && e.contains("1024"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(20), "took {:?}", t.elapsed());
    }
    // a fresh model from such a config: refused as well
    let cfg = tmp.path().join("big.json");
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("gemma2_tiny_f32/config.json")).unwrap(),
    )
    .unwrap();
    v.as_object_mut().unwrap().remove("layer_types");
    v["num_hidden_layers"] = 1_000_000_000u64.into();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let e = err_text(&[
        "train",
        "init",
        "--init",
        cfg.to_str().unwrap(),
        "--steps",
        "1",
        "--expert-episodes",
        "4",
        "--horizon",
        "3",
        "--out",
        tmp.path().join("run").to_str().unwrap(),
    ]);
    assert!(e.contains("num_hidden_layers"), "{e}");
    // a fresh model within the caps but of 10^10 parameters: refused by size
    v["num_hidden_layers"] = 1000.into();
    v["hidden_size"] = 8192.into();
    v["intermediate_size"] = 32768.into();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let e = err_text(&[
        "train",
        "init",
        "--init",
        cfg.to_str().unwrap(),
        "--steps",
        "1",
        "--expert-episodes",
        "4",
        "--horizon",
        "3",
        "--out",
        tmp.path().join("run2").to_str().unwrap(),
    ]);
    assert!(e.contains("parameters") && e.contains("--model"), "{e}");
}

#[test]
fn inference_past_the_context_is_an_error() {
    let tmp = tmpdir("reliability", "context");
    for n in [0, 1] {
        let m = edited_model(tmp.path(), |c| {
            c.insert("max_position_embeddings".into(), n.into());
        });
        let e = err_text(&["logits", "--model", m.to_str().unwrap(), "--ids", "2,3"]);
        assert!(e.contains("max_position_embeddings"), "{e}");
    }
    // the fixture's context is 128 tokens
    let model = fixtures().join("gemma2_tiny_f32");
    let ids: Vec<String> = (0..300).map(|i| (3 + i % 200).to_string()).collect();
    let e = err_text(&["logits", "--model", model.to_str().unwrap(), "--ids", &ids.join(","), "--top", "1"]);
    assert!(e.contains("context") && e.contains("128"), "{e}");
    let e = err_text(&[
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--ids",
        &ids[..100].join(","),
        "--max-new-tokens",
        "64",
    ]);
    assert!(e.contains("context") && e.contains("128"), "{e}");
    // within the context: fine
    ok_stdout(&["logits", "--model", model.to_str().unwrap(), "--ids", &ids[..128].join(","), "--top", "1"]);
}

#[test]
fn token_ids_work_without_a_loadable_tokenizer() {
    let tmp = tmpdir("reliability", "tokenizer");
    let m = edited_model(tmp.path(), |_| {});
    std::fs::write(m.join("tokenizer.json"), "{ this is not json").unwrap();
    let out = ok_stdout(&["logits", "--model", m.to_str().unwrap(), "--ids", "2,17", "--top", "2", "--json"]);
    assert!(out.contains("\"top\""), "{out}");
    ok_stdout(&[
        "generate",
        "--model",
        m.to_str().unwrap(),
        "--ids",
        "2,17",
        "--max-new-tokens",
        "3",
        "--json",
    ]);
    let e =
        err_text(&["generate", "--model", m.to_str().unwrap(), "--prompt", "hi", "--max-new-tokens", "3"]);
    assert!(e.contains("tokenizer.json") && e.contains("--ids"), "{e}");
}

#[test]
fn a_negative_seed_says_the_seed_is_unsigned() {
    for cmd in [&["eval", "--seed", "-1"][..], &["prompt", "--seed", "-1"], &["demo", "--seed", "-1"]] {
        let e = err_text(cmd);
        assert!(e.contains("unsigned integer") && e.contains("-1"), "{cmd:?}: {e}");
    }
}

fn eval_into(out: &Path, seed: &str) -> String {
    ok_stdout(&[
        "eval",
        "--env",
        "mab",
        "--arms",
        "3",
        "--horizon",
        "5",
        "--agent",
        "ucb",
        "--episodes",
        "4",
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn eval_replaces_its_run_directory_whole_and_sweeps_dead_temporaries() {
    let tmp = tmpdir("reliability", "evalout");
    let out = tmp.path().join("o");
    eval_into(&out, "1");
    let dead = dead_pid();
    // what a killed run leaves: a temporary file in the run directory, a staged one beside it
    std::fs::write(out.join(format!(".episodes.jsonl.tmp.{dead}")), vec![b'x'; 1 << 16]).unwrap();
    std::fs::create_dir(tmp.path().join(format!(".o.tmp.{dead}"))).unwrap();
    std::fs::write(tmp.path().join(format!(".o.tmp.{dead}/episodes.jsonl")), "partial").unwrap();
    eval_into(&out, "2");
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["o"], "nothing of the killed run is left beside the run directory");
    assert!(
        std::fs::read_dir(&out).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')),
        "nothing of the killed run is left in it"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["settings"]["seed"], 2);
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(out.join("episodes.jsonl")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    let s2 = env_core::rng::derive_seed(2, 0);
    assert_eq!(first["scenario_seed"], s2, "episodes.jsonl and summary.json are of the same run");
    // a directory with someone else's file is refused before the run, and left alone
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let e = err_text(&["eval", "--env", "mab", "--episodes", "2", "--out", out.to_str().unwrap()]);
    assert!(e.contains("notes.txt"), "{e}");
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
}

#[test]
fn report_refuses_to_overwrite_without_force() {
    let tmp = tmpdir("reliability", "report");
    let out = tmp.path().join("o1");
    eval_into(&out, "3");
    let plot = std::fs::read(out.join("regret.png")).unwrap();
    let e = err_text(&["report", out.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(e.contains("--force") && e.contains("regret.png"), "{e}");
    assert_eq!(std::fs::read(out.join("regret.png")).unwrap(), plot, "the run's own plot is untouched");
    ok_stdout(&["report", out.to_str().unwrap(), "--out", out.to_str().unwrap(), "--force"]);
    let page = tmp.path().join("page");
    ok_stdout(&["report", out.to_str().unwrap(), "--out", page.to_str().unwrap()]);
    let e = err_text(&["report", out.to_str().unwrap(), "--out", page.to_str().unwrap()]);
    assert!(e.contains("report.md"), "{e}");
}

fn demo_args<'a>(out: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "demo",
        "--steps",
        steps,
        "--batch",
        "2",
        "--episodes",
        "2",
        "--horizon",
        "3",
        "--quiet",
        "--out",
        out,
    ]
}

/// Runs `greedy` with no Vulkan driver visible (as on a machine without one).
fn without_adapter(args: &[&str]) -> std::process::Output {
    greedy_cmd()
        .args(args)
        .env("VK_ICD_FILENAMES", "/none.json")
        .env("VK_DRIVER_FILES", "/none.json")
        .output()
        .unwrap()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_failed_demo_blocks_nothing_and_force_keeps_the_old_demo_until_the_new_one_is_complete() {
    let tmp = tmpdir("reliability", "demo");
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    // no adapter: the demo fails, and --out does not exist afterwards
    let failed = without_adapter(&demo_args(ds, "4"));
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("adapter"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(!d.exists(), "a failed demo leaves no --out behind");
    // the same command with a driver: runs
    ok_stdout(&demo_args(ds, "4"));
    let files = [
        "report.md",
        "eval/summary.json",
        "eval/episodes.jsonl",
        "sft/checkpoint/model.safetensors",
        "sft/checkpoint/trainer_state.json",
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(&d.join(f))).collect();
    // again without --force: refused, nothing touched
    let e = err_text(&demo_args(ds, "4"));
    assert!(e.contains("--force"), "{e}");
    // --force, but the new demo fails: the old one is whole and unchanged
    let mut args = demo_args(ds, "4");
    args.push("--force");
    assert!(!without_adapter(&args).status.success());
    let after: Vec<Vec<u8>> = files.iter().map(|f| read(&d.join(f))).collect();
    assert!(before == after, "the previous demo must stay intact until a new one is complete");
    let summary: Value = serde_json::from_slice(&read(&d.join("eval/summary.json"))).unwrap();
    let model = summary["settings"]["llm"]["model"].as_str().unwrap();
    assert_eq!(Path::new(model), d.join("sft/checkpoint"), "the recorded model path is where the model is");
}

#[test]
fn a_killed_demo_resumes_from_its_training_checkpoint() {
    let tmp = tmpdir("reliability", "demokill");
    let d = tmp.path().join("d");
    let ds = d.to_str().unwrap();
    let mut child =
        greedy_cmd().args(demo_args(ds, "20")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let state = tmp.path().join(".d.partial/sft/checkpoint/trainer_state.json");
    let t = Instant::now();
    // wait for a checkpoint past step 0 (saved every 2 steps), then kill -9
    loop {
        let step = std::fs::read_to_string(&state)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v["step"].as_u64())
            .unwrap_or(0);
        if step >= 2 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the demo ended before its first checkpoint");
        assert!(t.elapsed() < Duration::from_secs(600), "no checkpoint after 10 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!d.exists(), "a killed demo does not touch --out");
    let out = ok_stdout(&demo_args(ds, "20"));
    assert!(out.contains("resumed"), "{out}");
    let steps: Vec<u64> = std::fs::read_to_string(d.join("sft/log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=20).collect::<Vec<_>>(), "every step once, across the kill");
    assert!(d.join("report.md").is_file());
}

#[test]
fn sigterm_during_training_saves_the_step_it_reached() {
    let tmp = tmpdir("reliability", "sigterm");
    let out = tmp.path().join("run");
    let args = [
        "train",
        "sft",
        "--init",
        "tiny",
        "--hidden",
        "16",
        "--layers",
        "1",
        "--heads",
        "2",
        "--kv-heads",
        "1",
        "--head-dim",
        "8",
        "--ffn",
        "16",
        "--vocab",
        "400",
        "--arms",
        "3",
        "--horizon",
        "4",
        "--expert-episodes",
        "8",
        "--steps",
        "400",
        "--batch",
        "2",
        "--save-every",
        "300",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let child = greedy_cmd().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let log = out.join("log.jsonl");
    let lines = || std::fs::read_to_string(&log).map(|s| s.lines().count()).unwrap_or(0);
    let t = Instant::now();
    while lines() < 3 {
        assert!(t.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted at step") && err.contains("--resume"), "{err}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/trainer_state.json")).unwrap())
            .unwrap();
    let step = saved["step"].as_u64().unwrap();
    assert!((3..300).contains(&step), "saved at step {step}, not at the last --save-every");
    assert_eq!(step as usize, lines(), "the checkpoint holds every logged step");
    // and it goes on from there
    let stop_at = (step + 2).to_string();
    let mut resume: Vec<&str> = args.to_vec();
    resume.extend(["--stop-at", stop_at.as_str(), "--resume"]);
    ok_stdout(&resume);
    assert_eq!(lines(), step as usize + 2);
}
