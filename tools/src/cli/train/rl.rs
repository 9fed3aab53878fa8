//! `greedy train rl`: RL fine-tuning on the model's own chain-of-thought (RLFT). Flags (every
//! setting can also come from `--config FILE.json`, keys as the flag names; a flag on the command
//! line wins), the library's [`RlSettings`] (defaults: the paper's, SPEC section 5), the run with
//! a progress bar, the plots and the closing report.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use env_core::agents::Exploration;
use env_core::{ArmDistribution, MabConfig};
use gpu_trainer::agent::AgentSettings;
use gpu_trainer::envs::{CbSettings, DistKind, EnvKind, FirstKind, LabelKind, OpponentKind, TttSettings};
use gpu_trainer::eval::settings::{MAX_HORIZON, check_f64, check_usize};
use gpu_trainer::generate::WeightDType;
use gpu_trainer::rl::advantage::RewardNorm;
use gpu_trainer::rl::settings::ValueSettings;
use gpu_trainer::rl::value::ValueLoss;
use gpu_trainer::rl::{KlEstimator, Objective, OldLogprobs, RlEnv, RlOutcome, RlSettings};
use gpu_trainer::train::learner::{OptimSettings, OptimizerKind};
use serde::Deserialize;
use serde_json::Value;

/// An exploration mechanism while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ExploreArg {
    /// Every untried arm first, with a fixed-template rationale trained as the model's.
    TryAll,
    /// A random arm with probability --epsilon, same template.
    Eps,
}

/// `greedy train rl` arguments.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[command(after_help = RL_EXAMPLES)]
pub struct RlArgs {
    /// Settings file (JSON) with any of these flags as keys (`"updates": 300`); flags on the
    /// command line override it.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// The starting checkpoint (config.json, safetensors, tokenizer.json): the policy's first
    /// weights, and the frozen reference of the KL penalty.
    #[arg(long, value_name = "DIR", help_heading = "Model")]
    pub model: Option<PathBuf>,

    /// Environment: multi-armed (mab) or contextual (cb) bandits, or tic-tac-toe (ttt)
    /// [default: mab].
    #[arg(long, value_enum, help_heading = "Environment")]
    pub env: Option<EnvKind>,
    /// MAB: number of arms [default: 5].
    #[arg(long, help_heading = "Environment")]
    pub arms: Option<usize>,
    /// MAB: reward distribution [default: gaussian].
    #[arg(long, value_enum, help_heading = "Environment")]
    pub dist: Option<DistKind>,
    /// MAB (gaussian): reward standard deviation [default: 1].
    #[arg(long, allow_negative_numbers = true, help_heading = "Environment")]
    pub sigma: Option<f64>,
    /// MAB (bernoulli): the gap between the best arm and the others [default: 0.2].
    #[arg(long, allow_negative_numbers = true, help_heading = "Environment")]
    pub gap: Option<f64>,
    /// MAB: action labels [default: buttons].
    #[arg(long, value_enum, help_heading = "Environment")]
    pub labels: Option<LabelKind>,
    /// Steps per episode [default: 50].
    #[arg(long, help_heading = "Environment")]
    pub horizon: Option<usize>,
    /// CB: number of movies [default: 5].
    #[arg(long, help_heading = "Environment")]
    pub movies: Option<usize>,
    /// CB: users of the synthetic table [default: 100].
    #[arg(long, help_heading = "Environment")]
    pub users: Option<usize>,
    /// CB: MovieLens-1M directory (else synthetic tables).
    #[arg(long, value_name = "DIR", help_heading = "Environment")]
    pub movielens: Option<PathBuf>,
    /// Bandit instances in the training pool [default: 512].
    #[arg(long, help_heading = "Environment")]
    pub pool: Option<usize>,
    /// TTT: the opponent [default: random].
    #[arg(long, value_enum, help_heading = "Environment")]
    pub opponent: Option<OpponentKind>,
    /// TTT: MCTS simulations per move of the (noisy-)mcts opponent and the mcts baseline
    /// [default: 200].
    #[arg(long, help_heading = "Environment")]
    pub mcts_budget: Option<u32>,
    /// TTT: probability that noisy-mcts plays a random move [default: 0.5].
    #[arg(long, allow_negative_numbers = true, help_heading = "Environment")]
    pub noise_p: Option<f64>,
    /// TTT: who moves first [default: agent].
    #[arg(long, value_enum, help_heading = "Environment")]
    pub first: Option<FirstKind>,
    /// TTT: leave the legal moves out of the prompt (the paper's ablation).
    #[arg(long, help_heading = "Environment")]
    #[serde(default)]
    pub no_legal_moves: bool,

