//! `greedy demo --rl`: the paper's story at a CPU's scale, in one command. A small Gemma2 learns
//! to think and act like the greedy agent (thought cloning on its rationales: the starting
//! policy is greedy, as pretrained LLMs are), RL fine-tuning on its own chain-of-thought with the
//! exploration bonus follows (`gpu_trainer::rl`), and the model before and after plays the same
//! held-out bandits next to UCB, greedy and random. Whatever happens is what is reported, a
//! failure to learn included.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use gpu_trainer::agent::AgentSettings;
use gpu_trainer::eval::{AgentSpec, AgentSummary, run_eval};
use gpu_trainer::generate::WeightDType;
use gpu_trainer::rl::advantage::RewardNorm;
use gpu_trainer::rl::run::newest_checkpoint;
use gpu_trainer::rl::{KlEstimator, Objective, OldLogprobs, RlEnv, RlSettings, run_rl};
use gpu_trainer::train::learner::{OptimSettings, OptimizerKind};
use serde_json::Value;

use super::{DemoSettings, bandit, demo_agent, eval_settings, train_start};
use crate::report::{summary_table, write_run_files};

/// Default RL updates of `greedy demo --rl`.
pub const DEFAULT_UPDATES: u64 = 30;
/// Parallel bandits per rollout.
pub const ENVS: usize = 8;
/// Step-samples per update (a rollout of 8 bandits x 10 steps feeds 5 updates).
pub const BATCH: usize = 16;
/// Peak learning rate (AdaFactor, warm-up over a sixth of the updates, cosine to 1/100 of it).
/// The paper's 1e-4 is for a pretrained 2B model and 300 updates of 128 samples; a from-scratch
/// model this small and this few updates need a larger step (set before the first run, not
/// tuned on its outcome).
pub const LR: f64 = 3e-3;
/// Training pool of bandit instances (the paper's).
pub const POOL: usize = 512;

/// The RL run of the demo, from `start` into `out`, with generation budget `max_new_tokens`.
pub fn rl_settings(
    args: &DemoSettings,
    start: &Path,
    out: &Path,
    resume: bool,
    max_new_tokens: usize,
) -> RlSettings {
    let updates = args.updates;
    let updates_per_rollout = (ENVS * args.horizon / BATCH).max(1) as u64;
    RlSettings {
        model: start.to_path_buf(),
        env: RlEnv::Mab(bandit(args.horizon)),
        pool: POOL,
        envs: ENVS,
        rollout_steps: 0,
        value: None,
        updates,
        batch: BATCH,
        micro_batch: BATCH,
        epochs: 1,
        optim: OptimSettings {
            kind: OptimizerKind::Adafactor,
            lr: LR,
            warmup: (updates / 6).max(1),
            min_lr: LR / 100.0,
            clip: Some(1.0),
            weight_decay: 0.0,
        },
        objective: Objective { clip_eps: 0.2, kl_coef: 0.05, kl: KlEstimator::K3 },
        // the paper logs the policy's entropy while training
        agent: AgentSettings { entropy: true, ..demo_agent(start, WeightDType::F32, max_new_tokens, 1.0) },
        explore: Vec::new(),
        epsilon: 0.1,
        explore_bonus: true,
        invalid_penalty: -5.0,
        reward_norm: RewardNorm::Rollout,
        gamma: 1.0,
        old_logprobs: OldLogprobs::Generation,
        mask_truncated: false,
        eval_every: 10,
        eval_episodes: args.episodes,
        // a killed demo resumes from the last rollout boundary
        save_every: updates_per_rollout,
        keep_checkpoints: 2,
        seed: args.seed,
        out: out.to_path_buf(),
        resume,
        stop_at: updates,
    }
}

