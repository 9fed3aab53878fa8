//! `greedy sweep`: a sweep file expanded into runs (checked by the commands' own parsers), run
//! here with resumption, run task by task as a cluster would and merged, each merged run equal
//! to the unsharded `greedy eval` (or `greedy diagnose`) of its settings; the Slurm scripts and
//! the Kubernetes manifests it writes. (The real Ray and Slurm runs are tools/check-cluster.sh.)

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{err_text, greedy_cmd, ok_stdout, tiny_model_with_tokenizer, tmpdir};

/// Runs `greedy <args>` in `dir`; returns stdout, panicking with stderr on failure.
fn run_in(dir: &Path, args: &[&str]) -> String {
    let out = greedy_cmd().current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "greedy {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `greedy <args>` in `dir`, expecting a failure; returns stderr.
fn fail_in(dir: &Path, args: &[&str]) -> String {
    let out = greedy_cmd().current_dir(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "greedy {args:?} should fail");
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn assert_same_dirs(want: &Path, got: &Path) {
    assert_eq!(files(want), files(got), "{} vs {}", want.display(), got.display());
    for f in files(want) {
        assert!(
            std::fs::read(want.join(&f)).unwrap() == std::fs::read(got.join(&f)).unwrap(),
            "{f} differs between {} and {}",
            want.display(),
            got.display()
        );
    }
}

const GRID: &str = r#"
command = "eval"
out = "runs/grid"
shards = 3
[base]
env = "mab"
episodes = 7
horizon = 12
agent = ["ucb", "try-all:greedy"]
seed = 5
[grid]
arms = [3, 6]
dist = ["gaussian", "bernoulli"]
"#;

fn plan(dir: &Path, file: &str) -> Value {
    serde_json::from_str(&run_in(dir, &["sweep", "plan", file, "--json"])).unwrap()
}

/// Each run of the plan, unsharded, into `ref/<run>`, compared with the sweep's merged run.
fn check_runs_against_unsharded(dir: &Path, plan: &Value) {
    for run in plan["runs"].as_array().unwrap() {
        let name = run["name"].as_str().unwrap();
        let mut argv: Vec<String> =
            run["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        let reference = dir.join("ref").join(name);
        argv.extend(["--out".into(), reference.display().to_string()]);
        run_in(dir, &argv.iter().map(String::as_str).collect::<Vec<_>>());
        assert_same_dirs(&reference, &dir.join(run["dir"].as_str().unwrap()));
    }
}

#[test]
fn a_local_sweep_equals_the_unsharded_runs_and_resumes() {
    let tmp = tmpdir("sweep", "local");
    let dir = tmp.path();
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let p = plan(dir, "grid.toml");
    let names: Vec<&str> =
        p["runs"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["arms-3_dist-gaussian", "arms-3_dist-bernoulli", "arms-6_dist-gaussian", "arms-6_dist-bernoulli"]
    );
    assert_eq!(p["tasks"].as_array().unwrap().len(), 12, "4 runs x 3 shards");
    let t5 = &p["tasks"][5];
    assert_eq!((t5["run"].as_str(), t5["shard"].as_str()), (Some("arms-3_dist-bernoulli"), Some("2/3")));
    let text = run_in(dir, &["sweep", "plan", "grid.toml"]);
    assert!(
        text.contains("greedy eval --env mab --episodes 7")
            && text.contains("--shard 2/3 --out runs/grid/shards/arms-3_dist-bernoulli/2-of-3"),
        "{text}"
    );

    let first = run_in(dir, &["sweep", "run", "grid.toml"]);
    assert!(first.contains("4 merged now, 0 already done); 12 shards run"), "{first}");
    check_runs_against_unsharded(dir, &p);
    let again = run_in(dir, &["sweep", "run", "grid.toml"]);
    assert!(again.contains("0 merged now, 4 already done); 0 shards run"), "{again}");
    // a run lost with one of its shards: only that shard runs again
    let run = dir.join("runs/grid/arms-6_dist-gaussian");
    std::fs::remove_dir_all(&run).unwrap();
    std::fs::remove_dir_all(dir.join("runs/grid/shards/arms-6_dist-gaussian/1-of-3")).unwrap();
    let resumed = run_in(dir, &["sweep", "run", "grid.toml"]);
    assert!(resumed.contains("1 merged now, 3 already done); 1 shards run, 2 found done"), "{resumed}");
    assert_same_dirs(&dir.join("ref/arms-6_dist-gaussian"), &run);
    // a shard with other settings is not taken as done: the grid changed, everything runs again
    std::fs::write(dir.join("grid.toml"), GRID.replace("seed = 5", "seed = 6")).unwrap();
    let changed = run_in(dir, &["sweep", "run", "grid.toml", "--quiet"]);
    assert!(changed.contains("4 merged now, 0 already done); 12 shards run"), "{changed}");
}

#[test]
fn tasks_in_any_order_then_merge_as_a_cluster_would() {
    let tmp = tmpdir("sweep", "tasks");
    let dir = tmp.path();
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let p = plan(dir, "grid.toml");
    let n = p["tasks"].as_array().unwrap().len();
    for k in (0..n).rev().filter(|k| *k != 4) {
        let out = run_in(dir, &["sweep", "task", "grid.toml", &k.to_string()]);
        assert!(out.starts_with(&format!("task {k}: run ")), "{out}");
    }
    // task 4 is missing: the merge merges the other runs and names it
    let e = fail_in(dir, &["sweep", "merge", "grid.toml"]);
    assert!(e.contains("run arms-3_dist-bernoulli shard 1/3 (task 4)"), "{e}");
    assert!(dir.join("runs/grid/arms-6_dist-bernoulli/summary.json").is_file());
    assert!(!dir.join("runs/grid/arms-3_dist-bernoulli").exists());
    run_in(dir, &["sweep", "task", "grid.toml", "4"]);
    let skipped = run_in(dir, &["sweep", "task", "grid.toml", "4"]);
    assert!(skipped.contains("already done"), "{skipped}");
    let merged = run_in(dir, &["sweep", "merge", "grid.toml"]);
    assert!(merged.contains("merged") && merged.contains("already done"), "{merged}");
    check_runs_against_unsharded(dir, &p);
    let e = fail_in(dir, &["sweep", "task", "grid.toml", "12"]);
    assert!(e.contains("task 12") && e.contains("12 tasks (0..=11)"), "{e}");
}

#[test]
fn a_diagnose_sweep_merges_like_the_unsharded_study() {
    let tmp = tmpdir("sweep", "diag");
    let dir = tmp.path();
    tiny_model_with_tokenizer(&{
        std::fs::create_dir(dir.join("model")).unwrap();
        dir.join("model")
    });
    std::fs::write(
        dir.join("freq.toml"),
        "command = \"frequency-bias\"\nout = \"runs/freq\"\nshards = 2\n[base]\nmodel = \"model\"\narms = 3\ncontexts = 3\nrepeats = \"0,2\"\nmax_history = 3\n[grid]\nseed = [1, 2]\n",
    )
    .unwrap();
    let out = run_in(dir, &["sweep", "run", "freq.toml", "--quiet"]);
    assert!(out.contains("2 merged now"), "{out}");
    for seed in ["1", "2"] {
        let reference = dir.join(format!("ref{seed}"));
        let args = [
            "diagnose",
            "frequency-bias",
            "--model",
            "model",
            "--arms",
            "3",
            "--contexts",
            "3",
            "--repeats",
            "0,2",
            "--max-history",
            "3",
            "--seed",
            seed,
            "--out",
            reference.to_str().unwrap(),
        ];
        run_in(dir, &args);
        let merged = dir.join(format!("runs/freq/seed-{seed}"));
        assert_eq!(files(&reference), files(&merged));
        assert_eq!(
            std::fs::read(reference.join("contexts.jsonl")).unwrap(),
            std::fs::read(merged.join("contexts.jsonl")).unwrap()
        );
        let study = |d: &Path| {
            let mut v: Value =
                serde_json::from_str(&std::fs::read_to_string(d.join("frequency_bias.json")).unwrap())
                    .unwrap();
            v.as_object_mut().unwrap().remove("run");
            v
        };
        assert_eq!(study(&reference), study(&merged));
    }
    let again = run_in(dir, &["sweep", "run", "freq.toml", "--quiet"]);
    assert!(again.contains("2 already done"), "{again}");
}

#[test]
fn bad_sweep_files_name_the_run_and_the_flag() {
    let tmp = tmpdir("sweep", "bad");
    let dir = tmp.path();
    let write = |text: &str| std::fs::write(dir.join("s.toml"), text).unwrap();
    write("command = \"eval\"\nout = \"o\"\n[grid]\narms = [3, 40]\n");
    let e = fail_in(dir, &["sweep", "plan", "s.toml"]);
    assert!(
        e.contains("s.toml") && e.contains("run arms-40") && e.contains("--arms") && e.contains("2..=32"),
        "{e}"
    );
    write("command = \"eval\"\nout = \"o\"\n[base]\narmz = 3\n");
    let e = fail_in(dir, &["sweep", "run", "s.toml"]);
    assert!(e.contains("run run") && e.contains("--armz"), "{e}");
    write("command = \"eval\"\nout = \"o\"\n[base]\nout = \"x\"\n");
    let e = fail_in(dir, &["sweep", "plan", "s.toml"]);
    assert!(e.contains("sets --out itself"), "{e}");
    write("command = \"eval\"\nout = \"o\"\nshards = 4\n[base]\nepisodes = 2\n");
    let p = plan(dir, "s.toml");
    assert_eq!(p["runs"][0]["shards"], 2, "at most one shard per episode");
    let e = fail_in(dir, &["sweep", "plan", "missing.toml"]);
    assert!(e.contains("missing.toml"), "{e}");
    assert!(!dir.join("o").exists(), "nothing written");
}

#[test]
fn slurm_scripts_and_kubernetes_manifests() {
    let tmp = tmpdir("sweep", "launch");
    let dir = tmp.path();
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let out = run_in(
        dir,
        &["sweep", "slurm", "grid.toml", "--gpus-per-task", "1", "--max-parallel", "2", "--partition", "gpu"],
    );
    assert!(out.contains("12 tasks (4 runs) as one job array, 1 GPU(s) per task"), "{out}");
    let slurm: PathBuf = dir.join("runs/grid/slurm");
    let shards = std::fs::read_to_string(slurm.join("shards.sbatch")).unwrap();
    let cwd = dir.canonicalize().unwrap();
    for want in [
        "#SBATCH --array=0-11%2".to_string(),
        "#SBATCH --gres=gpu:1".into(),
        "#SBATCH --partition=gpu".into(),
        format!("#SBATCH --chdir={}", cwd.display()),
        format!("sweep task {}/grid.toml \"$SLURM_ARRAY_TASK_ID\"", cwd.display()),
    ] {
        assert!(shards.contains(&want), "{want} in\n{shards}");
    }
    assert!(shards.contains(env!("CARGO_BIN_EXE_greedy")), "the tasks run this greedy");
    for f in ["shards.sbatch", "merge.sbatch", "submit.sh"] {
        let check = std::process::Command::new("bash").arg("-n").arg(slurm.join(f)).output().unwrap();
        assert!(check.status.success(), "{f}: {}", String::from_utf8_lossy(&check.stderr));
    }
    let out = run_in(dir, &["sweep", "k8s", "grid.toml", "--image", "reg/greedy:1", "--gpus-per-task", "1"]);
    assert!(out.contains("12 tasks (4 runs) as one Indexed Job"), "{out}");
    let job = std::fs::read_to_string(dir.join("runs/grid/k8s/shards.yaml")).unwrap();
    for want in [
        "completionMode: Indexed",
        "completions: 12",
        "nvidia.com/gpu: 1",
        "sweep task grid.toml \\\"$JOB_COMPLETION_INDEX\\\"",
    ] {
        assert!(job.contains(want), "{want} in\n{job}");
    }
    // the launchers' directories do not disturb the runs
    let again = run_in(dir, &["sweep", "run", "grid.toml", "--quiet"]);
    assert!(again.contains("4 merged now"), "{again}");
    let help = ok_stdout(&["sweep", "--help"]);
    assert!(help.contains("[grid]") && help.contains("ray_sweep.py"), "{help}");
    for sub in ["run", "plan", "task", "merge", "slurm", "k8s"] {
        assert!(ok_stdout(&["sweep", sub, "--help"]).contains("Examples:"), "sweep {sub} --help");
    }
    let e = err_text(&["sweep", "k8s", "/abs/grid.toml"]);
    assert!(e.contains("/abs/grid.toml"), "{e}");
}