    /// Parallel environments per rollout (one batched generation per step) [default: 16].
    #[arg(long, help_heading = "Rollouts")]
    pub envs: Option<usize>,
    /// TTT: agent moves per rollout: waves of --envs whole games until at least this many
    /// [default: 2048].
    #[arg(long, value_name = "N", help_heading = "Rollouts")]
    pub rollout_steps: Option<usize>,
    /// Generation budget G per step, in tokens [default: 256].
    #[arg(long, help_heading = "Rollouts")]
    pub max_new_tokens: Option<usize>,
    /// Thinking-budget ablation: the same run at each of these budgets G (comma-separated), in
    /// OUT/G<g>/, then one table (OUT/ablation.md, .json) and the reward curves of all
    /// (OUT/ablation_reward.png/.svg). Replaces --max-new-tokens.
    #[arg(
        long,
        value_name = "G,G,...",
        value_delimiter = ',',
        conflicts_with = "max_new_tokens",
        help_heading = "Rollouts"
    )]
    #[serde(default)]
    pub budget_ablation: Vec<usize>,
    /// Sampling temperature while training [default: 1; the objective's log-probs are at 1].
    #[arg(long, help_heading = "Rollouts")]
    pub temperature: Option<f32>,
    /// Answer with `ACTION=X` only (default: think step by step first).
    #[arg(long, help_heading = "Rollouts")]
    #[serde(default)]
    pub no_cot: bool,
    /// Each arm's count and mean reward after the history (context summary).
    #[arg(long, help_heading = "Rollouts")]
    #[serde(default)]
    pub summary: bool,
    /// Permute the labels every step (context randomization).
    #[arg(long, help_heading = "Rollouts")]
    #[serde(default)]
    pub randomize: bool,
    /// Plain text without Gemma's chat turns (base models).
    #[arg(long, help_heading = "Rollouts")]
    #[serde(default)]
    pub base: bool,
    /// Text appended to every prompt; the answer is read as it + the generated text.
    #[arg(long, value_name = "TEXT", help_heading = "Rollouts")]
    pub answer_prefix: Option<String>,
    /// Self-correction: the answer is shown back with a request to check it; only the final
    /// answer is trained on.
    #[arg(long, help_heading = "Rollouts")]
    #[serde(default)]
    pub self_correct: bool,
    /// Exploration mechanism while training; repeat for several (outermost first).
    #[arg(long, value_enum, help_heading = "Rollouts")]
    #[serde(default)]
    pub explore: Vec<ExploreArg>,
    /// Exploration probability of `--explore eps` [default: 0.1].
    #[arg(long, help_heading = "Rollouts")]
    pub epsilon: Option<f64>,

    /// +1 reward for an arm not tried before in the episode (exploration bonus).
    #[arg(long, help_heading = "Rewards")]
    #[serde(default)]
    pub explore_bonus: bool,
    /// Reward added when an answer names no valid action (a seeded random action is played)
    /// [default: -5].
    #[arg(long, allow_negative_numbers = true, help_heading = "Rewards")]
    pub invalid_penalty: Option<f64>,
    /// How the environment's rewards are normalised before the shaping [default: rollout on
    /// bandits, none on ttt].
    #[arg(long, value_enum, help_heading = "Rewards")]
    pub reward_norm: Option<RewardNorm>,
    /// Discount of the rewards-to-go (and of GAE) [default: 1].
    #[arg(long, help_heading = "Rewards")]
    pub gamma: Option<f64>,

    /// A value head on the final-norm hidden state (value_head.safetensors beside the policy,
    /// zero-initialised when absent) and GAE advantages [default: true for ttt, false for
    /// bandits].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL", help_heading = "Value head")]
    pub value_head: Option<bool>,
    /// Weight of the value loss, mean 0.5 (V - return)^2 [default: 0.1].
    #[arg(long, help_heading = "Value head")]
    pub vf_coef: Option<f32>,
    /// PPO2 value clipping around the rollout's values [default: off].
    #[arg(long, help_heading = "Value head")]
    pub value_clip: Option<f32>,
    /// GAE's lambda [default: 0.95].
    #[arg(long, help_heading = "Value head")]
    pub gae_lambda: Option<f64>,
    /// The value head's peak learning rate, on the policy's schedule [default: 10 x --lr].
    #[arg(long, help_heading = "Value head")]
    pub value_lr: Option<f64>,

    /// Optimizer steps (the paper's "updates") [default: 300].
    #[arg(long, help_heading = "Optimization")]
    pub updates: Option<u64>,
    /// Step-samples per update [default: 128].
    #[arg(long, help_heading = "Optimization")]
    pub batch: Option<usize>,
    /// Step-samples per forward/backward [default: --batch].
    #[arg(long, help_heading = "Optimization")]
    pub micro_batch: Option<usize>,
    /// Passes over each rollout's samples [default: 1 on bandits, 2 on ttt].
    #[arg(long, help_heading = "Optimization")]
    pub epochs: Option<usize>,
    /// Peak learning rate [default: 1e-4].
    #[arg(long, help_heading = "Optimization")]
    pub lr: Option<f64>,
    /// Linear warm-up updates [default: 100, at most --updates].
    #[arg(long, help_heading = "Optimization")]
    pub warmup: Option<u64>,
    /// Learning rate at the end of the cosine decay [default: 1e-6].
    #[arg(long, help_heading = "Optimization")]
    pub min_lr: Option<f64>,
    /// Optimizer [default: adafactor].
    #[arg(long, value_enum, help_heading = "Optimization")]
    pub optimizer: Option<OptimizerKind>,
    /// Global gradient-norm clip, 0 = none [default: 1].
    #[arg(long, help_heading = "Optimization")]
    pub clip: Option<f64>,
    /// AdamW's decoupled weight decay [default: 0].
    #[arg(long, help_heading = "Optimization")]
    pub weight_decay: Option<f64>,
    /// PPO clip range epsilon [default: 0.2].
    #[arg(long, help_heading = "Optimization")]
    pub clip_eps: Option<f32>,
    /// KL coefficient beta [default: 0.05].
    #[arg(long, help_heading = "Optimization")]
    pub kl_coef: Option<f32>,
    /// Per-token KL estimator [default: k3].
    #[arg(long, value_enum, help_heading = "Optimization")]
    pub kl: Option<KlEstimator>,
    /// Where the old (sampling) log-probs come from [default: generation].
    #[arg(long, value_enum, help_heading = "Optimization")]
    pub old_logprobs: Option<OldLogprobs>,
    /// Leave completions the budget cut (no stop token) out of the loss.
    #[arg(long, help_heading = "Optimization")]
    #[serde(default)]
    pub mask_truncated: bool,
    /// Weight precision of the reference model on the GPU is bf16; the policy trains in f32.
    #[arg(skip)]
    #[serde(skip)]
    pub _dtype: Option<WeightDType>,

    /// Evaluate every N updates on held-out instances with greedy decoding (0: at the start and
    /// the end only) [default: 100].
    #[arg(long, help_heading = "Run")]
    pub eval_every: Option<u64>,
    /// Held-out evaluation episodes [default: 64].
    #[arg(long, help_heading = "Run")]
    pub eval_episodes: Option<usize>,
    /// Checkpoint at the first rollout boundary after every N updates (and at the end)
    /// [default: 100].
    #[arg(long, help_heading = "Run")]
    pub save_every: Option<u64>,
    /// Keep the newest N checkpoints [default: 3].
    #[arg(long, help_heading = "Run")]
    pub keep_checkpoints: Option<usize>,
    /// Seed of everything [default: 0].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::parse_seed, help_heading = "Run")]
    pub seed: Option<u64>,
    /// Run directory: checkpoint-<update>/ (HF layout, loadable by every command), log.jsonl,
    /// plots, settings.json [default: runs/rl].
    #[arg(long, value_name = "DIR", help_heading = "Run")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its newest checkpoint (bit for bit).
    #[arg(long, help_heading = "Run")]
    #[serde(default)]
    pub resume: bool,
    /// Stop (and save) after this update although the schedule spans --updates; --resume goes on.
    #[arg(long, help_heading = "Run")]
    pub stop_at: Option<u64>,
    /// No progress bar.
    #[arg(long, help_heading = "Run")]
    #[serde(default)]
    pub quiet: bool,
}

