//! `greedy diagnose`: resolves the command line into a study's settings, runs the study
//! ([`gpu_trainer::diagnose`]) on the model, prints a table (or JSON) and writes `<study>.json`,
//! `contexts.jsonl` and the figure into `--out`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use env_core::{ArmDistribution, LabelStyle, MabConfig, UcbRule};
use serde::Serialize;
use serde_json::{Value, json};

use gpu_trainer::diagnose::frequency::{self, FrequencySettings};
use gpu_trainer::diagnose::knowing::{self, KnowingSettings};
use gpu_trainer::diagnose::merge::{CONTEXTS_FILE, FREQUENCY_KIND, KNOWING_KIND};
use gpu_trainer::envs::DistKind;
use gpu_trainer::generate::Engine;
use gpu_trainer::progress::Progress;
use gpu_trainer::shard::{Shard, ShardManifest};

use super::{DiagnoseArgs, DiagnoseCommand, DiagnoseCommon, FrequencyBiasArgs, KnowingDoingArgs};
use crate::cli::model::load_engine;
use crate::io::write_atomic;
use crate::report::diagnose::{frequency_table, knowing_table};

/// Runs `greedy diagnose`; returns what to print.
pub fn run(args: &DiagnoseArgs) -> Result<String> {
    match &args.command {
        DiagnoseCommand::FrequencyBias(a) => run_frequency(a),
        DiagnoseCommand::KnowingDoing(a) => run_knowing(a),
    }
}

/// The bandit of the common flags, with `horizon`.
fn mab_config(c: &DiagnoseCommon, horizon: usize) -> Result<MabConfig> {
    if !(2..=env_core::MAX_ARMS).contains(&c.arms) {
        bail!("invalid value {} for --arms: allowed 2..={}", c.arms, env_core::MAX_ARMS);
    }
    let distribution = match c.dist {
        DistKind::Gaussian => {
            if c.gap.is_some() {
                bail!("--gap applies only to --dist bernoulli");
            }
            ArmDistribution::Gaussian { sigma: c.sigma.unwrap_or(1.0) }
        }
        DistKind::Bernoulli => {
            if c.sigma.is_some() {
                bail!("--sigma applies only to --dist gaussian");
            }
            ArmDistribution::Bernoulli { gap: c.gap.unwrap_or(0.2) }
        }
    };
    let labels = c.labels.into();
    let config = MabConfig { arms: c.arms, horizon, distribution, labels };
    config.validate().map_err(|e| anyhow::anyhow!("invalid bandit settings: {e}"))?;
    Ok(config)
}

/// Checks `--out` and `--contexts`; returns the `--shard` to score, if given.
fn check_contexts(c: &DiagnoseCommon) -> Result<Option<Shard>> {
    if let Some(dir) = &c.out {
        crate::io::check_run_dir(dir, "greedy diagnose", is_diagnose_file)?;
    }
    if !(1..=100_000).contains(&c.contexts) {
        bail!("invalid value {} for --contexts: allowed 1..=100000", c.contexts);
    }
    let Some(text) = &c.shard else { return Ok(None) };
    let shard = Shard::parse(text, "--shard")?;
    if c.out.is_none() {
        bail!("--shard {shard} needs --out DIR: a shard is its files (greedy merge reads them)");
    }
    shard.check_total(c.contexts, "contexts", "--contexts")?;
    Ok(Some(shard))
}

/// What the shards of the `kind` study with the recorded `settings` must share: the study, the
/// model and its precision, the settings.
pub(super) fn shard_settings(c: &DiagnoseCommon, kind: &str, settings: &Value) -> Value {
    json!({
        "study": kind,
        "model": c.model.display().to_string(),
        "dtype": format!("{:?}", c.dtype).to_lowercase(),
        "settings": settings,
    })
}

/// The manifest of `shard` (None: not a shard) of the `kind` study with the recorded `settings`.
fn shard_manifest(
    c: &DiagnoseCommon,
    kind: &str,
    shard: Option<Shard>,
    settings: &Value,
    run: &Value,
) -> Option<ShardManifest> {
    shard.map(|shard| {
        let recorded = shard_settings(c, kind, settings);
        let mut m = gpu_trainer::diagnose::merge::manifest(kind, shard, c.contexts, recorded);
        m.info = run.clone();
        m
    })
}

