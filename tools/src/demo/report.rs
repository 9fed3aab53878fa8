//! `report.md` of `greedy demo`: what was done, the results table, the plots, what the model
//! wrote next to what the expert would have written, and the settings.

use std::fmt::Write as _;

use anyhow::Result;

use super::DemoSettings;
use crate::demo::analysis::Analysis;
use crate::report::settings_json;
use gpu_trainer::eval::{AgentSummary, EvalSettings};
use gpu_trainer::train::fresh::parameter_count;
use gpu_trainer::train::sft::data::SftData;
use gpu_trainer::train::sft::{SftOutcome, SftSettings};

/// Wall times, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Tokenizer, initialisation and training.
    pub train_s: f64,
    /// Evaluation and its files.
    pub eval_s: f64,
    /// Everything.
    pub total_s: f64,
}

/// Everything the report shows.
pub struct ReportInput<'a> {
    /// The command's flags.
    pub args: &'a DemoSettings,
    /// Training settings.
    pub sft: &'a SftSettings,
    /// Training outcome.
    pub trained: &'a SftOutcome,
    /// Evaluation settings.
    pub eval: &'a EvalSettings,
    /// Per-agent results.
    pub summaries: &'a [AgentSummary],
    /// The model against the expert.
    pub analysis: &'a Analysis,
    /// Wall times.
    pub timing: Timing,
    /// Generation budget per step.
    pub max_new_tokens: usize,
    /// The GPU adapter used.
    pub adapter: String,
}

fn pm(mean: Option<f64>, ci: Option<f64>) -> String {
    match (mean, ci) {
        (Some(m), Some(c)) if c.is_finite() => format!("{m:.2} ± {c:.2}"),
        (Some(m), _) => format!("{m:.2}"),
        _ => "-".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite()).map_or_else(|| "-".into(), |v| format!("{:.1}%", 100.0 * v))
}

/// The results table in Markdown.
pub fn results_table(summaries: &[AgentSummary]) -> String {
    let mut s = String::from(
        "| agent | episodes | final regret (95% CI) | coverage | suffix failure | GreedyFrac | invalid answers |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for a in summaries {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            a.agent,
            a.episodes,
            pm(a.mean_regret, a.regret_ci95),
            pm(a.mean_coverage.map(|c| 100.0 * c), a.coverage_ci95.map(|c| 100.0 * c)) + " %",
            pct(a.suffix_failure_rate),
            a.mean_greedy_frac.map_or_else(|| "-".into(), |g| format!("{g:.3}")),
            pct(a.invalid_rate),
        );
    }
    s
}

