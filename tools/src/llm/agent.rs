//! The LLM agent of `greedy eval --agent llm`: every episode of the run advances in lock-step;
//! at step t the env-core prompt of every episode is rendered and tokenized, and ONE
//! [`Engine::generate`] call answers all of them (one batch per step, not one call per episode).
//! Each answer is parsed with `env_core::parse` against the labels shown in that prompt (so a
//! randomized context maps back to the true arm); an invalid answer executes a uniformly random
//! arm drawn from the episode's own seeded stream and is counted.
//!
//! Tic-tac-toe ([`run_llm_ttt`]): the model plays the agent's side; an answer that names no cell
//! or an occupied one is invalid and replaced by a random legal move. Games end at different
//! times: each step generates only for the unfinished ones. The contextual bandit
//! ([`run_llm_cb`]): the model names a movie by title (or index).
//!
//! Determinism: the scenario and reward noise come from the same seeds as the baseline agents
//! (`EpisodeSeeds`), the fallback actions from the episode's `POLICY_STREAM`, the per-step
//! context permutation from `LabelPermutation::for_step`, and the sampling seed of step t from
//! `derive_seed(run seed, t)`.

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::cb::{ContextualBandit, UserContext};
use env_core::parse::{Titles, parse_action};
use env_core::prompt::{
    CbPromptSpec, ChatFormat, LabelPermutation, MabPromptSpec, OutputMode, TttPromptSpec, write_cb_prompt,
    write_mab_prompt, write_ttt_prompt,
};
use env_core::rng::derive_seed;
use env_core::ttt::{Board, Outcome, TicTacToe};
use env_core::{Environment, LabelSet, LabelStyle, MabConfig, MultiArmedBandit, Rng};
use indicatif::ProgressBar;

