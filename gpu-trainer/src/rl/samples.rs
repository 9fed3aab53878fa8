//! From a rollout's episodes to what the learner trains on: one [`Sample`] per step, with its
//! token ids (prompt + completion), its shaped reward and advantage, and (filled in later) the
//! old and reference log-probs of its completion tokens.
//!
//! A step an exploration mechanism took (try-all, epsilon) has no generated completion: its
//! fixed-template rationale is tokenized as the completion (closed by the turn's end token, as
//! the model would) and trained as if the model had written it (SPEC section 6).

use anyhow::{Result, bail};

use super::advantage::{RewardNorm, RunningStats, Shaping, StepReward, advantages, mean_std};
use crate::agent::{Episode, StepRecord};
use crate::model::{GemmaTokenizer, check_vocab};

/// One step-sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Prompt token ids then completion token ids (BOS first).
    pub ids: Vec<u32>,
    /// Where the completion starts in `ids`.
    pub prompt_len: usize,
    /// log p of each completion token under the sampling policy (empty until known: forced
    /// steps get theirs from the training forward).
    pub old: Vec<f32>,
    /// log p of each completion token under the reference policy (filled in per rollout).
    pub reference: Vec<f32>,
    /// The step's advantage (every completion token gets it).
    pub advantage: f32,
    /// With a value head: V(s_t) at rollout time (the old value).
    pub value: Option<f32>,
    /// With a value head: the GAE return, the value head's regression target.
    pub value_target: Option<f32>,
    /// The environment's reward, as given.
    pub env_reward: f64,
    /// The shaped reward (normalised environment reward + shaping).
    pub reward: f64,
    /// The answer named no valid action.
    pub invalid: bool,
    /// The played action was new in the episode.
    pub new_action: bool,
    /// An exploration mechanism took the step.
    pub forced: bool,
    /// A stop token ended the completion (false: the budget cut it).
    pub stopped: bool,
    /// Mean policy entropy over the completion's tokens (generated completions).
    pub entropy: Option<f64>,
    /// The episode (its slot in the rollout) and the step.
    pub episode: usize,
    /// The step.
    pub t: usize,
}

impl Sample {
    /// Completion tokens.
    pub fn completion_len(&self) -> usize {
        self.ids.len() - self.prompt_len
    }
}

/// The token ids of a forced step: BOS + the prompt, then the rationale closed by `end`.
fn forced_ids(tok: &GemmaTokenizer, s: &StepRecord, end: u32, vocab: usize) -> Result<(Vec<u32>, usize)> {
    let mut ids = vec![tok.bos_id];
    ids.extend(tok.encode(&s.prompt, false)?);
    let prompt_len = ids.len();
    ids.extend(tok.encode(&s.text, false)?);
    ids.push(end);
    check_vocab(&ids, vocab)?;
    Ok((ids, prompt_len))
}

/// The samples of a rollout's `episodes` (in episode then step order), their shaped rewards
/// and advantages. `end` closes a forced step's rationale (`<end_of_turn>` in chat format).
/// `stats` is the running statistic of [`RewardNorm::Running`], updated with this rollout.
#[allow(clippy::too_many_arguments)]
pub fn build_samples(
    episodes: &[Episode],
    tok: &GemmaTokenizer,
    end: u32,
    vocab: usize,
    shaping: &Shaping,
    norm: RewardNorm,
    stats: &mut RunningStats,
    gamma: f64,
) -> Result<Vec<Sample>> {
    let env: Vec<f64> = episodes.iter().flat_map(|e| e.steps.iter().map(|s| s.reward)).collect();
    let (mean, std) = match norm {
        RewardNorm::Rollout => mean_std(&env),
        RewardNorm::Running => {
            stats.extend(&env);
            (stats.mean, stats.std())
        }
        RewardNorm::None => (0.0, 1.0 - 1e-8),
    };
    let shaped: Vec<Vec<f64>> = episodes
        .iter()
        .map(|e| {
            e.steps
                .iter()
                .map(|s| {
                    shaping.reward(&StepReward {
                        env: (s.reward - mean) / (std + 1e-8),
                        invalid: !s.valid(),
                        new_action: s.new_action,
                    })
                })
                .collect()
        })
        .collect();
    let adv = advantages(&shaped, gamma);
    let mut out = Vec::new();
    for (e, ep) in episodes.iter().enumerate() {
        for (t, s) in ep.steps.iter().enumerate() {
            let (ids, prompt_len, old) = if s.forced.is_some() {
                let (ids, p) = forced_ids(tok, s, end, vocab)?;
                (ids, p, Vec::new())
            } else {
                if s.completion_ids.is_empty() {
                    bail!("episode {e} step {t}: a generated step without completion tokens");
                }
                if s.logprobs.len() != s.completion_ids.len() {
                    bail!(
                        "episode {e} step {t}: {} log-probs for {} tokens",
                        s.logprobs.len(),
                        s.completion_ids.len()
                    );
                }
                let mut ids = s.prompt_ids.clone();
                let p = ids.len();
                ids.extend(&s.completion_ids);
                (ids, p, s.logprobs.clone())
            };
            out.push(Sample {
                ids,
                prompt_len,
                old,
                reference: Vec::new(),
                advantage: adv[e][t] as f32,
                value: None,
                value_target: None,
                env_reward: s.reward,
                reward: shaped[e][t],
                invalid: !s.valid(),
                new_action: s.new_action,
                forced: s.forced.is_some(),
                stopped: s.stopped,
                entropy: (!s.entropies.is_empty())
                    .then(|| s.entropies.iter().map(|&x| x as f64).sum::<f64>() / s.entropies.len() as f64),
                episode: e,
                t,
            });
        }
    }
    Ok(out)
}