/// What a sweep needs to know of a diagnose command before it runs: the study's kind, its
/// number of contexts, and the settings its shards record (see [`shard_settings`]).
pub fn shard_plan(args: &DiagnoseArgs) -> Result<(&'static str, usize, Value)> {
    Ok(match &args.command {
        DiagnoseCommand::FrequencyBias(a) => {
            let (_, s, recorded) = frequency_plan(a)?;
            (FREQUENCY_KIND, s.contexts, shard_settings(&a.common, FREQUENCY_KIND, &recorded))
        }
        DiagnoseCommand::KnowingDoing(a) => {
            let (_, s, recorded) = knowing_plan(a)?;
            (KNOWING_KIND, s.contexts, shard_settings(&a.common, KNOWING_KIND, &recorded))
        }
    })
}

/// The study's JSON file in a run directory (`frequency_bias.json`, `knowing_doing.json`).
pub fn study_file(kind: &str) -> String {
    format!("{}.json", kind.replace('-', "_"))
}

/// Does the study JSON `written` (a run directory's) hold the run whose shards record
/// `settings` (see [`shard_settings`])?
pub fn is_study_of(written: &Value, settings: &Value) -> bool {
    written["study"] == settings["study"]
        && written["settings"] == settings["settings"]
        && written["run"]["model"] == settings["model"]
        && written["run"]["dtype"] == settings["dtype"]
        && written.get("shard").is_none()
}

/// Marks a shard's study JSON as partial.
fn mark_shard(summary: &mut Value, m: &Option<ShardManifest>) {
    if let Some(m) = m {
        summary["shard"] = json!({ "index": m.shard, "count": m.shards, "contexts": m.items.len() });
    }
}

/// The line saying what was written.
pub(super) fn wrote_line(dir: &Path, stem: &str, shard: bool) -> String {
    if shard {
        format!(
            "\nwrote {}/{{{stem}.json, contexts.jsonl, shard.json}} (one shard: join them with `greedy merge DIR... --out DIR`)\n",
            dir.display()
        )
    } else {
        format!("\nwrote {}/{{{stem}.json, contexts.jsonl, {stem}.png/svg}}\n", dir.display())
    }
}

/// Loads the model and checks it has a tokenizer.
fn load(c: &DiagnoseCommon) -> Result<Engine> {
    let engine = load_engine(&c.model, c.dtype, None)?;
    if let Some(e) = engine.tokenizer_error() {
        bail!("greedy diagnose needs the tokenizer, and it does not load: {e}");
    }
    if engine.tokenizer().is_none() {
        bail!("greedy diagnose needs a tokenizer: {} has no tokenizer.json", c.model.display());
    }
    Ok(engine)
}

/// Parses `--repeats 0,5,10`: distinct counts, 0..=10000.
pub fn parse_repeats(text: &str) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let n: usize = part.parse().map_err(|_| {
            anyhow::anyhow!("invalid value '{part}' in --repeats: not a non-negative integer")
        })?;
        if n > 10_000 {
            bail!("invalid value {n} in --repeats: allowed 0..=10000");
        }
        if out.contains(&n) {
            bail!("invalid value {n} in --repeats: given twice");
        }
        out.push(n);
    }
    if out.is_empty() {
        bail!("--repeats is empty: give counts such as 0,5,10,25,50,100");
    }
    Ok(out)
}

/// A progress bar over the study's contexts on stderr (hidden with --json or without a terminal).
fn study_progress(c: &DiagnoseCommon, contexts: usize) -> crate::progress::Bar {
    let bar = crate::progress::Bar::on_terminal(c.json);
    bar.start(contexts as u64, "contexts");
    bar
}

/// What both studies record about the run.
pub(super) fn run_json(c: &DiagnoseCommon, engine: &Engine, seconds: f64) -> Value {
    json!({
        "model": c.model.display().to_string(),
        "dtype": format!("{:?}", c.dtype).to_lowercase(),
        "adapter": engine.adapter_name(),
        "command": crate::cmdline::current(),
        "seconds": seconds,
    })
}

fn config_json(m: &MabConfig) -> Value {
    let (dist, param) = match m.distribution {
        ArmDistribution::Gaussian { sigma } => ("gaussian", json!({ "sigma": sigma })),
        ArmDistribution::Bernoulli { gap } => ("bernoulli", json!({ "gap": gap })),
    };
    let labels = match m.labels {
        LabelStyle::Buttons => "buttons",
        LabelStyle::Numeric => "numeric",
    };
    json!({ "arms": m.arms, "horizon": m.horizon, "dist": dist, "params": param, "labels": labels })
}

/// The files of a diagnose run directory.
pub fn is_diagnose_file(name: &str) -> bool {
    name.ends_with(".json") || name == "contexts.jsonl" || crate::io::is_plot_or_report(name)
}

/// `lines` as JSONL.
fn jsonl<T: Serialize>(lines: &[T]) -> Result<String> {
    let mut jsonl = String::new();
    for l in lines {
        jsonl.push_str(&serde_json::to_string(l)?);
        jsonl.push('\n');
    }
    Ok(jsonl)
}

