//! Arguments of `greedy eval`. Every setting can also come from `--config FILE.json`; a flag
//! given on the command line wins over the file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use env_core::{ArmDistribution, MabConfig};
use gpu_trainer::agent::AgentSettings;
use gpu_trainer::envs::{CbSettings, EnvSettings, TttSettings};
pub use gpu_trainer::envs::{DistKind, EnvKind, FirstKind, LabelKind, OpponentKind};
use gpu_trainer::eval::settings::{MAX_EPISODES, MAX_HORIZON, check_f64, check_usize};
use gpu_trainer::eval::{AgentSpec, BaseAgent, EvalSettings};
use gpu_trainer::generate::WeightDType;
use serde::Deserialize;

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
    pub dtype: Option<WeightDType>,
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
    /// Play only shard I of N: the episodes i with i mod N = I, written with a shard.json into
    /// --out (a partial summary, no plots); `greedy merge` joins the N shards into the run.
    #[arg(long, value_name = "I/N", help_heading = "Run")]
    #[serde(skip)]
    pub shard: Option<String>,
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
            shard: self.shard,
            out: self.out.or(other.out),
            json: self.json || other.json,
        }
    }
}

impl EvalArgs {
    /// The library settings of these arguments (already merged with `--config`): validated, the
    /// defaults applied. Every check names the flag, the value and what is allowed, and flags that
    /// do not apply to the chosen environment are rejected rather than silently ignored.
    pub fn settings(&self) -> Result<EvalSettings> {
        let args = self;
        let kind = args.env.unwrap_or(EnvKind::Mab);
        let episodes = check_usize("--episodes", args.episodes.unwrap_or(64), 1, MAX_EPISODES)?;
        let seed = args.seed.unwrap_or(0);
        let epsilon = check_f64("--epsilon", args.epsilon.unwrap_or(0.1), 0.0, 1.0)?;
        let mcts_budget = args.mcts_budget.unwrap_or(200);
        if mcts_budget == 0 || mcts_budget > 1_000_000 {
            bail!("invalid value {mcts_budget} for --mcts-budget: allowed 1..=1000000");
        }
        let env = match kind {
            EnvKind::Mab => {
                reject("--movies", &args.movies, kind, "--env cb")?;
                reject("--users", &args.users, kind, "--env cb")?;
                reject("--movielens", &args.movielens, kind, "--env cb")?;
                reject_ttt(args, kind)?;
                let arms = check_usize("--arms", args.arms.unwrap_or(10), 2, env_core::MAX_ARMS)?;
                let horizon = check_usize("--horizon", args.horizon.unwrap_or(50), 1, MAX_HORIZON)?;
                let distribution = match args.dist.unwrap_or(DistKind::Gaussian) {
                    DistKind::Gaussian => {
                        if args.gap.is_some() {
                            bail!("--gap applies only to --dist bernoulli (use --sigma for gaussian arms)");
                        }
                        ArmDistribution::Gaussian {
                            sigma: check_f64("--sigma", args.sigma.unwrap_or(1.0), 0.0, 1.0e6)?,
                        }
                    }
                    DistKind::Bernoulli => {
                        if args.sigma.is_some() {
                            bail!("--sigma applies only to --dist gaussian (use --gap for bernoulli arms)");
                        }
                        ArmDistribution::Bernoulli {
                            gap: check_f64("--gap", args.gap.unwrap_or(0.2), 0.0, 1.0)?,
                        }
                    }
                };
                let labels = args.labels.unwrap_or(LabelKind::Buttons).into();
                let config = MabConfig { arms, horizon, distribution, labels };
                config.validate().map_err(|e| anyhow::anyhow!("invalid bandit settings: {e}"))?;
                EnvSettings::Mab(config)
            }
            EnvKind::Cb => {
                reject_mab(args, kind)?;
                reject_ttt(args, kind)?;
                let movies = check_usize("--movies", args.movies.unwrap_or(10), 2, env_core::MAX_ARMS)?;
                let users = check_usize("--users", args.users.unwrap_or(100), 1, 1_000_000)?;
                let horizon = check_usize("--horizon", args.horizon.unwrap_or(50), 1, MAX_HORIZON)?;
                if args.movielens.is_some() && args.users.is_some() {
                    bail!(
                        "--users applies only to synthetic data, not with --movielens (which keeps every user who rated a top movie)"
                    );
                }
                if let Some(dir) = &args.movielens
                    && !dir.is_dir()
                {
                    bail!(
                        "invalid value '{}' for --movielens: not a directory (expected one with users.dat, movies.dat, ratings.dat)",
                        dir.display()
                    );
                }
                EnvSettings::Cb(CbSettings { movies, users, movielens: args.movielens.clone(), horizon })
            }
            EnvKind::Ttt => {
                reject_mab(args, kind)?;
                reject("--horizon", &args.horizon, kind, "--env mab and --env cb")?;
                reject("--movies", &args.movies, kind, "--env cb")?;
                reject("--users", &args.users, kind, "--env cb")?;
                reject("--movielens", &args.movielens, kind, "--env cb")?;
                let opponent = args.opponent.unwrap_or(OpponentKind::Random);
                let noise_p = check_f64("--noise-p", args.noise_p.unwrap_or(0.5), 0.0, 1.0)?;
                if args.noise_p.is_some() && opponent != OpponentKind::NoisyMcts {
                    bail!("--noise-p applies only to --opponent noisy-mcts");
                }
                EnvSettings::Ttt(TttSettings {
                    opponent,
                    mcts_budget,
                    noise_p,
                    first: args.first.unwrap_or(FirstKind::Agent),
                })
            }
        };
        let names: Vec<String> = if args.agent.is_empty() {
            match kind {
                EnvKind::Mab => vec!["ucb".into(), "greedy".into(), "random".into()],
                EnvKind::Cb => vec!["linucb".into(), "random".into()],
                EnvKind::Ttt => vec!["minimax".into(), "random".into()],
            }
        } else {
            args.agent.clone()
        };
        let mut agents: Vec<AgentSpec> = Vec::new();
        for n in &names {
            let spec = AgentSpec::parse(n, kind).map_err(anyhow::Error::msg)?;
            if agents.contains(&spec) {
                bail!("invalid value '{n}' for --agent: given twice");
            }
            agents.push(spec);
        }
        let llm = resolve_llm(args, &agents)?;
        if llm.is_some() {
            for (flag, set, applies) in [
                ("--summary", args.summary, EnvKind::Mab),
                ("--randomize", args.randomize, EnvKind::Mab),
                ("--no-legal-moves", args.no_legal_moves, EnvKind::Ttt),
            ] {
                if set && kind != applies {
                    bail!("{flag} does not apply to --env {kind} (it applies to --env {applies})");
                }
            }
        }
        Ok(EvalSettings { env, agents, epsilon, mcts_budget, episodes, seed, llm })
    }
}

