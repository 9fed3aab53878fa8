//! The frequency-bias experiment (SPEC section 4): does the model copy the action that is most
//! frequent in its context, whatever its reward?
//!
//! Context `c` is a fresh bandit scenario (`derive_seed(seed, c)`): a random history of 2..=10
//! steps (uniform arms, rewards from the bandit), whose last action is the *target*, then the
//! target played again n times (rewards from its own arm) for every n of the repetition list.
//! Every (context, n) prompt is scored without generation: log p(`ACTION=<label>` | prompt) for
//! every arm, all prompts and arms in ONE scorer call ([`AnswerScorer`]). The scores,
//! renormalised over the arms (softmax), are pi(a | context); its entropy is measured, and each
//! arm is classed frequent / greedy / other against the history
//! (`env_core::metrics::classify_frequency`: greedy = best mean among tried arms, and wins over
//! frequent). Reported per n: the shares of the chosen (argmax) action's class, F_f / F_g / F_o
//! (the paper's figure), the probability mass per class, the mean entropy, the mean probability
//! of the target; and the Pearson correlation of entropy with n over all prompts.

use anyhow::{Context, Result, bail};
use env_core::metrics::{FrequencyBias, FrequencyClass, classify_frequency, pearson};
use env_core::prompt::{ChatFormat, MabPromptSpec, OutputMode, write_mab_prompt};
use env_core::rng::derive_seed;
use env_core::stats::ArmStats;
use env_core::{Environment, LabelSet, MabConfig, MultiArmedBandit, Rng};
use serde::{Deserialize, Deserializer, Serialize};

use super::scorer::AnswerScorer;
use crate::envs::EpisodeSeeds;
use crate::eval::summary::mean_ci95;
use crate::shard::Shard;

/// Stream id of the history lengths and arms ("HISTORY").
const HISTORY_STREAM: u64 = 0x0048_4953_544F_5259;

/// Settings of the experiment (validated by the CLI).
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencySettings {
    /// Arms, distribution, labels; `horizon` is the number of steps the prompt announces and
    /// must exceed `max_history + max(repeats)`.
    pub config: MabConfig,
    /// Random contexts.
    pub contexts: usize,
    /// Repetition counts of the target (each context is scored at every one).
    pub repeats: Vec<usize>,
    /// Shortest random history (>= 1: the target is its last action).
    pub min_history: usize,
    /// Longest random history.
    pub max_history: usize,
    /// Seed: context c plays scenario `derive_seed(seed, c)`.
    pub seed: u64,
    /// Gemma chat turns (else plain text for base models).
    pub chat: bool,
    /// The per-arm summary after the history.
    pub summary: bool,
    /// The answer scored for each arm, `{label}` replaced by the arm's label.
    pub answer: String,
}

/// The horizon the prompts announce: one step after the longest history.
pub fn horizon_for(max_history: usize, repeats: &[usize]) -> usize {
    max_history + repeats.iter().copied().max().unwrap_or(0) + 1
}

/// One scored prompt: a context's history with the target repeated `repeats` times.
#[derive(Debug, Clone, PartialEq)]
pub struct FbContext {
    /// Context index.
    pub context: usize,
    /// Times the target was repeated after the random history.
    pub repeats: usize,
    /// Length of the random history (the target's first play included).
    pub history_len: usize,
    /// The target arm.
    pub target: usize,
    /// The scenario's labels.
    pub labels: LabelSet,
    /// The whole history (random part, then the repeats), true arm indices.
    pub actions: Vec<usize>,
    /// Its rewards.
    pub rewards: Vec<f64>,
}

/// Builds every (context, repetition count) history, context-major, counts in the given order.
pub fn build_contexts(s: &FrequencySettings) -> Result<Vec<FbContext>> {
    build_shard_contexts(s, Shard::WHOLE)
}

