//! The knowing-doing gap (SPEC section 4): the model is asked to write the UCB rule, compute
//! every arm's UCB value inside `<ucb_values>...</ucb_values>`, then act. "Knowing": the argmax
//! of its stated values is a true argmax-UCB arm recomputed from the history. "Doing": its action
//! is optimal (argmax UCB; any untried arm while one is untried), greedy (best mean among tried
//! arms, when not optimal) or other. The 2x3 matrix (`env_core::metrics::KnowingDoing`) counts
//! the answers with a valid action; answers without values count as incorrect rationales,
//! answers without a valid action are counted apart.
//!
//! Context `c` is a fresh bandit scenario (`derive_seed(seed, c)`) with a history of a random
//! length played by a behaviour agent (random by default). All contexts are answered by ONE
//! generation call (or one per `batch` contexts), greedy by default, with the paper's 2048-token
//! budget.

use anyhow::{Context, Result, bail};
use env_core::agents::{BanditPolicy, POLICY_STREAM};
use env_core::metrics::{ActionClass, KnowingDoing, classify_action, is_ucb_optimal};
use env_core::parse::{parse_action, parse_ucb_values};
use env_core::prompt::{ChatFormat, MabPromptSpec, OutputMode, write_mab_prompt};
use env_core::rng::derive_seed;
use env_core::{ArmStats, Environment, LabelSet, MabConfig, MultiArmedBandit, Rng, UcbRule};
use serde::{Deserialize, Deserializer, Serialize};

use crate::agent::{Policy, SampleOptions};
use crate::envs::{EnvKind, EpisodeSeeds};
use crate::eval::AgentSpec;
use crate::eval::baselines::build_bandit_policy;
use crate::shard::Shard;

/// Stream id of the history lengths ("LENGTH").
const LENGTH_STREAM: u64 = 0x4C45_4E47_5448;

/// Settings of the study (validated by the CLI).
#[derive(Debug, Clone, PartialEq)]
pub struct KnowingSettings {
    /// The bandit (its horizon is announced in the prompt and bounds the history length).
    pub config: MabConfig,
    /// Random contexts.
    pub contexts: usize,
    /// Shortest history.
    pub min_steps: usize,
    /// Longest history (< horizon).
    pub max_steps: usize,
    /// The agent that plays the histories (`random`, `ucb`, `greedy`, ...).
    pub history_agent: AgentSpec,
    /// Its epsilon, for `eps-greedy` / `eps:`.
    pub epsilon: f64,
    /// The UCB rule asked for and graded against.
    pub rule: UcbRule,
    /// Generation budget.
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f32,
    /// Contexts per generation call at most.
    pub batch: usize,
    /// Seed.
    pub seed: u64,
    /// Gemma chat turns (else plain text).
    pub chat: bool,
    /// The per-arm summary after the history.
    pub summary: bool,
}

/// One context: a history to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct KdContext {
    /// Context index.
    pub context: usize,
    /// The scenario's labels.
    pub labels: LabelSet,
    /// The history, true arm indices.
    pub actions: Vec<usize>,
    /// Its rewards.
    pub rewards: Vec<f64>,
}

/// Plays every context's history with the behaviour agent.
pub fn build_contexts(s: &KnowingSettings) -> Result<Vec<KdContext>> {
    build_shard_contexts(s, Shard::WHOLE)
}

/// [`build_contexts`] for the contexts of `shard` only (`c mod N == I`).
pub fn build_shard_contexts(s: &KnowingSettings, shard: Shard) -> Result<Vec<KdContext>> {
    if s.min_steps > s.max_steps || s.max_steps >= s.config.horizon {
        bail!(
            "history lengths {}..={} must satisfy min <= max < horizon {}",
            s.min_steps,
            s.max_steps,
            s.config.horizon
        );
    }
    let mut out = Vec::with_capacity(s.contexts);
    for c in shard.items(s.contexts).into_iter().map(|c| c as usize) {
        let seeds = EpisodeSeeds::new(s.seed, c as u64);
        let mut env = MultiArmedBandit::new(s.config, seeds.scenario).context("building the bandit")?;
        env.reset(seeds.episode)?;
        let mut lengths = Rng::from_stream(derive_seed(seeds.scenario, LENGTH_STREAM), 0);
        let len = s.min_steps + lengths.below(s.max_steps - s.min_steps + 1);
        let mut policy = build_bandit_policy(&s.history_agent, &s.config, s.epsilon)?;
        policy.reset(s.config.arms)?;
        let mut rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
        let (mut actions, mut rewards) = (Vec::with_capacity(len), Vec::with_capacity(len));
        for _ in 0..len {
            let a = policy.select(&mut rng)?;
            let r = env.step(a)?.reward;
            policy.update(a, r)?;
            actions.push(a);
            rewards.push(r);
        }
        out.push(KdContext { context: c, labels: *env.labels(), actions, rewards });
    }
    Ok(out)
}

