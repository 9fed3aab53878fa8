//! `greedy eval --shard I/N` and `greedy diagnose ... --shard I/N`, joined by `greedy merge`,
//! against the unsharded run as the reference: every file of the run directory byte for byte
//! and the `--json` output (diagnose: everything but the `run` block, which says where and how
//! long). Baselines on MAB, CB and TTT; the LLM agent (the committed trained checkpoint) on MAB
//! with its exploration wrappers, CB and TTT; both diagnose studies on a tiny random model. Then
//! the refusals: shards of different settings, a missing or duplicated shard, a truncated or
//! changed file, which write nothing.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{err_text, ok_stdout, tiny_model_with_tokenizer, tmpdir};

/// The committed small trained checkpoint (its answers vary from episode to episode).
fn golden_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden_model")
}

/// The files of a run directory (not the temporaries), sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// Asserts that two run directories hold the same files with the same bytes.
fn assert_same_dirs(want: &Path, got: &Path) {
    assert_eq!(files(want), files(got), "{} vs {}", want.display(), got.display());
    for f in files(want) {
        let (a, b) = (std::fs::read(want.join(&f)).unwrap(), std::fs::read(got.join(&f)).unwrap());
        if a != b {
            let (x, y) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let line = x.lines().zip(y.lines()).position(|(p, q)| p != q).unwrap_or(0);
            panic!(
                "{f} differs at line {}:\nunsharded: {}\n   merged: {}",
                line + 1,
                x.lines().nth(line).unwrap_or("<end>"),
                y.lines().nth(line).unwrap_or("<end>")
            );
        }
    }
}

/// Runs `greedy <args> --out <out> --json`; returns stdout.
fn run_json(args: &[&str], out: &Path) -> String {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--out", out.to_str().unwrap(), "--json"]);
    ok_stdout(&a)
}

/// Runs `args` in `n` shards (written in order, given to the merge in reverse); returns the merged
/// directory and the merge's `--json` output.
fn sharded_and_merged(root: &Path, args: &[&str], n: usize) -> (PathBuf, String) {
    let mut shards = Vec::new();
    for i in 0..n {
        let dir = root.join(format!("shard-{n}-{i}"));
        let mut a = args.to_vec();
        let spec = format!("{i}/{n}");
        a.extend(["--shard", spec.as_str()]);
        run_json(&a, &dir);
        assert!(dir.join("shard.json").is_file(), "a shard writes its manifest");
        shards.push(dir);
    }
    shards.reverse();
    let merged = root.join(format!("merged-{n}"));
    let mut m: Vec<String> = vec!["merge".into()];
    m.extend(shards.iter().map(|d| d.display().to_string()));
    m.extend(["--out".into(), merged.display().to_string(), "--json".into()]);
    let got = ok_stdout(&m.iter().map(String::as_str).collect::<Vec<_>>());
    (merged, got)
}

fn check_eval(tag: &str, args: &[&str], splits: &[usize]) {
    let tmp = tmpdir("shard", tag);
    let mut full = vec!["eval"];
    full.extend_from_slice(args);
    let whole = tmp.path().join("whole");
    let want = run_json(&full, &whole);
    for &n in splits {
        let (merged, got) = sharded_and_merged(tmp.path(), &full, n);
        assert_eq!(got, want, "{tag}, {n} shards: --json output");
        assert_same_dirs(&whole, &merged);
    }
}

#[test]
fn baselines_sharded_and_merged_equal_the_unsharded_run() {
    let mab = "--env mab --arms 5 --horizon 20 --agent ucb --agent thompson --agent try-all:greedy --agent eps:greedy --agent random --episodes 7 --seed 3";
    check_eval("mab", &mab.split_whitespace().collect::<Vec<_>>(), &[2, 3, 7]);
    let bern = "--env mab --dist bernoulli --gap 0.5 --arms 4 --horizon 15 --labels numeric --agent thompson --agent ucb-log --episodes 5 --seed 4";
    check_eval("bernoulli", &bern.split_whitespace().collect::<Vec<_>>(), &[2]);
    let cb = "--env cb --movies 5 --horizon 10 --agent linucb --agent random --episodes 5 --seed 2";
    check_eval("cb", &cb.split_whitespace().collect::<Vec<_>>(), &[2, 4]);
    let ttt = "--env ttt --opponent noisy-mcts --mcts-budget 30 --first alternate --agent minimax --agent mcts --episodes 6 --seed 9";
    check_eval("ttt", &ttt.split_whitespace().collect::<Vec<_>>(), &[3]);
}