/// [`build_contexts`] for the contexts of `shard` only (`c mod N == I`): each is the context
/// the whole run builds.
pub fn build_shard_contexts(s: &FrequencySettings, shard: Shard) -> Result<Vec<FbContext>> {
    if s.min_history == 0 || s.min_history > s.max_history {
        bail!("history lengths {}..={}: need 1 <= min <= max", s.min_history, s.max_history);
    }
    let max_rep = s.repeats.iter().copied().max().context("no repetition counts")?;
    if s.config.horizon < horizon_for(s.max_history, &s.repeats) {
        bail!("horizon {} is shorter than the longest history + 1", s.config.horizon);
    }
    let k = s.config.arms;
    let mut out = Vec::with_capacity(s.contexts * s.repeats.len());
    for c in shard.items(s.contexts).into_iter().map(|c| c as usize) {
        let seeds = EpisodeSeeds::new(s.seed, c as u64);
        let mut env = MultiArmedBandit::new(s.config, seeds.scenario).context("building the bandit")?;
        env.reset(seeds.episode)?;
        let mut rng = Rng::from_stream(derive_seed(seeds.scenario, HISTORY_STREAM), 0);
        let len = s.min_history + rng.below(s.max_history - s.min_history + 1);
        let mut actions: Vec<usize> = (0..len).map(|_| rng.below(k)).collect();
        let target = *actions.last().context("a history has at least one step")?;
        actions.extend(std::iter::repeat_n(target, max_rep));
        let mut rewards = Vec::with_capacity(actions.len());
        for &a in &actions {
            rewards.push(env.step(a)?.reward);
        }
        for &n in &s.repeats {
            out.push(FbContext {
                context: c,
                repeats: n,
                history_len: len,
                target,
                labels: *env.labels(),
                actions: actions[..len + n].to_vec(),
                rewards: rewards[..len + n].to_vec(),
            });
        }
    }
    Ok(out)
}

/// The prompt of one context: action-only output, the paper's wording.
pub fn prompt_text(s: &FrequencySettings, ctx: &FbContext) -> Result<String> {
    let mut spec = MabPromptSpec::new(&s.config);
    spec.output = OutputMode::ActionOnly;
    spec.chat = if s.chat { ChatFormat::GEMMA } else { ChatFormat::PLAIN };
    spec.summary = s.summary;
    let mut text = String::new();
    write_mab_prompt(&mut text, &spec, &ctx.labels, &ctx.actions, &ctx.rewards)
        .context("writing the prompt")?;
    Ok(text)
}

/// The answer scored for arm `arm`.
pub fn answer_text(template: &str, labels: &LabelSet, arm: usize) -> Result<String> {
    Ok(template.replace("{label}", &labels.get(arm)?.to_string()))
}

/// Shares of the three classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shares {
    /// F_f.
    pub frequent: f64,
    /// F_g.
    pub greedy: f64,
    /// F_o.
    pub other: f64,
}

impl Shares {
    fn of(f: &FrequencyBias) -> Result<Shares> {
        let [frequent, greedy, other] = f.shares().map_err(|e| anyhow::anyhow!("frequency shares: {e}"))?;
        Ok(Shares { frequent, greedy, other })
    }
}

/// The results at one repetition count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepeatRow {
    /// Repetitions of the target.
    pub repeats: usize,
    /// Contexts scored.
    pub contexts: usize,
    /// Class shares of the chosen (argmax) action: F_f, F_g, F_o.
    pub chosen: Shares,
    /// Mean probability mass per class.
    pub mass: Shares,
    /// Mean entropy of pi(. | context) over the arms, in nats.
    pub mean_entropy: f64,
    /// Its 95% confidence half-width.
    pub entropy_ci95: f64,
    /// Mean probability of the target arm.
    pub mean_target_prob: f64,
}

/// One prompt's result (a line of `contexts.jsonl`; read back, bit for bit, by a merge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextResult {
    /// Context index.
    pub context: usize,
    /// Repetitions of the target.
    pub repeats: usize,
    /// Length of the random history.
    pub history_len: usize,
    /// The target arm.
    pub target: usize,
    /// Pull counts per arm in the prompt's history.
    pub counts: Vec<u32>,
    /// log p(answer | prompt) per arm.
    pub scores: Vec<f64>,
    /// pi(a | context): the scores' softmax over the arms.
    pub probs: Vec<f64>,
    /// Each arm's class.
    #[serde(deserialize_with = "class_names")]
    pub classes: Vec<&'static str>,
    /// The argmax arm (lowest index among ties).
    pub chosen: usize,
    /// Entropy of `probs`, nats.
    pub entropy: f64,
}

