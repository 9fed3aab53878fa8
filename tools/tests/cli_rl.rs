//! `greedy train rl` end to end on tiny models (lavapipe-sized): the reward rises from a
//! behaviour-cloned start, a run stopped, resumed, killed with SIGKILL or interrupted with SIGTERM
//! ends exactly where the uninterrupted run does, and bad flags or settings files are named errors.
//!
//! The starting model is built here (`greedy train sft` on the greedy expert, action-only
//! answers with numeric labels) and shared by the tests of this binary.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{err_text, greedy_cmd, ok_stdout};

/// A directory under cargo's per-target scratch space, emptied first.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_rl").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The behaviour-cloned start: a 2-layer, hidden-32 Gemma2 trained for 40 steps on the greedy
/// agent's actions (2 arms, numeric labels). It answers `ACTION=0` / `ACTION=1` about half the
/// time and something invalid otherwise, and has no preference for the arm that pays.
fn start() -> &'static Path {
    static START: OnceLock<PathBuf> = OnceLock::new();
    START.get_or_init(|| {
        let dir = scratch("start");
        let out = dir.join("sft");
        #[rustfmt::skip]
        ok_stdout(&[
            "train", "sft", "--init", "tiny", "--hidden", "32", "--layers", "2", "--heads", "2",
            "--kv-heads", "1", "--head-dim", "16", "--ffn", "64", "--window", "16", "--context", "512",
            "--vocab", "384", "--data", "greedy", "--mode", "behaviour", "--arms", "2", "--horizon", "3",
            "--labels", "numeric", "--expert-episodes", "64", "--batch", "4", "--lr", "1e-2",
            "--warmup", "5", "--steps", "40", "--seed", "3", "--quiet", "--out", out.to_str().unwrap(),
        ]);
        out.join("checkpoint")
    })
}

/// The bandit and rollout flags of these tests: one instance (pool 1) of a 2-armed Bernoulli
/// bandit whose best arm always pays 1 and the other 0, two steps per episode, the answer
/// prefixed with `ACTION=` so that the model writes the label and its end of turn.
fn rl_args<'a>(model: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    #[rustfmt::skip]
    let mut a = vec![
        "train", "rl", "--model", model, "--arms", "2", "--labels", "numeric", "--dist", "bernoulli",
        "--gap", "1", "--horizon", "2", "--pool", "1", "--no-cot", "--answer-prefix", "ACTION=",
        "--eval-episodes", "4", "--quiet", "--out", out,
    ];
    a.extend_from_slice(extra);
    a
}