/// The knowing-doing prompt of one context.
pub fn prompt_text(s: &KnowingSettings, ctx: &KdContext) -> Result<String> {
    let mut spec = MabPromptSpec::new(&s.config);
    spec.output = OutputMode::KnowingDoing(s.rule);
    spec.chat = if s.chat { ChatFormat::GEMMA } else { ChatFormat::PLAIN };
    spec.summary = s.summary;
    let mut text = String::new();
    write_mab_prompt(&mut text, &spec, &ctx.labels, &ctx.actions, &ctx.rewards)
        .context("writing the prompt")?;
    Ok(text)
}

/// One graded answer (a line of `contexts.jsonl`; read back by a merge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graded {
    /// Context index.
    pub context: usize,
    /// History length.
    pub steps: usize,
    /// The true UCB value per arm (null: untried).
    pub true_values: Vec<Option<f64>>,
    /// The UCB-optimal arms.
    pub optimal_arms: Vec<usize>,
    /// The values the model stated per arm (null: not stated; NaN is written as null too).
    /// None: no `<ucb_values>` block.
    pub stated_values: Option<Vec<Option<f64>>>,
    /// The argmax of the stated values (NaN = untried counts as +infinity).
    pub stated_arm: Option<usize>,
    /// Knowing: `stated_arm` is UCB-optimal.
    pub rationale_correct: bool,
    /// The action of the answer (None: no valid action).
    pub action: Option<usize>,
    /// Doing: `optimal`, `greedy` or `other` (None without a valid action).
    #[serde(deserialize_with = "class_name")]
    pub class: Option<ClassName>,
    /// The answer.
    pub answer: String,
}

/// Grades one answer against its context.
pub fn grade(rule: &UcbRule, ctx: &KdContext, answer: &str) -> Result<Graded> {
    let k = ctx.labels.len();
    let stats = ArmStats::from_history(k, &ctx.actions, &ctx.rewards)?;
    let optimal_arms: Vec<usize> = (0..k)
        .filter_map(|a| is_ucb_optimal(rule, &stats, a).map(|o| o.then_some(a)).transpose())
        .collect::<Result<_, _>>()?;
    let values = parse_ucb_values(answer, &ctx.labels);
    let stated_arm = values.as_ref().and_then(|v| v.argmax());
    let rationale_correct = match stated_arm {
        Some(a) => is_ucb_optimal(rule, &stats, a)?,
        None => false,
    };
    let action = parse_action(answer, &ctx.labels).arm();
    let class = action.map(|a| classify_action(rule, &stats, a)).transpose()?;
    Ok(Graded {
        context: ctx.context,
        steps: ctx.actions.len(),
        true_values: (0..k).map(|a| rule.value(&stats, a)).collect(),
        optimal_arms,
        stated_values: values.map(|v| (0..k).map(|a| v.get(a)).collect()),
        stated_arm,
        rationale_correct,
        action,
        class: class.map(ActionClass::name),
        answer: answer.to_string(),
    })
}

/// The study's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnowingReport {
    /// Answers generated.
    pub answers: usize,
    /// `matrix[row][col]`: rows rationale correct / incorrect, columns optimal / greedy / other;
    /// answers with a valid action only.
    pub matrix: [[u64; 3]; 2],
    /// The matrix as shares of its total.
    pub shares: Option<[[f64; 3]; 2]>,
    /// Share of correct rationales among the matrix's answers.
    pub correct_share: Option<f64>,
    /// Share of greedy actions among correct rationales (the paper's 64% for 27B).
    pub greedy_given_correct: Option<f64>,
    /// Share of optimal actions among correct rationales.
    pub optimal_given_correct: Option<f64>,
    /// Answers without a `<ucb_values>` block or without any value in it.
    pub missing_values: usize,
    /// Answers without a valid action (not in the matrix).
    pub invalid_actions: usize,
    /// Every graded answer.
    #[serde(skip)]
    pub graded: Vec<Graded>,
}

