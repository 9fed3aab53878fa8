//! Agent names on the command line: a base agent, optionally wrapped by exploration mechanisms.
//!
//! Grammar: `[wrapper:]*base`, e.g. `ucb`, `try-all:greedy`, `eps:greedy`, `try-all:eps:greedy`,
//! `try-all:llm`, `eps:llm` (`eps-greedy:` is another name of `eps:`).
//! Which names are valid depends on the environment (see [`AgentSpec::parse`]).

use std::fmt;

use crate::envs::EnvKind;

/// A base agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseAgent {
    /// UCB with the paper's rule, mean + sqrt(1/N) (MAB).
    Ucb,
    /// UCB with mean + sqrt(0.5 ln t / N) (MAB).
    UcbLog,
    /// Thompson sampling (MAB).
    Thompson,
    /// Epsilon-greedy with `--epsilon` (MAB).
    EpsGreedy,
    /// Always the best mean among tried arms (MAB).
    Greedy,
    /// Uniformly random action (every environment).
    Random,
    /// LinUCB (CB).
    LinUcb,
    /// Perfect play by minimax search (TTT).
    Minimax,
    /// Monte-Carlo tree search with `--mcts-budget` simulations (TTT).
    Mcts,
    /// A language model (`--model DIR`) reading the env-core prompt (MAB).
    Llm,
}

/// An exploration mechanism wrapped around an agent (SPEC section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// Play every untried arm first.
    TryAll,
    /// With probability `--epsilon` play a uniformly random arm.
    Eps,
}

/// A parsed `--agent` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// Wrappers, outermost first.
    pub wrappers: Vec<Wrapper>,
    /// The agent inside the wrappers.
    pub base: BaseAgent,
}

const BASES: &[(&str, BaseAgent, &[EnvKind])] = &[
    ("ucb", BaseAgent::Ucb, &[EnvKind::Mab]),
    ("ucb-log", BaseAgent::UcbLog, &[EnvKind::Mab]),
    ("thompson", BaseAgent::Thompson, &[EnvKind::Mab]),
    ("eps-greedy", BaseAgent::EpsGreedy, &[EnvKind::Mab]),
    ("greedy", BaseAgent::Greedy, &[EnvKind::Mab]),
    ("random", BaseAgent::Random, &[EnvKind::Mab, EnvKind::Cb, EnvKind::Ttt]),
    ("linucb", BaseAgent::LinUcb, &[EnvKind::Cb]),
    ("minimax", BaseAgent::Minimax, &[EnvKind::Ttt]),
    ("mcts", BaseAgent::Mcts, &[EnvKind::Ttt]),
    ("llm", BaseAgent::Llm, &[EnvKind::Mab, EnvKind::Cb, EnvKind::Ttt]),
];

/// Wrapper names; the first one of each wrapper is its canonical name.
const WRAPPERS: &[(&str, Wrapper)] =
    &[("try-all", Wrapper::TryAll), ("eps", Wrapper::Eps), ("eps-greedy", Wrapper::Eps)];

/// The agent names valid for `env`, wrappers included, for help and error messages.
pub fn allowed_agents(env: EnvKind) -> String {
    let mut names: Vec<&str> =
        BASES.iter().filter(|(_, _, envs)| envs.contains(&env)).map(|(n, _, _)| *n).collect();
    if env == EnvKind::Mab {
        names.push("try-all:<agent>");
        names.push("eps:<agent>");
    }
    names.join(", ")
}

impl AgentSpec {
    /// Parses `text` for environment `env`; the error says what is allowed.
    pub fn parse(text: &str, env: EnvKind) -> Result<AgentSpec, String> {
        let bad = |why: String| {
            format!(
                "invalid value '{text}' for --agent: {why} (allowed for --env {env}: {})",
                allowed_agents(env)
            )
        };
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let (base_name, wrapper_names) = parts.split_last().expect("split gives at least one part");
        let mut wrappers = Vec::new();
        for w in wrapper_names {
            let Some((_, wr)) = WRAPPERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) else {
                return Err(bad(format!("unknown wrapper '{w}'")));
            };
            if env != EnvKind::Mab {
                return Err(bad(format!("wrappers apply only to --env mab, not to {env}")));
            }
            wrappers.push(*wr);
        }
        let Some((_, base, envs)) = BASES.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(base_name)) else {
            return Err(bad(format!("unknown agent '{base_name}'")));
        };
        if !envs.contains(&env) {
            return Err(bad(format!("agent '{base_name}' does not play {env}")));
        }
        Ok(AgentSpec { wrappers, base: *base })
    }

    /// The canonical name (lower case, as parsed).
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The wrappers as env-core's exploration mechanisms, outermost first (the LLM agent's).
    pub fn explorations(&self) -> Vec<env_core::agents::Exploration> {
        self.wrappers
            .iter()
            .map(|w| match w {
                Wrapper::TryAll => env_core::agents::Exploration::TryAll,
                Wrapper::Eps => env_core::agents::Exploration::Epsilon,
            })
            .collect()
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in &self.wrappers {
            let name = WRAPPERS.iter().find(|(_, x)| x == w).map(|(n, _)| *n).unwrap_or("?");
            write!(f, "{name}:")?;
        }
        let name = BASES.iter().find(|(_, b, _)| *b == self.base).map(|(n, _, _)| *n).unwrap_or("?");
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrappers_and_checks_env() {
        let s = AgentSpec::parse("try-all:EPS:greedy", EnvKind::Mab).unwrap();
        assert_eq!(s.wrappers, vec![Wrapper::TryAll, Wrapper::Eps]);
        assert_eq!(s.base, BaseAgent::Greedy);
        assert_eq!(s.name(), "try-all:eps:greedy");
        assert!(AgentSpec::parse("linucb", EnvKind::Mab).unwrap_err().contains("--agent"));
        assert!(AgentSpec::parse("minimax", EnvKind::Ttt).is_ok());
        assert!(AgentSpec::parse("try-all:minimax", EnvKind::Ttt).is_err());
        assert!(AgentSpec::parse("foo:ucb", EnvKind::Mab).unwrap_err().contains("unknown wrapper"));
        assert!(AgentSpec::parse("", EnvKind::Mab).is_err());
    }
}
