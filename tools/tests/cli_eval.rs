//! End-to-end tests of `greedy eval`: the documented forms run, outputs are complete and
//! byte-for-byte reproducible (across runs and thread counts), and bad flags are named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const MAB_FORM: &[&str] = &[
    "eval",
    "--env",
    "mab",
    "--dist",
    "gaussian",
    "--arms",
    "10",
    "--sigma",
    "1",
    "--agent",
    "ucb",
    "--agent",
    "random",
    "--episodes",
    "64",
    "--seed",
    "1",
];
const TTT_FORM: &[&str] = &[
    "eval",
    "--env",
    "ttt",
    "--opponent",
    "random",
    "--agent",
    "minimax",
    "--episodes",
    "200",
    "--seed",
    "1",
    "--json",
];

fn greedy(args: &[&str], threads: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_greedy"));
    cmd.args(args);
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t);
    }
    cmd.output().expect("greedy runs")
}

fn ok(args: &[&str], threads: Option<&str>) -> Output {
    let out = greedy(args, threads);
    assert!(out.status.success(), "greedy {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// An output directory that does not exist yet (the command creates it), inside a scratch
/// directory that is deleted when the guard drops (also when the test fails).
fn scratch(name: &str) -> (TempDir, PathBuf) {
    let guard = tempfile::Builder::new().prefix(&format!("greedy-cli-{name}-")).tempdir().unwrap();
    let dir = guard.path().join("out");
    (guard, dir)
}

fn with_out<'a>(base: &[&'a str], dir: &'a str) -> Vec<&'a str> {
    let mut v = base.to_vec();
    v.extend(["--out", dir]);
    v
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect()
}

const FILES: [&str; 6] =
    ["episodes.jsonl", "summary.json", "regret.png", "regret.svg", "coverage.png", "coverage.svg"];

fn read_all(dir: &Path) -> Vec<Vec<u8>> {
    FILES.iter().map(|f| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))).collect()
}

#[test]
fn mab_form_writes_every_file() {
    let (_tmp, dir) = scratch("files");
    let d = dir.to_str().unwrap();
    let out = ok(&with_out(MAB_FORM, d), None);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("ucb") && table.contains("random") && table.contains("final regret"), "{table}");
    let episodes = std::fs::read_to_string(dir.join("episodes.jsonl")).unwrap();
    assert_eq!(episodes.lines().count(), 64 * 2);
    let first: Value = serde_json::from_str(episodes.lines().next().unwrap()).unwrap();
    for key in [
        "agent",
        "env",
        "episode",
        "scenario_seed",
        "episode_seed",
        "actions",
        "rewards",
        "regret",
        "final_regret",
        "coverage",
        "return",
        "suffix_failure",
        "min_frac",
        "greedy_frac",
    ] {
        assert!(first.get(key).is_some(), "episode record lacks {key}: {first}");
    }
    assert_eq!(first["actions"].as_array().unwrap().len(), 50);
    for png in ["regret.png", "coverage.png"] {
        let bytes = std::fs::read(dir.join(png)).unwrap();
        assert!(bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{png} is not a PNG");
    }
    for svg in ["regret.svg", "coverage.svg"] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert!(
            text.starts_with("<svg") && text.contains("ucb") && text.contains("random"),
            "{svg} lacks the legend"
        );
    }
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["agents"].as_array().unwrap().len(), 2);
    assert_eq!(summary["settings"]["seed"], 1);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn mab_json_has_fields_and_curves_and_ucb_beats_random() {
    let mut args = MAB_FORM.to_vec();
    args.push("--json");
    let out = ok(&args, None);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    for v in &lines {
        for key in [
            "agent",
            "env",
            "episodes",
            "mean_regret",
            "regret_ci95",
            "mean_coverage",
            "mean_return",
            "regret_curve",
            "coverage_curve",
        ] {
            assert!(v.get(key).is_some(), "summary lacks {key}");
        }
        assert_eq!(v["env"], "mab");
        assert_eq!(v["episodes"], 64);
        assert_eq!(v["regret_curve"].as_array().unwrap().len(), 50);
        assert_eq!(v["coverage_curve"].as_array().unwrap().len(), 50);
        let last = v["regret_curve"].as_array().unwrap().last().unwrap().as_f64().unwrap();
        assert!((last - v["mean_regret"].as_f64().unwrap()).abs() < 1e-9);
    }
    assert_eq!(lines[0]["agent"], "ucb");
    assert_eq!(lines[1]["agent"], "random");
    let ucb = lines[0]["mean_regret"].as_f64().unwrap();
    let random = lines[1]["mean_regret"].as_f64().unwrap();
    assert!(ucb < random, "ucb {ucb} vs random {random}");
    assert!(out.stderr.is_empty(), "no progress bar or noise with --json");
}

