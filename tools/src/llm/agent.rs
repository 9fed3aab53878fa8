//! The LLM agent of `greedy eval --agent llm`: every episode of the run advances in lock-step;
//! at step t the env-core prompt of every episode is rendered, and ONE generation call (a
//! [`TextGenerator`]: the engine's batched generate) answers all of them (one batch per step,
//! not one call per episode).
//! Each answer is parsed with `env_core::parse` against the labels shown in that prompt (so a
//! randomized context maps back to the true arm); an invalid answer executes a uniformly random
//! arm drawn from the episode's own seeded stream and is counted.
//!
//! Tic-tac-toe ([`run_llm_ttt`]): the model plays the agent's side; an answer that names no cell
//! or an occupied one is invalid and replaced by a random legal move. Games end at different
//! times: each step generates only for the unfinished ones. The contextual bandit
//! ([`run_llm_cb`]): the model names a movie by title (or index).
//!
//! How an answer is obtained ([`ask`]): `samples` K answers per prompt in the same batch and a
//! majority vote (self-consistency), and optionally a second call on the answer plus a request
//! to check it (self-correction). On the bandit, the `try-all:` and `eps:` wrappers
//! ([`crate::eval::Wrapper`]) decide some steps without the model (every untried arm first; a
//! random arm with probability epsilon); only the other episodes go into the step's batch.
//!
//! Determinism: the scenario and reward noise come from the same seeds as the baseline agents
//! (`EpisodeSeeds`), the fallback actions from the episode's `POLICY_STREAM`, the per-step
//! context permutation from `LabelPermutation::for_step`, the sampling seed of step t from
//! `derive_seed(run seed, t)` (sample j of episode e on stream `e * K + j`), and the wrappers'
//! coins from the episode's `WRAPPER_STREAM`.

mod ask;

pub use ask::{
    CORRECTION_REQUEST, Decision, TextGenerator, TextOptions, ask, correction_prompt, majority_vote,
};

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::cb::{ContextualBandit, UserContext};
use env_core::parse::{Titles, parse_action};
use env_core::prompt::{
    CbPromptSpec, ChatFormat, LabelPermutation, MabPromptSpec, OutputMode, RationaleTemplates, TttPromptSpec,
    write_action, write_cb_prompt, write_explore_rationale, write_mab_prompt, write_ttt_prompt,
};
use env_core::ttt::{Board, Outcome, TicTacToe};
use env_core::{Environment, LabelSet, LabelStyle, MabConfig, MultiArmedBandit, Rng};
use indicatif::ProgressBar;

use crate::eval::cb::{CbData, cb_record};
use crate::eval::mab::mab_record;
use crate::eval::settings::TttSettings;
use crate::eval::ttt::ttt_config;
use crate::eval::{AgentSpec, EpisodeRecord, EpisodeSeeds, Wrapper};
use crate::llm::generate::Engine;
use crate::llm::{DTypeArg, load_engine};

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
    /// Appended to every prompt; the answer is read as this + the generated text (base models).
    pub answer_prefix: String,
    /// Store at most this many characters of each answer in the JSONL (None: all).
    pub answer_chars: Option<usize>,
    /// Tic-tac-toe: list the legal moves in the prompt.
    pub legal_moves: bool,
    /// Self-consistency: answers per prompt, majority vote (1 = a single answer).
    pub samples: usize,
    /// Self-correction: show the answer back with a request to check it; the second answer counts.
    pub self_correct: bool,
}

/// Stream id of the exploration wrappers' coins and random arms ("WRAPPER").
pub const WRAPPER_STREAM: u64 = 0x0057_5241_5050_4552;

/// What an episode keeps of the model's answers, one entry per step.
#[derive(Debug, Default)]
struct AnswerLog {
    answers: Vec<String>,
    first_answers: Vec<String>,
    sample_actions: Vec<Vec<Option<usize>>>,
    changed_by_correction: usize,
    invalid: usize,
    explore_steps: usize,
}