/// Writes `<name>.json`, `contexts.jsonl` (`jsonl`) and, through `plot`, the figure as the run
/// directory `dir`, replacing an earlier run there as a whole (see
/// [`crate::io::stage_run_dir`]). A shard (`manifest`) gets no figure but its `shard.json`,
/// written last, with the digest of `contexts.jsonl`.
pub(super) fn write_outputs(
    dir: &Path,
    name: &str,
    summary: &Value,
    jsonl: &str,
    manifest: Option<ShardManifest>,
    plot: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let staged = crate::io::stage_run_dir(dir, "greedy diagnose", is_diagnose_file)?;
    let stage = staged.path();
    let mut text = serde_json::to_string_pretty(summary)?;
    text.push('\n');
    write_atomic(&stage.join(format!("{name}.json")), text.as_bytes())?;
    write_atomic(&stage.join(CONTEXTS_FILE), jsonl.as_bytes())?;
    match manifest {
        None => plot(stage)?,
        Some(mut m) => {
            m.add_file(CONTEXTS_FILE, jsonl.as_bytes());
            write_atomic(&stage.join(gpu_trainer::shard::MANIFEST_FILE), &m.to_bytes()?)?;
        }
    }
    staged.commit().with_context(|| format!("--out {}", dir.display()))
}

/// The frequency-bias figure's title.
pub(super) fn frequency_title(contexts: u64, arms: u64) -> String {
    format!("Frequency bias: chosen action by class ({contexts} contexts, {arms} arms)")
}

/// The knowing-doing figure's title.
pub(super) fn knowing_title(contexts: u64, arms: u64) -> String {
    format!("Knowing-doing gap ({contexts} contexts, {arms} arms)")
}

/// The validated settings of a frequency-bias run: the `--shard` if given, the study's settings,
/// and their recorded form.
pub(super) fn frequency_plan(a: &FrequencyBiasArgs) -> Result<(Option<Shard>, FrequencySettings, Value)> {
    let c = &a.common;
    let shard = check_contexts(c)?;
    let repeats = parse_repeats(&a.repeats)?;
    if a.batch == 0 {
        bail!("invalid value 0 for --batch: allowed >= 1");
    }
    if a.min_history == 0 || a.min_history > a.max_history || a.max_history > 1000 {
        bail!(
            "invalid --min-history {} / --max-history {}: need 1 <= min <= max <= 1000",
            a.min_history,
            a.max_history
        );
    }
    if !a.answer.contains("{label}") {
        bail!("invalid value '{}' for --answer: it must contain {{label}}", a.answer);
    }
    let horizon = frequency::horizon_for(a.max_history, &repeats);
    let settings = FrequencySettings {
        config: mab_config(c, horizon)?,
        contexts: c.contexts,
        repeats,
        min_history: a.min_history,
        max_history: a.max_history,
        seed: c.seed,
        chat: !c.base,
        summary: c.summary,
        answer: a.answer.clone(),
    };
    let recorded = json!({
        "bandit": config_json(&settings.config),
        "contexts": settings.contexts,
        "repeats": settings.repeats,
        "min_history": settings.min_history,
        "max_history": settings.max_history,
        "seed": settings.seed,
        "chat": settings.chat,
        "summary": settings.summary,
        "answer": settings.answer,
    });
    Ok((shard, settings, recorded))
}

fn run_frequency(a: &FrequencyBiasArgs) -> Result<String> {
    let c = &a.common;
    let (shard, settings, recorded) = frequency_plan(a)?;
    let mut engine = load(c)?;
    let start = Instant::now();
    let bar = study_progress(c, settings.contexts);
    let report = frequency::run_frequency_shard(
        &mut engine,
        &settings,
        shard.unwrap_or(Shard::WHOLE),
        a.batch,
        &mut |n| bar.set(n as u64),
    )?;
    bar.finish();
    let seconds = start.elapsed().as_secs_f64();
    let run = run_json(c, &engine, seconds);
    let manifest = shard_manifest(c, FREQUENCY_KIND, shard, &recorded, &run);
    let mut summary = json!({
        "study": "frequency-bias",
        "run": run,
        "settings": recorded,
        "results": report,
    });
    mark_shard(&mut summary, &manifest);
    let is_shard = manifest.is_some();
    if let Some(dir) = &c.out {
        let title = frequency_title(settings.contexts as u64, settings.config.arms as u64);
        write_outputs(dir, "frequency_bias", &summary, &jsonl(&report.details)?, manifest, |stage| {
            crate::plot::diagnose::write_frequency_plot(&report, &title, &stage.join("frequency_bias"))
        })?;
    }
    if c.json {
        return Ok(serde_json::to_string(&summary)? + "\n");
    }
    let mut out = frequency_table(&report);
    if let Some(dir) = &c.out {
        out.push_str(&wrote_line(dir, "frequency_bias", is_shard));
    }
    Ok(out)
}

