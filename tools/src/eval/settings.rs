//! Validated evaluation settings, resolved from [`EvalArgs`] with defaults applied.
//!
//! Every check names the flag, the value and what is allowed, and flags that do not apply to the
//! chosen environment are rejected rather than silently ignored.

use std::path::PathBuf;

use anyhow::{Result, bail};
use env_core::{ArmDistribution, LabelStyle, MabConfig};

use crate::cli::EvalArgs;
use crate::cli::eval::{DistKind, FirstKind, LabelKind, OpponentKind};
use crate::eval::{AgentSpec, EnvKind};

/// Contextual-bandit settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CbSettings {
    /// Number of movies (arms).
    pub movies: usize,
    /// Number of users of the synthetic table.
    pub users: usize,
    /// MovieLens-1M directory, if real data is used.
    pub movielens: Option<PathBuf>,
    /// Steps per episode.
    pub horizon: usize,
}

/// Tic-tac-toe settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TttSettings {
    /// The opponent.
    pub opponent: OpponentKind,
    /// MCTS simulations per move (mcts agent and opponents).
    pub mcts_budget: u32,
    /// Random-move probability of the noisy MCTS opponent.
    pub noise_p: f64,
    /// Who moves first.
    pub first: FirstKind,
}

/// The environment and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvSettings {
    /// Multi-armed bandit.
    Mab(MabConfig),
    /// Contextual bandit.
    Cb(CbSettings),
    /// Tic-tac-toe.
    Ttt(TttSettings),
}

impl EnvSettings {
    /// Which environment.
    pub fn kind(&self) -> EnvKind {
        match self {
            EnvSettings::Mab(_) => EnvKind::Mab,
            EnvSettings::Cb(_) => EnvKind::Cb,
            EnvSettings::Ttt(_) => EnvKind::Ttt,
        }
    }

    /// Steps per episode for bandits (curves have this length); `None` for tic-tac-toe.
    pub fn horizon(&self) -> Option<usize> {
        match self {
            EnvSettings::Mab(c) => Some(c.horizon),
            EnvSettings::Cb(c) => Some(c.horizon),
            EnvSettings::Ttt(_) => None,
        }
    }

    /// The short label used in outputs (`mab`, `cb`, `ttt`).
    pub fn name(&self) -> String {
        self.kind().to_string()
    }
}

/// Everything `greedy eval` needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    /// Environment.
    pub env: EnvSettings,
    /// Agents, in command-line order.
    pub agents: Vec<AgentSpec>,
    /// Exploration rate of eps-greedy and the `eps:` wrapper.
    pub epsilon: f64,
    /// MCTS simulations per move of the mcts agent.
    pub mcts_budget: u32,
    /// Episodes per agent.
    pub episodes: usize,
    /// Seed of the run.
    pub seed: u64,
    /// The LLM agent's settings, when `--agent llm` is among the agents.
    pub llm: Option<crate::llm::agent::LlmSettings>,
}

/// Largest `--episodes`.
pub const MAX_EPISODES: usize = 1_000_000;
/// Largest `--horizon`.
pub const MAX_HORIZON: usize = 100_000;

fn check_usize(flag: &str, v: usize, min: usize, max: usize) -> Result<usize> {
    if v < min || v > max {
        bail!("invalid value {v} for {flag}: allowed {min}..={max}");
    }
    Ok(v)
}

fn check_f64(flag: &str, v: f64, min: f64, max: f64) -> Result<f64> {
    if !v.is_finite() || v < min || v > max {
        bail!("invalid value {v} for {flag}: allowed a number in {min}..={max}");
    }
    Ok(v)
}

/// Rejects a flag that was given but has no meaning for the environment.
fn reject<T>(flag: &str, value: &Option<T>, env: EnvKind, applies_to: &str) -> Result<()> {
    if value.is_some() {
        bail!("{flag} does not apply to --env {env} (it applies to {applies_to})");
    }
    Ok(())
}

impl EvalSettings {
    /// The same settings with the LLM agent's model at `model` (what a run records when its model
    /// is moved after the run, as `greedy demo` does).
    pub fn with_model(&self, model: &std::path::Path) -> EvalSettings {
        let mut s = self.clone();
        if let Some(l) = &mut s.llm {
            l.model = model.to_path_buf();
        }
        s
    }

    /// Validates `args` (already merged with `--config`) and applies the defaults.
    pub fn resolve(args: &EvalArgs) -> Result<EvalSettings> {
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
                Self::reject_ttt(args, kind)?;
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
                let labels = match args.labels.unwrap_or(LabelKind::Buttons) {
                    LabelKind::Buttons => LabelStyle::Buttons,
                    LabelKind::Numeric => LabelStyle::Numeric,
                };
                let config = MabConfig { arms, horizon, distribution, labels };
                config.validate().map_err(|e| anyhow::anyhow!("invalid bandit settings: {e}"))?;
                EnvSettings::Mab(config)
            }
            EnvKind::Cb => {
                Self::reject_mab(args, kind)?;
                Self::reject_ttt(args, kind)?;
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
                Self::reject_mab(args, kind)?;
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
        let llm = Self::resolve_llm(args, &agents)?;
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

    /// The LLM agent's settings; its flags are rejected when no agent is `llm`.
    fn resolve_llm(args: &EvalArgs, agents: &[AgentSpec]) -> Result<Option<crate::llm::agent::LlmSettings>> {
        let wanted = agents.iter().any(|a| a.base == crate::eval::BaseAgent::Llm);
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
        Ok(Some(crate::llm::agent::LlmSettings {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mab() -> EvalArgs {
        EvalArgs { env: Some(EnvKind::Mab), ..EvalArgs::default() }
    }

    #[test]
    fn defaults_are_the_paper_setting() {
        let s = EvalSettings::resolve(&mab()).unwrap();
        assert_eq!(s.env, EnvSettings::Mab(MabConfig::default()));
        assert_eq!(s.episodes, 64);
        assert_eq!(s.agents.len(), 3);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = EvalSettings::resolve(&EvalArgs { arms: Some(40), ..mab() }).unwrap_err().to_string();
        assert!(e.contains("--arms") && e.contains("40") && e.contains("2..=32"), "{e}");
        let e = EvalSettings::resolve(&EvalArgs { sigma: Some(-1.0), ..mab() }).unwrap_err().to_string();
        assert!(e.contains("--sigma"), "{e}");
        let e = EvalSettings::resolve(&EvalArgs { opponent: Some(OpponentKind::Mcts), ..mab() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("--opponent"), "{e}");
        let e = EvalSettings::resolve(&EvalArgs { agent: vec!["minimax".into()], ..mab() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("--agent") && e.contains("ucb"), "{e}");
        let e = EvalSettings::resolve(&EvalArgs { episodes: Some(0), ..mab() }).unwrap_err().to_string();
        assert!(e.contains("--episodes"), "{e}");
    }
}