/// The experiment's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyReport {
    /// One row per repetition count, in the given order.
    pub rows: Vec<RepeatRow>,
    /// Pearson correlation of entropy with the repetition count over all prompts (None when
    /// undefined: a single count, or constant entropy).
    pub entropy_repeat_correlation: Option<f64>,
    /// Chosen-action shares over all prompts.
    pub chosen_all: Shares,
    /// Probability-mass shares over all prompts.
    pub mass_all: Shares,
    /// Position bias, over all prompts: the prompt lists the labels in arm order, so entry i is
    /// about the i-th label listed (a model without position bias gives 1/arms on average).
    pub by_position: PositionBias,
    /// Every prompt's result.
    #[serde(skip)]
    pub details: Vec<ContextResult>,
}

/// Probability and choice per position of the label list, averaged over prompts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionBias {
    /// Mean pi(arm at position i | context).
    pub mean_prob: Vec<f64>,
    /// Share of prompts whose chosen (argmax) action is at position i.
    pub chosen: Vec<f64>,
}

impl PositionBias {
    fn of(details: &[ContextResult]) -> PositionBias {
        let k = details.iter().map(|d| d.probs.len()).max().unwrap_or(0);
        let n = details.len().max(1) as f64;
        let mut mean_prob = vec![0.0; k];
        let mut chosen = vec![0.0; k];
        for d in details {
            for (m, p) in mean_prob.iter_mut().zip(&d.probs) {
                *m += p / n;
            }
            chosen[d.chosen] += 1.0 / n;
        }
        PositionBias { mean_prob, chosen }
    }
}

/// Softmax of `scores` (probabilities over the arms) and its entropy in nats.
pub fn action_distribution(scores: &[f64]) -> Result<(Vec<f64>, f64)> {
    if scores.is_empty() || scores.iter().any(|s| !s.is_finite()) {
        bail!("action scores must be finite and non-empty: {scores:?}");
    }
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
    let probs: Vec<f64> = scores.iter().map(|s| (s - m).exp() / z).collect();
    let entropy = -probs.iter().filter(|&&p| p > 0.0).map(|p| p * p.ln()).sum::<f64>();
    Ok((probs, entropy))
}

/// Index of the largest score, the lowest among ties.
fn argmax(x: &[f64]) -> usize {
    (0..x.len()).fold(0, |b, i| if x[i] > x[b] { i } else { b })
}

/// Classifies and aggregates: `scores[i]` are the per-arm scores of `contexts[i]`; rows follow
/// `repeats`.
pub fn analyse(contexts: &[FbContext], scores: &[Vec<f64>], repeats: &[usize]) -> Result<FrequencyReport> {
    aggregate(score_contexts(contexts, scores)?, repeats)
}

/// Each prompt's result: `scores[i]` are the per-arm scores of `contexts[i]`.
pub fn score_contexts(contexts: &[FbContext], scores: &[Vec<f64>]) -> Result<Vec<ContextResult>> {
    if contexts.len() != scores.len() {
        bail!("{} contexts but {} score lists", contexts.len(), scores.len());
    }
    let mut details = Vec::with_capacity(contexts.len());
    for (ctx, sc) in contexts.iter().zip(scores) {
        let k = ctx.labels.len();
        if sc.len() != k {
            bail!("context {}: {} scores for {k} arms", ctx.context, sc.len());
        }
        let stats = ArmStats::from_history(k, &ctx.actions, &ctx.rewards)?;
        let (probs, entropy) = action_distribution(sc)?;
        let classes: Vec<FrequencyClass> =
            (0..k).map(|a| classify_frequency(&stats, a)).collect::<Result<_, _>>()?;
        details.push(ContextResult {
            context: ctx.context,
            repeats: ctx.repeats,
            history_len: ctx.history_len,
            target: ctx.target,
            counts: stats.counts().to_vec(),
            scores: sc.clone(),
            probs,
            classes: classes.iter().map(|c| c.name()).collect(),
            chosen: argmax(sc),
            entropy,
        });
    }
    Ok(details)
}