use crate::eval::cb::{CbData, cb_record};
use crate::eval::mab::mab_record;
use crate::eval::settings::TttSettings;
use crate::eval::ttt::ttt_config;
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
    /// Tic-tac-toe: list the legal moves in the prompt.
    pub legal_moves: bool,
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
    base_spec.output = llm.output();
    base_spec.chat = llm.chat();
    base_spec.summary = llm.summary;
    let k = config.arms;
    for t in 0..config.horizon {
        bar.set_message(format!("step {}/{}", t + 1, config.horizon));
        let mut texts = Vec::with_capacity(running.len());
        let mut shown = Vec::with_capacity(running.len());
        for r in &running {
            let mut spec = base_spec;
            if llm.randomize {
                spec.permutation = Some(LabelPermutation::for_step(k, r.seeds.episode, t as u64)?);
            }
            let mut text = String::new();
            write_mab_prompt(&mut text, &spec, r.env.labels(), &r.actions, &r.rewards)
                .context("writing the prompt")?;
            texts.push(text);
            shown.push(spec.shown_labels(r.env.labels())?);
        }
        let episodes: Vec<u64> = running.iter().map(|r| r.index).collect();
        let answers = answer_all(engine, &texts, &episodes, llm, seed, t)?;
        for ((r, answer), labels) in running.iter_mut().zip(answers).zip(&shown) {
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

impl LlmSettings {
    fn output(&self) -> OutputMode {
        if self.cot { OutputMode::ChainOfThought } else { OutputMode::ActionOnly }
    }

    fn chat(&self) -> ChatFormat<'static> {
        if self.base { ChatFormat::PLAIN } else { ChatFormat::GEMMA }
    }
}

/// Tokenizes `texts` (BOS first), answers all of them with ONE generate call seeded for step
/// `t`, and decodes the answers. `episodes[i]` (the episode index of `texts[i]`) names the RNG
/// stream text i samples from, so an episode's answer does not depend on which other episodes
/// are still running (games end at different times).
fn answer_all(
    engine: &mut Engine,
    texts: &[String],
    episodes: &[u64],
    llm: &LlmSettings,
    seed: u64,
    t: usize,
) -> Result<Vec<String>> {
    let vocab = engine.config().vocab_size;
    let tok = engine.tokenizer().expect("checked by load");
    let mut prompts = Vec::with_capacity(texts.len());
    for text in texts {
        let mut ids = vec![tok.bos_id];
        ids.extend(tok.encode(text, false).map_err(anyhow::Error::msg)?);
        check_vocab(&ids, vocab)?;
        prompts.push(ids);
    }
    let opts = GenerateOptions {
        max_new_tokens: llm.max_new_tokens,
        temperature: llm.temperature,
        top_k: None,
        top_p: None,
        seed: derive_seed(seed, t as u64),
        stop_ids: Vec::new(),
    };
    let gens =
        engine.generate_streams(&prompts, episodes, &opts).with_context(|| format!("generating step {t}"))?;
    if gens.len() != texts.len() {
        bail!("the engine returned {} answers for {} prompts", gens.len(), texts.len());
    }
    let tok = engine.tokenizer().expect("checked by load");
    gens.iter().map(|g| tok.decode(&g.ids, true).map_err(anyhow::Error::msg)).collect()
}

/// The cell an answer names, if it is a legal move (an occupied cell is invalid).
fn ttt_move(answer: &str, cells: &LabelSet, legal: &[u8]) -> Option<usize> {
    parse_action(answer, cells).arm().filter(|&c| legal.contains(&(c as u8)))
}

/// The movie an answer names: by title first (titles may start with a number), else by index.
fn cb_movie(answer: &str, titles: &[&str], indices: &LabelSet) -> Option<usize> {
    parse_action(answer, &Titles(titles)).arm().or_else(|| parse_action(answer, indices).arm())
}

/// One running tic-tac-toe game.
struct Game {
    index: u64,
    seeds: EpisodeSeeds,
    env: TicTacToe,
    board: Board,
    fallback: Rng,
    states: Vec<[u8; 9]>,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    answers: Vec<String>,
    invalid: usize,
    outcome: Option<Outcome>,
}

/// At most this many moves of one side in a game of tic-tac-toe.
const TTT_MAX_MOVES: u64 = 5;

/// Plays `episodes` games of tic-tac-toe against the opponent of `settings`, the model moving
/// for the agent. Each step, one generate call answers every unfinished game.
pub fn run_llm_ttt(
    engine: &mut Engine,
    settings: &TttSettings,
    llm: &LlmSettings,
    seed: u64,
    episodes: usize,
    bar: &ProgressBar,
) -> Result<Vec<EpisodeRecord>> {
    let mut games: Vec<Game> = (0..episodes as u64)
        .map(|index| {
            let seeds = EpisodeSeeds::new(seed, index);
            let mut env = TicTacToe::new(ttt_config(settings)).context("building tic-tac-toe")?;
            let board = env.reset(seeds.episode)?;
            Ok(Game {
                index,
                seeds,
                env,
                board,
                fallback: Rng::from_stream(seeds.episode, POLICY_STREAM),
                states: Vec::new(),
                actions: Vec::new(),
                rewards: Vec::new(),
                answers: Vec::new(),
                invalid: 0,
                outcome: None,
            })
        })
        .collect::<Result<_>>()?;
    let spec = TttPromptSpec {
        output: llm.output(),
        chat: llm.chat(),
        show_legal_moves: llm.legal_moves,
        ..TttPromptSpec::default()
    };
    let cells = LabelSet::new(LabelStyle::Numeric, 9, 0)?;
    let mut t = 0usize;
    loop {
        let active: Vec<usize> = (0..games.len()).filter(|&i| !games[i].env.is_done()).collect();
        if active.is_empty() {
            break;
        }
        if t as u64 >= TTT_MAX_MOVES {
            bail!("a game of tic-tac-toe is still running after {t} moves of the agent");
        }
        bar.set_message(format!("move {}, {} games running", t + 1, active.len()));
        let mut texts = Vec::with_capacity(active.len());
        for &i in &active {
            let g = &games[i];
            let moves: Vec<u8> = g.actions.iter().map(|&a| a as u8).collect();
            let mut text = String::new();
            write_ttt_prompt(
                &mut text,
                &spec,
                &g.states,
                &moves,
                &g.rewards,
                &g.board.values(),
                &g.board.legal_moves(),
            )
            .context("writing the prompt")?;
            texts.push(text);
        }
        let episodes: Vec<u64> = active.iter().map(|&i| games[i].index).collect();
        let answers = answer_all(engine, &texts, &episodes, llm, seed, t)?;
        for (&i, answer) in active.iter().zip(answers) {
            let g = &mut games[i];
            let legal = g.board.legal_moves();
            let mv = match ttt_move(&answer, &cells, &legal) {
                Some(c) => c,
                None => {
                    g.invalid += 1;
                    legal[g.fallback.below(legal.len())] as usize
                }
            };
            g.states.push(g.board.values());
            let tr = g.env.step(mv).with_context(|| format!("game {}: the agent played {mv}", g.index))?;
            g.actions.push(mv);
            g.rewards.push(tr.reward);
            g.answers.push(truncate_chars(&answer, llm.answer_chars));
            g.board = tr.observation;
            g.outcome = tr.info.outcome;
        }
        t += 1;
        bar.inc(1);
    }
    games
        .into_iter()
        .map(|g| {
            let outcome = g.outcome.context("the game ended without an outcome")?;
            let mut rec =
                EpisodeRecord::new("llm".into(), "ttt".into(), g.index, g.seeds.scenario, g.seeds.episode);
            rec.actions = g.actions;
            rec.rewards = g.rewards;
            rec.return_ = outcome.reward();
            rec.outcome = Some(outcome.name().to_string());
            rec.invalid_answers = Some(g.invalid);
            rec.answers = Some(g.answers);
            Ok(rec)
        })
        .collect()
}

/// One running contextual-bandit episode.
struct CbRun<'a> {
    index: u64,
    seeds: EpisodeSeeds,
    env: ContextualBandit<'a>,
    fallback: Rng,
    users: Vec<UserContext<'a>>,
    actions: Vec<usize>,
    regret: Vec<f64>,
    rewards: Vec<f64>,
    answers: Vec<String>,
    invalid: usize,
}

