//! `greedy demo`: the project's main job on a machine without a GPU, in one command. It learns a
//! tokenizer from the UCB expert's text, initialises a small Gemma2 from scratch, trains it by
//! thought cloning on UCB rationales (SPEC section 7), evaluates it with the LLM agent of
//! `greedy eval` next to ucb, greedy and random on bandits it never saw, and writes a report.
//! Whatever the model does is what is reported.

pub mod analysis;
pub mod report;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::rng::derive_seed;

use crate::cli::EvalArgs;
use crate::cli::demo::DemoArgs;
use crate::cli::eval::{DistKind, LabelKind};
use crate::cli::train::{OptimizerKind, SftArgs};
use crate::eval::{EnvKind, EvalSettings, run_eval};
use crate::report::write_run_files;
use crate::train::batch::tokenize;
use crate::train::data::TargetMode;
use crate::train::init::ModelShape;
use crate::train::settings::SftSettings;

/// Default optimizer steps.
pub const DEFAULT_STEPS: u64 = 300;
/// Default sequences per step.
pub const DEFAULT_BATCH: usize = 4;
/// Default evaluation episodes per agent.
pub const DEFAULT_EPISODES: usize = 16;
/// Default steps per episode.
pub const DEFAULT_HORIZON: usize = 10;
/// Arms of the demo's bandits.
pub const ARMS: usize = 5;
/// Reward noise of the demo's bandits (the paper's main setting).
pub const SIGMA: f64 = 1.0;
/// Expert episodes the training data is drawn from.
pub const EXPERT_EPISODES: usize = 2048;
/// Tokenizer size.
pub const VOCAB: usize = 1024;
/// Peak learning rate (AdamW, warm-up then cosine decay to 1/100 of it).
pub const LR: f64 = 5e-3;
/// Arms are numbered 0..k-1 (the paper's "continuous" labels): a model this small, trained this
/// briefly, does not learn to copy colour names from the prompt (tried: 200 steps with buttons gave
/// 88% invalid answers; with numbers, 0%).
pub const LABELS: LabelKind = LabelKind::Numeric;

/// The demo model: few heads and layers (attention costs scale with both on a CPU), a sliding
/// window shorter than the prompts so the local layers differ from the global ones.
pub const SHAPE: ModelShape = ModelShape {
    hidden: 96,
    layers: 2,
    heads: 2,
    kv_heads: 1,
    head_dim: 48,
    ffn: 256,
    window: 64,
    context: 512,
};

/// Sub-seed of the evaluation scenarios (disjoint from the training data's).
const EVAL_STREAM: u64 = 0x4556_414C; // "EVAL"

/// The training settings of the demo.
pub fn sft_args(args: &DemoArgs) -> SftArgs {
    SftArgs {
        init: Some("tiny".into()),
        hidden: Some(SHAPE.hidden),
        layers: Some(SHAPE.layers),
        heads: Some(SHAPE.heads),
        kv_heads: Some(SHAPE.kv_heads),
        head_dim: Some(SHAPE.head_dim),
        ffn: Some(SHAPE.ffn),
        window: Some(SHAPE.window),
        context: Some(SHAPE.context),
        vocab: Some(VOCAB),
        data: Some("ucb".into()),
        mode: Some(TargetMode::Thought),
        arms: vec![ARMS],
        sigma: vec![SIGMA],
        labels: Some(LABELS),
        horizon: Some(args.horizon),
        expert_episodes: Some(EXPERT_EPISODES),
        summary: true,
        steps: Some(args.steps),
        batch: Some(args.batch),
        lr: Some(LR),
        warmup: Some((args.steps / 10).clamp(1, 100)),
        optimizer: Some(OptimizerKind::Adamw),
        clip: Some(1.0),
        seed: Some(args.seed),
        out: Some(args.out.join("sft")),
        save_every: Some(args.steps.max(1)),
        quiet: args.quiet,
        ..SftArgs::default()
    }
}

