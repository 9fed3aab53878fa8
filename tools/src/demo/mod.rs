//! `greedy demo`: the project's main job on a machine without a GPU, in one command. It learns a
//! tokenizer from the UCB expert's text, initialises a small Gemma2 from scratch, trains it by
//! thought cloning on UCB rationales (SPEC section 7), evaluates it with the LLM agent of
//! `greedy eval` next to ucb, greedy and random on bandits it never saw, and writes a report.
//! Whatever the model does is what is reported.

pub mod analysis;
pub mod report;
pub mod rl;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::rng::derive_seed;
use env_core::{ArmDistribution, LabelStyle, MabConfig};
use gpu_trainer::agent::AgentSettings;
use gpu_trainer::envs::{EnvKind, EnvSettings};
use gpu_trainer::eval::{AgentSpec, EvalSettings, run_eval};
use gpu_trainer::generate::WeightDType;
use gpu_trainer::train::fresh::ModelShape;
use gpu_trainer::train::learner::{OptimSettings, OptimizerKind};
use gpu_trainer::train::sft::batch::tokenize;
use gpu_trainer::train::sft::data::{Expert, ExpertData, SftData, TargetMode};
use gpu_trainer::train::sft::settings::{FreshBase, ModelSource, streams};
use gpu_trainer::train::sft::{SftOutcome, SftSettings};

use crate::report::write_run_files;

/// What `greedy demo` runs (its command-line flags).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSettings {
    /// Optimizer steps of the thought-cloning run.
    pub steps: u64,
    /// Sequences per optimizer step.
    pub batch: usize,
    /// Evaluation episodes per agent.
    pub episodes: usize,
    /// Steps per bandit episode, in training and evaluation.
    pub horizon: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Where the demo goes.
    pub out: PathBuf,
    /// Replace a complete demo in `out`.
    pub force: bool,
    /// No progress bars.
    pub quiet: bool,
    /// The RL story instead ([`rl`]): clone the greedy agent, then RL fine-tuning with the
    /// exploration bonus, then the evaluation before and after.
    pub rl: bool,
    /// With `rl`: RL updates (optimizer steps).
    pub updates: u64,
}

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
pub const LABELS: LabelStyle = LabelStyle::Numeric;

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

/// The bandit of the demo's training data and evaluation.
pub fn bandit(horizon: usize) -> MabConfig {
    MabConfig {
        arms: ARMS,
        horizon,
        distribution: ArmDistribution::Gaussian { sigma: SIGMA },
        labels: LABELS,
    }
}

/// The training settings of the demo, its run directory at `out`: thought cloning of the UCB
/// expert, or with `rl` of the greedy agent (the starting policy RL fine-tuning should fix).
pub fn sft_settings(args: &DemoSettings, out: &Path, resume: bool) -> Result<SftSettings> {
    let expert = if args.rl { Expert::Greedy } else { Expert::Ucb };
    let data = ExpertData::new(
        vec![bandit(args.horizon)],
        EXPERT_EPISODES,
        TargetMode::Thought,
        true,
        derive_seed(args.seed, streams::DATA),
    )?
    .with_expert(expert);
    SHAPE.validate()?;
    Ok(SftSettings {
        source: ModelSource::Fresh { base: FreshBase::Tiny(SHAPE), vocab: VOCAB },
        data: SftData::Expert(data),
        max_len: None,
        steps: args.steps,
        batch: args.batch,
        micro_batch: args.batch,
        optim: OptimSettings {
            kind: OptimizerKind::Adamw,
            lr: LR,
            warmup: (args.steps / 10).clamp(1, 100),
            min_lr: LR / 100.0,
            clip: Some(1.0),
            weight_decay: 0.0,
        },
        seed: args.seed,
        out: out.to_path_buf(),
        resume,
        // a killed demo resumes from the latest of about ten checkpoints
        save_every: (args.steps / 10).max(1),
        stop_at: args.steps,
    })
}