/// The sequence that reads a sample's value: its prompt and first completion token (the value
/// is read at the last prompt token, the row that predicts it).
pub fn value_sequence(s: &Sample) -> crate::train::Sequence {
    let n = (s.prompt_len + 1).min(s.ids.len());
    let weights = (0..n).map(|t| if t == s.prompt_len && t > 0 { 1.0 } else { 0.0 }).collect();
    crate::train::Sequence::new(s.ids[..n].to_vec(), weights)
}

/// GAE over a rollout's samples (episode then step order, as [`build_samples`] makes them) with
/// their rollout values `values` (one per sample): sets each sample's value, value target (the
/// GAE return) and advantage (GAE, normalised over the rollout). The rewards are the shaped
/// ones. Returns the explained variance of the values against the targets.
pub fn apply_gae(samples: &mut [Sample], values: &[f32], gamma: f64, lambda: f64) -> Result<f64> {
    if values.len() != samples.len() {
        bail!("{} values for {} samples", values.len(), samples.len());
    }
    // episodes as runs of consecutive samples with the same episode index
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 1..=samples.len() {
        if i == samples.len() || samples[i].episode != samples[start].episode {
            spans.push(start..i);
            start = i;
        }
    }
    let mut advs = Vec::with_capacity(spans.len());
    let mut targets = Vec::with_capacity(samples.len());
    for span in &spans {
        let r: Vec<f64> = samples[span.clone()].iter().map(|s| s.reward).collect();
        let v: Vec<f64> = values[span.clone()].iter().map(|&v| v as f64).collect();
        let (a, g) = super::gae::gae(&r, &v, gamma, lambda);
        advs.push(a);
        targets.extend(g);
    }
    let norm = super::gae::normalise_rollout(&advs);
    for ((s, (&v, &g)), a) in samples.iter_mut().zip(values.iter().zip(&targets)).zip(norm.iter().flatten()) {
        s.value = Some(v);
        s.value_target = Some(g as f32);
        s.advantage = *a as f32;
    }
    let v: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    Ok(super::value::explained_variance(&v, &targets))
}

#[cfg(test)]
mod tests {
    use env_core::agents::Exploration;
    use env_core::{LabelStyle, MabConfig};

    use super::*;
    use crate::agent::ask::tests::settings;
    use crate::agent::policy::{Completion, Policy, SampleOptions};
    use crate::agent::{AgentTasks, rollout};

    fn tokenizer() -> GemmaTokenizer {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer/tokenizer.json");
        GemmaTokenizer::from_file(&p).unwrap()
    }

    /// Answers `ACTION=0` on even streams and `nonsense` on odd ones, with made-up ids
    /// [7, 8] and log-probs [-0.5, -1.5].
    struct Scripted;