/// Plays `episodes` episodes of the contextual bandit on `data` for `horizon` steps, the model
/// naming a movie (by title, or by index) for each user; all episodes advance together.
pub fn run_llm_cb(
    engine: &mut Engine,
    data: &CbData,
    horizon: usize,
    llm: &LlmSettings,
    seed: u64,
    episodes: usize,
    bar: &ProgressBar,
) -> Result<Vec<EpisodeRecord>> {
    let tables = data.tables()?;
    let mut running: Vec<CbRun<'_>> = (0..episodes as u64)
        .map(|index| {
            let seeds = EpisodeSeeds::new(seed, index);
            let mut env = ContextualBandit::new(tables, horizon).context("building the contextual bandit")?;
            env.reset(seeds.episode)?;
            Ok(CbRun {
                index,
                seeds,
                env,
                fallback: Rng::from_stream(seeds.episode, POLICY_STREAM),
                users: Vec::with_capacity(horizon),
                actions: Vec::with_capacity(horizon),
                regret: Vec::with_capacity(horizon),
                rewards: Vec::with_capacity(horizon),
                answers: Vec::with_capacity(horizon),
                invalid: 0,
            })
        })
        .collect::<Result<_>>()?;
    let k = tables.num_movies();
    let titles: Vec<&str> = match running.first() {
        Some(r) => (0..k).map(|m| r.env.movie_title(m)).collect::<Result<_, _>>()?,
        None => return Ok(Vec::new()),
    };
    let indices = LabelSet::new(LabelStyle::Numeric, k, 0)?;
    let spec = CbPromptSpec { horizon, output: llm.output(), chat: llm.chat(), ..CbPromptSpec::default() };
    for t in 0..horizon {
        bar.set_message(format!("step {}/{}", t + 1, horizon));
        let mut texts = Vec::with_capacity(running.len());
        for r in &running {
            let mut text = String::new();
            write_cb_prompt(
                &mut text,
                &spec,
                &titles,
                &r.users,
                &r.actions,
                &r.rewards,
                &r.env.current_user(),
            )
            .context("writing the prompt")?;
            texts.push(text);
        }
        let episodes: Vec<u64> = running.iter().map(|r| r.index).collect();
        let answers = answer_all(engine, &texts, &episodes, llm, seed, t)?;
        for (r, answer) in running.iter_mut().zip(answers) {
            let arm = match cb_movie(&answer, &titles, &indices) {
                Some(a) => a,
                None => {
                    r.invalid += 1;
                    r.fallback.below(k)
                }
            };
            r.users.push(r.env.current_user());
            let tr = r.env.step(arm)?;
            r.actions.push(arm);
            r.regret.push(tr.info.regret);
            r.rewards.push(tr.reward);
            r.answers.push(truncate_chars(&answer, llm.answer_chars));
        }
        bar.inc(1);
    }
    running
        .into_iter()
        .map(|r| {
            let mut rec = cb_record(data, "llm".into(), r.index, r.seeds, r.actions, r.regret, r.rewards)?;
            rec.invalid_answers = Some(r.invalid);
            rec.answers = Some(r.answers);
            Ok(rec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttt_answers_must_name_a_free_cell() {
        let cells = LabelSet::new(LabelStyle::Numeric, 9, 0).unwrap();
        let legal = [0u8, 2, 5];
        assert_eq!(ttt_move("I take the corner. ACTION=2", &cells, &legal), Some(2));
        assert_eq!(ttt_move("ACTION= 5", &cells, &legal), Some(5));
        assert_eq!(ttt_move("ACTION=4", &cells, &legal), None, "occupied");
        assert_eq!(ttt_move("ACTION=9", &cells, &legal), None, "off the board");
        assert_eq!(ttt_move("the centre", &cells, &legal), None, "no marker");
    }

    #[test]
    fn cb_answers_name_a_title_or_an_index() {
        let titles = ["Toy Story (1995)", "2001: A Space Odyssey (1968)", "Heat (1995)"];
        let indices = LabelSet::new(LabelStyle::Numeric, 3, 0).unwrap();
        assert_eq!(cb_movie("ACTION=heat (1995)", &titles, &indices), Some(2));
        assert_eq!(cb_movie("ACTION=2001: A Space Odyssey (1968)", &titles, &indices), Some(1));
        assert_eq!(cb_movie("ACTION=0", &titles, &indices), Some(0));
        assert_eq!(cb_movie("ACTION=3", &titles, &indices), None);
        assert_eq!(cb_movie("ACTION=Alien (1979)", &titles, &indices), None);
    }
}