impl AnswerLog {
    /// Logs a model decision.
    fn push(&mut self, d: Decision, llm: &LlmSettings) {
        self.invalid += d.action.is_none() as usize;
        self.changed_by_correction += d.changed_by_correction;
        self.answers.push(truncate_chars(&d.answer, llm.answer_chars));
        if let Some(f) = &d.first_answer {
            self.first_answers.push(truncate_chars(f, llm.answer_chars));
        }
        self.sample_actions.push(d.sample_actions);
    }

    /// Logs a step decided by an exploration wrapper (its fixed-template text).
    fn push_forced(&mut self, text: String, llm: &LlmSettings) {
        self.explore_steps += 1;
        if llm.self_correct {
            self.first_answers.push(text.clone());
        }
        self.answers.push(text);
        self.sample_actions.push(Vec::new());
    }

    /// Moves the log into the episode's record.
    fn fill(self, rec: &mut EpisodeRecord, llm: &LlmSettings, wrapped: bool) {
        rec.invalid_answers = Some(self.invalid);
        rec.answers = Some(self.answers);
        if llm.self_correct {
            rec.first_answers = Some(self.first_answers);
            rec.changed_by_correction = Some(self.changed_by_correction);
        }
        if llm.samples > 1 {
            rec.sample_actions = Some(self.sample_actions);
        }
        if wrapped {
            rec.explore_steps = Some(self.explore_steps);
        }
    }
}

/// One running episode.
struct Running {
    index: u64,
    seeds: EpisodeSeeds,
    env: MultiArmedBandit,
    fallback: Rng,
    explore: Rng,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    log: AnswerLog,
}

/// The arm the wrappers (outermost first) choose without the model, if any: `try-all` the
/// lowest untried arm (no draw), `eps` a coin with probability `epsilon` (one draw per step it
/// is asked) and then a uniform arm. Mirrors `env_core::agents::{TryAll, EpsilonExplore}`.
pub fn wrapper_choice(
    wrappers: &[Wrapper],
    arms: usize,
    actions: &[usize],
    epsilon: f64,
    rng: &mut Rng,
) -> Option<(Wrapper, usize)> {
    for w in wrappers {
        match w {
            Wrapper::TryAll => {
                if let Some(a) = (0..arms).find(|a| !actions.contains(a)) {
                    return Some((Wrapper::TryAll, a));
                }
            }
            Wrapper::Eps => {
                if rng.bernoulli(epsilon) {
                    return Some((Wrapper::Eps, rng.below(arms)));
                }
            }
        }
    }
    None
}

/// The fixed-template text logged for a step a wrapper decided (SPEC section 6).
fn forced_text(w: Wrapper, arm: usize, shown: &LabelSet) -> Result<String> {
    let t = RationaleTemplates::default();
    let mut s = String::new();
    match w {
        Wrapper::TryAll => write_explore_rationale(&mut s, arm, shown, &t)?,
        Wrapper::Eps => {
            s.push_str("(epsilon exploration: a random action) ");
            write_action(&mut s, arm, shown, &t)?;
        }
    }
    Ok(s)
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
    if let Some(e) = engine.tokenizer_error() {
        bail!("--agent llm needs the tokenizer, and it does not load: {e}");
    }
    if engine.tokenizer().is_none() {
        bail!(
            "--agent llm needs a tokenizer: {} has no tokenizer.json (the agent reads and writes text)",
            llm.model.display()
        );
    }
    Ok(engine)
}