/// The evaluation settings of the demo for the model in `model`.
pub fn eval_args(args: &DemoArgs, model: &Path, max_new_tokens: usize) -> EvalArgs {
    EvalArgs {
        env: Some(EnvKind::Mab),
        dist: Some(DistKind::Gaussian),
        arms: Some(ARMS),
        sigma: Some(SIGMA),
        labels: Some(LABELS),
        horizon: Some(args.horizon),
        agent: ["llm", "ucb", "greedy", "random"].iter().map(|s| s.to_string()).collect(),
        model: Some(model.to_path_buf()),
        max_new_tokens: Some(max_new_tokens),
        temperature: Some(0.0),
        cot: true,
        summary: true,
        episodes: Some(args.episodes),
        seed: Some(derive_seed(args.seed, EVAL_STREAM)),
        out: Some(args.out.join("eval")),
        ..EvalArgs::default()
    }
}

fn check_args(args: &DemoArgs) -> Result<()> {
    if args.steps == 0 {
        bail!("invalid value 0 for --steps: allowed 1 or more");
    }
    if !(1..=4096).contains(&args.episodes) {
        bail!("invalid value {} for --episodes: allowed 1..=4096", args.episodes);
    }
    if !(2..=50).contains(&args.horizon) {
        bail!(
            "invalid value {} for --horizon: allowed 2..=50 (the prompt must fit the model's context)",
            args.horizon
        );
    }
    if !(1..=1024).contains(&args.batch) {
        bail!("invalid value {} for --batch: allowed 1..=1024", args.batch);
    }
    Ok(())
}

/// Removes the sub-directories of an earlier demo (only with `--force`).
fn clear_out(args: &DemoArgs) -> Result<()> {
    let dirs = [args.out.join("sft"), args.out.join("eval")];
    if dirs.iter().any(|d| d.exists()) || args.out.join("report.md").exists() {
        if !args.force {
            bail!(
                "--out {} already holds a demo: pass --force to replace it, or choose another --out",
                args.out.display()
            );
        }
        for d in dirs.iter().filter(|d| d.exists()) {
            std::fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("--out: cannot create {}", args.out.display()))
}

/// Runs the demo; returns the lines to print.
pub fn run(args: &DemoArgs) -> Result<String> {
    check_args(args)?;
    clear_out(args)?;
    let started = Instant::now();
    let sft = SftSettings::resolve(&sft_args(args))?;
    let trained = crate::train::gpu::run_sft(&sft).context("training")?;
    let train_s = started.elapsed().as_secs_f64();
    // Room for the longest expert answer, plus a margin to see whether the model stops.
    let tok = gpu_trainer::model::GemmaTokenizer::from_dir(&trained.checkpoint)?;
    let mut longest = 0;
    for ex in sft.data.corpus(2000)? {
        longest = longest.max(tokenize(&tok, &ex, usize::MAX)?.target_len());
    }
    let max_new_tokens = longest + 16;
    let eval_started = Instant::now();
    let eval = EvalSettings::resolve(&eval_args(args, &trained.checkpoint, max_new_tokens))?;
    let show = !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let out = run_eval(&eval, show).context("evaluating")?;
    write_run_files(&args.out.join("eval"), &eval, &out)?;
    let eval_s = eval_started.elapsed().as_secs_f64();
    let analysis = analysis::compare_with_expert(&out.records, &eval)?;
    let timing = report::Timing { train_s, eval_s, total_s: started.elapsed().as_secs_f64() };
    let text = report::render(&report::ReportInput {
        args,
        sft: &sft,
        trained: &trained,
        eval: &eval,
        summaries: &out.summaries,
        analysis: &analysis,
        timing,
        max_new_tokens,
        adapter: trained.device.clone(),
    })?;
    let path = args.out.join("report.md");
    crate::io::write_atomic(&path, text.as_bytes())?;
    let mut lines = crate::report::summary_table(&out.summaries);
    lines.push_str(&format!(
        "\nmodel answers equal to the expert's: {:.1}%, actions equal to UCB's: {:.1}%\n\
         train {:.0} s, eval {:.0} s, total {:.0} s\nwrote {}\n",
        100.0 * analysis.exact_rate(),
        100.0 * analysis.action_rate(),
        timing.train_s,
        timing.eval_s,
        timing.total_s,
        path.display()
    ));
    Ok(lines)
}
