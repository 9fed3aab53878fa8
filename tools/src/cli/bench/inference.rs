//! The inference, matmul and environment benchmarks of `greedy bench`, and the dispatch.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::agents::{Ucb, run_bandit_episode};
use env_core::{MabConfig, MultiArmedBandit, Rng};
use gpu_trainer::kernels::matmul;
use gpu_trainer::{DType, Gpu, GpuOptions, Tensor};
use rayon::prelude::*;
use serde_json::{Value, json};

use gpu_trainer::generate::{GenerateOptions, WeightDType};

use super::{BenchArgs, peak, rl, train};
use crate::cli::model::load_engine;

/// Runs `greedy bench`; returns what to print.
pub fn run(args: &BenchArgs) -> Result<String> {
    let report = if args.env {
        env_bench(args)?
    } else if args.train {
        train::train_bench(args)?
    } else if args.rl {
        rl::rl_bench(args)?
    } else {
        inference_bench(args)?
    };
    if args.json {
        return Ok(serde_json::to_string(&report)? + "\n");
    }
    if args.train {
        return Ok(train::render(&report));
    }
    if args.rl {
        return Ok(rl::render(&report));
    }
    Ok(render(&report))
}

fn render(v: &Value) -> String {
    let mut out = String::new();
    let Value::Object(map) = v else { return v.to_string() };
    for (k, val) in map {
        match val {
            Value::Object(inner) => {
                out.push_str(&format!("{k}:\n"));
                for (ik, iv) in inner {
                    out.push_str(&format!("  {ik:<24} {}\n", fmt_val(iv)));
                }
            }
            _ => out.push_str(&format!("{k:<26} {}\n", fmt_val(val))),
        }
    }
    out
}