impl RlArgs {
    /// These arguments with the unset ones taken from `--config`, if given.
    pub fn with_config(self) -> Result<RlArgs> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--config: cannot read {}", path.display()))?;
        let file: RlArgs = serde_json::from_str(&text)
            .with_context(|| format!("--config: {} is not a valid settings file", path.display()))?;
        Ok(self.or(file))
    }

    /// Each setting from `self` if set, else from `other`.
    fn or(self, o: RlArgs) -> RlArgs {
        RlArgs {
            config: self.config,
            model: self.model.or(o.model),
            env: self.env.or(o.env),
            arms: self.arms.or(o.arms),
            dist: self.dist.or(o.dist),
            sigma: self.sigma.or(o.sigma),
            gap: self.gap.or(o.gap),
            labels: self.labels.or(o.labels),
            horizon: self.horizon.or(o.horizon),
            movies: self.movies.or(o.movies),
            users: self.users.or(o.users),
            movielens: self.movielens.or(o.movielens),
            pool: self.pool.or(o.pool),
            opponent: self.opponent.or(o.opponent),
            mcts_budget: self.mcts_budget.or(o.mcts_budget),
            noise_p: self.noise_p.or(o.noise_p),
            first: self.first.or(o.first),
            no_legal_moves: self.no_legal_moves || o.no_legal_moves,
            envs: self.envs.or(o.envs),
            rollout_steps: self.rollout_steps.or(o.rollout_steps),
            max_new_tokens: self.max_new_tokens.or(o.max_new_tokens),
            budget_ablation: if self.budget_ablation.is_empty() {
                o.budget_ablation
            } else {
                self.budget_ablation
            },
            temperature: self.temperature.or(o.temperature),
            no_cot: self.no_cot || o.no_cot,
            summary: self.summary || o.summary,
            randomize: self.randomize || o.randomize,
            base: self.base || o.base,
            answer_prefix: self.answer_prefix.or(o.answer_prefix),
            self_correct: self.self_correct || o.self_correct,
            explore: if self.explore.is_empty() { o.explore } else { self.explore },
            epsilon: self.epsilon.or(o.epsilon),
            explore_bonus: self.explore_bonus || o.explore_bonus,
            invalid_penalty: self.invalid_penalty.or(o.invalid_penalty),
            reward_norm: self.reward_norm.or(o.reward_norm),
            gamma: self.gamma.or(o.gamma),
            value_head: self.value_head.or(o.value_head),
            vf_coef: self.vf_coef.or(o.vf_coef),
            value_clip: self.value_clip.or(o.value_clip),
            gae_lambda: self.gae_lambda.or(o.gae_lambda),
            value_lr: self.value_lr.or(o.value_lr),
            updates: self.updates.or(o.updates),
            batch: self.batch.or(o.batch),
            micro_batch: self.micro_batch.or(o.micro_batch),
            epochs: self.epochs.or(o.epochs),
            lr: self.lr.or(o.lr),
            warmup: self.warmup.or(o.warmup),
            min_lr: self.min_lr.or(o.min_lr),
            optimizer: self.optimizer.or(o.optimizer),
            clip: self.clip.or(o.clip),
            weight_decay: self.weight_decay.or(o.weight_decay),
            clip_eps: self.clip_eps.or(o.clip_eps),
            kl_coef: self.kl_coef.or(o.kl_coef),
            kl: self.kl.or(o.kl),
            old_logprobs: self.old_logprobs.or(o.old_logprobs),
            mask_truncated: self.mask_truncated || o.mask_truncated,
            _dtype: None,
            eval_every: self.eval_every.or(o.eval_every),
            eval_episodes: self.eval_episodes.or(o.eval_episodes),
            save_every: self.save_every.or(o.save_every),
            keep_checkpoints: self.keep_checkpoints.or(o.keep_checkpoints),
            seed: self.seed.or(o.seed),
            out: self.out.or(o.out),
            resume: self.resume || o.resume,
            stop_at: self.stop_at.or(o.stop_at),
            quiet: self.quiet || o.quiet,
        }
    }

    /// The library settings (already merged with `--config`): validated, the paper's defaults
    /// applied. Every check names the flag, the value and what is allowed; flags that do not
    /// apply are rejected.
    pub fn settings(&self) -> Result<RlSettings> {
        let model = self.model.clone().context(
            "give --model DIR: the starting checkpoint (config.json, safetensors, tokenizer.json)",
        )?;
        if !model.join("config.json").is_file() || !model.join("tokenizer.json").is_file() {
            bail!(
                "--model {}: expected a checkpoint directory with config.json and tokenizer.json",
                model.display()
            );
        }
        let horizon = check_usize("--horizon", self.horizon.unwrap_or(50), 1, MAX_HORIZON)?;
        let env = match self.env.unwrap_or(EnvKind::Mab) {
            EnvKind::Mab => {
                reject_flags(
                    &[
                        ("--movies", self.movies.is_some()),
                        ("--users", self.users.is_some()),
                        ("--movielens", self.movielens.is_some()),
                    ],
                    "applies only to --env cb",
                )?;
                let arms = check_usize("--arms", self.arms.unwrap_or(5), 2, env_core::MAX_ARMS)?;
                let distribution = match self.dist.unwrap_or(DistKind::Gaussian) {
                    DistKind::Gaussian => {
                        if self.gap.is_some() {
                            bail!("--gap applies only to --dist bernoulli");
                        }
                        ArmDistribution::Gaussian {
                            sigma: check_f64("--sigma", self.sigma.unwrap_or(1.0), 0.0, 1e6)?,
                        }
                    }
                    DistKind::Bernoulli => {
                        if self.sigma.is_some() {
                            bail!("--sigma applies only to --dist gaussian");
                        }
                        ArmDistribution::Bernoulli {
                            gap: check_f64("--gap", self.gap.unwrap_or(0.2), 0.0, 1.0)?,
                        }
                    }
                };
                let labels = self.labels.unwrap_or(LabelKind::Buttons).into();
                let config = MabConfig { arms, horizon, distribution, labels };
                config.validate().map_err(|e| anyhow::anyhow!("invalid bandit settings: {e}"))?;
                RlEnv::Mab(config)
            }
            EnvKind::Cb => {
                reject_flags(
                    &[
                        ("--arms", self.arms.is_some()),
                        ("--dist", self.dist.is_some()),
                        ("--sigma", self.sigma.is_some()),
                        ("--gap", self.gap.is_some()),
                        ("--labels", self.labels.is_some()),
                        ("--summary", self.summary),
                        ("--randomize", self.randomize),
                    ],
                    "does not apply to --env cb",
                )?;
                let movies = check_usize("--movies", self.movies.unwrap_or(5), 2, env_core::MAX_ARMS)?;
                let users = check_usize("--users", self.users.unwrap_or(100), 1, 1_000_000)?;
                if let Some(d) = &self.movielens
                    && !d.is_dir()
                {
                    bail!("invalid value '{}' for --movielens: not a directory", d.display());
                }
                RlEnv::Cb(CbSettings { movies, users, movielens: self.movielens.clone(), horizon })
            }
            EnvKind::Ttt => {
                reject_flags(
                    &[
                        ("--arms", self.arms.is_some()),
                        ("--dist", self.dist.is_some()),
                        ("--sigma", self.sigma.is_some()),
                        ("--gap", self.gap.is_some()),
                        ("--labels", self.labels.is_some()),
                        ("--horizon", self.horizon.is_some()),
                        ("--movies", self.movies.is_some()),
                        ("--users", self.users.is_some()),
                        ("--movielens", self.movielens.is_some()),
                        ("--pool", self.pool.is_some()),
                        ("--summary", self.summary),
                        ("--randomize", self.randomize),
                        ("--explore", !self.explore.is_empty()),
                        ("--explore-bonus", self.explore_bonus),
                    ],
                    "does not apply to --env ttt",
                )?;
                let opponent = self.opponent.unwrap_or(OpponentKind::Random);
                let mcts_budget = self.mcts_budget.unwrap_or(200);
                if mcts_budget == 0 || mcts_budget > 1_000_000 {
                    bail!("invalid value {mcts_budget} for --mcts-budget: allowed 1..=1000000");
                }
                let noise_p = check_f64("--noise-p", self.noise_p.unwrap_or(0.5), 0.0, 1.0)?;
                if self.noise_p.is_some() && opponent != OpponentKind::NoisyMcts {
                    bail!("--noise-p applies only to --opponent noisy-mcts");
                }
                RlEnv::Ttt(TttSettings {
                    opponent,
                    mcts_budget,
                    noise_p,
                    first: self.first.unwrap_or(FirstKind::Agent),
                })
            }
        };
        let ttt = matches!(env, RlEnv::Ttt(_));
        if !ttt {
            reject_flags(
                &[
                    ("--opponent", self.opponent.is_some()),
                    ("--mcts-budget", self.mcts_budget.is_some()),
                    ("--noise-p", self.noise_p.is_some()),
                    ("--first", self.first.is_some()),
                    ("--no-legal-moves", self.no_legal_moves),
                    ("--rollout-steps", self.rollout_steps.is_some()),
                ],
                "applies only to --env ttt",
            )?;
        }
        let rollout_steps = if ttt {
            check_usize("--rollout-steps", self.rollout_steps.unwrap_or(2048), 1, 1 << 24)?
        } else {
            0
        };
        let value = if self.value_head.unwrap_or(ttt) {
            let vf_coef = self.vf_coef.unwrap_or(0.1);
            if !(vf_coef.is_finite() && vf_coef >= 0.0) {
                bail!("invalid value {vf_coef} for --vf-coef: allowed a number >= 0");
            }
            if let Some(c) = self.value_clip
                && !(c.is_finite() && c > 0.0)
            {
                bail!("invalid value {c} for --value-clip: allowed a number > 0");
            }
            let lambda = check_f64("--gae-lambda", self.gae_lambda.unwrap_or(0.95), 0.0, 1.0)?;
            let policy_lr = self.lr.unwrap_or(1e-4);
            let lr = check_f64("--value-lr", self.value_lr.unwrap_or(10.0 * policy_lr), 0.0, 10.0)?;
            Some(ValueSettings { loss: ValueLoss { vf_coef, clip: self.value_clip }, lambda, lr })
        } else {
            reject_flags(
                &[
                    ("--vf-coef", self.vf_coef.is_some()),
                    ("--value-clip", self.value_clip.is_some()),
                    ("--gae-lambda", self.gae_lambda.is_some()),
                    ("--value-lr", self.value_lr.is_some()),
                ],
                "applies only with the value head (--value-head)",
            )?;
            None
        };
        let pool = check_usize("--pool", self.pool.unwrap_or(512), 1, 1 << 24)?;
        let envs = check_usize("--envs", self.envs.unwrap_or(16), 1, 1 << 16)?;
        let updates = self.updates.unwrap_or(300);
        if updates == 0 || updates > 100_000_000 {
            bail!("invalid value {updates} for --updates: allowed 1..=100000000");
        }
        let batch = check_usize("--batch", self.batch.unwrap_or(128), 1, 1 << 20)?;
        let micro_batch = check_usize("--micro-batch", self.micro_batch.unwrap_or(batch), 1, batch)?;
        let epochs = check_usize("--epochs", self.epochs.unwrap_or(if ttt { 2 } else { 1 }), 1, 1000)?;
        let lr = check_f64("--lr", self.lr.unwrap_or(1e-4), 1e-12, 10.0)?;
        let warmup = self.warmup.unwrap_or(100.min(updates));
        if warmup > updates {
            bail!("invalid value {warmup} for --warmup: allowed 0..={updates} (--updates)");
        }
        let min_lr = check_f64("--min-lr", self.min_lr.unwrap_or(1e-6_f64.min(lr)), 0.0, lr)?;
        let clip = match check_f64("--clip", self.clip.unwrap_or(1.0), 0.0, 1e12)? {
            0.0 => None,
            c => Some(c),
        };
        let kind = self.optimizer.unwrap_or(OptimizerKind::Adafactor);
        let weight_decay = check_f64("--weight-decay", self.weight_decay.unwrap_or(0.0), 0.0, 1.0)?;
        if kind == OptimizerKind::Adafactor && weight_decay != 0.0 {
            bail!("--weight-decay applies only to --optimizer adamw");
        }
        let clip_eps = self.clip_eps.unwrap_or(0.2);
        if !(clip_eps > 0.0 && clip_eps < 1.0) {
            bail!("invalid value {clip_eps} for --clip-eps: allowed a number in (0, 1)");
        }
        let kl_coef = self.kl_coef.unwrap_or(0.05);
        if !(kl_coef.is_finite() && kl_coef >= 0.0) {
            bail!("invalid value {kl_coef} for --kl-coef: allowed a number >= 0");
        }
        let temperature = self.temperature.unwrap_or(1.0);
        if !(temperature.is_finite() && temperature > 0.0) {
            bail!(
                "invalid value {temperature} for --temperature: RL samples, allowed a number > 0 (the paper: 1)"
            );
        }
        let max_new_tokens = check_usize("--max-new-tokens", self.max_new_tokens.unwrap_or(256), 1, 32768)?;
        let epsilon = check_f64("--epsilon", self.epsilon.unwrap_or(0.1), 0.0, 1.0)?;
        let explore: Vec<Exploration> = self
            .explore
            .iter()
            .map(|e| match e {
                ExploreArg::TryAll => Exploration::TryAll,
                ExploreArg::Eps => Exploration::Epsilon,
            })
            .collect();
        if matches!(env, RlEnv::Cb(_)) && (!explore.is_empty() || self.explore_bonus) {
            bail!("--explore and --explore-bonus apply to --env mab");
        }
        if self.epsilon.is_some() && !explore.contains(&Exploration::Epsilon) {
            bail!("--epsilon applies only with --explore eps");
        }
        let gamma = check_f64("--gamma", self.gamma.unwrap_or(1.0), 0.0, 1.0)?;
        let invalid_penalty =
            check_f64("--invalid-penalty", self.invalid_penalty.unwrap_or(-5.0), -1e6, 0.0)?;
        let eval_every = self.eval_every.unwrap_or(100);
        let eval_episodes = check_usize("--eval-episodes", self.eval_episodes.unwrap_or(64), 1, 100_000)?;
        let save_every = self.save_every.unwrap_or(100);
        if save_every == 0 {
            bail!("invalid value 0 for --save-every: allowed 1 or more");
        }
        let keep_checkpoints =
            check_usize("--keep-checkpoints", self.keep_checkpoints.unwrap_or(3), 1, 1_000_000)?;
        let stop_at = self.stop_at.unwrap_or(updates);
        if stop_at == 0 || stop_at > updates {
            bail!("invalid value {stop_at} for --stop-at: allowed 1..={updates} (--updates)");
        }
        if ttt && rollout_steps < batch {
            bail!("--rollout-steps {rollout_steps} holds no full --batch {batch}");
        }
        if !ttt && envs * horizon < batch {
            bail!(
                "a rollout of --envs {envs} x --horizon {horizon} = {} samples holds no full --batch {batch}",
                envs * horizon
            );
        }
        let agent = AgentSettings {
            model: model.clone(),
            dtype: WeightDType::F32,
            max_new_tokens,
            temperature,
            cot: !self.no_cot,
            summary: self.summary,
            randomize: self.randomize,
            base: self.base,
            answer_prefix: self.answer_prefix.clone().unwrap_or_default(),
            answer_chars: None,
            legal_moves: !self.no_legal_moves,
            samples: 1,
            self_correct: self.self_correct,
            entropy: true,
        };
        Ok(RlSettings {
            model,
            env,
            pool,
            envs,
            rollout_steps,
            value,
            updates,
            batch,
            micro_batch,
            epochs,
            optim: OptimSettings { kind, lr, warmup, min_lr, clip, weight_decay },
            objective: Objective { clip_eps, kl_coef, kl: self.kl.unwrap_or(KlEstimator::K3) },
            agent,
            explore,
            epsilon,
            explore_bonus: self.explore_bonus,
            invalid_penalty,
            reward_norm: self.reward_norm.unwrap_or(if ttt { RewardNorm::None } else { RewardNorm::Rollout }),
            gamma,
            old_logprobs: self.old_logprobs.unwrap_or(OldLogprobs::Generation),
            mask_truncated: self.mask_truncated,
            eval_every,
            eval_episodes,
            save_every,
            keep_checkpoints,
            seed: self.seed.unwrap_or(0),
            out: self.out.clone().unwrap_or_else(|| PathBuf::from("runs/rl")),
            resume: self.resume,
            stop_at,
        })
    }
}