/// Builds the RL demo in `work`: `sft/` (the greedy clone), `rl/` (the RL run), `eval/` (the
/// clone next to ucb, greedy and random), `eval-rl/` (the fine-tuned model on the same bandits),
/// `compare/` (both on one page with combined plots) and `report.md`.
pub fn build(args: &DemoSettings, work: &Path, resumed: bool) -> Result<String> {
    let started = Instant::now();
    let stop = crate::signals::StopRequest::install()?;
    let (_sft, trained, max_new_tokens) = train_start(args, work, resumed, &stop)?;
    let train_s = started.elapsed().as_secs_f64();

    let rl_started = Instant::now();
    let rl_work = work.join("rl");
    let resume = resumed && newest_checkpoint(&rl_work)?.is_some();
    if !resume {
        let _ = std::fs::remove_dir_all(&rl_work);
    }
    let rl = rl_settings(args, &trained.checkpoint, &rl_work, resume, max_new_tokens);
    let bar = crate::progress::Bar::on_terminal(args.quiet);
    let run = run_rl(&rl, &bar, stop.flag()).context("RL fine-tuning")?;
    crate::plot::rl::write_rl_plots(&rl_work, &run.rows)?;
    if run.interrupted {
        return Err(crate::signals::Interrupted(format!(
            "interrupted at RL update {}/{}: run the same command again to resume the demo from there",
            run.update, rl.updates
        ))
        .into());
    }
    let rl_s = rl_started.elapsed().as_secs_f64();

    let eval_started = Instant::now();
    let bar = crate::progress::Bar::on_terminal(args.quiet);
    let before = eval_settings(args, &trained.checkpoint, max_new_tokens)?;
    let before_out = run_eval(&before, &bar).context("evaluating the starting model")?;
    let sft_final = gpu_trainer::train::sft::steps::checkpoint_dir(&args.out.join("sft"));
    write_run_files(&work.join("eval"), &before.with_model(&sft_final), &before_out)?;
    let mut after = before.with_model(&run.checkpoint);
    after.agents =
        vec![AgentSpec::parse("llm", gpu_trainer::envs::EnvKind::Mab).map_err(anyhow::Error::msg)?];
    let after_out = run_eval(&after, &bar).context("evaluating the fine-tuned model")?;
    let rl_final = args.out.join("rl").join(run.checkpoint.file_name().context("checkpoint name")?);
    write_run_files(&work.join("eval-rl"), &after.with_model(&rl_final), &after_out)?;
    let runs = crate::report::multi::read_runs(&[work.join("eval"), work.join("eval-rl")])?;
    crate::report::multi::write_report(&runs, &work.join("compare"), "greedy clone before and after RLFT")?;
    let eval_s = eval_started.elapsed().as_secs_f64();

    let mut summaries = Vec::new();
    for s in &before_out.summaries {
        let mut s = s.clone();
        if s.agent == "llm" {
            s.agent = "llm before RLFT (greedy clone)".into();
        }
        summaries.push(s);
    }
    for s in &after_out.summaries {
        let mut s = s.clone();
        s.agent = format!("llm after RLFT ({} updates)", run.update);
        summaries.insert(1, s);
    }
    let table = summary_table(&summaries);
    let timing = [train_s, rl_s, eval_s, started.elapsed().as_secs_f64()];
    let text = render(args, &rl, &run.rows, &table, &summaries, timing, &run.device);
    crate::io::write_atomic(&work.join("report.md"), text.as_bytes())?;
    let mut lines = table;
    let _ = write!(
        lines,
        "\n{}\ntrain {:.0} s, RL {:.0} s, eval {:.0} s, total {:.0} s{}\nwrote {}\n",
        verdict(&summaries),
        timing[0],
        timing[1],
        timing[2],
        timing[3],
        if resumed { " (this invocation; resumed an unfinished demo)" } else { "" },
        args.out.join("report.md").display()
    );
    Ok(lines)
}

/// One sentence on what RLFT changed in the held-out evaluation (the numbers, no adjectives).
pub fn verdict(summaries: &[AgentSummary]) -> String {
    let find = |prefix: &str| summaries.iter().find(|s| s.agent.starts_with(prefix));
    let (Some(b), Some(a)) = (find("llm before"), find("llm after")) else {
        return String::new();
    };
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
    let p = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.0}%", 100.0 * v));
    format!(
        "RLFT moved coverage {} -> {}, final regret {} -> {}, suffix failures {} -> {}, invalid answers {} -> {}.",
        p(b.mean_coverage),
        p(a.mean_coverage),
        f(b.mean_regret),
        f(a.mean_regret),
        p(b.suffix_failure_rate),
        p(a.suffix_failure_rate),
        p(b.invalid_rate),
        p(a.invalid_rate)
    )
}

