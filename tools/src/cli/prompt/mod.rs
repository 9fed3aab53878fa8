//! Arguments of `greedy prompt`.

use clap::Args;

mod cb;
mod mab;
mod render;
mod ttt;

pub use render::render_prompt;

use crate::cli::EvalArgs;
use gpu_trainer::envs::{DistKind, EnvKind, FirstKind, LabelKind, OpponentKind};

/// `greedy prompt` arguments.
#[derive(Debug, Clone, Args)]
#[command(after_help = PROMPT_EXAMPLES)]
pub struct PromptArgs {
    /// Environment (mab, cb or ttt).
    #[arg(long, value_enum, default_value = "mab")]
    pub env: EnvKind,
    /// MAB: reward distribution [default: gaussian].
    #[arg(long, value_enum)]
    pub dist: Option<DistKind>,
    /// MAB: number of arms, 2..=32 [default: 10].
    #[arg(long)]
    pub arms: Option<usize>,
    /// MAB (gaussian): reward standard deviation [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub sigma: Option<f64>,
    /// MAB (bernoulli): gap [default: 0.2].
    #[arg(long, allow_negative_numbers = true)]
    pub gap: Option<f64>,
    /// MAB: steps per episode, as announced in the prompt [default: 50].
    #[arg(long)]
    pub horizon: Option<usize>,
    /// MAB: action labels [default: buttons].
    #[arg(long, value_enum)]
    pub labels: Option<LabelKind>,
    /// The agent that plays the history (same names as `greedy eval`) [default: random].
    #[arg(long, default_value = "random")]
    pub agent: String,
    /// Exploration rate of eps-greedy and `eps:` [default: 0.1].
    #[arg(long, allow_negative_numbers = true)]
    pub epsilon: Option<f64>,
    /// CB: number of movies (arms), 2..=32 [default: 10].
    #[arg(long)]
    pub movies: Option<usize>,
    /// CB: number of users in the synthetic table [default: 100].
    #[arg(long)]
    pub users: Option<usize>,
    /// CB: directory with MovieLens-1M users.dat, movies.dat, ratings.dat (else synthetic data).
    #[arg(long, value_name = "DIR")]
    pub movielens: Option<std::path::PathBuf>,
    /// TTT: opponent [default: random].
    #[arg(long, value_enum)]
    pub opponent: Option<OpponentKind>,
    /// TTT: MCTS simulations per move [default: 200].
    #[arg(long)]
    pub mcts_budget: Option<u32>,
    /// TTT: random-move probability of noisy-mcts [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    pub noise_p: Option<f64>,
    /// TTT: who moves first [default: agent].
    #[arg(long, value_enum)]
    pub first: Option<FirstKind>,

    /// Steps (MAB) or agent moves (TTT) played before the prompt is shown.
    #[arg(long, default_value_t = 0)]
    pub steps: usize,
    /// Seed of the run.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::cli::parse_seed)]
    pub seed: u64,
    /// Episode index within the run (the scenario is derive_seed(seed, episode), as in eval).
    #[arg(long, default_value_t = 0)]
    pub episode: u64,

    /// Ask for short step-by-step thinking before ACTION=X (the default).
    #[arg(long, overrides_with = "no_cot")]
    pub cot: bool,
    /// Ask for ACTION=X only.
    #[arg(long)]
    pub no_cot: bool,
    /// MAB: append each arm's count and mean reward after the history.
    #[arg(long)]
    pub summary: bool,
    /// MAB: permute the labels for this step (context randomization).
    #[arg(long)]
    pub randomize: bool,
    /// Wrap in Gemma chat turns (the default).
    #[arg(long, overrides_with = "base")]
    pub chat: bool,
    /// Plain text for base models (no chat turns).
    #[arg(long)]
    pub base: bool,
    /// MAB: the knowing-doing probe (state the UCB rule, compute <ucb_values>, then act).
    #[arg(long)]
    pub knowing_doing: bool,
    /// TTT: do not list the legal moves.
    #[arg(long)]
    pub no_legal_moves: bool,
}

impl PromptArgs {
    /// The environment and agent settings, as `greedy eval` arguments (to share its validation).
    pub fn as_eval_args(&self) -> EvalArgs {
        EvalArgs {
            env: Some(self.env),
            dist: self.dist,
            arms: self.arms,
            sigma: self.sigma,
            gap: self.gap,
            horizon: self.horizon,
            labels: self.labels,
            agent: vec![self.agent.clone()],
            epsilon: self.epsilon,
            movies: self.movies,
            users: self.users,
            movielens: self.movielens.clone(),
            opponent: self.opponent,
            mcts_budget: self.mcts_budget,
            noise_p: self.noise_p,
            first: self.first,
            episodes: Some(1),
            seed: Some(self.seed),
            ..EvalArgs::default()
        }
    }
}

const PROMPT_EXAMPLES: &str = "\
Examples:
  # What the model sees at step 10 of a 5-armed bandit whose first 10 steps were random
  greedy prompt --env mab --arms 5 --agent random --steps 10 --seed 1

  # Action-only, with the per-arm summary and permuted labels, for a base model
  greedy prompt --arms 5 --agent ucb --steps 10 --no-cot --summary --randomize --base

  # The knowing-doing probe
  greedy prompt --arms 5 --agent greedy --steps 8 --knowing-doing

  # A MovieLens-style contextual bandit after 5 LinUCB steps (synthetic tables)
  greedy prompt --env cb --agent linucb --movies 5 --steps 5

  # Tic-tac-toe after two moves of a random agent against MCTS
  greedy prompt --env ttt --opponent mcts --steps 2";