/// Rejects a flag that was given but has no meaning for the environment.
fn reject<T>(flag: &str, value: &Option<T>, env: EnvKind, applies_to: &str) -> Result<()> {
    if value.is_some() {
        bail!("{flag} does not apply to --env {env} (it applies to {applies_to})");
    }
    Ok(())
}

/// The LLM agent's settings; its flags are rejected when no agent is `llm`.
fn resolve_llm(args: &EvalArgs, agents: &[AgentSpec]) -> Result<Option<AgentSettings>> {
    let wanted = agents.iter().any(|a| a.base == BaseAgent::Llm);
    if !wanted {
        let given = [
            ("--model", args.model.is_some()),
            ("--dtype", args.dtype.is_some()),
            ("--max-new-tokens", args.max_new_tokens.is_some()),
            ("--temperature", args.temperature.is_some()),
            ("--cot", args.cot),
            ("--no-cot", args.no_cot),
            ("--summary", args.summary),
            ("--randomize", args.randomize),
            ("--base", args.base),
            ("--answer-chars", args.answer_chars.is_some()),
            ("--answer-prefix", args.answer_prefix.is_some()),
            ("--samples", args.samples.is_some()),
            ("--self-correct", args.self_correct),
            ("--no-legal-moves", args.no_legal_moves),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            bail!("{flag} applies only to --agent llm");
        }
        return Ok(None);
    }
    let Some(model) = args.model.clone() else {
        bail!(
            "--agent llm needs --model DIR (a checkpoint directory with config.json, safetensors and tokenizer.json)"
        );
    };
    let max_new_tokens = check_usize("--max-new-tokens", args.max_new_tokens.unwrap_or(256), 1, 32768)?;
    let temperature = args.temperature.unwrap_or(0.0);
    if !temperature.is_finite() || temperature < 0.0 {
        bail!("invalid value {temperature} for --temperature: allowed a number >= 0 (0 = greedy)");
    }
    let samples = check_usize("--samples", args.samples.unwrap_or(1), 1, 64)?;
    if samples > 1 && temperature == 0.0 {
        bail!(
            "--samples {samples} needs --temperature > 0: greedy decoding gives {samples} identical answers (the paper samples at 1.0)"
        );
    }
    Ok(Some(AgentSettings {
        model,
        dtype: args.dtype.unwrap_or_default(),
        max_new_tokens,
        temperature,
        cot: args.cot || !args.no_cot,
        summary: args.summary,
        randomize: args.randomize,
        base: args.base,
        answer_chars: args.answer_chars,
        answer_prefix: args.answer_prefix.clone().unwrap_or_default(),
        legal_moves: !args.no_legal_moves,
        samples,
        self_correct: args.self_correct,
        entropy: false,
    }))
}

