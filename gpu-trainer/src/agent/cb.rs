//! The contextual bandit as a [`Task`]: the model names a movie for each user (by title, or by
//! index).

use anyhow::{Context, Result};
use env_core::agents::POLICY_STREAM;
use env_core::cb::{ContextualBandit, UserContext};
use env_core::parse::{Titles, parse_action};
use env_core::prompt::{CbPromptSpec, write_cb_prompt};
use env_core::{Environment, LabelSet, LabelStyle, Rng};

use super::AgentSettings;
use super::task::{Outcome, Task, Turn};
use crate::envs::cb::{CbData, cb_record};
use crate::envs::{EpisodeRecord, EpisodeSeeds};

/// The movie an answer names: by title first (titles may start with a number), else by index.
pub fn cb_movie(answer: &str, titles: &[&str], indices: &LabelSet) -> Option<usize> {
    parse_action(answer, &Titles(titles)).arm().or_else(|| parse_action(answer, indices).arm())
}

/// One episode on the tables of `data`.
pub struct CbTask<'a> {
    index: u64,
    seeds: EpisodeSeeds,
    data: &'a CbData,
    env: ContextualBandit<'a>,
    spec: CbPromptSpec<'static>,
    titles: Vec<&'a str>,
    indices: LabelSet,
    fallback: Rng,
    users: Vec<UserContext<'a>>,
    actions: Vec<usize>,
    regret: Vec<f64>,
    rewards: Vec<f64>,
}

impl<'a> CbTask<'a> {
    /// Episode `index` of a run seeded `seed`, `horizon` steps on the tables of `data`.
    pub fn new(
        data: &'a CbData,
        horizon: usize,
        llm: &AgentSettings,
        seed: u64,
        index: u64,
    ) -> Result<CbTask<'a>> {
        Self::with_seeds(data, horizon, llm, EpisodeSeeds::new(seed, index), index)
    }

    /// An episode with explicit seeds (RL's training pool); `index` numbers it in its rollout.
    pub fn with_seeds(
        data: &'a CbData,
        horizon: usize,
        llm: &AgentSettings,
        seeds: EpisodeSeeds,
        index: u64,
    ) -> Result<CbTask<'a>> {
        let tables = data.tables()?;
        let mut env = ContextualBandit::new(tables, horizon).context("building the contextual bandit")?;
        env.reset(seeds.episode)?;
        let k = tables.num_movies();
        let titles: Vec<&'a str> = (0..k).map(|m| env.movie_title(m)).collect::<Result<_, _>>()?;
        Ok(CbTask {
            index,
            seeds,
            data,
            env,
            spec: CbPromptSpec { horizon, output: llm.output(), chat: llm.chat(), ..CbPromptSpec::default() },
            titles,
            indices: LabelSet::new(LabelStyle::Numeric, k, 0)?,
            fallback: Rng::from_stream(seeds.episode, POLICY_STREAM),
            users: Vec::with_capacity(horizon),
            actions: Vec::with_capacity(horizon),
            regret: Vec::with_capacity(horizon),
            rewards: Vec::with_capacity(horizon),
        })
    }
}

impl Task for CbTask<'_> {
    fn index(&self) -> u64 {
        self.index
    }

    fn done(&self) -> bool {
        self.actions.len() >= self.spec.horizon
    }

    fn max_steps(&self) -> usize {
        self.spec.horizon
    }

    fn turn(&mut self, _t: usize) -> Result<Turn> {
        let mut prompt = String::new();
        write_cb_prompt(
            &mut prompt,
            &self.spec,
            &self.titles,
            &self.users,
            &self.actions,
            &self.rewards,
            &self.env.current_user(),
        )
        .context("writing the prompt")?;
        Ok(Turn::Ask { prompt })
    }

    fn parse(&self, answer: &str) -> Option<usize> {
        cb_movie(answer, &self.titles, &self.indices)
    }

    fn fallback(&mut self) -> usize {
        self.fallback.below(self.titles.len())
    }

    fn step(&mut self, action: usize) -> Result<Outcome> {
        let new_action = !self.actions.contains(&action);
        self.users.push(self.env.current_user());
        let tr = self.env.step(action)?;
        self.actions.push(action);
        self.regret.push(tr.info.regret);
        self.rewards.push(tr.reward);
        let k = self.titles.len();
        let tried = (0..k).filter(|a| self.actions.contains(a)).count();
        Ok(Outcome {
            reward: tr.reward,
            regret: Some(tr.info.regret),
            new_action,
            coverage: Some(tried as f64 / k as f64),
        })
    }

    fn finish(self: Box<Self>, agent: &str) -> Result<EpisodeRecord> {
        let s = *self;
        cb_record(s.data, agent.into(), s.index, s.seeds, s.actions, s.regret, s.rewards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_a_title_or_an_index() {
        let titles = ["Toy Story (1995)", "2001: A Space Odyssey (1968)", "Heat (1995)"];
        let indices = LabelSet::new(LabelStyle::Numeric, 3, 0).unwrap();
        assert_eq!(cb_movie("ACTION=heat (1995)", &titles, &indices), Some(2));
        assert_eq!(cb_movie("ACTION=2001: A Space Odyssey (1968)", &titles, &indices), Some(1));
        assert_eq!(cb_movie("ACTION=0", &titles, &indices), Some(0));
        assert_eq!(cb_movie("ACTION=3", &titles, &indices), None);
        assert_eq!(cb_movie("ACTION=Alien (1979)", &titles, &indices), None);
    }
}