/// An error naming the first of `flags` that is set: "<flag> <why>".
fn reject_flags(flags: &[(&str, bool)], why: &str) -> Result<()> {
    match flags.iter().find(|(_, set)| *set) {
        Some((flag, _)) => bail!("{flag} {why}"),
        None => Ok(()),
    }
}

/// Runs `greedy train rl`; returns what to print.
pub fn run(args: RlArgs) -> Result<String> {
    let args = args.with_config()?;
    let settings = args.settings()?;
    if !args.budget_ablation.is_empty() {
        if args.max_new_tokens.is_some() {
            bail!("--budget-ablation sets the budget of each run: leave out --max-new-tokens");
        }
        return super::ablation::run(&settings, &args.budget_ablation, args.quiet);
    }
    let stop = crate::signals::StopRequest::install()?;
    let bar = crate::progress::Bar::on_terminal(args.quiet);
    let outcome = gpu_trainer::rl::run_rl(&settings, &bar, stop.flag())?;
    crate::plot::rl::write_rl_plots(&settings.out, &outcome.rows)?;
    if outcome.interrupted {
        return Err(crate::signals::Interrupted(format!(
            "interrupted at update {}/{}: checkpoint saved in {}; run the same command with --resume to continue",
            outcome.update,
            settings.updates,
            outcome.checkpoint.display()
        ))
        .into());
    }
    Ok(describe(&settings, &outcome))
}