/// Plays `episodes` episodes of the MAB `config` with the model, all at once; `agent` is
/// `llm` or a wrapped `try-all:llm`, `eps:llm` (`epsilon` is the `eps:` rate).
#[allow(clippy::too_many_arguments)]
pub fn run_llm_mab(
    model: &mut dyn TextGenerator,
    config: &MabConfig,
    agent: &AgentSpec,
    epsilon: f64,
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
                explore: Rng::from_stream(seeds.episode, WRAPPER_STREAM),
                actions: Vec::with_capacity(config.horizon),
                rewards: Vec::with_capacity(config.horizon),
                log: AnswerLog::default(),
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
        let mut asked = Vec::with_capacity(running.len());
        let mut forced = vec![None; running.len()];
        for (i, r) in running.iter_mut().enumerate() {
            let mut spec = base_spec;
            if llm.randomize {
                spec.permutation = Some(LabelPermutation::for_step(k, r.seeds.episode, t as u64)?);
            }
            let labels = spec.shown_labels(r.env.labels())?;
            if let Some(choice) = wrapper_choice(&agent.wrappers, k, &r.actions, epsilon, &mut r.explore) {
                forced[i] = Some(choice);
            } else {
                let mut text = String::new();
                write_mab_prompt(&mut text, &spec, r.env.labels(), &r.actions, &r.rewards)
                    .context("writing the prompt")?;
                texts.push(text);
                asked.push(i);
            }
            shown.push(labels);
        }
        let episodes: Vec<u64> = asked.iter().map(|&i| running[i].index).collect();
        // Parsing against the labels shown in this prompt gives the true arm directly.
        let parse = |j: usize, answer: &str| parse_action(answer, &shown[asked[j]]).arm();
        let decisions =
            if asked.is_empty() { Vec::new() } else { ask(model, &texts, &episodes, llm, seed, t, &parse)? };
        let mut decisions = decisions.into_iter();
        for (i, r) in running.iter_mut().enumerate() {
            let arm = match forced[i] {
                Some((w, arm)) => {
                    r.log.push_forced(forced_text(w, arm, &shown[i])?, llm);
                    arm
                }
                None => {
                    let d = decisions.next().context("one decision per asked episode")?;
                    let arm = d.action.unwrap_or_else(|| r.fallback.below(k));
                    r.log.push(d, llm);
                    arm
                }
            };
            let tr = r.env.step(arm)?;
            r.actions.push(arm);
            r.rewards.push(tr.reward);
        }
        bar.inc(1);
    }
    let wrapped = !agent.wrappers.is_empty();
    running
        .into_iter()
        .map(|r| {
            let mut rec = mab_record(&r.env, &agent.name(), r.index, r.seeds, r.actions, r.rewards)?;
            r.log.fill(&mut rec, llm, wrapped);
            Ok(rec)
        })
        .collect()
}

impl LlmSettings {
    pub(crate) fn output(&self) -> OutputMode {
        if self.cot { OutputMode::ChainOfThought } else { OutputMode::ActionOnly }
    }

    pub(crate) fn chat(&self) -> ChatFormat<'static> {
        if self.base { ChatFormat::PLAIN } else { ChatFormat::GEMMA }
    }
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
    log: AnswerLog,
    outcome: Option<Outcome>,
}

/// At most this many moves of one side in a game of tic-tac-toe.
const TTT_MAX_MOVES: u64 = 5;

