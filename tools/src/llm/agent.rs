//! The LLM agent of `greedy eval --agent llm`: every episode of the run advances in lock-step;
//! at step t the env-core prompt of every episode is rendered and tokenized, and ONE
//! [`Engine::generate`] call answers all of them (one batch per step, not one call per episode).
//! Each answer is parsed with `env_core::parse` against the labels shown in that prompt (so a
//! randomized context maps back to the true arm); an invalid answer executes a uniformly random
//! arm drawn from the episode's own seeded stream and is counted.
//!
//! Determinism: the scenario and reward noise come from the same seeds as the baseline agents
//! (`EpisodeSeeds`), the fallback actions from the episode's `POLICY_STREAM`, the per-step
//! context permutation from `LabelPermutation::for_step`, and the sampling seed of step t from
//! `derive_seed(run seed, t)`.

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::parse::parse_action;
use env_core::prompt::{ChatFormat, LabelPermutation, MabPromptSpec, OutputMode, write_mab_prompt};
use env_core::rng::derive_seed;
use env_core::{Environment, MabConfig, MultiArmedBandit, Rng};
use indicatif::ProgressBar;

use crate::eval::mab::mab_record;
use crate::eval::{EpisodeRecord, EpisodeSeeds};
use crate::llm::generate::{Engine, GenerateOptions};
use crate::llm::{DTypeArg, check_vocab, load_engine};

/// Settings of the LLM agent (validated).
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSettings {
    /// Model directory (needs tokenizer.json).
    pub model: std::path::PathBuf,
    /// Weight precision.
    pub dtype: DTypeArg,
    /// Generation budget per step.
    pub max_new_tokens: usize,
    /// Sampling temperature (0 = greedy).
    pub temperature: f32,
    /// Chain of thought (else: answer with `ACTION=X` only).
    pub cot: bool,
    /// Per-arm summary after the history.
    pub summary: bool,
    /// Permute the labels every step (context randomization).
    pub randomize: bool,
    /// Plain text, no chat turns (base models).
    pub base: bool,
    /// Store at most this many characters of each answer in the JSONL (None: all).
    pub answer_chars: Option<usize>,
}

/// One running episode.
struct Running {
    index: u64,
    seeds: EpisodeSeeds,
    env: MultiArmedBandit,
    fallback: Rng,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    answers: Vec<String>,
    invalid: usize,
}

fn truncate_chars(s: &str, n: Option<usize>) -> String {
    match n {
        Some(n) if s.chars().count() > n => s.chars().take(n).collect::<String>() + "…",
        _ => s.to_string(),
    }
}

/// Loads the model of `llm` and checks it has a tokenizer.
pub fn load(llm: &LlmSettings) -> Result<Engine> {
    let engine = load_engine(&llm.model, llm.dtype, None)?;
    if engine.tokenizer().is_none() {
        bail!(
            "--agent llm needs a tokenizer: {} has no tokenizer.json (the agent reads and writes text)",
            llm.model.display()
        );
    }
    Ok(engine)
}

/// Plays `episodes` episodes of the MAB `config` with the model, all at once.
pub fn run_llm_mab(
    engine: &mut Engine,
    config: &MabConfig,
    llm: &LlmSettings,
    seed: u64,
    episodes: usize,
    bar: &ProgressBar,
) -> Result<Vec<EpisodeRecord>> {
    let vocab = engine.config().vocab_size;
    let mut running: Vec<Running> = (0..episodes as u64)
        .map(|index| {
            let seeds = EpisodeSeeds::new(seed, index);
            let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
            env.reset(seeds.episode)?;
            Ok(Running {
                index,
                seeds,
                env,
                fallback: Rng::from_stream(seeds.episode, POLICY_STREAM),
                actions: Vec::with_capacity(config.horizon),
                rewards: Vec::with_capacity(config.horizon),
                answers: Vec::with_capacity(config.horizon),
                invalid: 0,
            })
        })
        .collect::<Result<_>>()?;
    let mut base_spec = MabPromptSpec::new(config);
    base_spec.output = if llm.cot { OutputMode::ChainOfThought } else { OutputMode::ActionOnly };
    base_spec.chat = if llm.base { ChatFormat::PLAIN } else { ChatFormat::GEMMA };
    base_spec.summary = llm.summary;
    let k = config.arms;
    for t in 0..config.horizon {
        bar.set_message(format!("step {}/{}", t + 1, config.horizon));
        let tok = engine.tokenizer().expect("checked by load");
        let mut prompts = Vec::with_capacity(running.len());
        let mut shown = Vec::with_capacity(running.len());
        for r in &running {
            let mut spec = base_spec;
            if llm.randomize {
                spec.permutation = Some(LabelPermutation::for_step(k, r.seeds.episode, t as u64)?);
            }
            let mut text = String::new();
            write_mab_prompt(&mut text, &spec, r.env.labels(), &r.actions, &r.rewards)
                .context("writing the prompt")?;
            let mut ids = vec![tok.bos_id];
            ids.extend(tok.encode(&text, false).map_err(anyhow::Error::msg)?);
            check_vocab(&ids, vocab)?;
            prompts.push(ids);
            shown.push(spec.shown_labels(r.env.labels())?);
        }
        let opts = GenerateOptions {
            max_new_tokens: llm.max_new_tokens,
            temperature: llm.temperature,
            top_k: None,
            top_p: None,
            seed: derive_seed(seed, t as u64),
            stop_ids: Vec::new(),
        };
        let gens = engine.generate(&prompts, &opts).with_context(|| format!("generating step {t}"))?;
        if gens.len() != running.len() {
            bail!("the engine returned {} answers for {} prompts", gens.len(), running.len());
        }
        let tok = engine.tokenizer().expect("checked by load");
        for ((r, g), labels) in running.iter_mut().zip(&gens).zip(&shown) {
            let answer = tok.decode(&g.ids, true).map_err(anyhow::Error::msg)?;
            // Parsing against the labels shown in this prompt gives the true arm directly.
            let arm = match parse_action(&answer, labels).arm() {
                Some(a) => a,
                None => {
                    r.invalid += 1;
                    r.fallback.below(k)
                }
            };
            let tr = r.env.step(arm)?;
            r.actions.push(arm);
            r.rewards.push(tr.reward);
            r.answers.push(truncate_chars(&answer, llm.answer_chars));
        }
        bar.inc(1);
    }
    running
        .into_iter()
        .map(|r| {
            let mut rec = mab_record(&r.env, "llm", r.index, r.seeds, r.actions, r.rewards)?;
            rec.invalid_answers = Some(r.invalid);
            rec.answers = Some(r.answers);
            Ok(rec)
        })
        .collect()
}
