//! ONE lock-step rollout of the LLM agent over many episodes of any environment ([`Task`]):
//! at step t every unfinished episode renders its prompt (or an exploration mechanism takes the
//! step), ONE batched generation answers all of them ([`ask`]), each answer is parsed (an
//! invalid one plays a seeded random action), and every episode steps. The result keeps, per
//! step, what RL learns from ([`StepRecord`]: prompt and completion token ids, the sampling
//! log-probs, the reward, the figures) and, per episode, what evaluation reports
//! ([`EpisodeRecord`]).
//!
//! Determinism: the scenario and reward noise come from the episode's seeds, the fallback
//! actions from its `POLICY_STREAM`, the context permutation of step t from
//! `LabelPermutation::for_step`, the sampling seed of step t from `derive_seed(seed, t)` (sample
//! j of episode e on stream `e * K + j`), the exploration coins from its `WRAPPER_STREAM`: an
//! episode's trajectory does not depend on which others share its batch.

use anyhow::{Context, Result, bail};
use env_core::MabConfig;
use env_core::agents::Exploration;

use super::AgentSettings;
use super::answers::AnswerLog;
use super::ask::ask;
use super::cb::CbTask;
use super::mab::MabTask;
use super::policy::Policy;
use super::record::StepRecord;
use super::task::{Task, Turn};
use super::ttt::TttTask;
use crate::envs::cb::CbData;
use crate::envs::{EpisodeRecord, TttSettings};
use crate::progress::Progress;

/// The episodes one rollout plays.
pub struct AgentTasks<'a> {
    tasks: Vec<Box<dyn Task + 'a>>,
    /// an exploration mechanism may take steps (the records say how many it took)
    wrapped: bool,
    /// what the progress counts
    unit: &'static str,
}

impl<'a> AgentTasks<'a> {
    /// Any tasks.
    pub fn new(tasks: Vec<Box<dyn Task + 'a>>, wrapped: bool, unit: &'static str) -> Self {
        AgentTasks { tasks, wrapped, unit }
    }

    /// The episodes `episodes` (their indices in the run: `0..n` for a whole run, a shard's for
    /// a shard) of the bandit `config`, with the exploration mechanisms `explore`.
    pub fn mab(
        config: &MabConfig,
        explore: &[Exploration],
        epsilon: f64,
        llm: &AgentSettings,
        seed: u64,
        episodes: impl IntoIterator<Item = u64>,
    ) -> Result<Self> {
        let tasks = episodes
            .into_iter()
            .map(|i| Ok(Box::new(MabTask::new(config, explore, epsilon, llm, seed, i)?) as Box<dyn Task>))
            .collect::<Result<_>>()?;
        Ok(Self::new(tasks, !explore.is_empty(), "steps"))
    }