pub(crate) fn fmt_val(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The peer script: `--peer-script`, else `REL` (e.g. `shared/peers/NAME`) under the current
/// directory, the repository root, or one of their ancestors (worktrees live deeper than the
/// main checkout).
pub(crate) fn peer_script(args: &BenchArgs, rel: &str) -> Result<PathBuf> {
    if let Some(p) = &args.peer_script {
        if !p.is_file() {
            bail!("--peer-script {}: no such file", p.display());
        }
        return Ok(p.clone());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let starts = [std::env::current_dir().unwrap_or_default(), root.to_path_buf()];
    for start in &starts {
        for dir in start.ancestors() {
            let p = dir.join(rel);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    bail!("cannot find {rel} above {} (give it with --peer-script)", root.display())
}

/// Runs `python script args...` and returns its `key=value` pairs.
pub(crate) fn run_peer(python: &Path, script: &Path, extra: &[String]) -> Result<Vec<(String, String)>> {
    let text = peer_stdout(python, script, extra)?;
    let line = text.lines().rev().find(|l| l.contains('=')).unwrap_or("");
    Ok(line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect())
}

/// Runs `python script args...`; its standard output, or an error with the tail of its
/// standard error when it fails.
pub(crate) fn peer_stdout(python: &Path, script: &Path, extra: &[String]) -> Result<String> {
    let out = Command::new(python)
        .arg(script)
        .args(extra)
        .output()
        .with_context(|| format!("--peer {}: cannot run it", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        bail!(
            "peer {} {} failed ({}): {}",
            python.display(),
            script.display(),
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn peer_num(pairs: &[(String, String)], key: &str) -> Option<f64> {
    pairs.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse().ok())
}

pub(crate) fn ratio(ours: f64, theirs: Option<f64>) -> Value {
    match theirs {
        Some(t) if t > 0.0 => json!(ours / t),
        _ => Value::Null,
    }
}

/// Prefill/decode tokens/s of the engine, plus the matmul GFLOP/s.
fn inference_bench(args: &BenchArgs) -> Result<Value> {
    let mut report = serde_json::Map::new();
    report.insert("matmul".into(), matmul_bench(args)?);
    if args.matmul_only {
        return Ok(Value::Object(report));
    }
    let dir = args.model.as_ref().expect("clap requires --model");
    if args.prompt_len == 0 || args.new_tokens == 0 || args.batch == 0 {
        bail!("--prompt-len, --new-tokens and --batch must be >= 1");
    }
    let t0 = Instant::now();
    let mut engine = load_engine(dir, args.dtype, args.adapter.clone())?;
    // every timed run re-sends the same prompts: without this the prefix cache would skip the prefill
    engine.set_prefix_cache(false);
    let load_s = t0.elapsed().as_secs_f64();
    let vocab = engine.config().vocab_size;
    let mut rng = Rng::new(0);
    let prompts: Vec<Vec<u32>> = (0..args.batch)
        .map(|_| {
            (0..args.prompt_len).map(|_| (3 + rng.below(vocab.saturating_sub(3).max(1))) as u32).collect()
        })
        .collect();
    // never stop early: no id equals u32::MAX
    let opts = |n: usize| GenerateOptions {
        max_new_tokens: n,
        temperature: 0.0,
        top_k: None,
        top_p: None,
        seed: 0,
        stop_ids: vec![u32::MAX],
        entropy: false,
    };
    engine.generate(&[prompts[0][..args.prompt_len.min(8)].to_vec()], &opts(2))?; // warm-up
    let t = Instant::now();
    engine.generate(&prompts, &opts(1))?;
    let prefill_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gens = engine.generate(&prompts, &opts(args.new_tokens))?;
    let total_s = t.elapsed().as_secs_f64();
    let generated: usize = gens.iter().map(|g| g.ids.len()).sum();
    let decode_s = (total_s - prefill_s).max(1e-9);
    let prefill_tok_s = (args.batch * args.prompt_len) as f64 / prefill_s;
    // as the peer: all new tokens over the time after prefill
    let decode_tok_s = generated as f64 / decode_s;
    let c = engine.config();
    let ours = json!({
        "adapter": engine.adapter_name(),
        "model": dir.display().to_string(),
        "layers": c.num_layers, "hidden": c.hidden_size, "vocab": c.vocab_size,
        "dtype": format!("{:?}", args.dtype).to_lowercase(),
        "prompt_len": args.prompt_len, "new_tokens": args.new_tokens, "batch": args.batch,
        "load_s": load_s,
        "prefill_tok_s": prefill_tok_s,
        "decode_tok_s": decode_tok_s,
    });
    report.insert("greedy".into(), ours);
    if let Some(python) = &args.peer {
        let script = peer_script(args, "shared/peers/hf_generate_bench.py")?;
        let dtype = match args.dtype {
            WeightDType::BF16 => "bf16",
            WeightDType::F16 => bail!("the HuggingFace peer takes --dtype f32 or bf16, not f16"),
            _ => "f32",
        };
        let extra = vec![
            dir.display().to_string(),
            "--prompt-len".into(),
            args.prompt_len.to_string(),
            "--new-tokens".into(),
            args.new_tokens.to_string(),
            "--batch".into(),
            args.batch.to_string(),
            "--dtype".into(),
            dtype.into(),
        ];
        let peer = match run_peer(python, &script, &extra) {
            Ok(pairs) => {
                let pf = peer_num(&pairs, "prefill_tok_s");
                let dc = peer_num(&pairs, "decode_tok_s");
                let dev = pairs.iter().find(|(k, _)| k == "device").map(|(_, v)| v.clone());
                json!({
                    "script": script.display().to_string(),
                    "device": dev,
                    "prefill_tok_s": pf, "decode_tok_s": dc,
                    "prefill_ratio_greedy_over_peer": ratio(prefill_tok_s, pf),
                    "decode_ratio_greedy_over_peer": ratio(decode_tok_s, dc),
                })
            }
            Err(e) => json!({"script": script.display().to_string(), "error": format!("{e:#}")}),
        };
        report.insert("peer_hf_transformers".into(), peer);
    }
    Ok(Value::Object(report))
}

fn parse_mkn(s: &str) -> Result<(usize, usize, usize)> {
    let v: Vec<usize> =
        s.split(',').map(|x| x.trim().parse::<usize>()).collect::<std::result::Result<_, _>>().map_err(
            |_| anyhow::anyhow!("invalid value '{s}' for --matmul: expected M,K,N (three positive integers)"),
        )?;
    match v[..] {
        [m, k, n] if m > 0 && k > 0 && n > 0 => Ok((m, k, n)),
        _ => bail!("invalid value '{s}' for --matmul: expected M,K,N (three positive integers)"),
    }
}

/// GFLOP/s of the project's matmul kernel (tiled, and the decode matvec at M=1).
fn matmul_bench(args: &BenchArgs) -> Result<Value> {
    let (m, k, n) = parse_mkn(&args.matmul)?;
    let gpu = Gpu::with_options(GpuOptions { adapter: args.adapter.clone(), ..GpuOptions::default() })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = gpu.adapter_info().clone();
    let wdtype = match args.dtype {
        WeightDType::F16 => DType::F16,
        WeightDType::BF16 => DType::BF16,
        _ => DType::F32,
    };
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..m * k).map(|_| rng.uniform() as f32 - 0.5).collect();
    let w: Vec<f32> = (0..n * k).map(|_| rng.uniform() as f32 - 0.5).collect();
    let e = |e: gpu_trainer::GpuError| anyhow::anyhow!("{e}");
    let xt = Tensor::from_f32(&gpu, "x", &[m, k], DType::F32, &x).map_err(e)?;
    let x1 = Tensor::from_f32(&gpu, "x1", &[1, k], DType::F32, &x[..k]).map_err(e)?;
    let wt = Tensor::from_f32(&gpu, "w", &[n, k], wdtype, &w).map_err(e)?;
    let yt = Tensor::zeros(&gpu, "y", &[m, n], DType::F32).map_err(e)?;
    let y1 = Tensor::zeros(&gpu, "y1", &[1, n], DType::F32).map_err(e)?;
    let time = |x: &Tensor, y: &Tensor, reps: usize| -> Result<f64> {
        let mut b = gpu.batch();
        matmul::forward(&mut b, x, &wt, y).map_err(e)?;
        b.submit().map_err(e)?;
        gpu.wait().map_err(e)?; // warm-up (pipeline compile)
        let t = Instant::now();
        let mut b = gpu.batch();
        for _ in 0..reps {
            matmul::forward(&mut b, x, &wt, y).map_err(e)?;
        }
        b.submit().map_err(e)?;
        gpu.wait().map_err(e)?;
        Ok(t.elapsed().as_secs_f64() / reps as f64)
    };
    let flops = 2.0 * (m * k * n) as f64;
    // aim for ~0.5 s per measurement at ~10 GFLOP/s, at least 3 reps
    let reps = ((5e9 / flops) as usize).clamp(3, 200);
    let s = time(&xt, &yt, reps)?;
    let s1 = time(&x1, &y1, (reps * m).clamp(3, 500))?;
    let gflops = flops / s / 1e9;
    let gflops1 = 2.0 * (k * n) as f64 / s1 / 1e9;
    let peak = peak::resolve(args.peak_gflops, &info);
    let pct = |g: f64| peak.gflops.map(|p| json!(100.0 * g / p)).unwrap_or(Value::Null);
    Ok(json!({
        "adapter": format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type),
        "shape_mkn": format!("{m}x{k}x{n}"),
        "weight_dtype": format!("{wdtype:?}").to_lowercase(),
        "tiled_gflops": gflops,
        "tiled_pct_of_peak": pct(gflops),
        "matvec_m1_gflops": gflops1,
        "matvec_m1_weight_gb_s": (k * n) as f64 * wdtype.size() as f64 / s1 / 1e9,
        "peak_gflops": peak.gflops,
        "peak_source": peak.source,
    }))
}

/// Steps/s of UCB on a 10-arm Gaussian bandit (T=50), single thread and all threads.
fn env_bench(args: &BenchArgs) -> Result<Value> {
    const HORIZON: usize = 50;
    let config = MabConfig::default();
    if config.horizon != HORIZON || config.arms != 10 {
        bail!("the default bandit is no longer 10 arms x 50 steps");
    }
    let episodes = args.episodes.max(1);
    let run_range = |from: u64, to: u64| -> Result<u64> {
        let mut actions = [0usize; HORIZON];
        let mut rewards = [0f64; HORIZON];
        let mut steps = 0u64;
        for ep in from..to {
            let mut env = MultiArmedBandit::new(config, ep)?;
            let mut ucb = Ucb::paper();
            steps += run_bandit_episode(&mut env, &mut ucb, ep, &mut actions, &mut rewards)? as u64;
        }
        std::hint::black_box(&rewards);
        Ok(steps)
    };
    run_range(0, (episodes / 10).max(1))?; // warm-up
    let t = Instant::now();
    let steps = run_range(0, episodes)?;
    let single = steps as f64 / t.elapsed().as_secs_f64();
    let threads = rayon::current_num_threads();
    let chunk = episodes.div_ceil(threads as u64 * 4).max(1);
    let t = Instant::now();
    let steps_all: u64 = (0..episodes.div_ceil(chunk))
        .into_par_iter()
        .map(|c| run_range(c * chunk, ((c + 1) * chunk).min(episodes)))
        .collect::<Result<Vec<u64>>>()?
        .into_iter()
        .sum();
    let all = steps_all as f64 / t.elapsed().as_secs_f64();
    let mut report = serde_json::Map::new();
    report.insert(
        "greedy".into(),
        json!({
            "workload": "UCB (mean + sqrt(1/N)), 10-arm Gaussian bandit sigma 1, T=50, fresh bandit per episode",
            "episodes": episodes,
            "single_thread_steps_per_s": single,
            "threads": threads,
            "all_threads_steps_per_s": all,
        }),
    );
    if let Some(python) = &args.peer {
        let script = peer_script(args, "shared/peers/banditbench_steps.py")?;
        let peer = match run_peer(python, &script, &[(episodes / 10).max(100).to_string()]) {
            Ok(pairs) => {
                let p = peer_num(&pairs, "steps_per_s");
                json!({
                    "script": script.display().to_string(),
                    "steps_per_s": p,
                    "single_thread_ratio_greedy_over_peer": ratio(single, p),
                    "all_threads_ratio_greedy_over_peer": ratio(all, p),
                })
            }
            Err(e) => json!({"script": script.display().to_string(), "error": format!("{e:#}")}),
        };
        report.insert("peer_banditbench".into(), peer);
    }
    Ok(Value::Object(report))
}