#[test]
fn the_llm_agent_sharded_and_merged_equals_the_unsharded_run() {
    let model = golden_model();
    let m = model.to_str().unwrap();
    let mab = [
        "--env",
        "mab",
        "--arms",
        "3",
        "--labels",
        "numeric",
        "--horizon",
        "5",
        "--agent",
        "llm",
        "--agent",
        "try-all:llm",
        "--agent",
        "eps:llm",
        "--agent",
        "ucb",
        "--epsilon",
        "0.3",
        "--summary",
        "--max-new-tokens",
        "48",
        "--temperature",
        "1",
        "--episodes",
        "3",
        "--seed",
        "7",
        "--model",
        m,
    ];
    check_eval("llm-mab", &mab, &[2, 3]);
    let cb = [
        "--env",
        "cb",
        "--movies",
        "3",
        "--horizon",
        "3",
        "--agent",
        "llm",
        "--max-new-tokens",
        "24",
        "--episodes",
        "3",
        "--seed",
        "5",
        "--model",
        m,
    ];
    check_eval("llm-cb", &cb, &[2]);
    let ttt = [
        "--env",
        "ttt",
        "--agent",
        "llm",
        "--max-new-tokens",
        "24",
        "--episodes",
        "3",
        "--seed",
        "6",
        "--model",
        m,
    ];
    check_eval("llm-ttt", &ttt, &[3]);
}

/// A diagnose JSON (a file or `--json` output) without its `run` block.
fn without_run(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap();
    let run = v.as_object_mut().unwrap().remove("run").expect("a run block");
    assert!(run["seconds"].is_number() && run["model"].is_string());
    v
}

fn check_diagnose(tag: &str, args: &[&str], study: &str, n: usize) {
    let tmp = tmpdir("shard", tag);
    let whole = tmp.path().join("whole");
    let want = run_json(args, &whole);
    let (merged, got) = sharded_and_merged(tmp.path(), args, n);
    assert_eq!(without_run(&got), without_run(&want), "{tag}: --json output");
    assert_eq!(files(&whole), files(&merged));
    for f in files(&whole) {
        let (a, b) = (std::fs::read_to_string(whole.join(&f)), std::fs::read_to_string(merged.join(&f)));
        if f == format!("{study}.json") {
            assert_eq!(without_run(&b.unwrap()), without_run(&a.unwrap()), "{tag}: {f}");
        } else {
            assert_eq!(
                std::fs::read(merged.join(&f)).unwrap(),
                std::fs::read(whole.join(&f)).unwrap(),
                "{tag}: {f}"
            );
        }
    }
    let merged_run: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join(format!("{study}.json"))).unwrap())
            .unwrap();
    assert!(merged_run["run"]["command"].as_str().unwrap().contains("merge"), "the merge's own command line");
}

#[test]
fn diagnose_studies_sharded_and_merged_equal_the_unsharded_run() {
    let model_dir = tmpdir("shard", "diag-model");
    tiny_model_with_tokenizer(model_dir.path());
    let m = model_dir.path().to_str().unwrap();
    let freq = [
        "diagnose",
        "frequency-bias",
        "--model",
        m,
        "--arms",
        "3",
        "--contexts",
        "5",
        "--repeats",
        "0,3",
        "--max-history",
        "4",
        "--seed",
        "7",
        "--batch",
        "2",
    ];
    check_diagnose("freq", &freq, "frequency_bias", 2);
    let kd = [
        "diagnose",
        "knowing-doing",
        "--model",
        m,
        "--arms",
        "3",
        "--contexts",
        "4",
        "--horizon",
        "6",
        "--max-new-tokens",
        "12",
        "--temperature",
        "1",
        "--seed",
        "3",
        "--batch",
        "3",
    ];
    check_diagnose("kd", &kd, "knowing_doing", 3);
}

/// Shards of a small baseline run, for the refusals.
fn baseline_shards(root: &Path, seed: &str, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let dir = root.join(format!("seed{seed}-{i}of{n}"));
            let spec = format!("{i}/{n}");
            let args = [
                "eval",
                "--arms",
                "4",
                "--horizon",
                "8",
                "--agent",
                "ucb",
                "--episodes",
                "6",
                "--seed",
                seed,
                "--shard",
                &spec,
                "--out",
                dir.to_str().unwrap(),
            ];
            ok_stdout(&args);
            dir
        })
        .collect()
}