/// The first and last value of `key` over the log's update rows.
fn first_last(rows: &[Value], key: &str) -> String {
    let v: Vec<f64> = rows.iter().filter(|r| r["eval"] != true).filter_map(|r| r[key].as_f64()).collect();
    match (v.first(), v.last()) {
        (Some(a), Some(b)) => format!("{a:.3} -> {b:.3}"),
        _ => "-".into(),
    }
}

/// `report.md` of the RL demo.
fn render(
    args: &DemoSettings,
    rl: &RlSettings,
    rows: &[Value],
    table: &str,
    summaries: &[AgentSummary],
    timing: [f64; 4],
    device: &str,
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# greedy demo --rl: a greedy clone, then RL fine-tuning\n");
    let _ = writeln!(
        t,
        "1. **A greedy start.** A small Gemma2 (`sft/`) trained from scratch for {} steps by thought \
         cloning on the greedy agent's rationales ({}-armed Gaussian bandits, sigma {}, horizon {}, the \
         per-arm summary in the prompt): it reasons and acts like the greedy agent, which tries too few arms.",
        args.steps,
        super::ARMS,
        super::SIGMA,
        args.horizon
    );
    let _ = writeln!(
        t,
        "2. **RLFT** (`rl/`): {} updates of the clipped objective (eps {}, beta {}, k3 KL to the clone) on \
         its own chain-of-thought, {} bandits per rollout from a pool of {}, {} samples per update, \
         AdaFactor lr {} ({} warm-up updates, cosine to {}), temperature 1, budget G = {} tokens, \
         rewards normalised over the rollout, -5 for an invalid answer, +1 for an arm not tried before \
         (the exploration bonus).",
        rl.updates,
        rl.objective.clip_eps,
        rl.objective.kl_coef,
        rl.envs,
        rl.pool,
        rl.batch,
        rl.optim.lr,
        rl.optim.warmup,
        rl.optim.min_lr,
        rl.agent.max_new_tokens
    );
    let _ = writeln!(
        t,
        "3. **Before and after** on the same {} held-out bandits (their seed is disjoint from the \
         training pool's), greedy decoding, next to UCB, greedy and random (`eval/`, `eval-rl/`, \
         `compare/`).\n",
        args.episodes
    );
    let _ = writeln!(t, "## Held-out evaluation\n\n```text\n{table}```\n\n{}\n", verdict(summaries));
    let _ = writeln!(t, "![regret](compare/regret.png) ![coverage](compare/coverage.png)\n");
    let _ = writeln!(t, "## Training\n");
    let _ = writeln!(t, "| per update (first -> last) | |\n|---|---|");
    for (name, key) in [
        ("rollout reward (shaped, normalised)", "reward"),
        ("invalid answers", "invalid_rate"),
        ("KL to the clone", "kl"),
        ("entropy per token", "entropy"),
        ("completion length", "completion_length"),
    ] {
        let _ = writeln!(t, "| {name} | {} |", first_last(rows, key));
    }
    let _ = writeln!(
        t,
        "\n![reward](rl/reward.png) ![kl](rl/kl.png) ![held-out coverage](rl/eval_coverage.png) \
         ![held-out regret](rl/eval_regret.png)\n"
    );
    let _ = writeln!(
        t,
        "The per-update log is `rl/log.jsonl` (TRL's metric names), the SFT log `sft/log.jsonl`.\n"
    );
    let _ = writeln!(
        t,
        "## Run\n\nDevice: {device}. Seed {}. Wall time: SFT {:.0} s, RLFT {:.0} s, evaluation {:.0} s, \
         total {:.0} s.\n\nReproduce: `greedy demo --rl --steps {} --updates {} --batch {} --episodes {} \
         --horizon {} --seed {}`.",
        args.seed,
        timing[0],
        timing[1],
        timing[2],
        timing[3],
        args.steps,
        args.updates,
        args.batch,
        args.episodes,
        args.horizon,
        args.seed
    );
    t
}
