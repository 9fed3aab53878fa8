//! The multi-armed bandit as a [`Task`]: the env-core prompt (with the summary and context
//! randomization switches), answers parsed against the labels shown at that step (so a
//! randomized context maps back to the true arm), and the exploration mechanisms of env-core
//! ([`ExplorationGate`]: try-all, epsilon) deciding some steps before the model is asked.

use anyhow::{Context, Result};
use env_core::agents::{Exploration, ExplorationGate, POLICY_STREAM};
use env_core::parse::parse_action;
use env_core::prompt::{
    LabelPermutation, MabPromptSpec, RationaleTemplates, write_action, write_explore_rationale,
    write_mab_prompt,
};
use env_core::{Environment, LabelSet, MabConfig, MultiArmedBandit, Rng};

use super::AgentSettings;
use super::task::{Outcome, Task, Turn};
use crate::envs::mab::mab_record;
use crate::envs::{EpisodeRecord, EpisodeSeeds};

/// Stream id of the exploration mechanisms' coins and random arms ("WRAPPER").
pub const WRAPPER_STREAM: u64 = 0x0057_5241_5050_4552;

/// One bandit episode.
pub struct MabTask {
    index: u64,
    seeds: EpisodeSeeds,
    env: MultiArmedBandit,
    spec: MabPromptSpec<'static>,
    randomize: bool,
    gate: ExplorationGate,
    fallback: Rng,
    explore: Rng,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    /// the labels the current prompt shows
    shown: Option<LabelSet>,
}

impl MabTask {
    /// Episode `index` of a run seeded `seed` on the bandit `config`, with the exploration
    /// mechanisms `explore` (outermost first) at rate `epsilon`.
    pub fn new(
        config: &MabConfig,
        explore: &[Exploration],
        epsilon: f64,
        llm: &AgentSettings,
        seed: u64,
        index: u64,
    ) -> Result<MabTask> {
        Self::with_seeds(config, explore, epsilon, llm, EpisodeSeeds::new(seed, index), index)
    }

    /// An episode with explicit seeds (RL's training pool: a fixed scenario, fresh noise);
    /// `index` numbers it in its rollout (its sampling streams).
    pub fn with_seeds(
        config: &MabConfig,
        explore: &[Exploration],
        epsilon: f64,
        llm: &AgentSettings,
        seeds: EpisodeSeeds,
        index: u64,
    ) -> Result<MabTask> {
        let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
        env.reset(seeds.episode)?;
        let mut gate = ExplorationGate::new(explore, epsilon).context("exploration settings")?;
        gate.reset(config.arms)?;
        let mut spec = MabPromptSpec::new(config);
        spec.output = llm.output();
        spec.chat = llm.chat();
        spec.summary = llm.summary;
        Ok(MabTask {
            index,
            seeds,
            env,
            spec,
            randomize: llm.randomize,
            gate,
            fallback: Rng::from_stream(seeds.episode, POLICY_STREAM),
            explore: Rng::from_stream(seeds.episode, WRAPPER_STREAM),
            actions: Vec::with_capacity(config.horizon),
            rewards: Vec::with_capacity(config.horizon),
            shown: None,
        })
    }

    /// The fixed-template texts of a forced step: (trained rationale, logged text).
    fn forced_texts(by: Exploration, arm: usize, shown: &LabelSet) -> Result<(String, String)> {
        let t = RationaleTemplates::default();
        let mut rationale = String::new();
        write_explore_rationale(&mut rationale, arm, shown, &t)?;
        let logged = match by {
            Exploration::TryAll => rationale.clone(),
            Exploration::Epsilon => {
                let mut s = String::from("(epsilon exploration: a random action) ");
                write_action(&mut s, arm, shown, &t)?;
                s
            }
        };
        Ok((rationale, logged))
    }
}

impl Task for MabTask {
    fn index(&self) -> u64 {
        self.index
    }

    fn done(&self) -> bool {
        self.actions.len() >= self.env.config().horizon
    }

    fn max_steps(&self) -> usize {
        self.env.config().horizon
    }

    fn turn(&mut self, t: usize) -> Result<Turn> {
        let k = self.env.config().arms;
        let mut spec = self.spec;
        if self.randomize {
            spec.permutation = Some(LabelPermutation::for_step(k, self.seeds.episode, t as u64)?);
        }
        let shown = spec.shown_labels(self.env.labels())?;
        let forced = self.gate.decide(&mut self.explore)?;
        let mut prompt = String::new();
        write_mab_prompt(&mut prompt, &spec, self.env.labels(), &self.actions, &self.rewards)
            .context("writing the prompt")?;
        let turn = match forced {
            Some((by, action)) => {
                let (rationale, logged) = Self::forced_texts(by, action, &shown)?;
                Turn::Forced { by, action, prompt, rationale, logged }
            }
            None => Turn::Ask { prompt },
        };
        self.shown = Some(shown);
        Ok(turn)
    }

    fn parse(&self, answer: &str) -> Option<usize> {
        // parsing against the labels shown in this prompt gives the true arm directly
        self.shown.as_ref().and_then(|s| parse_action(answer, s).arm())
    }

    fn fallback(&mut self) -> usize {
        self.fallback.below(self.env.config().arms)
    }

    fn step(&mut self, action: usize) -> Result<Outcome> {
        let new_action = !self.actions.contains(&action);
        self.gate.observe(action)?;
        let tr = self.env.step(action)?;
        self.actions.push(action);
        self.rewards.push(tr.reward);
        let k = self.env.config().arms;
        let tried = (0..k).filter(|a| self.actions.contains(a)).count();
        Ok(Outcome {
            reward: tr.reward,
            regret: Some(self.env.best_mean() - self.env.means()[action]),
            new_action,
            coverage: Some(tried as f64 / k as f64),
        })
    }

    fn finish(self: Box<Self>, agent: &str) -> Result<EpisodeRecord> {
        let s = *self;
        mab_record(&s.env, agent, s.index, s.seeds, s.actions, s.rewards)
    }
}
