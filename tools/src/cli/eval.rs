//! Arguments of `greedy eval`. Every setting can also come from `--config FILE.json`; a flag
//! given on the command line wins over the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Deserialize;

use crate::eval::EnvKind;

/// Reward distribution of the bandit arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DistKind {
    /// N(mu, sigma), mu ~ U(0, 1).
    Gaussian,
    /// One best arm at 0.5 + gap/2, the others at 0.5 - gap/2.
    Bernoulli,
}

/// How actions are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// Colour names.
    Buttons,
    /// 0..k-1.
    Numeric,
}

/// The tic-tac-toe opponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OpponentKind {
    /// Uniformly random legal moves.
    Random,
    /// Perfect play.
    Minimax,
    /// Monte-Carlo tree search with --mcts-budget simulations.
    Mcts,
    /// MCTS that plays a random move with probability --noise-p.
    NoisyMcts,
}

/// Who moves first in tic-tac-toe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FirstKind {
    /// The evaluated agent.
    Agent,
    /// The opponent.
    Opponent,
    /// The agent in even-seeded episodes, the opponent in odd ones.
    Alternate,
}

/// `greedy eval` arguments.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[command(after_help = EVAL_EXAMPLES)]
pub struct EvalArgs {
    /// Experiment file (JSON) with any of these settings, keys as the flag names (`"arms": 10`,
    /// `"agent": ["ucb", "random"]`); flags on the command line override it.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Environment.
    #[arg(long, value_enum, help_heading = "Environment")]
    pub env: Option<EnvKind>,

    /// MAB: reward distribution [default: gaussian].
    #[arg(long, value_enum, help_heading = "Multi-armed bandit")]
    pub dist: Option<DistKind>,
    /// MAB: number of arms, 2..=32 [default: 10].
    #[arg(long, help_heading = "Multi-armed bandit")]
    pub arms: Option<usize>,
    /// MAB (gaussian): reward standard deviation, >= 0 [default: 1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Multi-armed bandit")]
    pub sigma: Option<f64>,
    /// MAB (bernoulli): gap between the best arm and the others, 0..=1 [default: 0.2].
    #[arg(long, allow_negative_numbers = true, help_heading = "Multi-armed bandit")]
    pub gap: Option<f64>,
    /// MAB and CB: steps per episode [default: 50].
    #[arg(long, help_heading = "Multi-armed bandit")]
    pub horizon: Option<usize>,
    /// MAB: action labels [default: buttons].
    #[arg(long, value_enum, help_heading = "Multi-armed bandit")]
    pub labels: Option<LabelKind>,

    /// Agent to evaluate; repeat for several. MAB: ucb, ucb-log, thompson, eps-greedy, greedy,
    /// random, llm, and wrappers `try-all:<agent>`, `eps:<agent>` (also around llm). CB: linucb,
    /// random, llm. TTT: minimax, mcts, random, llm. [default: mab ucb+greedy+random, cb
    /// linucb+random, ttt minimax+random]
    #[arg(long, value_name = "AGENT", help_heading = "Agents")]
    #[serde(default)]
    pub agent: Vec<String>,
    /// Exploration rate of eps-greedy and of the `eps:` wrapper, 0..=1 [default: 0.1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Agents")]
    pub epsilon: Option<f64>,

    /// CB: number of movies (arms), 2..=32 [default: 10].
    #[arg(long, help_heading = "Contextual bandit")]
    pub movies: Option<usize>,
    /// CB: number of users in the synthetic table [default: 100].
    #[arg(long, help_heading = "Contextual bandit")]
    pub users: Option<usize>,
    /// CB: directory with MovieLens-1M users.dat, movies.dat, ratings.dat (else synthetic data).
    #[arg(long, value_name = "DIR", help_heading = "Contextual bandit")]
    pub movielens: Option<PathBuf>,

    /// TTT: opponent [default: random].
    #[arg(long, value_enum, help_heading = "Tic-tac-toe")]
    pub opponent: Option<OpponentKind>,
    /// TTT: MCTS simulations per move, for the mcts agent and the (noisy-)mcts opponent [default: 200].
    #[arg(long, help_heading = "Tic-tac-toe")]
    pub mcts_budget: Option<u32>,
    /// TTT: probability that noisy-mcts plays a random move, 0..=1 [default: 0.5].
    #[arg(long, allow_negative_numbers = true, help_heading = "Tic-tac-toe")]
    pub noise_p: Option<f64>,
    /// TTT: who moves first [default: agent].
    #[arg(long, value_enum, help_heading = "Tic-tac-toe")]
    pub first: Option<FirstKind>,