/// The validated settings of a knowing-doing run: the `--shard` if given, the study's settings,
/// and their recorded form.
pub(super) fn knowing_plan(a: &KnowingDoingArgs) -> Result<(Option<Shard>, KnowingSettings, Value)> {
    let c = &a.common;
    let shard = check_contexts(c)?;
    if !(1..=100_000).contains(&a.horizon) {
        bail!("invalid value {} for --horizon: allowed 1..=100000", a.horizon);
    }
    let max_steps = a.max_steps.unwrap_or(a.horizon - 1);
    if a.min_steps > max_steps || max_steps >= a.horizon {
        bail!(
            "invalid --min-steps {} / --max-steps {max_steps}: need min <= max < --horizon {}",
            a.min_steps,
            a.horizon
        );
    }
    if !(1..=32768).contains(&a.max_new_tokens) {
        bail!("invalid value {} for --max-new-tokens: allowed 1..=32768", a.max_new_tokens);
    }
    if !a.temperature.is_finite() || a.temperature < 0.0 {
        bail!("invalid value {} for --temperature: allowed a number >= 0 (0 = greedy)", a.temperature);
    }
    if a.batch == 0 {
        bail!("invalid value 0 for --batch: allowed >= 1");
    }
    if !(0.0..=1.0).contains(&a.epsilon) {
        bail!("invalid value {} for --epsilon: allowed 0..=1", a.epsilon);
    }
    let settings = KnowingSettings {
        config: mab_config(c, a.horizon)?,
        contexts: c.contexts,
        min_steps: a.min_steps,
        max_steps,
        history_agent: knowing::history_agent(&a.history_agent)?,
        epsilon: a.epsilon,
        rule: UcbRule::PAPER,
        max_new_tokens: a.max_new_tokens,
        temperature: a.temperature,
        batch: a.batch,
        seed: c.seed,
        chat: !c.base,
        summary: c.summary,
    };
    let recorded = json!({
        "bandit": config_json(&settings.config),
        "contexts": settings.contexts,
        "min_steps": settings.min_steps,
        "max_steps": settings.max_steps,
        "history_agent": settings.history_agent.name(),
        "rule": "mean + sqrt(1/N)",
        "max_new_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
        "batch": settings.batch,
        "seed": settings.seed,
        "chat": settings.chat,
        "summary": settings.summary,
    });
    Ok((shard, settings, recorded))
}

fn run_knowing(a: &KnowingDoingArgs) -> Result<String> {
    let c = &a.common;
    let (shard, settings, recorded) = knowing_plan(a)?;
    let mut engine = load(c)?;
    let start = Instant::now();
    let bar = study_progress(c, settings.contexts);
    let report =
        knowing::run_knowing_shard(&mut engine, &settings, shard.unwrap_or(Shard::WHOLE), &mut |n| {
            bar.set(n as u64)
        })?;
    bar.finish();
    let seconds = start.elapsed().as_secs_f64();
    let run = run_json(c, &engine, seconds);
    let manifest = shard_manifest(c, KNOWING_KIND, shard, &recorded, &run);
    let mut summary = json!({
        "study": "knowing-doing",
        "run": run,
        "settings": recorded,
        "results": report,
    });
    mark_shard(&mut summary, &manifest);
    let is_shard = manifest.is_some();
    if let Some(dir) = &c.out {
        let title = knowing_title(settings.contexts as u64, settings.config.arms as u64);
        write_outputs(dir, "knowing_doing", &summary, &jsonl(&report.graded)?, manifest, |stage| {
            crate::plot::diagnose::write_knowing_plot(&report, &title, &stage.join("knowing_doing"))
        })?;
    }
    if c.json {
        return Ok(serde_json::to_string(&summary)? + "\n");
    }
    let mut out = knowing_table(&report);
    if let Some(dir) = &c.out {
        out.push_str(&wrote_line(dir, "knowing_doing", is_shard));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_parse() {
        assert_eq!(parse_repeats("0, 5,10").unwrap(), vec![0, 5, 10]);
        assert!(parse_repeats("0,x").unwrap_err().to_string().contains("'x'"));
        assert!(parse_repeats("5,5").unwrap_err().to_string().contains("twice"));
        assert!(parse_repeats(" ").is_err());
        assert!(parse_repeats("20000").is_err());
    }
}