/// The evaluation settings of the demo for the model in `model`.
pub fn eval_settings(args: &DemoSettings, model: &Path, max_new_tokens: usize) -> Result<EvalSettings> {
    let agents = ["llm", "ucb", "greedy", "random"]
        .iter()
        .map(|a| AgentSpec::parse(a, EnvKind::Mab).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    Ok(EvalSettings {
        env: EnvSettings::Mab(bandit(args.horizon)),
        agents,
        epsilon: 0.1,
        mcts_budget: 200,
        episodes: args.episodes,
        seed: derive_seed(args.seed, EVAL_STREAM),
        llm: Some(demo_agent(model, WeightDType::Auto, max_new_tokens, 0.0)),
    })
}

/// The demo's LLM agent: chain-of-thought, the per-arm summary, chat turns, one sample.
pub fn demo_agent(
    model: &Path,
    dtype: WeightDType,
    max_new_tokens: usize,
    temperature: f32,
) -> AgentSettings {
    AgentSettings {
        model: model.to_path_buf(),
        dtype,
        max_new_tokens,
        temperature,
        cot: true,
        summary: true,
        randomize: false,
        base: false,
        answer_prefix: String::new(),
        answer_chars: None,
        legal_moves: true,
        samples: 1,
        self_correct: false,
        entropy: false,
    }
}

fn check_args(args: &DemoSettings) -> Result<()> {
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
    if args.rl && !(1..=100_000).contains(&args.updates) {
        bail!("invalid value {} for --updates: allowed 1..=100000", args.updates);
    }
    Ok(())
}

/// The entries a demo directory holds.
const DEMO_ENTRIES: &[&str] = &["sft", "eval", "report.md", DEMO_JSON, "rl", "eval-rl", "compare"];

/// The demo's settings, in the directory it is built in (a killed demo resumes only with the same).
const DEMO_JSON: &str = "demo.json";

/// Where a demo is built before it replaces `--out` (kept across invocations: a killed demo
/// resumes from it), and the lock file that keeps two demos from building the same one.
fn work_paths(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = out
        .file_name()
        .with_context(|| format!("--out {}: not a directory path", out.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent.join(format!(".{name}.partial")), parent.join(format!(".{name}.lock"))))
}

/// What `--out` holds now.
#[derive(Debug, PartialEq)]
enum OutState {
    /// Nothing (missing or empty).
    Empty,
    /// A complete demo (report.md, sft/, eval/).
    Complete,
    /// What an unfinished demo of an earlier version left (sft/ or eval/ without report.md).
    Unfinished,
}

fn out_state(out: &Path) -> Result<OutState> {
    if !out.exists() {
        return Ok(OutState::Empty);
    }
    if !out.is_dir() {
        bail!("--out {} exists and is not a directory", out.display());
    }
    let mut names = Vec::new();
    for e in std::fs::read_dir(out).with_context(|| format!("--out: cannot read {}", out.display()))? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if !DEMO_ENTRIES.contains(&name.as_str()) && !name.starts_with('.') {
            bail!(
                "--out {} holds {name}, which is not part of a demo: choose another --out (a demo replaces its directory as a whole)",
                out.display()
            );
        }
        names.push(name);
    }
    let has = |n: &str| names.iter().any(|x| x == n);
    Ok(if names.iter().all(|n| n.starts_with('.')) {
        OutState::Empty
    } else if has("report.md") && has("sft") && has("eval") {
        OutState::Complete
    } else {
        OutState::Unfinished
    })
}

/// The settings a demo's result depends on (a killed demo resumes only with the same ones).
fn demo_json(args: &DemoSettings) -> serde_json::Value {
    serde_json::json!({
        "steps": args.steps, "batch": args.batch, "episodes": args.episodes,
        "horizon": args.horizon, "seed": args.seed,
        "rl": args.rl, "updates": if args.rl { Some(args.updates) } else { None },
    })
}

/// Opens the work directory: resumes an unfinished demo of the same settings, else starts a
/// fresh one. Returns whether it resumed.
fn open_work(work: &Path, args: &DemoSettings) -> Result<bool> {
    let want = demo_json(args);
    if work.is_dir() {
        let have: Option<serde_json::Value> =
            std::fs::read_to_string(work.join(DEMO_JSON)).ok().and_then(|t| serde_json::from_str(&t).ok());
        if have.as_ref() == Some(&want) {
            return Ok(true);
        }
        std::fs::remove_dir_all(work).with_context(|| {
            format!("cannot remove the unfinished demo {} (other settings)", work.display())
        })?;
    }
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let mut text = serde_json::to_string_pretty(&want)?;
    text.push('\n');
    crate::io::write_atomic(&work.join(DEMO_JSON), text.as_bytes())?;
    Ok(false)
}