    /// LLM agent: model directory (config.json, safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", help_heading = "LLM agent (--agent llm)")]
    pub model: Option<PathBuf>,
    /// LLM agent: weight precision on the GPU [default: auto].
    #[arg(long, value_enum, help_heading = "LLM agent (--agent llm)")]
    pub dtype: Option<crate::llm::DTypeArg>,
    /// LLM agent: generation budget per step, in tokens [default: 256].
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    pub max_new_tokens: Option<usize>,
    /// LLM agent: sampling temperature, 0 = greedy [default: 0].
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    pub temperature: Option<f32>,
    /// LLM agent: think step by step, then `ACTION=X` (the default).
    #[arg(long, overrides_with = "no_cot", help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub cot: bool,
    /// LLM agent: answer with `ACTION=X` only.
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub no_cot: bool,
    /// LLM agent: add each arm's count and mean reward after the history.
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub summary: bool,
    /// LLM agent: permute the labels every step (context randomization); answers are mapped back.
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub randomize: bool,
    /// LLM agent: plain text without Gemma's chat turns (base models); default: chat turns.
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub base: bool,
    /// LLM agent, TTT: do not list the legal moves in the prompt (default: listed).
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub no_legal_moves: bool,
    /// LLM agent: self-consistency, K answers per prompt (sampled, needs --temperature > 0) and a
    /// majority vote over their actions, ties broken at random (seeded) [default: 1].
    #[arg(long, value_name = "K", help_heading = "LLM agent (--agent llm)")]
    pub samples: Option<usize>,
    /// LLM agent: self-correction: show each answer back with a request to check it and answer
    /// again; the second answer counts.
    #[arg(long, help_heading = "LLM agent (--agent llm)")]
    #[serde(default)]
    pub self_correct: bool,
    /// LLM agent: text appended to every prompt, from which the model continues; the answer is
    /// read as this text + the generated text. For base models, which otherwise continue the
    /// prompt's pattern: `--answer-prefix $'\nACTION='` (with --no-cot and --max-new-tokens 4).
    #[arg(long, value_name = "TEXT", help_heading = "LLM agent (--agent llm)")]
    pub answer_prefix: Option<String>,
    /// LLM agent: keep at most N characters of each answer in episodes.jsonl [default: all].
    #[arg(long, value_name = "N", help_heading = "LLM agent (--agent llm)")]
    pub answer_chars: Option<usize>,

    /// Episodes per agent, 1..=1000000 [default: 64].
    #[arg(long, help_heading = "Run")]
    pub episodes: Option<usize>,
    /// Seed of the run: same seed, same output [default: 0].
    #[arg(long, help_heading = "Run", allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: Option<u64>,
    /// Directory for episodes.jsonl, summary.json and the plots (created if missing).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Print one JSON object per agent on stdout instead of the table (no progress bar).
    #[arg(long, help_heading = "Output")]
    #[serde(default)]
    pub json: bool,
}

impl EvalArgs {
    /// These arguments with the unset ones taken from `--config`, if given.
    pub fn with_config(self) -> Result<EvalArgs> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let file = load_config(&path)?;
        Ok(self.or(file))
    }

    /// Each setting from `self` if set, else from `other`.
    fn or(self, other: EvalArgs) -> EvalArgs {
        EvalArgs {
            config: self.config,
            env: self.env.or(other.env),
            dist: self.dist.or(other.dist),
            arms: self.arms.or(other.arms),
            sigma: self.sigma.or(other.sigma),
            gap: self.gap.or(other.gap),
            horizon: self.horizon.or(other.horizon),
            labels: self.labels.or(other.labels),
            agent: if self.agent.is_empty() { other.agent } else { self.agent },
            epsilon: self.epsilon.or(other.epsilon),
            movies: self.movies.or(other.movies),
            users: self.users.or(other.users),
            movielens: self.movielens.or(other.movielens),
            opponent: self.opponent.or(other.opponent),
            mcts_budget: self.mcts_budget.or(other.mcts_budget),
            noise_p: self.noise_p.or(other.noise_p),
            first: self.first.or(other.first),
            model: self.model.or(other.model),
            dtype: self.dtype.or(other.dtype),
            max_new_tokens: self.max_new_tokens.or(other.max_new_tokens),
            temperature: self.temperature.or(other.temperature),
            cot: self.cot || other.cot,
            no_cot: (self.no_cot || other.no_cot) && !self.cot,
            summary: self.summary || other.summary,
            randomize: self.randomize || other.randomize,
            base: self.base || other.base,
            no_legal_moves: self.no_legal_moves || other.no_legal_moves,
            answer_chars: self.answer_chars.or(other.answer_chars),
            answer_prefix: self.answer_prefix.or(other.answer_prefix),
            samples: self.samples.or(other.samples),
            self_correct: self.self_correct || other.self_correct,
            episodes: self.episodes.or(other.episodes),
            seed: self.seed.or(other.seed),
            out: self.out.or(other.out),
            json: self.json || other.json,
        }
    }
}

/// Reads an experiment file (JSON).
pub fn load_config(path: &Path) -> Result<EvalArgs> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--config: cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("--config: {} is not a valid experiment file", path.display()))
}

const EVAL_EXAMPLES: &str = "\
Examples:
  # UCB against random on 10 Gaussian arms (sigma 1), 64 episodes, files and plots in runs/x
  greedy eval --env mab --dist gaussian --arms 10 --sigma 1 --agent ucb --agent random --episodes 64 --seed 1 --out runs/x

  # Exploration wrappers around greedy, on Bernoulli arms with gap 0.5
  greedy eval --env mab --dist bernoulli --gap 0.5 --agent greedy --agent try-all:greedy --agent eps:greedy

  # Minimax against a random tic-tac-toe opponent, JSON on stdout
  greedy eval --env ttt --opponent random --agent minimax --episodes 200 --seed 1 --json

  # A language model as the agent (one batched generate call per step), answers in the JSONL
  greedy eval --env mab --arms 5 --horizon 20 --agent llm --agent ucb --model models/gemma-2-2b-it \
      --max-new-tokens 256 --temperature 0 --episodes 16 --randomize --out runs/llm

  # Inference-time mechanisms: try-all around the model, 8 samples with a majority vote, self-correction
  greedy eval --env mab --arms 5 --agent llm --agent try-all:llm --model DIR --samples 8 --temperature 1 --self-correct

  # The same settings from a file (flags override it)
  echo '{\"env\": \"mab\", \"arms\": 5, \"agent\": [\"ucb\", \"greedy\"]}' > exp.json
  greedy eval --config exp.json --episodes 128

Outputs (with --out DIR): episodes.jsonl (one line per agent and episode), summary.json,
regret.png/.svg and coverage.png/.svg (mean over episodes with a shaded 95% confidence band).";