/// Aggregates graded answers.
pub fn summarize(graded: Vec<Graded>) -> KnowingReport {
    let mut m = KnowingDoing::default();
    let mut missing_values = 0;
    let mut invalid_actions = 0;
    for g in &graded {
        if g.stated_arm.is_none() {
            missing_values += 1;
        }
        let class = g.class.and_then(|c| ActionClass::ALL.into_iter().find(|x| x.name() == c));
        match class {
            Some(c) => m.add(g.rationale_correct, c),
            None => invalid_actions += 1,
        }
    }
    KnowingReport {
        answers: graded.len(),
        matrix: m.counts,
        shares: m.shares().ok(),
        correct_share: m.correct_share().ok(),
        greedy_given_correct: m.row_share(true, ActionClass::Greedy).ok(),
        optimal_given_correct: m.row_share(true, ActionClass::Optimal).ok(),
        missing_values,
        invalid_actions,
        graded,
    }
}

/// Builds the contexts, answers them (`batch` contexts per generation call, stream = context
/// index, seed = the run's seed), grades and aggregates.
/// `progress` is told the contexts answered after each call.
pub fn run_knowing_doing(
    model: &mut dyn Policy,
    s: &KnowingSettings,
    progress: &mut dyn FnMut(usize),
) -> Result<KnowingReport> {
    run_knowing_shard(model, s, Shard::WHOLE, progress)
}

/// [`run_knowing_doing`] on the contexts of `shard` only: each context is answered on its own
/// stream (its index in the run), so its line of `contexts.jsonl` is the whole run's.
pub fn run_knowing_shard(
    model: &mut dyn Policy,
    s: &KnowingSettings,
    shard: Shard,
    progress: &mut dyn FnMut(usize),
) -> Result<KnowingReport> {
    let contexts = build_shard_contexts(s, shard)?;
    let texts: Vec<String> = contexts.iter().map(|c| prompt_text(s, c)).collect::<Result<_>>()?;
    let opts = SampleOptions {
        max_new_tokens: s.max_new_tokens,
        temperature: s.temperature,
        seed: s.seed,
        entropy: false,
    };
    let mut answers = Vec::with_capacity(texts.len());
    for (chunk, ctxs) in texts.chunks(s.batch.max(1)).zip(contexts.chunks(s.batch.max(1))) {
        let streams: Vec<u64> = ctxs.iter().map(|c| c.context as u64).collect();
        let got: Vec<String> = model.complete(chunk, &streams, &opts)?.into_iter().map(|c| c.text).collect();
        if got.len() != chunk.len() {
            bail!("the generator returned {} answers for {} prompts", got.len(), chunk.len());
        }
        answers.extend(got);
        progress(answers.len());
    }
    let graded = contexts.iter().zip(&answers).map(|(c, a)| grade(&s.rule, c, a)).collect::<Result<_>>()?;
    Ok(summarize(graded))
}

/// An action class's name (`ActionClass::name`). A named type, so that serde reads it back
/// through [`class_name`] instead of borrowing it from the input.
pub type ClassName = &'static str;

/// Reads an action class of `contexts.jsonl` back as the class's own name.
fn class_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ClassName>, D::Error> {
    let name: Option<String> = Option::deserialize(d)?;
    name.map(|n| {
        ActionClass::ALL.into_iter().find(|c| c.name() == n).map(ActionClass::name).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown action class {n:?} (optimal, greedy or other)"))
        })
    })
    .transpose()
}