fn rows(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn update_rows(out: &Path) -> Vec<Value> {
    rows(out).into_iter().filter(|r| r["eval"] != true).collect()
}

/// A log row without its wall-clock fields (the rest is a pure function of the settings).
fn without_times(r: &Value) -> Value {
    let mut r = r.clone();
    if let Some(m) = r.as_object_mut() {
        m.retain(|k, _| !(k.starts_with("time/") || k == "elapsed_s" || k == "tokens_per_s"));
    }
    r
}

#[test]
fn rl_raises_the_reward_of_a_behaviour_cloned_start() {
    let dir = scratch("learn");
    let out = dir.join("run");
    let model = start().to_str().unwrap();
    let text = ok_stdout(&rl_args(
        model,
        out.to_str().unwrap(),
        &[
            "--envs",
            "8",
            "--batch",
            "16",
            "--max-new-tokens",
            "1",
            "--updates",
            "16",
            "--lr",
            "1e-2",
            "--warmup",
            "4",
            "--eval-every",
            "0",
        ],
    ));
    assert!(text.contains("updates 16/16"), "{text}");
    let log = update_rows(&out);
    assert_eq!(log.len(), 16);
    let mean =
        |rs: &[Value], k: &str| rs.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>() / rs.len() as f64;
    let (first, last) = (&log[..4], &log[12..]);
    // update 1 is made with the starting weights: the policy is the reference (bf16 copy) and
    // the sampling distribution, so the ratio is 1 and both KL measures are ~0
    assert!((log[0]["ratio_mean"].as_f64().unwrap() - 1.0).abs() < 1e-4, "{}", log[0]);
    assert!(log[0]["kl"].as_f64().unwrap().abs() < 1e-2, "{}", log[0]);
    assert!(log[0]["approx_kl_old"].as_f64().unwrap().abs() < 1e-5, "{}", log[0]);
    assert!(log[0]["old_logprob_gap_max"].as_f64().unwrap() < 1e-3, "{}", log[0]);
    // 64 step-samples in each window. The start answers invalidly about half the time and
    // picks the paying arm in about half of its valid answers; RL moves both (measured on
    // lavapipe: invalid 0.45 -> 0.05, environment reward 0.61 -> 0.95, shaped reward -2.3 ->
    // -0.2; the bounds below leave room for another CPU's rounding to change the trajectory).
    let (inv0, inv1) = (mean(first, "invalid_rate"), mean(last, "invalid_rate"));
    let (env0, env1) = (mean(first, "rewards/env/mean"), mean(last, "rewards/env/mean"));
    let (rew0, rew1) = (mean(first, "reward"), mean(last, "reward"));
    eprintln!(
        "invalid {inv0:.3} -> {inv1:.3}, env reward {env0:.3} -> {env1:.3}, shaped {rew0:.3} -> {rew1:.3}"
    );
    assert!(inv0 > 0.2, "the start should answer invalidly often: {inv0}");
    assert!(rew1 > rew0 + 1.0, "shaped reward {rew0:.3} -> {rew1:.3}");
    assert!(inv1 < inv0 - 0.2, "invalid rate {inv0:.3} -> {inv1:.3}");
    assert!(env1 > env0 + 0.15, "environment reward {env0:.3} -> {env1:.3}");
    for r in &log {
        assert_eq!(r["skipped"], Value::Null, "{r}");
        assert!(r["grad_norm"].as_f64().unwrap().is_finite());
        assert!(r["kl"].as_f64().unwrap() < 5.0, "the KL penalty keeps the policy near the start: {r}");
    }
    for f in ["reward.png", "kl.svg", "eval_coverage.png", "settings.json", "checkpoint-16/model.safetensors"]
    {
        assert!(out.join(f).is_file(), "{f}");
    }
}

/// The settings of the resume tests: 2 updates per rollout (8 samples, batches of 4), a
/// checkpoint at every rollout boundary, completions of up to 3 tokens (label and end of turn).
fn resume_args<'a>(model: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = rl_args(
        model,
        out,
        &[
            "--envs",
            "4",
            "--batch",
            "4",
            "--max-new-tokens",
            "3",
            "--updates",
            "6",
            "--warmup",
            "1",
            "--lr",
            "3e-3",
            "--save-every",
            "1",
            "--eval-every",
            "2",
            "--keep-checkpoints",
            "2",
        ],
    );
    a.extend_from_slice(extra);
    a
}

fn final_weights(out: &Path) -> Vec<u8> {
    std::fs::read(out.join("checkpoint-6/model.safetensors")).unwrap()
}

fn assert_same_run(a: &Path, b: &Path, what: &str) {
    let (ra, rb) = (rows(a), rows(b));
    assert_eq!(ra.len(), rb.len(), "{what}: log rows");
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(without_times(x), without_times(y), "{what}");
    }
    assert!(final_weights(a) == final_weights(b), "{what}: final weights differ");
    let state = |d: &Path| std::fs::read_to_string(d.join("checkpoint-6/trainer_state.json")).unwrap();
    assert_eq!(state(a), state(b), "{what}: trainer state");
}

/// The uninterrupted reference run of the resume tests.
fn reference_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = scratch("reference").join("run");
        ok_stdout(&resume_args(start().to_str().unwrap(), out.to_str().unwrap(), &[]));
        out
    })
}