    /// The episodes `episodes` (indices in the run) of the contextual bandit on `data`.
    pub fn cb(
        data: &'a CbData,
        horizon: usize,
        llm: &AgentSettings,
        seed: u64,
        episodes: impl IntoIterator<Item = u64>,
    ) -> Result<Self> {
        let tasks = episodes
            .into_iter()
            .map(|i| Ok(Box::new(CbTask::new(data, horizon, llm, seed, i)?) as Box<dyn Task + 'a>))
            .collect::<Result<_>>()?;
        Ok(Self::new(tasks, false, "steps"))
    }

    /// The games `episodes` (indices in the run) of tic-tac-toe.
    pub fn ttt(
        settings: &TttSettings,
        llm: &AgentSettings,
        seed: u64,
        episodes: impl IntoIterator<Item = u64>,
    ) -> Result<Self> {
        let tasks = episodes
            .into_iter()
            .map(|i| Ok(Box::new(TttTask::new(settings, llm, seed, i)?) as Box<dyn Task>))
            .collect::<Result<_>>()?;
        Ok(Self::new(tasks, false, "moves"))
    }

    /// How many episodes.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// No episode at all?
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// One played episode.
#[derive(Debug, Clone)]
pub struct Episode {
    /// What evaluation reports (answers included).
    pub record: EpisodeRecord,
    /// Every step, as RL learns from it.
    pub steps: Vec<StepRecord>,
}

/// Plays every episode of `tasks` to its end with `policy`; `agent` names it in the records.
pub fn run(
    policy: &mut dyn Policy,
    tasks: AgentTasks<'_>,
    llm: &AgentSettings,
    seed: u64,
    agent: &str,
    progress: &dyn Progress,
) -> Result<Vec<Episode>> {
    let AgentTasks { mut tasks, wrapped, unit } = tasks;
    let n = tasks.len();
    let mut logs: Vec<AnswerLog> = (0..n).map(|_| AnswerLog::default()).collect();
    let mut steps: Vec<Vec<StepRecord>> = (0..n).map(|_| Vec::new()).collect();
    let max = tasks.iter().map(|t| t.max_steps()).max().unwrap_or(0);
    progress.start(max as u64, unit);
    let mut t = 0usize;
    loop {
        let active: Vec<usize> = (0..n).filter(|&i| !tasks[i].done()).collect();
        if active.is_empty() {
            break;
        }
        if let Some(&i) = active.iter().find(|&&i| t >= tasks[i].max_steps()) {
            bail!(
                "episode {} is still running after {t} steps (at most {})",
                tasks[i].index(),
                tasks[i].max_steps()
            );
        }
        progress.message(&format!(
            "{} {}/{max}, {} running",
            unit.trim_end_matches('s'),
            t + 1,
            active.len()
        ));
        let mut turns = Vec::with_capacity(active.len());
        for &i in &active {
            turns.push(tasks[i].turn(t)?);
        }
        let asked: Vec<usize> = active
            .iter()
            .zip(&turns)
            .filter(|(_, tu)| matches!(tu, Turn::Ask { .. }))
            .map(|(&i, _)| i)
            .collect();
        let texts: Vec<String> = turns
            .iter()
            .filter_map(|tu| match tu {
                Turn::Ask { prompt } => Some(prompt.clone()),
                Turn::Forced { .. } => None,
            })
            .collect();
        let episodes: Vec<u64> = asked.iter().map(|&i| tasks[i].index()).collect();
        let decisions = if asked.is_empty() {
            Vec::new()
        } else {
            let parse = |j: usize, answer: &str| tasks[asked[j]].parse(answer);
            ask(policy, &texts, &episodes, llm, seed, t, &parse)?
        };
        let mut decisions = decisions.into_iter();
        for (&i, turn) in active.iter().zip(turns) {
            let mut rec = match turn {
                Turn::Forced { by, action, prompt, rationale, logged } => {
                    logs[i].push_forced(logged, llm);
                    StepRecord {
                        t,
                        prompt,
                        prompt_ids: Vec::new(),
                        completion_ids: Vec::new(),
                        logprobs: Vec::new(),
                        text: rationale,
                        entropies: Vec::new(),
                        stopped: true,
                        action: Some(action),
                        played: action,
                        forced: Some(by),
                        reward: 0.0,
                        regret: None,
                        new_action: false,
                        coverage: None,
                    }
                }
                Turn::Ask { .. } => {
                    let d = decisions.next().context("one decision per asked episode")?;
                    let played = match d.action {
                        Some(a) => a,
                        None => tasks[i].fallback(),
                    };
                    logs[i].push(&d, llm);
                    StepRecord {
                        t,
                        prompt: d.prompt,
                        prompt_ids: d.completion.prompt_ids,
                        completion_ids: d.completion.ids,
                        logprobs: d.completion.logprobs,
                        text: d.completion.text,
                        entropies: d.completion.entropies,
                        stopped: d.completion.stopped,
                        action: d.action,
                        played,
                        forced: None,
                        reward: 0.0,
                        regret: None,
                        new_action: false,
                        coverage: None,
                    }
                }
            };
            let out = tasks[i].step(rec.played)?;
            rec.reward = out.reward;
            rec.regret = out.regret;
            rec.new_action = out.new_action;
            rec.coverage = out.coverage;
            steps[i].push(rec);
        }
        t += 1;
        progress.inc(1);
    }
    progress.finish();
    tasks
        .into_iter()
        .zip(logs)
        .zip(steps)
        .map(|((task, log), steps)| {
            let mut record = task.finish(agent)?;
            log.fill(&mut record, llm, wrapped);
            Ok(Episode { record, steps })
        })
        .collect()
}

/// [`run`], keeping only the episodes' records (evaluation).
pub fn play(
    policy: &mut dyn Policy,
    tasks: AgentTasks<'_>,
    llm: &AgentSettings,
    seed: u64,
    agent: &str,
    progress: &dyn Progress,
) -> Result<Vec<EpisodeRecord>> {
    Ok(run(policy, tasks, llm, seed, agent, progress)?.into_iter().map(|e| e.record).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::ask::tests::settings;
    use crate::agent::policy::{Completion, SampleOptions};
    use env_core::{LabelStyle, MabConfig};

    /// Always answers `ACTION=0`, counting the prompts it is asked.
    struct AlwaysZero(Vec<usize>);

    impl Policy for AlwaysZero {
        fn complete(&mut self, texts: &[String], _: &[u64], _: &SampleOptions) -> Result<Vec<Completion>> {
            self.0.push(texts.len());
            Ok(texts.iter().map(|_| Completion::text("ACTION=0")).collect())
        }
    }

    #[test]
    fn try_all_asks_the_model_only_once_every_arm_was_tried() {
        let config = MabConfig { arms: 3, horizon: 5, labels: LabelStyle::Numeric, ..MabConfig::default() };
        let llm = settings(1, false);
        let mut model = AlwaysZero(Vec::new());
        let tasks = AgentTasks::mab(&config, &[Exploration::TryAll], 0.1, &llm, 9, 0..2).unwrap();
        let eps = run(&mut model, tasks, &llm, 9, "try-all:llm", &()).unwrap();
        assert_eq!(model.0, vec![2, 2], "steps 0-2 are try-all's; then one call for both episodes");
        for e in &eps {
            let r = &e.record;
            assert_eq!(r.agent, "try-all:llm");
            assert_eq!(r.actions, vec![0, 1, 2, 0, 0]);
            assert_eq!(r.explore_steps, Some(3));
            assert_eq!(r.invalid_answers, Some(0));
            let answers = r.answers.as_ref().unwrap();
            assert!(answers[1].contains("not been tried") && answers[1].ends_with("ACTION=1"), "{answers:?}");
            assert_eq!(answers[4], "ACTION=0");
            // the step records: forced steps carry the rationale and the mechanism
            assert_eq!(e.steps.len(), 5);
            assert_eq!(e.steps[1].forced, Some(Exploration::TryAll));
            assert_eq!(e.steps[1].text, answers[1]);
            assert!(e.steps[1].prompt.contains("Step=0"), "the prompt the model would have read");
            assert_eq!((e.steps[4].forced, e.steps[4].action, e.steps[4].played), (None, Some(0), 0));
            assert_eq!(
                e.steps.iter().map(|s| s.new_action).collect::<Vec<_>>(),
                [true, true, true, false, false]
            );
            let rewards: Vec<f64> = e.steps.iter().map(|s| s.reward).collect();
            assert_eq!(rewards, r.rewards, "each step's reward is the episode's");
            assert_eq!(e.steps[2].coverage, Some(1.0));
            let regret: f64 = e.steps.iter().map(|s| s.regret.unwrap()).sum();
            assert!((regret - r.final_regret.unwrap()).abs() < 1e-12);
        }
        // plain llm: every step asks the model
        let mut model = AlwaysZero(Vec::new());
        let tasks = AgentTasks::mab(&config, &[], 0.1, &llm, 9, 0..2).unwrap();
        let recs = play(&mut model, tasks, &llm, 9, "llm", &()).unwrap();
        assert_eq!(model.0, vec![2; 5]);
        assert_eq!(recs[0].actions, vec![0; 5]);
        assert_eq!(recs[0].explore_steps, None);
    }

    /// Scripted completions with token ids and log-probs: answer `ACTION=<n>` where n is the
    /// stream number modulo 3, ids [10 + stream, 99], log-probs [-0.5, -0.25].
    struct WithTokens;

    impl Policy for WithTokens {
        fn complete(
            &mut self,
            texts: &[String],
            streams: &[u64],
            _: &SampleOptions,
        ) -> Result<Vec<Completion>> {
            Ok(texts
                .iter()
                .zip(streams)
                .map(|(t, &s)| Completion {
                    text: format!("ACTION={}", s % 3),
                    prompt_ids: vec![2, t.len() as u32],
                    ids: vec![10 + s as u32, 99],
                    logprobs: vec![-0.5, -0.25],
                    stopped: s % 2 == 0,
                    entropies: Vec::new(),
                })
                .collect())
        }
    }

    #[test]
    fn records_carry_exactly_what_generation_produced() {
        let config = MabConfig { arms: 3, horizon: 4, labels: LabelStyle::Numeric, ..MabConfig::default() };
        let llm = settings(1, false);
        let tasks = AgentTasks::mab(&config, &[], 0.1, &llm, 3, 0..4).unwrap();
        let eps = run(&mut WithTokens, tasks, &llm, 3, "llm", &()).unwrap();
        for (e, ep) in eps.iter().enumerate() {
            for s in &ep.steps {
                assert_eq!(s.completion_ids, vec![10 + e as u32, 99]);
                assert_eq!(s.logprobs, vec![-0.5, -0.25]);
                assert_eq!(s.prompt_ids, vec![2, s.prompt.len() as u32]);
                assert_eq!(s.text, format!("ACTION={}", e % 3));
                assert_eq!((s.action, s.played), (Some(e % 3), e % 3));
                assert_eq!(s.stopped, e % 2 == 0);
            }
        }
    }

    #[test]
    fn a_shard_plays_the_whole_runs_episodes() {
        let config = MabConfig { arms: 4, horizon: 6, labels: LabelStyle::Numeric, ..MabConfig::default() };
        let llm = settings(1, false);
        let explore = [Exploration::Epsilon];
        let whole = AgentTasks::mab(&config, &explore, 0.4, &llm, 5, 0..5).unwrap();
        let whole = play(&mut WithTokens, whole, &llm, 5, "eps:llm", &()).unwrap();
        let part = AgentTasks::mab(&config, &explore, 0.4, &llm, 5, [1, 4]).unwrap();
        let part = play(&mut WithTokens, part, &llm, 5, "eps:llm", &()).unwrap();
        assert_eq!(part, vec![whole[1].clone(), whole[4].clone()]);
        assert_ne!(whole[1].actions, whole[4].actions, "the episodes differ: the test can tell them apart");
    }
}