/// Holds the demo's lock file while the demo is built.
fn lock(path: &Path) -> Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("another greedy demo is building this --out right now (it holds {})", path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Runs the demo; returns the lines to print.
///
/// The demo is built in `.<out>.partial` beside `--out` and swapped into `--out` only when it is
/// complete, so an earlier demo stays intact (and `--out` never holds half a demo) until then.
/// A failed or killed demo leaves only that work directory: the same command again resumes it
/// (training from its latest checkpoint, saved every `--steps`/10 steps), with other settings
/// it starts over. A complete demo in `--out` is replaced only with `--force`.
pub fn run(args: &DemoSettings) -> Result<String> {
    check_args(args)?;
    let (work, lock_path) = work_paths(&args.out)?;
    if let Some(parent) = lock_path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("--out: cannot create {}", parent.display()))?;
    }
    let _lock = lock(&lock_path)?;
    crate::io::sweep_stale(lock_path.parent().unwrap_or(Path::new(".")))?;
    let state = out_state(&args.out)?;
    if state == OutState::Complete && !args.force {
        bail!(
            "--out {} already holds a demo: pass --force to replace it (it stays intact until the new one is complete), or choose another --out",
            args.out.display()
        );
    }
    let resumed = open_work(&work, args)?;
    let text = if args.rl { rl::build(args, &work, resumed)? } else { build(args, &work, resumed)? };
    crate::io::replace_dir(&work, &args.out)
        .with_context(|| format!("installing the demo into {}", args.out.display()))?;
    Ok(text)
}

/// The demo's training run in `work/sft` (resumed from its latest checkpoint when the work
/// directory was), then the generation budget: room for the longest expert answer plus 16
/// tokens, to see whether the model stops.
fn train_start(
    args: &DemoSettings,
    work: &Path,
    resumed: bool,
    stop: &crate::signals::StopRequest,
) -> Result<(SftSettings, SftOutcome, usize)> {
    let sft_work = work.join("sft");
    let resume = resumed && gpu_trainer::train::sft::steps::find_checkpoint(&sft_work)?.is_some();
    if resumed && !resume {
        // killed before the first checkpoint: nothing to keep
        let _ = std::fs::remove_dir_all(&sft_work);
    }
    let sft = sft_settings(args, &sft_work, resume)?;
    let bar = crate::progress::Bar::on_terminal(args.quiet);
    let trained = gpu_trainer::train::sft::run_sft(&sft, &bar, stop.flag()).context("training")?;
    crate::plot::loss::write_sft_loss(&sft.out, &trained.log)?;
    if trained.interrupted {
        return Err(crate::signals::Interrupted(format!(
            "interrupted at training step {}/{}: run the same command again to resume the demo from there",
            trained.state.step, sft.steps
        ))
        .into());
    }
    let tok = gpu_trainer::model::GemmaTokenizer::from_dir(&trained.checkpoint)?;
    let mut longest = 0;
    for ex in sft.data.corpus(2000)? {
        longest = longest.max(tokenize(&tok, &ex, usize::MAX)?.target_len());
    }
    Ok((sft, trained, longest + 16))
}

/// Builds the whole demo in `work` (the paths it records are those under `args.out`).
fn build(args: &DemoSettings, work: &Path, resumed: bool) -> Result<String> {
    let started = Instant::now();
    let stop = crate::signals::StopRequest::install()?;
    let (sft, trained, max_new_tokens) = train_start(args, work, resumed, &stop)?;
    let train_s = started.elapsed().as_secs_f64();
    let eval_started = Instant::now();
    let eval = eval_settings(args, &trained.checkpoint, max_new_tokens)?;
    let out = run_eval(&eval, &crate::progress::Bar::on_terminal(args.quiet)).context("evaluating")?;
    // what the files record: the model where it will be once the demo is installed
    let final_model = gpu_trainer::train::sft::steps::checkpoint_dir(&args.out.join("sft"));
    let recorded = eval.with_model(&final_model);
    write_run_files(&work.join("eval"), &recorded, &out)?;
    let eval_s = eval_started.elapsed().as_secs_f64();
    let analysis = analysis::compare_with_expert(&out.records, &eval)?;
    let timing = report::Timing { train_s, eval_s, total_s: started.elapsed().as_secs_f64() };
    let text = report::render(&report::ReportInput {
        args,
        sft: &sft,
        trained: &trained,
        eval: &recorded,
        summaries: &out.summaries,
        analysis: &analysis,
        timing,
        max_new_tokens,
        adapter: trained.device.clone(),
    })?;
    crate::io::write_atomic(&work.join("report.md"), text.as_bytes())?;
    let mut lines = crate::report::summary_table(&out.summaries);
    lines.push_str(&format!(
        "\nmodel answers equal to the expert's: {:.1}%, actions equal to UCB's: {:.1}%\n\
         train {:.0} s, eval {:.0} s, total {:.0} s{}\nwrote {}\n",
        100.0 * analysis.exact_rate(),
        100.0 * analysis.action_rate(),
        timing.train_s,
        timing.eval_s,
        timing.total_s,
        if resumed { " (this invocation; resumed an unfinished demo)" } else { "" },
        args.out.join("report.md").display()
    ));
    Ok(lines)
}