/// Plays `episodes` games of tic-tac-toe against the opponent of `settings`, the model moving
/// for the agent. Each step, one generate call answers every unfinished game.
pub fn run_llm_ttt(
    model: &mut dyn TextGenerator,
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
                log: AnswerLog::default(),
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
        let legal: Vec<Vec<u8>> = active.iter().map(|&i| games[i].board.legal_moves().to_vec()).collect();
        let parse = |j: usize, answer: &str| ttt_move(answer, &cells, &legal[j]);
        let decisions = ask(model, &texts, &episodes, llm, seed, t, &parse)?;
        for ((&i, d), legal) in active.iter().zip(decisions).zip(&legal) {
            let g = &mut games[i];
            let mv = match d.action {
                Some(c) => c,
                None => legal[g.fallback.below(legal.len())] as usize,
            };
            g.log.push(d, llm);
            g.states.push(g.board.values());
            let tr = g.env.step(mv).with_context(|| format!("game {}: the agent played {mv}", g.index))?;
            g.actions.push(mv);
            g.rewards.push(tr.reward);
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
            g.log.fill(&mut rec, llm, false);
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
    log: AnswerLog,
}

/// Plays `episodes` episodes of the contextual bandit on `data` for `horizon` steps, the model
/// naming a movie (by title, or by index) for each user; all episodes advance together.
pub fn run_llm_cb(
    model: &mut dyn TextGenerator,
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
                log: AnswerLog::default(),
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
        let parse = |_: usize, answer: &str| cb_movie(answer, &titles, &indices);
        let decisions = ask(model, &texts, &episodes, llm, seed, t, &parse)?;
        for (r, d) in running.iter_mut().zip(decisions) {
            let arm = d.action.unwrap_or_else(|| r.fallback.below(k));
            r.log.push(d, llm);
            r.users.push(r.env.current_user());
            let tr = r.env.step(arm)?;
            r.actions.push(arm);
            r.regret.push(tr.info.regret);
            r.rewards.push(tr.reward);
        }
        bar.inc(1);
    }
    running
        .into_iter()
        .map(|r| {
            let mut rec = cb_record(data, "llm".into(), r.index, r.seeds, r.actions, r.regret, r.rewards)?;
            r.log.fill(&mut rec, llm, false);
            Ok(rec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_decide_before_the_model() {
        let mut rng = Rng::new(3);
        // try-all: the lowest untried arm, no draw
        assert_eq!(wrapper_choice(&[Wrapper::TryAll], 3, &[0, 2], 0.5, &mut rng), Some((Wrapper::TryAll, 1)));
        assert_eq!(rng.uniform(), Rng::new(3).uniform(), "try-all draws nothing");
        assert_eq!(wrapper_choice(&[Wrapper::TryAll], 2, &[0, 1], 0.5, &mut rng), None);
        // eps: probability 1 always explores, 0 never; the same stream gives the same arms
        let arms: Vec<_> =
            (0..50).map(|_| wrapper_choice(&[Wrapper::Eps], 4, &[], 1.0, &mut rng).unwrap().1).collect();
        assert!((0..4).all(|a| arms.contains(&a)), "{arms:?}");
        assert_eq!(wrapper_choice(&[Wrapper::Eps], 4, &[], 0.0, &mut rng), None);
        // outermost first: try-all wins while an arm is untried
        let both = [Wrapper::TryAll, Wrapper::Eps];
        assert_eq!(wrapper_choice(&both, 2, &[1], 1.0, &mut rng), Some((Wrapper::TryAll, 0)));
        assert_eq!(wrapper_choice(&both, 2, &[1, 0], 1.0, &mut rng).map(|c| c.0), Some(Wrapper::Eps));
    }

    /// Always answers `ACTION=0`, counting the prompts it is asked.
    struct AlwaysZero(Vec<usize>);

    impl TextGenerator for AlwaysZero {
        fn generate_texts(&mut self, texts: &[String], _: &[u64], _: &TextOptions) -> Result<Vec<String>> {
            self.0.push(texts.len());
            Ok(vec!["ACTION=0".into(); texts.len()])
        }
    }

    #[test]
    fn try_all_llm_asks_the_model_only_once_every_arm_was_tried() {
        let config = MabConfig { arms: 3, horizon: 5, labels: LabelStyle::Numeric, ..MabConfig::default() };
        let spec = AgentSpec::parse("try-all:llm", crate::eval::EnvKind::Mab).unwrap();
        let llm = ask::tests::settings(1, false);
        let mut model = AlwaysZero(Vec::new());
        let bar = ProgressBar::hidden();
        let recs = run_llm_mab(&mut model, &config, &spec, 0.1, &llm, 9, 2, &bar).unwrap();
        assert_eq!(model.0, vec![2, 2], "steps 0-2 are try-all's; then one call for both episodes");
        for r in &recs {
            assert_eq!(r.agent, "try-all:llm");
            assert_eq!(r.actions, vec![0, 1, 2, 0, 0]);
            assert_eq!(r.explore_steps, Some(3));
            assert_eq!(r.invalid_answers, Some(0));
            let answers = r.answers.as_ref().unwrap();
            assert!(answers[1].contains("not been tried") && answers[1].ends_with("ACTION=1"), "{answers:?}");
            assert_eq!(answers[4], "ACTION=0");
        }
        // plain llm: every step asks the model
        let plain = AgentSpec::parse("llm", crate::eval::EnvKind::Mab).unwrap();
        let mut model = AlwaysZero(Vec::new());
        let recs = run_llm_mab(&mut model, &config, &plain, 0.1, &llm, 9, 2, &bar).unwrap();
        assert_eq!(model.0, vec![2; 5]);
        assert_eq!(recs[0].actions, vec![0; 5]);
        assert_eq!(recs[0].explore_steps, None);
    }

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