/// The closing report: the held-out evaluation at the start and now, and where things are.
pub fn describe(s: &RlSettings, o: &RlOutcome) -> String {
    let mut out = String::new();
    let evals: Vec<&Value> = o.rows.iter().filter(|r| r["eval"].as_bool().unwrap_or(false)).collect();
    let updates: Vec<&Value> = o.rows.iter().filter(|r| r["loss"].is_number()).collect();
    let _ = writeln!(out, "updates {}/{} on {} in {:.0} s", o.update, s.updates, o.device, o.seconds);
    let f = |v: &Value, k: &str| v[k].as_f64().map_or("-".to_string(), |x| format!("{x:.3}"));
    if let (Some(first), Some(last)) = (updates.first(), updates.last()) {
        let _ = writeln!(
            out,
            "rollout reward {} -> {}, invalid {} -> {}, kl {} -> {}",
            f(first, "reward"),
            f(last, "reward"),
            f(first, "invalid_rate"),
            f(last, "invalid_rate"),
            f(first, "kl"),
            f(last, "kl")
        );
    }
    let ttt = matches!(s.env, RlEnv::Ttt(_));
    if let (Some(first), Some(last)) = (evals.first(), evals.last()) {
        let _ = writeln!(out, "\nheld-out evaluation ({} episodes, greedy decoding):", first["episodes"]);
        if ttt {
            let _ = writeln!(
                out,
                "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>10}",
                "player", "return", "win", "draw", "loss", "invalid"
            );
            let baselines = o.rows.iter().filter(|r| r["baseline"].is_string());
            let llm = [first, last].into_iter().map(|e| (format!("llm @{}", e["update"]), *e));
            for (name, e) in
                baselines.map(|b| (b["baseline"].as_str().unwrap_or("?").to_string(), b)).chain(llm)
            {
                let _ = writeln!(
                    out,
                    "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>10}",
                    name,
                    f(e, "return"),
                    f(e, "win_rate"),
                    f(e, "draw_rate"),
                    f(e, "loss_rate"),
                    f(e, "invalid_rate")
                );
            }
        } else {
            let _ = writeln!(
                out,
                "  {:<8} {:>10} {:>10} {:>12} {:>10}",
                "update", "regret", "coverage", "suffix fail", "invalid"
            );
            for e in [first, last] {
                let _ = writeln!(
                    out,
                    "  {:<8} {:>10} {:>10} {:>12} {:>10}",
                    e["update"],
                    f(e, "regret"),
                    f(e, "coverage"),
                    f(e, "suffix_failure"),
                    f(e, "invalid_rate")
                );
            }
        }
    }
    if s.value.is_some()
        && let (Some(first), Some(last)) = (updates.first(), updates.last())
    {
        let _ = writeln!(
            out,
            "value head: value_loss {} -> {}, explained variance {} -> {}",
            f(first, "value_loss"),
            f(last, "value_loss"),
            f(first, "explained_variance"),
            f(last, "explained_variance")
        );
    }
    let plots = if ttt {
        "reward,kl,eval_return,eval_win_rate,value_loss,explained_variance"
    } else {
        "reward,kl,eval_coverage,eval_regret"
    };
    let _ = writeln!(
        out,
        "\nmodel: {}\nlog: {}/log.jsonl, plots: {}/{{{plots}}}.png",
        o.checkpoint.display(),
        s.out.display(),
        s.out.display()
    );
    out
}