/// Parses the `--history-agent` value (a bandit agent or wrapper, not `llm`).
pub fn history_agent(name: &str) -> Result<AgentSpec> {
    let spec = AgentSpec::parse(name, EnvKind::Mab)
        .map_err(|e| anyhow::anyhow!(e.replace("--agent", "--history-agent")))?;
    if spec.base == crate::eval::BaseAgent::Llm {
        bail!(
            "invalid value '{name}' for --history-agent: the histories are played by a baseline agent, not llm"
        );
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Completion;
    use env_core::LabelStyle;

    fn ctx() -> KdContext {
        // arm 0: mean 1.0 (n=4) -> UCB 1.5; arm 1: mean 0.8 (n=1) -> 1.8; arm 2: 0.1 (n=1) -> 1.1
        KdContext {
            context: 3,
            labels: LabelSet::new(LabelStyle::Numeric, 3, 0).unwrap(),
            actions: vec![0, 0, 0, 0, 1, 2],
            rewards: vec![1.0, 1.0, 1.0, 1.0, 0.8, 0.1],
        }
    }

    #[test]
    fn grading_crafted_answers() {
        let r = UcbRule::PAPER;
        let right_but_greedy = "UCB = mean + sqrt(1/N).\n<ucb_values>\n0: 1.0 + sqrt(1/4) = 1.5\n1: 1.8\n2: 1.1\n\
                                </ucb_values>\nArm 0 has the best mean. ACTION=0";
        let g = grade(&r, &ctx(), right_but_greedy).unwrap();
        assert_eq!(g.stated_values, Some(vec![Some(1.5), Some(1.8), Some(1.1)]));
        assert_eq!((g.stated_arm, g.rationale_correct), (Some(1), true));
        assert_eq!((g.action, g.class), (Some(0), Some("greedy")));
        assert_eq!(g.optimal_arms, vec![1]);
        assert!(
            (g.true_values[0].unwrap() - 1.5).abs() < 1e-12
                && (g.true_values[1].unwrap() - 1.8).abs() < 1e-12
        );
        let wrong_optimal = "<ucb_values>\n0: 2.0\n1: 1.8\n2: 1.1\n</ucb_values>\nACTION=1";
        let g2 = grade(&r, &ctx(), wrong_optimal).unwrap();
        assert_eq!((g2.stated_arm, g2.rationale_correct, g2.class), (Some(0), false, Some("optimal")));
        let no_block = "I press ACTION=2";
        let g3 = grade(&r, &ctx(), no_block).unwrap();
        assert_eq!((g3.stated_values.clone(), g3.rationale_correct, g3.class), (None, false, Some("other")));
        let no_action = "<ucb_values>\n0: 1.5\n1: 1.8\n2: 1.1\n</ucb_values> so I choose the second";
        let g4 = grade(&r, &ctx(), no_action).unwrap();
        assert_eq!((g4.rationale_correct, g4.action, g4.class), (true, None, None));
        // an untried arm: any untried arm is optimal; a stated nan counts as +infinity
        let untried = KdContext { actions: vec![0, 1], rewards: vec![0.5, 0.2], ..ctx() };
        let g5 =
            grade(&r, &untried, "<ucb_values>\n0: 1.5\n1: 1.2\n2: nan\n</ucb_values>\nACTION=2").unwrap();
        assert_eq!((g5.stated_arm, g5.rationale_correct, g5.class), (Some(2), true, Some("optimal")));
        assert_eq!(g5.optimal_arms, vec![2]);

        let rep = summarize(vec![g, g2, g3, g4, g5]);
        assert_eq!(rep.answers, 5);
        assert_eq!(rep.matrix, [[1, 1, 0], [1, 0, 1]]);
        assert_eq!((rep.missing_values, rep.invalid_actions), (1, 1));
        assert_eq!(rep.correct_share, Some(0.5));
        assert_eq!(rep.greedy_given_correct, Some(0.5));
        assert_eq!(rep.shares.unwrap()[1], [0.25, 0.0, 0.25]);
    }

    struct Echo(Vec<usize>);

    impl Policy for Echo {
        fn complete(
            &mut self,
            texts: &[String],
            streams: &[u64],
            o: &SampleOptions,
        ) -> Result<Vec<Completion>> {
            assert_eq!(o.max_new_tokens, 2048);
            self.0.push(texts.len());
            assert!(texts.iter().all(|t| t.contains("<ucb_values>")));
            Ok(streams.iter().map(|_| Completion::text("no values here. ACTION=0")).collect())
        }
    }

    #[test]
    fn runs_in_batches_and_grades_every_context() {
        let s = KnowingSettings {
            config: MabConfig { arms: 3, labels: LabelStyle::Numeric, ..MabConfig::default() },
            contexts: 5,
            min_steps: 0,
            max_steps: 6,
            history_agent: history_agent("ucb").unwrap(),
            epsilon: 0.1,
            rule: UcbRule::PAPER,
            max_new_tokens: 2048,
            temperature: 0.0,
            batch: 2,
            seed: 4,
            chat: true,
            summary: true,
        };
        let cs = build_contexts(&s).unwrap();
        assert!(cs.iter().all(|c| c.actions.len() <= 6));
        // ucb plays every arm first: the first min(len, 3) actions are 0, 1, 2
        for c in &cs {
            let n = c.actions.len().min(3);
            assert_eq!(c.actions[..n], [0, 1, 2][..n]);
        }
        let mut echo = Echo(Vec::new());
        let mut done = Vec::new();
        let rep = run_knowing_doing(&mut echo, &s, &mut |n| done.push(n)).unwrap();
        assert_eq!(echo.0, vec![2, 2, 1]);
        assert_eq!(done, [2, 4, 5]);
        assert_eq!(rep.answers, 5);
        assert_eq!(rep.missing_values, 5);
        assert_eq!(rep.matrix[0], [0, 0, 0], "no values: never a correct rationale");
        assert_eq!(rep.matrix[1].iter().sum::<u64>(), 5);
        assert!(history_agent("llm").is_err());
        assert!(history_agent("nope").unwrap_err().to_string().contains("--history-agent"));
    }
}