/// `greedy merge dirs --out out` fails; returns stderr after checking that `out` is unchanged.
fn merge_fails(dirs: &[&Path], out: &Path) -> String {
    let before: Option<Vec<(String, Vec<u8>)>> = out
        .is_dir()
        .then(|| files(out).into_iter().map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap())).collect());
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    let e = err_text(&args);
    let after: Option<Vec<(String, Vec<u8>)>> = out
        .is_dir()
        .then(|| files(out).into_iter().map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap())).collect());
    assert_eq!(before, after, "a refused merge leaves --out as it was: {e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}

#[test]
fn bad_shard_sets_are_refused_and_nothing_is_written() {
    let tmp = tmpdir("shard", "bad");
    let root = tmp.path();
    let a = baseline_shards(root, "1", 3);
    let b = baseline_shards(root, "2", 3);
    let out = root.join("merged");
    // different settings: the differing setting is named
    let e = merge_fails(&[&a[0], &b[1], &a[2]], &out);
    assert!(e.contains("different runs") && e.contains("seed: 1 vs 2"), "{e}");
    assert!(!out.exists(), "nothing written");
    // a missing shard
    let e = merge_fails(&[&a[0], &a[2]], &out);
    assert!(e.contains("shard 1/3") && e.contains("missing"), "{e}");
    // a duplicated shard: the same directory twice, or a copy
    let e = merge_fails(&[&a[0], &a[1], &a[1], &a[2]], &out);
    assert!(e.contains("shard 1/3 is given twice"), "{e}");
    // a split of another size
    let c = baseline_shards(root, "1", 2);
    let e = merge_fails(&[&a[0], &c[1], &a[2]], &out);
    assert!(e.contains("is shard 1/2") && e.contains("one split"), "{e}");
    // not a shard: an unsharded run directory
    let whole = root.join("whole");
    ok_stdout(&[
        "eval",
        "--arms",
        "4",
        "--horizon",
        "8",
        "--agent",
        "ucb",
        "--episodes",
        "6",
        "--seed",
        "1",
        "--out",
        whole.to_str().unwrap(),
    ]);
    let e = merge_fails(&[&whole], &out);
    assert!(e.contains("no shard.json"), "{e}");
    // an existing run at --out stays as it was when the merge is refused
    let e = merge_fails(&[&a[0], &a[1]], &whole);
    assert!(e.contains("missing"), "{e}");

    // a truncated episodes.jsonl, then one changed in place (same length)
    let jsonl = a[1].join("episodes.jsonl");
    let original = std::fs::read(&jsonl).unwrap();
    std::fs::write(&jsonl, &original[..original.len() - 40]).unwrap();
    let e = merge_fails(&[&a[0], &a[1], &a[2]], &out);
    assert!(e.contains(&jsonl.display().to_string()) && e.contains("truncated"), "{e}");
    let mut changed = original.clone();
    let at = changed.iter().position(|&b| b == b'7').unwrap();
    changed[at] = b'8';
    std::fs::write(&jsonl, &changed).unwrap();
    let e = merge_fails(&[&a[0], &a[1], &a[2]], &out);
    assert!(e.contains("episodes.jsonl") && e.contains("SHA-256"), "{e}");
    std::fs::write(&jsonl, &original).unwrap();
    // a truncated manifest
    let manifest = a[2].join("shard.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    let e = merge_fails(&[&a[0], &a[1], &a[2]], &out);
    assert!(e.contains(&manifest.display().to_string()) && e.contains("not a valid shard manifest"), "{e}");
    std::fs::write(&manifest, &text).unwrap();
    // --out must not be one of the shards
    let e = merge_fails(&[&a[0], &a[1], &a[2]], &a[1]);
    assert!(e.contains("one of the shards"), "{e}");
    // restored: the merge goes through
    ok_stdout(&[
        "merge",
        a[2].to_str().unwrap(),
        a[0].to_str().unwrap(),
        a[1].to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_same_dirs(&whole, &out);
}

#[test]
fn shard_flags_are_checked() {
    let tmp = tmpdir("shard", "flags");
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    let base = ["eval", "--arms", "4", "--agent", "ucb", "--episodes", "3"];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        err_text(&a)
    };
    let e = with(&["--shard", "3/3", "--out", o]);
    assert!(e.contains("'3/3'") && e.contains("--shard"), "{e}");
    let e = with(&["--shard", "1/x", "--out", o]);
    assert!(e.contains("--shard"), "{e}");
    let e = with(&["--shard", "0/2"]);
    assert!(e.contains("needs --out"), "{e}");
    let e = with(&["--shard", "0/4", "--out", o]);
    assert!(e.contains("3 episodes cannot be split into 4 shards"), "{e}");
    assert!(!out.exists());
    let e = err_text(&[
        "diagnose",
        "frequency-bias",
        "--model",
        "nowhere",
        "--contexts",
        "2",
        "--shard",
        "0/3",
        "--out",
        o,
    ]);
    assert!(e.contains("2 contexts cannot be split into 3 shards"), "{e}");
    let e = err_text(&["merge", "--out", o]);
    assert!(e.contains("SHARD_DIR"), "{e}");
    // help with examples
    for cmd in [&["eval", "--help"][..], &["merge", "--help"], &["diagnose", "--help"]] {
        let help = ok_stdout(cmd);
        assert!(help.contains("--shard") || help.contains("greedy merge"), "{cmd:?}: {help}");
    }
}