#[test]
fn outputs_are_byte_identical_across_runs_and_thread_counts() {
    let ((_a_tmp, a), (_b_tmp, b)) = (scratch("det-a"), scratch("det-b"));
    let out_a = ok(&with_out(MAB_FORM, a.to_str().unwrap()), Some("1"));
    let out_b = ok(&with_out(MAB_FORM, b.to_str().unwrap()), Some("2"));
    assert!(!out_a.stdout.is_empty());
    let strip = |s: Vec<u8>, d: &Path| String::from_utf8(s).unwrap().replace(d.to_str().unwrap(), "DIR");
    assert_eq!(strip(out_a.stdout, &a), strip(out_b.stdout, &b));
    assert_eq!(read_all(&a), read_all(&b), "files differ between 1 and 2 threads");
    let (_again_tmp, again) = scratch("det-c");
    ok(&with_out(MAB_FORM, again.to_str().unwrap()), Some("2"));
    assert_eq!(read_all(&b), read_all(&again), "files differ between two runs");
    let j1 = ok(TTT_FORM, Some("1")).stdout;
    let j2 = ok(TTT_FORM, Some("2")).stdout;
    assert_eq!(j1, j2);
}

#[test]
fn ttt_form_reports_returns() {
    let lines = json_lines(&ok(TTT_FORM, None).stdout);
    assert_eq!(lines.len(), 1);
    let v = &lines[0];
    assert_eq!(v["agent"], "minimax");
    assert_eq!(v["env"], "ttt");
    assert_eq!(v["episodes"], 200);
    assert!(v.get("mean_regret").is_none());
    let ret = v["mean_return"].as_f64().unwrap();
    assert!(ret > 0.8, "minimax against random wins almost always: {ret}");
    assert_eq!(v["loss_rate"].as_f64().unwrap(), 0.0);
}

#[test]
fn cb_and_wrappers_run() {
    let lines = json_lines(
        &ok(&["eval", "--env", "cb", "--movies", "5", "--users", "50", "--episodes", "16", "--json"], None)
            .stdout,
    );
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["mean_regret"].as_f64().unwrap() < lines[1]["mean_regret"].as_f64().unwrap(),
        "linucb beats random"
    );
    let lines = json_lines(
        &ok(
            &[
                "eval",
                "--arms",
                "5",
                "--horizon",
                "20",
                "--agent",
                "greedy",
                "--agent",
                "try-all:greedy",
                "--agent",
                "eps:thompson",
                "--episodes",
                "8",
                "--json",
            ],
            None,
        )
        .stdout,
    );
    assert_eq!(lines[1]["agent"], "try-all:greedy");
    assert_eq!(lines[1]["mean_coverage"].as_f64().unwrap(), 1.0, "try-all plays every arm");
    assert_eq!(lines[0]["regret_curve"].as_array().unwrap().len(), 20);
}

#[test]
fn config_file_gives_settings_and_flags_override_it() {
    let (_tmp, dir) = scratch("config");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("exp.json");
    std::fs::write(
        &file,
        r#"{"env": "mab", "arms": 5, "horizon": 30, "agent": ["ucb"], "episodes": 4, "json": true}"#,
    )
    .unwrap();
    let lines =
        json_lines(&ok(&["eval", "--config", file.to_str().unwrap(), "--horizon", "12"], None).stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["episodes"], 4);
    assert_eq!(lines[0]["regret_curve"].as_array().unwrap().len(), 12);
    std::fs::write(&file, r#"{"armz": 5}"#).unwrap();
    let out = greedy(&["eval", "--config", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
}

#[test]
fn bad_flags_fail_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["eval", "--arms", "40"], "--arms"),
        (&["eval", "--arms", "1"], "--arms"),
        (&["eval", "--agent", "foo"], "--agent"),
        (&["eval", "--env", "ttt", "--agent", "ucb"], "--agent"),
        (&["eval", "--env", "zzz"], "--env"),
        (&["eval", "--dist", "bernoulli", "--sigma", "1"], "--sigma"),
        (&["eval", "--dist", "bernoulli", "--gap", "2"], "--gap"),
        (&["eval", "--sigma", "-1"], "--sigma"),
        (&["eval", "--episodes", "0"], "--episodes"),
        (&["eval", "--epsilon", "1.5"], "--epsilon"),
        (&["eval", "--env", "ttt", "--arms", "5"], "--arms"),
        (&["eval", "--env", "mab", "--opponent", "random"], "--opponent"),
        (&["eval", "--env", "ttt", "--noise-p", "0.3"], "--noise-p"),
        (&["eval", "--env", "cb", "--movielens", "/nonexistent/dir"], "--movielens"),
        (&["eval", "--seed", "abc"], "--seed"),
    ];
    for (args, flag) in cases {
        let out = greedy(args, None);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: message does not name {flag}: {err}");
    }
}

#[test]
fn help_has_examples() {
    let out = ok(&["eval", "--help"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Examples:") && text.contains("--agent ucb"));
}