const RL_EXAMPLES: &str = "\
Examples:
  # The paper's settings (SPEC section 5) on 5-armed Gaussian bandits
  greedy train rl --model models/gemma-2-2b-it --env mab --arms 5 --horizon 50 --envs 16 --updates 300 \\
      --max-new-tokens 256 --seed 1 --out runs/rl

  # The exploration mechanisms while training: try-all, and the +1 bonus for untried arms
  greedy train rl --model DIR --arms 5 --explore try-all --out runs/rl-tryall
  greedy train rl --model DIR --arms 5 --explore-bonus --out runs/rl-bonus

  # Contextual bandit (synthetic MovieLens-shaped tables, or --movielens DIR)
  greedy train rl --model DIR --env cb --movies 5 --horizon 50 --out runs/rl-cb

  # Tic-tac-toe against the random opponent (the paper: 2048 moves per rollout, 2 epochs); a
  # value head on the final-norm hidden state, GAE (gamma 1, lambda 0.95)
  greedy train rl --model DIR --env ttt --opponent random --rollout-steps 2048 --epochs 2 --out runs/rl-ttt
  # ... without the legal moves in the prompt (the ablation), and against MCTS
  greedy train rl --model DIR --env ttt --no-legal-moves --out runs/rl-ttt-nolegal
  greedy train rl --model DIR --env ttt --opponent mcts --mcts-budget 1000 --out runs/rl-ttt-mcts

  # A small run on a CPU (software Vulkan driver), then the same flags plus --resume to go on
  greedy train rl --model runs/sft/checkpoint --arms 5 --horizon 10 --envs 8 --batch 16 \\
      --updates 60 --max-new-tokens 64 --eval-every 20 --eval-episodes 16 --out runs/rl-small
  greedy train rl --config rl.json --resume

Outputs in --out: checkpoint-<update>/ (HF layout: model.safetensors, config.json, tokenizer.json,
optimizer.safetensors, trainer_state.json; written atomically), log.jsonl (one row per update:
reward, reward_std, kl, clip_frac, entropy, completion_length, invalid_rate, pg_loss, grad_norm,
lr, time split; with a value head value_loss and explained_variance; evaluation rows with
\"eval\": true, tic-tac-toe's win/draw/loss rates, and the random/minimax/mcts baselines on the
same games with \"baseline\"), reward/kl/eval_*/value plots .png/.svg, settings.json; with a
value head value_head.safetensors in each checkpoint (the policy stays a plain HF checkpoint).";