fn fenced(text: &str) -> String {
    let fence = if text.contains("```") { "~~~~" } else { "```" };
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

/// The whole report.
pub fn render(r: &ReportInput<'_>) -> Result<String> {
    let mut s = String::new();
    let t = &r.trained;
    let ckpt_config = gpu_trainer::model::Config::from_dir(&t.checkpoint)?;
    let params = parameter_count(&ckpt_config);
    let tok = gpu_trainer::model::GemmaTokenizer::from_dir(&t.checkpoint)?;
    let examples = r.sft.data.len();
    let (episodes_per_setting, horizon) = match &r.sft.data {
        SftData::Expert(d) => (d.episodes, d.settings.first().map_or(0, |c| c.horizon)),
        SftData::File(_) => (0, 0),
    };
    let done: Vec<_> = t.log.iter().filter(|x| !x.skipped).collect();
    let k = (done.len() / 10).clamp(1, 20);
    let mean = |xs: &[&gpu_trainer::train::sft::log::StepRow]| {
        xs.iter().map(|x| x.loss).sum::<f64>() / xs.len().max(1) as f64
    };
    let tokens: usize = t.log.iter().map(|x| x.tokens).sum();
    let seen = r.sft.steps as usize * r.sft.batch;

    let _ = writeln!(s, "# greedy demo: a small Gemma2 trained from scratch to reason like UCB\n");
    let _ = writeln!(
        s,
        "Total wall time **{:.0} s** (training {:.0} s, evaluation {:.0} s) on `{}`.\n",
        r.timing.total_s, r.timing.train_s, r.timing.eval_s, r.adapter
    );
    let _ = writeln!(s, "## What was done\n");
    let _ = writeln!(
        s,
        "1. **Tokenizer**: a BPE of {} tokens (Gemma's special tokens and byte fallback included) learned from \
         the expert's prompts and rationales.",
        tok.vocab_size()
    );
    let _ = writeln!(
        s,
        "2. **Model**: Gemma2, hidden {}, {} layers (local/global alternating, window {}), {} heads / {} kv heads \
         of dimension {}, MLP {}, softcaps 50/30: {} parameters, initialised from scratch (N(0, 0.02), norms 0).",
        ckpt_config.hidden_size,
        ckpt_config.num_layers,
        ckpt_config.sliding_window.map_or("-".into(), |w| w.to_string()),
        ckpt_config.num_heads,
        ckpt_config.num_kv_heads,
        ckpt_config.head_dim,
        ckpt_config.intermediate_size,
        params
    );
    let _ = writeln!(
        s,
        "3. **Thought cloning** (SPEC 7): the UCB expert (mean + sqrt(1/N)) played {} episodes of 5-armed Gaussian \
         bandits (sigma {}, horizon {}, arms numbered 0..4); each step is one example: the prompt the LLM agent reads (chain of \
         thought, per-arm summary) and, as the target, the expert's rationale (every arm's count, mean and UCB, \
         the decision, `ACTION=X`). Cross-entropy on the target tokens only. {} steps x {} sequences ({} of the {} \
         examples seen, {} tokens), AdamW, lr {} with warm-up and cosine decay, gradient clip 1; {} steps skipped.",
        episodes_per_setting,
        crate::demo::SIGMA,
        horizon,
        r.sft.steps,
        r.sft.batch,
        seen.min(examples),
        examples,
        tokens,
        r.sft.optim.lr,
        t.state.skipped_steps.len()
    );
    let _ = writeln!(
        s,
        "4. **Evaluation**: `greedy eval --agent llm` on {} new bandits (scenarios from another seed than the \
         training data) next to ucb, greedy and random; greedy decoding, at most {} new tokens per step.\n",
        r.eval.episodes, r.max_new_tokens
    );
    let _ = writeln!(s, "## Results\n");
    s.push_str(&results_table(r.summaries));
    let a = r.analysis;
    let _ = writeln!(
        s,
        "\nThe model against the expert on the model's own histories ({} steps): valid action {:.1}%, \
         answer identical to the expert's rationale {:.1}%, per-arm lines (count, mean, UCB) identical {:.1}%, \
         action = UCB's choice {:.1}% (while some arm is untried: {}/{}; once all were tried: {}/{}).\n",
        a.steps,
        100.0 * a.valid_rate(),
        100.0 * a.exact_rate(),
        100.0 * a.arm_line_rate(),
        100.0 * a.action_rate(),
        a.untried_phase.0,
        a.untried_phase.1,
        a.ucb_phase.0,
        a.ucb_phase.1
    );
    let _ = writeln!(
        s,
        "Training loss (mean cross-entropy per target token): {:.3} over the first {k} steps, {:.3} over the \
         last {k}.\n",
        mean(&done[..k.min(done.len())]),
        mean(&done[done.len().saturating_sub(k)..])
    );
    let _ = writeln!(s, "![cumulative regret](eval/regret.png)\n");
    let _ = writeln!(s, "![action coverage](eval/coverage.png)\n");
    let _ = writeln!(s, "![training loss](sft/loss.png)\n");
    let _ = writeln!(s, "## What the model wrote (episode 0)\n");
    for x in &a.samples {
        let _ = writeln!(s, "Step {}, the model:\n", x.step);
        s.push_str(&fenced(&x.answer));
        let _ = writeln!(s, "\nthe expert, for the same history:\n");
        s.push_str(&fenced(&x.expert));
        s.push('\n');
    }
    let _ = writeln!(s, "## Settings\n");
    let settings = serde_json::json!({
        "training": r.sft.to_json(),
        "evaluation": settings_json(r.eval),
        "demo": {"steps": r.args.steps, "batch": r.args.batch, "episodes": r.args.episodes,
                 "horizon": r.args.horizon, "seed": r.args.seed},
    });
    s.push_str(&fenced(&serde_json::to_string_pretty(&settings)?));
    let _ = writeln!(
        s,
        "\nFiles: `sft/` (checkpoint/, log.jsonl, loss.png/svg, settings.json), `eval/` (episodes.jsonl with every \
         answer, summary.json, regret and coverage plots). Reproduce: `greedy demo --steps {} --batch {} \
         --episodes {} --horizon {} --seed {}`.",
        r.args.steps, r.args.batch, r.args.episodes, r.args.horizon, r.args.seed
    );
    Ok(s)
}