    impl Policy for Scripted {
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
                    text: if s % 2 == 0 { "ACTION=0".into() } else { "nonsense".into() },
                    prompt_ids: vec![2, 3 + (t.len() % 100) as u32],
                    ids: vec![7, 8],
                    logprobs: vec![-0.5, -1.5],
                    stopped: true,
                    entropies: vec![1.0, 2.0],
                })
                .collect())
        }
    }

    #[test]
    fn forced_steps_train_on_the_template_and_generated_steps_on_what_was_generated() {
        let tok = tokenizer();
        let end = tok.end_of_turn_id;
        let config = MabConfig { arms: 2, horizon: 4, labels: LabelStyle::Numeric, ..MabConfig::default() };
        let llm = settings(1, false);
        let tasks = AgentTasks::mab(&config, &[Exploration::TryAll], 0.1, &llm, 5, 0..2).unwrap();
        let eps = rollout::run(&mut Scripted, tasks, &llm, 5, "llm", &()).unwrap();
        let shaping = Shaping { invalid_penalty: -5.0, explore_bonus: Some(1.0) };
        let mut stats = RunningStats::default();
        let vocab = tok.vocab_size();
        let samples =
            build_samples(&eps, &tok, end, vocab, &shaping, RewardNorm::Rollout, &mut stats, 1.0).unwrap();
        assert_eq!(samples.len(), 8, "2 episodes x 4 steps, episode then step order");
        let env: Vec<f64> = eps.iter().flat_map(|e| e.steps.iter().map(|s| s.reward)).collect();
        let (mean, std) = mean_std(&env);
        let mut shaped = vec![Vec::new(); 2];
        for (x, s) in samples.iter().zip(eps.iter().flat_map(|e| &e.steps)) {
            let (e, t) = (x.episode, x.t);
            assert_eq!(t, s.t);
            if t < 2 {
                // try-all's steps: the template, tokenized after the prompt, closed by the turn end
                assert!(x.forced && !x.invalid);
                let label = s.played.to_string();
                assert_eq!(
                    s.text,
                    format!("Action {label} has not been tried yet, let's explore it. ACTION={label}")
                );
                let mut want = vec![tok.bos_id];
                want.extend(tok.encode(&s.prompt, false).unwrap());
                assert_eq!(x.prompt_len, want.len());
                want.extend(tok.encode(&s.text, false).unwrap());
                want.push(end);
                assert_eq!(x.ids, want);
                assert!(x.old.is_empty(), "a forced step's old log-probs come from the training forward");
                assert_eq!(x.entropy, None);
            } else {
                // the model's steps: exactly what generation produced
                assert!(!x.forced);
                assert_eq!(x.ids, [s.prompt_ids.clone(), vec![7, 8]].concat());
                assert_eq!(x.prompt_len, 2);
                assert_eq!(x.old, vec![-0.5, -1.5]);
                assert_eq!(x.entropy, Some(1.5));
                assert_eq!(x.invalid, e % 2 == 1, "odd streams answer nonsense");
            }
            let want = (s.reward - mean) / (std + 1e-8)
                + if x.invalid { -5.0 } else { 0.0 }
                + if s.new_action { 1.0 } else { 0.0 };
            assert!((x.reward - want).abs() < 1e-12, "shaped reward of episode {e} step {t}");
            shaped[e].push(want);
        }
        let adv = advantages(&shaped, 1.0);
        for x in &samples {
            assert_eq!(x.advantage, adv[x.episode][x.t] as f32);
        }
        // a generated step whose log-probs do not cover its tokens is refused
        let mut bad = eps.clone();
        bad[0].steps[3].logprobs.pop();
        let e = build_samples(&bad, &tok, end, vocab, &shaping, RewardNorm::Rollout, &mut stats, 1.0)
            .unwrap_err();
        assert!(e.to_string().contains("episode 0 step 3"), "{e}");
    }

    fn bare(episode: usize, t: usize, reward: f64) -> Sample {
        Sample {
            ids: vec![2, 5, 6, 7],
            prompt_len: 3,
            old: Vec::new(),
            reference: Vec::new(),
            advantage: 0.0,
            value: None,
            value_target: None,
            env_reward: reward,
            reward,
            invalid: false,
            new_action: true,
            forced: false,
            stopped: true,
            entropy: None,
            episode,
            t,
        }
    }

    #[test]
    fn gae_runs_within_each_episode_and_normalises_over_the_rollout() {
        use super::super::gae::{gae, normalise_rollout};
        // two games: a loss after an invalid move (3 moves), a win (2 moves)
        let mut samples =
            vec![bare(0, 0, -5.0), bare(0, 1, 0.0), bare(0, 2, -1.0), bare(1, 0, 0.0), bare(1, 1, 1.0)];
        let values = [0.1f32, -0.2, -0.5, 0.3, 0.6];
        let ev = apply_gae(&mut samples, &values, 1.0, 0.95).unwrap();
        let v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        let (a0, g0) = gae(&[-5.0, 0.0, -1.0], &v[..3], 1.0, 0.95);
        let (a1, g1) = gae(&[0.0, 1.0], &v[3..], 1.0, 0.95);
        let norm: Vec<f64> = normalise_rollout(&[a0, a1]).concat();
        let targets = [g0, g1].concat();
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(s.value, Some(values[i]));
            assert_eq!(s.value_target, Some(targets[i] as f32), "sample {i}");
            assert_eq!(s.advantage, norm[i] as f32, "sample {i}");
        }
        assert!((ev - super::super::value::explained_variance(&v, &targets)).abs() < 1e-12);
        assert!(apply_gae(&mut samples, &values[..4], 1.0, 0.95).is_err(), "one value per sample");
        // the value sequence: the prompt and the first completion token, the target at it
        let seq = value_sequence(&samples[0]);
        assert_eq!(seq.ids, vec![2, 5, 6, 7]);
        assert_eq!(seq.weights, vec![0.0, 0.0, 0.0, 1.0]);
    }
}
