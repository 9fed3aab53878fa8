//! The baseline agents of an [`AgentSpec`] (env-core's bandit policies, LinUCB, the tic-tac-toe
//! players), and one episode of each on its environment.

use anyhow::{Context, Result, bail};
use env_core::agents::{
    BanditPolicy, BetaThompson, EpsilonExplore, EpsilonGreedy, GaussianThompson, Greedy, POLICY_STREAM,
    TryAll, Ucb, UniformRandom, run_bandit_episode,
};
use env_core::cb::{ContextualBandit, ContextualPolicy, DEFAULT_ALPHA, DefaultLinUcb};
use env_core::ttt::{Mark, Opponent, TicTacToe, TttPlayer};
use env_core::{ArmDistribution, Environment, MabConfig, MultiArmedBandit, Rng};

use super::{AgentSpec, BaseAgent, Wrapper};
use crate::envs::cb::{CbData, cb_record};
use crate::envs::mab::mab_record;
use crate::envs::ttt::ttt_config;
use crate::envs::{EpisodeRecord, EpisodeSeeds, TttSettings};

/// Any bandit policy, boxed, so that wrappers compose around any agent.
pub struct DynPolicy(Box<dyn BanditPolicy + Send>);

impl BanditPolicy for DynPolicy {
    fn reset(&mut self, arms: usize) -> env_core::Result<()> {
        self.0.reset(arms)
    }
    fn select(&mut self, rng: &mut Rng) -> env_core::Result<usize> {
        self.0.select(rng)
    }
    fn update(&mut self, arm: usize, reward: f64) -> env_core::Result<()> {
        self.0.update(arm, reward)
    }
    fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// The policy `spec` names for the bandit `config`; `epsilon` is the rate of eps-greedy and of
/// the `eps:` wrapper. Thompson sampling is Beta-Bernoulli on Bernoulli arms and Gaussian (prior
/// N(0.5, 1), the arms' known sigma as noise) on Gaussian arms.
pub fn build_bandit_policy(spec: &AgentSpec, config: &MabConfig, epsilon: f64) -> Result<DynPolicy> {
    let base: Box<dyn BanditPolicy + Send> = match spec.base {
        BaseAgent::Ucb => Box::new(Ucb::paper()),
        BaseAgent::UcbLog => Box::new(Ucb::log_half()),
        BaseAgent::Thompson => match config.distribution {
            ArmDistribution::Gaussian { sigma } => {
                Box::new(GaussianThompson::new(0.5, 1.0, sigma.max(1e-3)).context("thompson settings")?)
            }
            ArmDistribution::Bernoulli { .. } => {
                Box::new(BetaThompson::new(1.0, 1.0).context("thompson settings")?)
            }
        },
        BaseAgent::EpsGreedy => Box::new(EpsilonGreedy::new(epsilon).context("--epsilon")?),
        BaseAgent::Greedy => Box::new(Greedy::new()),
        BaseAgent::Random => Box::new(UniformRandom::new()),
        other => bail!("agent {other:?} does not play multi-armed bandits"),
    };
    let mut policy = DynPolicy(base);
    for w in spec.wrappers.iter().rev() {
        policy = match w {
            Wrapper::TryAll => DynPolicy(Box::new(TryAll::new(policy))),
            Wrapper::Eps => DynPolicy(Box::new(EpsilonExplore::new(policy, epsilon).context("--epsilon")?)),
        };
    }
    Ok(policy)
}

/// Plays episode `index` of `agent` on the bandit `config` and measures it. Suffix failure is
/// taken at the middle of the episode: the best arm is never pulled in steps `T/2..T`.
pub fn run_mab_episode(
    config: &MabConfig,
    agent: &AgentSpec,
    epsilon: f64,
    seed: u64,
    index: u64,
) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
    let mut policy = build_bandit_policy(agent, config, epsilon)?;
    let horizon = config.horizon;
    let mut actions = vec![0usize; horizon];
    let mut rewards = vec![0.0f64; horizon];
    let steps = run_bandit_episode(&mut env, &mut policy, seeds.episode, &mut actions, &mut rewards)
        .with_context(|| format!("agent {agent} failed in episode {index}"))?;
    actions.truncate(steps);
    rewards.truncate(steps);
    mab_record(&env, &agent.name(), index, seeds, actions, rewards)
}

/// The contextual-bandit policy `spec` names.
pub fn cb_policy(spec: &AgentSpec) -> Result<Box<dyn ContextualPolicy + Send>> {
    Ok(match spec.base {
        BaseAgent::LinUcb => Box::new(DefaultLinUcb::new(DEFAULT_ALPHA, false)?),
        BaseAgent::Random => Box::new(env_core::cb::UniformRandom::new()),
        other => bail!("agent {other:?} does not play the contextual bandit"),
    })
}

/// Plays episode `index` of `agent` on `data` for `horizon` steps and measures regret (against
/// each step's best movie for its user) and coverage.
pub fn run_cb_episode(
    data: &CbData,
    horizon: usize,
    agent: &AgentSpec,
    seed: u64,
    index: u64,
) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = ContextualBandit::new(data.tables()?, horizon)?;
    let mut policy = cb_policy(agent)?;
    let (mut actions, mut regret, mut rewards) =
        (vec![0usize; horizon], vec![0.0; horizon], vec![0.0; horizon]);
    let steps = env_core::cb::run_cb_episode(
        &mut env,
        policy.as_mut(),
        seeds.episode,
        &mut actions,
        &mut regret,
        &mut rewards,
    )
    .with_context(|| format!("agent {agent} failed in episode {index}"))?;
    actions.truncate(steps);
    regret.truncate(steps);
    rewards.truncate(steps);
    cb_record(data, agent.name(), index, seeds, actions, regret, rewards)
}

/// The baseline player `spec` names (the opponents double as agents).
pub fn agent_player(spec: &AgentSpec, mcts_budget: u32) -> Result<Opponent> {
    Ok(match spec.base {
        BaseAgent::Minimax => Opponent::Minimax,
        BaseAgent::Mcts => Opponent::Mcts { simulations: mcts_budget },
        BaseAgent::Random => Opponent::Random,
        other => bail!("agent {other:?} does not play tic-tac-toe"),
    })
}

/// Plays game `index` of `agent`. The agent draws from the `POLICY` sub-stream of the episode
/// seed, the opponent from the environment's own sub-stream.
pub fn run_ttt_episode(
    settings: &TttSettings,
    agent: &AgentSpec,
    seed: u64,
    index: u64,
) -> Result<EpisodeRecord> {
    let seeds = EpisodeSeeds::new(seed, index);
    let mut env = TicTacToe::new(ttt_config(settings)).context("building tic-tac-toe")?;
    let mut player = agent_player(agent, settings.mcts_budget)?;
    let mut rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
    let mut board = env.reset(seeds.episode)?;
    let mut rec = EpisodeRecord::new(agent.name(), "ttt".into(), index, seeds.scenario, seeds.episode);
    let mut outcome = None;
    while !env.is_done() {
        let mv = player
            .choose(&board, Mark::Agent, &mut rng)
            .with_context(|| format!("agent {agent} failed to move"))?;
        let tr = env.step(mv).with_context(|| format!("agent {agent} played {mv}"))?;
        rec.actions.push(mv);
        rec.rewards.push(tr.reward);
        board = tr.observation;
        outcome = tr.info.outcome;
    }
    let outcome = outcome.context("the game ended without an outcome")?;
    rec.return_ = outcome.reward();
    rec.outcome = Some(outcome.name().to_string());
    Ok(rec)
}