fn reject_mab(args: &EvalArgs, kind: EnvKind) -> Result<()> {
    reject("--dist", &args.dist, kind, "--env mab")?;
    reject("--arms", &args.arms, kind, "--env mab (use --movies for cb)")?;
    reject("--sigma", &args.sigma, kind, "--env mab")?;
    reject("--gap", &args.gap, kind, "--env mab")?;
    reject("--labels", &args.labels, kind, "--env mab")
}

fn reject_ttt(args: &EvalArgs, kind: EnvKind) -> Result<()> {
    reject("--opponent", &args.opponent, kind, "--env ttt")?;
    reject("--noise-p", &args.noise_p, kind, "--env ttt")?;
    reject("--first", &args.first, kind, "--env ttt")
}

/// Runs `greedy eval`; returns what to print.
pub fn run(args: EvalArgs) -> Result<String> {
    let args = args.with_config()?;
    let settings = args.settings()?;
    if let Some(shard) = &args.shard {
        return super::eval_shard::run(&args, &settings, shard);
    }
    if let Some(dir) = &args.out {
        crate::io::check_run_dir(dir, "greedy eval", crate::report::files::is_eval_file)?;
    }
    let show = !args.json && std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
    let out = gpu_trainer::eval::run_eval(&settings, &crate::progress::Bar::new(show))?;
    if let Some(dir) = &args.out {
        crate::report::write_run_files(dir, &settings, &out)?;
    }
    if args.json {
        return crate::report::summary_json_lines(&out);
    }
    let mut text = crate::report::summary_table(&out.summaries);
    if let Some(dir) = &args.out {
        text.push_str(&format!(
            "\nwrote {}/{{episodes.jsonl, summary.json, regret.png/svg, coverage.png/svg}}\n",
            dir.display()
        ));
    }
    Ok(text)
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

  # One shard of four (episodes 1, 5, 9, ...) on this machine; the others elsewhere, then merged
  greedy eval --env mab --arms 10 --agent llm --model DIR --episodes 64 --seed 1 --shard 1/4 --out runs/x.1
  greedy merge runs/x.0 runs/x.1 runs/x.2 runs/x.3 --out runs/x

  # The same settings from a file (flags override it)
  echo '{\"env\": \"mab\", \"arms\": 5, \"agent\": [\"ucb\", \"greedy\"]}' > exp.json
  greedy eval --config exp.json --episodes 128

Outputs (with --out DIR): episodes.jsonl (one line per agent and episode), summary.json,
regret.png/.svg and coverage.png/.svg (mean over episodes with a shaded 95% confidence band).";

#[cfg(test)]
mod tests {
    use super::*;

    fn mab() -> EvalArgs {
        EvalArgs { env: Some(EnvKind::Mab), ..EvalArgs::default() }
    }

    #[test]
    fn defaults_are_the_paper_setting() {
        let s = mab().settings().unwrap();
        assert_eq!(s.env, EnvSettings::Mab(MabConfig::default()));
        assert_eq!(s.episodes, 64);
        assert_eq!(s.agents.len(), 3);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = EvalArgs { arms: Some(40), ..mab() }.settings().unwrap_err().to_string();
        assert!(e.contains("--arms") && e.contains("40") && e.contains("2..=32"), "{e}");
        let e = EvalArgs { sigma: Some(-1.0), ..mab() }.settings().unwrap_err().to_string();
        assert!(e.contains("--sigma"), "{e}");
        let e = EvalArgs { opponent: Some(OpponentKind::Mcts), ..mab() }.settings().unwrap_err().to_string();
        assert!(e.contains("--opponent"), "{e}");
        let e = EvalArgs { agent: vec!["minimax".into()], ..mab() }.settings().unwrap_err().to_string();
        assert!(e.contains("--agent") && e.contains("ucb"), "{e}");
        let e = EvalArgs { episodes: Some(0), ..mab() }.settings().unwrap_err().to_string();
        assert!(e.contains("--episodes"), "{e}");
    }
}