/// The report over every prompt's result (in the unsharded order: context-major, the counts in
/// the given order): rows follow `repeats`. A merge of shards calls this on the shards' lines.
pub fn aggregate(details: Vec<ContextResult>, repeats: &[usize]) -> Result<FrequencyReport> {
    let (mut chosen_all, mut mass_all) = (FrequencyBias::default(), FrequencyBias::default());
    for d in &details {
        if d.classes.len() != d.probs.len() || d.chosen >= d.probs.len() || d.target >= d.probs.len() {
            bail!("context {} ({} repeats): inconsistent arms", d.context, d.repeats);
        }
        chosen_all.add(class_of(d.classes[d.chosen]));
        // per prompt, then into the total: FrequencyBias::add_distribution's order of sums
        let mut add = [0.0; 3];
        for (c, &p) in d.classes.iter().zip(&d.probs) {
            add[class_of(c).index()] += p;
        }
        for (class, w) in FrequencyClass::ALL.into_iter().zip(add) {
            mass_all.add_weighted(class, w)?;
        }
    }
    let mut rows = Vec::with_capacity(repeats.len());
    for &n in repeats {
        let mine: Vec<&ContextResult> = details.iter().filter(|d| d.repeats == n).collect();
        if mine.is_empty() {
            bail!("no context was scored with {n} repetitions");
        }
        let (mut chosen, mut mass) = (FrequencyBias::default(), FrequencyBias::default());
        for d in &mine {
            chosen.add(class_of(d.classes[d.chosen]));
            for (c, &p) in d.classes.iter().zip(&d.probs) {
                mass.add_weighted(class_of(c), p)?;
            }
        }
        let entropies: Vec<f64> = mine.iter().map(|d| d.entropy).collect();
        let (mean_entropy, entropy_ci95) = mean_ci95(&entropies);
        let target: Vec<f64> = mine.iter().map(|d| d.probs[d.target]).collect();
        rows.push(RepeatRow {
            repeats: n,
            contexts: mine.len(),
            chosen: Shares::of(&chosen)?,
            mass: Shares::of(&mass)?,
            mean_entropy,
            entropy_ci95,
            mean_target_prob: mean_ci95(&target).0,
        });
    }
    let xs: Vec<f64> = details.iter().map(|d| d.repeats as f64).collect();
    let ys: Vec<f64> = details.iter().map(|d| d.entropy).collect();
    Ok(FrequencyReport {
        rows,
        entropy_repeat_correlation: pearson(&xs, &ys).ok(),
        chosen_all: Shares::of(&chosen_all)?,
        mass_all: Shares::of(&mass_all)?,
        by_position: PositionBias::of(&details),
        details,
    })
}

/// Reads a class name of `contexts.jsonl` back as the class's own name.
fn class_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<&'static str>, D::Error> {
    let names: Vec<String> = Vec::deserialize(d)?;
    names
        .iter()
        .map(|n| {
            FrequencyClass::ALL.into_iter().find(|c| c.name() == n).map(|c| c.name()).ok_or_else(|| {
                serde::de::Error::custom(format!("unknown class {n:?} (frequent, greedy or other)"))
            })
        })
        .collect()
}

fn class_of(name: &str) -> FrequencyClass {
    FrequencyClass::ALL.into_iter().find(|c| c.name() == name).unwrap_or(FrequencyClass::Other)
}