#[test]
fn stopping_mid_rollout_and_resuming_gives_the_same_run_bit_for_bit() {
    let reference = reference_run();
    let out = scratch("stop").join("run");
    let (m, o) = (start().to_str().unwrap(), out.to_str().unwrap());
    // update 1 and 3 end in the middle of a rollout: the checkpoint carries its samples
    ok_stdout(&resume_args(m, o, &["--stop-at", "1"]));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint-1/trainer_state.json")).unwrap())
            .unwrap();
    assert_eq!(state["pending"].as_array().map(Vec::len), Some(8), "the rollout's samples are kept");
    let e = err_text(&resume_args(m, o, &["--resume", "--kl-coef", "0.1"]));
    assert!(e.contains("settings differ") && e.contains("kl_coef"), "{e}");
    ok_stdout(&resume_args(m, o, &["--stop-at", "3", "--resume"]));
    let text = ok_stdout(&resume_args(m, o, &["--resume"]));
    assert!(text.contains("updates 6/6"), "{text}");
    assert_same_run(reference, &out, "stop at 1 and 3, resume");
    // the newest two checkpoints are kept
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("checkpoint-"))
        .collect();
    names.sort();
    assert_eq!(names, ["checkpoint-4", "checkpoint-6"]);
}

/// Waits until `out` holds a checkpoint past update 0 (and the child still runs).
fn wait_for_checkpoint(child: &mut std::process::Child, out: &Path) {
    let t = Instant::now();
    loop {
        let any = std::fs::read_dir(out).ok().is_some_and(|d| {
            d.flatten().any(|e| {
                e.file_name().to_string_lossy().starts_with("checkpoint-")
                    && e.path().join("trainer_state.json").is_file()
            })
        });
        if any {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its first checkpoint");
        assert!(t.elapsed() < Duration::from_secs(600), "no checkpoint after 10 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_run_resumes_to_the_same_end() {
    let reference = reference_run();
    let out = scratch("kill").join("run");
    let (m, o) = (start().to_str().unwrap(), out.to_str().unwrap());
    let mut child = greedy_cmd()
        .args(resume_args(m, o, &[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_checkpoint(&mut child, &out);
    assert!(child.try_wait().unwrap().is_none(), "killed before it ended");
    child.kill().unwrap();
    child.wait().unwrap();
    ok_stdout(&resume_args(m, o, &["--resume"]));
    assert_same_run(reference, &out, "kill -9, resume");
}

#[test]
fn sigterm_saves_the_update_it_reached_and_resume_goes_on_exactly() {
    let reference = reference_run();
    let out = scratch("term").join("run");
    let (m, o) = (start().to_str().unwrap(), out.to_str().unwrap());
    let child = greedy_cmd()
        .args(resume_args(m, o, &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    // the first update row (the update-0 evaluation row comes first)
    while std::fs::read_to_string(out.join("log.jsonl")).map(|s| s.lines().count()).unwrap_or(0) < 2 {
        assert!(t.elapsed() < Duration::from_secs(600), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let o2 = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o2.stderr);
    assert_eq!(o2.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted at update") && err.contains("--resume"), "{err}");
    let done = update_rows(&out).len();
    assert!((1..6).contains(&done), "{done} updates before the signal was handled");
    assert!(
        out.join(format!("checkpoint-{done}/trainer_state.json")).is_file(),
        "saved at the update reached"
    );
    ok_stdout(&resume_args(m, o, &["--resume"]));
    assert_same_run(reference, &out, "SIGTERM, resume");
}

#[test]
fn bad_flags_and_settings_files_are_named_errors() {
    let dir = scratch("flags");
    let model = start().to_str().unwrap().to_string();
    let out = dir.join("run");
    let o = out.to_str().unwrap();
    let e = err_text(&["train", "rl", "--out", o]);
    assert!(e.contains("--model"), "{e}");
    let e = err_text(&["train", "rl", "--model", "/nonexistent/m", "--out", o]);
    assert!(e.contains("/nonexistent/m") && e.contains("config.json"), "{e}");
    let cases: [(&[&str], &[&str]); 11] = [
        (&["--env", "ttt"], &["--arms", "does not apply to --env ttt"]),
        (&["--opponent", "minimax"], &["--opponent", "only to --env ttt"]),
        (&["--vf-coef", "0.5"], &["--vf-coef", "--value-head"]),
        (&["--epsilon", "0.2"], &["--epsilon", "--explore eps"]),
        (&["--weight-decay", "0.1"], &["--weight-decay", "adamw"]),
        (&["--updates", "4", "--stop-at", "5"], &["--stop-at", "1..=4"]),
        (&["--envs", "2", "--batch", "16"], &["--batch 16", "2 x --horizon 2"]),
        (&["--clip-eps", "1.5"], &["--clip-eps", "(0, 1)"]),
        (&["--temperature", "0"], &["--temperature"]),
        (&["--sigma", "1"], &["--sigma", "gaussian"]),
        (&["--movies", "4"], &["--movies", "--env cb"]),
    ];
    for (extra, want) in cases {
        let e = err_text(&rl_args(&model, o, extra));
        for w in want {
            assert!(e.contains(w), "{extra:?}: {e}");
        }
    }
    let e = err_text(&rl_args(&model, o, &["--resume", "--envs", "4", "--batch", "8"]));
    assert!(e.contains("--resume") && e.contains(o), "{e}");
    // a settings file: its keys are the flags; unknown keys are named; flags win over it
    let cfg = dir.join("rl.json");
    std::fs::write(&cfg, r#"{"envs": 2, "batch": 64}"#).unwrap();
    let c = cfg.to_str().unwrap();
    let e = err_text(&rl_args(&model, o, &["--config", c]));
    assert!(e.contains("--batch 64"), "the file's batch is used: {e}");
    let e =
        err_text(&rl_args(&model, o, &["--config", c, "--batch", "4", "--updates", "3", "--stop-at", "9"]));
    assert!(e.contains("--stop-at") && e.contains("1..=3"), "the flag's batch wins: {e}");
    std::fs::write(&cfg, r#"{"envs": 2, "bacth": 4}"#).unwrap();
    let e = err_text(&rl_args(&model, o, &["--config", c]));
    assert!(e.contains("rl.json") && e.contains("bacth"), "{e}");
    assert!(!out.exists(), "no run directory for a refused run");
}

/// Tic-tac-toe against the random opponent from the test start (after `ACTION=` it writes a
/// digit about half the time): 16 moves per rollout in waves of 4 games, 2 epochs of batches of
/// 8 (4 updates per rollout), the value head on (the default for ttt).
fn ttt_args<'a>(model: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    #[rustfmt::skip]
    let mut a = vec![
        "train", "rl", "--model", model, "--env", "ttt", "--opponent", "random", "--no-cot",
        "--answer-prefix", "ACTION=", "--max-new-tokens", "1", "--envs", "4", "--rollout-steps", "16",
        "--batch", "8", "--updates", "8", "--lr", "1e-2", "--warmup", "2", "--save-every", "4",
        "--eval-every", "0", "--eval-episodes", "4", "--quiet", "--out", out,
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn ttt_with_a_value_head_learns_the_values_logs_games_and_resumes_exactly() {
    let dir = scratch("ttt");
    let (full, part) = (dir.join("full"), dir.join("part"));
    let model = start().to_str().unwrap();
    let text = ok_stdout(&ttt_args(model, full.to_str().unwrap(), &[]));
    assert!(
        text.contains("updates 8/8") && text.contains("minimax") && text.contains("value head"),
        "{text}"
    );
    let all = rows(&full);
    let updates: Vec<&Value> = all.iter().filter(|r| r["pg_loss"].is_number()).collect();
    assert_eq!(updates.len(), 8);
    for r in &updates {
        for k in ["value_loss", "explained_variance", "rollout/win_rate", "rollout/return", "values/mean"] {
            assert!(r.get(k).is_some(), "{k} missing: {r}");
        }
        assert!(r["rollout/samples"].as_u64().unwrap() >= 16, "whole games until 16 moves: {r}");
        assert_eq!(r["skipped"], Value::Null, "{r}");
    }
    // the first rollout's values come from the zero-initialised head: V = 0 everywhere,
    // explained variance exactly 0; the second rollout's come from the trained head, which has
    // moved towards the (negative: -5 per invalid answer) returns and fits them better
    let mean =
        |rs: &[&Value], k: &str| rs.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>() / rs.len() as f64;
    assert_eq!(updates[0]["values/mean"].as_f64(), Some(0.0));
    assert_eq!(updates[0]["explained_variance"].as_f64(), Some(0.0));
    let (vl0, vl1) = (mean(&updates[..4], "value_loss"), mean(&updates[4..], "value_loss"));
    let (v1, g1) =
        (updates[4]["values/mean"].as_f64().unwrap(), updates[4]["returns/mean"].as_f64().unwrap());
    eprintln!(
        "value loss {vl0:.2} -> {vl1:.2}; second rollout V mean {v1:.2}, return mean {g1:.2}, explained variance {}",
        updates[4]["explained_variance"]
    );
    assert!(g1 < 0.0 && v1 < 0.0 && v1 > 2.0 * g1, "V moved towards the returns: {v1} vs {g1}");
    assert!(vl1 < 0.75 * vl0, "value loss {vl0} -> {vl1}");
    // the classic players on the same held-out games, and the model's win/draw/loss
    for b in ["random", "minimax", "mcts"] {
        assert!(all.iter().any(|r| r["baseline"] == b && r["return"].is_number()), "baseline {b}");
    }
    let evals: Vec<&Value> = all.iter().filter(|r| r["eval"] == true).collect();
    assert_eq!(evals.len(), 2);
    for e in &evals {
        let sum: f64 = ["win_rate", "draw_rate", "loss_rate"].iter().map(|k| e[k].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{e}");
    }
    for f in
        ["eval_return.png", "value_loss.svg", "explained_variance.png", "checkpoint-8/value_head.safetensors"]
    {
        assert!(full.join(f).is_file(), "{f}");
    }
    // the policy stays a plain checkpoint every command loads
    let ck = full.join("checkpoint-8");
    #[rustfmt::skip]
    ok_stdout(&[
        "eval", "--env", "ttt", "--agent", "llm", "--model", ck.to_str().unwrap(), "--no-cot",
        "--answer-prefix", "ACTION=", "--max-new-tokens", "1", "--episodes", "2",
    ]);
    // stopped inside the first rollout's epochs and resumed: the same run, value head included
    let p = part.to_str().unwrap();
    ok_stdout(&ttt_args(model, p, &["--stop-at", "3"]));
    ok_stdout(&ttt_args(model, p, &["--resume"]));
    let (ra, rb) = (rows(&full), rows(&part));
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(without_times(x), without_times(y), "resumed ttt run");
    }
    for f in ["model.safetensors", "value_head.safetensors", "optimizer.safetensors"] {
        let read = |d: &Path| std::fs::read(d.join("checkpoint-8").join(f)).unwrap();
        assert!(read(&full) == read(&part), "{f} differs after the resume");
    }
}

#[test]
fn the_budget_ablation_runs_each_budget_and_writes_one_table() {
    let dir = scratch("ablation");
    let out = dir.join("abl");
    let (m, o) = (start().to_str().unwrap(), out.to_str().unwrap());
    let args = |extra: &[&'static str]| {
        let mut a = rl_args(
            m,
            o,
            &["--envs", "2", "--batch", "4", "--updates", "2", "--warmup", "1", "--budget-ablation", "1,3"],
        );
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        ok_stdout(&refs)
    };
    let table = run(args(&[]));
    assert!(table.contains("| 1 | 2 |") && table.contains("| 3 | 2 |"), "{table}");
    assert_eq!(std::fs::read_to_string(out.join("ablation.md")).unwrap(), table);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ablation.json")).unwrap()).unwrap();
    let budgets: Vec<u64> =
        summary.as_array().unwrap().iter().map(|b| b["budget"].as_u64().unwrap()).collect();
    assert_eq!(budgets, [1, 3]);
    for g in [1usize, 3] {
        let run_dir = out.join(format!("G{g}"));
        assert!(run_dir.join("checkpoint-2/model.safetensors").is_file());
        let settings: Value =
            serde_json::from_str(&std::fs::read_to_string(run_dir.join("settings.json")).unwrap()).unwrap();
        assert_eq!(settings["agent"]["max_new_tokens"], g);
        for r in update_rows(&run_dir) {
            let (len, max) =
                (r["completion_length"].as_f64().unwrap(), r["completions/max_length"].as_u64().unwrap());
            assert!(max as usize <= g && len <= g as f64, "G={g}: {r}");
        }
    }
    // G = 1 cannot hold the label and the end of turn: every completion is cut
    assert_eq!(summary[0]["clipped_end"], 1.0);
    for f in ["ablation_reward.png", "ablation_reward.svg", "G1/reward.png", "G3/kl.svg"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // complete runs are read back, not redone
    let again = run(args(&["--resume"]));
    assert_eq!(again, table);
    let e = err_text(&rl_args(m, o, &["--envs", "2", "--batch", "4", "--budget-ablation", "4,4"]));
    assert!(e.contains("distinct"), "{e}");
    let e = err_text(&rl_args(
        m,
        o,
        &["--envs", "2", "--batch", "4", "--budget-ablation", "4", "--max-new-tokens", "3"],
    ));
    assert!(e.contains("--max-new-tokens") && e.contains("--budget-ablation"), "{e}");
}

#[test]
fn the_rl_demo_clones_the_greedy_agent_fine_tunes_it_and_evaluates_before_and_after() {
    let dir = scratch("demo");
    let d = dir.join("d");
    #[rustfmt::skip]
    let args = [
        "demo", "--rl", "--steps", "4", "--batch", "2", "--episodes", "2", "--horizon", "2",
        "--updates", "2", "--seed", "5", "--quiet", "--out", d.to_str().unwrap(),
    ];
    let printed = ok_stdout(&args);
    assert!(
        printed.contains("llm before RLFT (greedy clone)") && printed.contains("llm after RLFT (2 updates)"),
        "{printed}"
    );
    assert!(printed.contains("RLFT moved coverage"), "{printed}");
    let report = std::fs::read_to_string(d.join("report.md")).unwrap();
    for want in [
        "greedy agent's rationales",
        "exploration bonus",
        "\nucb ",
        "\nrandom ",
        "llm after RLFT (2 updates)",
        "compare/regret.png",
        "rl/reward.png",
    ] {
        assert!(report.contains(want), "report.md lacks {want:?}:\n{report}");
    }
    // the start is a clone of the GREEDY expert, the RL run used the bonus from that start
    let sft: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sft/settings.json")).unwrap()).unwrap();
    assert_eq!(sft["data"]["data"], "greedy");
    assert_eq!(sft["data"]["mode"], "thought");
    let rl: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("rl/settings.json")).unwrap()).unwrap();
    assert_eq!(rl["explore_bonus"], true);
    assert_eq!(rl["updates"], 2);
    let log = update_rows(&d.join("rl"));
    assert_eq!(log.iter().map(|r| r["update"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert!(d.join("rl/checkpoint-2/model.safetensors").is_file());
    for f in ["compare/regret.png", "compare/report.md", "rl/reward.png", "sft/checkpoint/model.safetensors"]
    {
        assert!(d.join(f).is_file(), "{f}");
    }
    // before and after: the same held-out bandits, each model where it now lies
    let before: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("eval/summary.json")).unwrap()).unwrap();
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("eval-rl/summary.json")).unwrap()).unwrap();
    assert_eq!(before["settings"]["seed"], after["settings"]["seed"]);
    assert_eq!(before["settings"]["env"], after["settings"]["env"]);
    assert_eq!(Path::new(after["settings"]["llm"]["model"].as_str().unwrap()), d.join("rl/checkpoint-2"));
    assert_eq!(Path::new(before["settings"]["llm"]["model"].as_str().unwrap()), d.join("sft/checkpoint"));
    // a complete demo is not replaced without --force
    let e = err_text(&args);
    assert!(e.contains("--force"), "{e}");
    let e = err_text(&["demo", "--updates", "3", "--out", d.to_str().unwrap()]);
    assert!(e.contains("--rl"), "{e}");
}