/// Builds the contexts, scores every arm of every prompt, and analyses. The prompts of
/// `contexts_per_call` contexts (all their repetition counts, all arms) go into ONE scorer call
/// (the engine batches them into few forwards); `progress` is told the contexts done after
/// each call. The results do not depend on `contexts_per_call`.
pub fn run_frequency_bias(
    scorer: &mut dyn AnswerScorer,
    s: &FrequencySettings,
    contexts_per_call: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<FrequencyReport> {
    run_frequency_shard(scorer, s, Shard::WHOLE, contexts_per_call, progress)
}

/// [`run_frequency_bias`] on the contexts of `shard` only: its lines of `contexts.jsonl` are
/// the whole run's, and its report is over its contexts (see [`super::merge`]).
pub fn run_frequency_shard(
    scorer: &mut dyn AnswerScorer,
    s: &FrequencySettings,
    shard: Shard,
    contexts_per_call: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<FrequencyReport> {
    let contexts = build_shard_contexts(s, shard)?;
    let prompts: Vec<String> = contexts.iter().map(|c| prompt_text(s, c)).collect::<Result<_>>()?;
    let k = s.config.arms;
    let per_call = contexts_per_call.max(1) * s.repeats.len();
    let mut scores: Vec<Vec<f64>> = Vec::with_capacity(contexts.len());
    for (group, (ctxs, texts)) in contexts.chunks(per_call).zip(prompts.chunks(per_call)).enumerate() {
        let mut answers = Vec::with_capacity(ctxs.len() * k);
        for (i, c) in ctxs.iter().enumerate() {
            for a in 0..k {
                answers.push((i, answer_text(&s.answer, &c.labels, a)?));
            }
        }
        let flat = scorer.score_answers(texts, &answers)?;
        if flat.len() != answers.len() {
            bail!("the scorer returned {} scores for {} answers", flat.len(), answers.len());
        }
        scores.extend(flat.chunks(k).map(<[f64]>::to_vec));
        progress(((group + 1) * per_call).min(contexts.len()) / s.repeats.len());
    }
    analyse(&contexts, &scores, &s.repeats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use env_core::{ArmDistribution, LabelStyle};

    fn settings() -> FrequencySettings {
        let repeats = vec![0, 3, 8];
        let config = MabConfig {
            arms: 4,
            horizon: horizon_for(5, &repeats),
            distribution: ArmDistribution::Gaussian { sigma: 1.0 },
            labels: LabelStyle::Buttons,
        };
        FrequencySettings {
            config,
            contexts: 5,
            repeats,
            min_history: 2,
            max_history: 5,
            seed: 11,
            chat: true,
            summary: false,
            answer: "ACTION={label}".into(),
        }
    }

    #[test]
    fn shares_and_entropy_by_hand() {
        let labels = LabelSet::new(LabelStyle::Numeric, 3, 0).unwrap();
        // history: arm 0 x3 (mean 0.1), arm 1 x1 (mean 0.9): arm 0 frequent, arm 1 greedy, arm 2 other
        let ctx = |repeats: usize| FbContext {
            context: 0,
            repeats,
            history_len: 4,
            target: 0,
            labels,
            actions: vec![0, 0, 1, 0],
            rewards: vec![0.1, 0.1, 0.9, 0.1],
        };
        let ln = f64::ln;
        // prompt A: probabilities 1/2, 1/4, 1/4 (chosen: frequent); B: 1/4, 1/2, 1/4 (greedy);
        // C: 1/3 each (chosen: arm 0, the lowest index of the tie)
        let contexts = vec![ctx(0), ctx(0), ctx(5)];
        let scores = vec![
            vec![ln(0.5), ln(0.25), ln(0.25)],
            vec![ln(0.25) - 7.0, ln(0.5) - 7.0, ln(0.25) - 7.0], // a constant shift changes nothing
            vec![-2.0, -2.0, -2.0],
        ];
        let r = analyse(&contexts, &scores, &[0, 5]).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        let row0 = &r.rows[0];
        assert_eq!((row0.repeats, row0.contexts), (0, 2));
        assert_eq!((row0.chosen.frequent, row0.chosen.greedy, row0.chosen.other), (0.5, 0.5, 0.0));
        assert!(
            close(row0.mass.frequent, 0.375)
                && close(row0.mass.greedy, 0.375)
                && close(row0.mass.other, 0.25)
        );
        // both have entropy -(1/2 ln 1/2 + 2 * 1/4 ln 1/4) = 1.5 ln 2
        assert!(close(row0.mean_entropy, 1.5 * ln(2.0)), "{}", row0.mean_entropy);
        assert!(close(row0.mean_target_prob, 0.375));
        let row5 = &r.rows[1];
        assert_eq!((row5.chosen.frequent, row5.chosen.greedy, row5.chosen.other), (1.0, 0.0, 0.0));
        assert!(close(row5.mean_entropy, ln(3.0)));
        // correlation of (0, 0, 5) with (1.5 ln 2, 1.5 ln 2, ln 3): ln 3 > 1.5 ln 2, so +1
        assert!(close(r.entropy_repeat_correlation.unwrap(), 1.0));
        assert_eq!(r.details[0].classes, vec!["frequent", "greedy", "other"]);
        assert_eq!(r.details[2].chosen, 0);
        assert!(close(r.chosen_all.frequent, 2.0 / 3.0));
        // errors: wrong number of scores, non-finite scores, a count with no context
        assert!(analyse(&contexts[..1], &[vec![0.0; 2]], &[0]).is_err());
        assert!(analyse(&contexts[..1], &[vec![0.0, f64::NAN, 0.0]], &[0]).is_err());
        assert!(analyse(&contexts[..1], &scores[..1], &[7]).unwrap_err().to_string().contains("7"));
    }

    #[test]
    fn contexts_repeat_the_target_on_a_shared_history() {
        let s = settings();
        let cs = build_contexts(&s).unwrap();
        assert_eq!(cs.len(), 5 * 3);
        for group in cs.chunks(3) {
            let full = &group[2];
            for (c, &n) in group.iter().zip(&s.repeats) {
                assert_eq!(c.repeats, n);
                assert!((2..=5).contains(&c.history_len));
                assert_eq!(c.actions.len(), c.history_len + n);
                assert_eq!(c.actions[..], full.actions[..c.actions.len()], "histories are prefixes");
                assert_eq!(c.rewards[..], full.rewards[..c.rewards.len()]);
                assert_eq!(c.target, c.actions[c.history_len - 1]);
                assert!(c.actions[c.history_len..].iter().all(|&a| a == c.target));
            }
        }
        assert_eq!(cs, build_contexts(&s).unwrap(), "seeded");
        let text = prompt_text(&s, &cs[2]).unwrap();
        assert!(text.starts_with("<start_of_turn>user\n") && text.contains("Answer with ACTION=X only"));
        assert_eq!(text.matches("Step=").count(), cs[2].actions.len());
        let bad = FrequencySettings { min_history: 0, ..settings() };
        assert!(build_contexts(&bad).is_err());
    }

    /// A "copying" model: the score of an arm is how often its label appears in the history.
    struct Copier(usize);

    impl AnswerScorer for Copier {
        fn score_answers(&mut self, prompts: &[String], answers: &[(usize, String)]) -> Result<Vec<f64>> {
            self.0 += 1;
            Ok(answers
                .iter()
                .map(|(p, a)| {
                    let label = a.strip_prefix("ACTION=").unwrap();
                    prompts[*p].matches(&format!("Action={label} ")).count() as f64
                })
                .collect())
        }
    }

    #[test]
    fn a_copying_model_picks_the_frequent_action_with_falling_entropy() {
        let s = settings();
        let mut scorer = Copier(0);
        let mut done = Vec::new();
        let r = run_frequency_bias(&mut scorer, &s, 100, &mut |n| done.push(n)).unwrap();
        assert_eq!(scorer.0, 1, "one scorer call for all prompts and arms");
        assert_eq!(done, [5]);
        // two contexts per call: 3 calls, the same results
        let mut calls = Copier(0);
        let mut done = Vec::new();
        assert_eq!(run_frequency_bias(&mut calls, &s, 2, &mut |n| done.push(n)).unwrap(), r);
        assert_eq!((calls.0, done), (3, vec![2, 4, 5]));
        assert_eq!(r.rows.len(), 3);
        for d in &r.details {
            // the argmax is the most counted arm: frequent, or greedy when it is also the best
            assert_eq!(d.counts[d.chosen], *d.counts.iter().max().unwrap());
            assert_ne!(d.classes[d.chosen], "other");
            let want: Vec<f64> = d.counts.iter().map(|&c| c as f64).collect();
            assert_eq!(d.scores, want);
        }
        let pos = &r.by_position;
        assert_eq!(pos.mean_prob.len(), 4);
        assert!((pos.mean_prob.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((pos.chosen.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for a in 0..4 {
            let want = r.details.iter().map(|d| d.probs[a]).sum::<f64>() / r.details.len() as f64;
            assert!((pos.mean_prob[a] - want).abs() < 1e-12);
            let picked = r.details.iter().filter(|d| d.chosen == a).count() as f64 / r.details.len() as f64;
            assert!((pos.chosen[a] - picked).abs() < 1e-12);
        }
        let last = &r.rows[2];
        assert!(last.mean_target_prob > 0.99, "8 repeats: the target dominates ({})", last.mean_target_prob);
        assert!(r.rows[0].mean_entropy > last.mean_entropy);
        assert!(r.entropy_repeat_correlation.unwrap() < -0.5);
    }
}
