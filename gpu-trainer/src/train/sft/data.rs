//! Supervised examples for SFT (SPEC section 7): (prompt, target) pairs, either written by the
//! UCB expert on Gaussian bandits or read from a JSONL file.
//!
//! Expert data: episode `e` of bandit setting `s` plays the paper's UCB (mean + sqrt(1/N)) for the
//! setting's horizon; every step is one example whose prompt is env-core's MAB prompt for that
//! step (chat turns, optional per-arm summary) and whose target is
//! - behaviour cloning: the action line alone (`ACTION=red`, env-core `write_action`), asked for
//!   with the action-only output instruction;
//! - thought cloning: the UCB rationale (env-core `write_ucb_rationale`: per arm count, mean and
//!   UCB, the decision, `ACTION=X`), asked for with the chain-of-thought instruction.
//!
//! Examples are made on demand from their index (an episode is replayed up to the step), so a
//! data set of millions of steps costs no memory, and the same seed gives the same text.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use env_core::agents::{BanditPolicy, Greedy, POLICY_STREAM, Ucb};
use env_core::prompt::{
    GreedyTemplates, MabPromptSpec, OutputMode, RationaleTemplates, write_action, write_greedy_rationale,
    write_mab_prompt, write_ucb_rationale,
};
use env_core::rng::derive_seed;
use env_core::{ArmStats, Environment, MabConfig, MultiArmedBandit, Rng, UcbRule};
use serde::{Deserialize, Serialize};

use crate::envs::EpisodeSeeds;

/// One supervised example: the text the model reads and the text it should write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The whole context, chat turns included (`<bos>` is added when tokenizing).
    pub prompt: String,
    /// The answer; the loss is taken on its tokens (and the closing `<end_of_turn>`) only.
    pub target: String,
}

/// What the expert's answer contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TargetMode {
    /// Thought cloning: the UCB computation, then `ACTION=X` (chain-of-thought prompt).
    Thought,
    /// Behaviour cloning: `ACTION=X` only (action-only prompt).
    Behaviour,
}

impl TargetMode {
    /// The output instruction the prompt carries for this mode.
    pub fn output_mode(self) -> OutputMode {
        match self {
            TargetMode::Thought => OutputMode::ChainOfThought,
            TargetMode::Behaviour => OutputMode::ActionOnly,
        }
    }

    /// `thought` or `behaviour`.
    pub fn name(self) -> &'static str {
        match self {
            TargetMode::Thought => "thought",
            TargetMode::Behaviour => "behaviour",
        }
    }
}

/// Which classic agent the data clones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expert {
    /// UCB with the paper's rule (mean + sqrt(1/N)): near-optimal exploration.
    Ucb,
    /// The greedy agent: a random first arm, then always the best mean so far (the LLM failure
    /// mode: a greedy starting policy for RL fine-tuning).
    Greedy,
}

impl Expert {
    /// `ucb` or `greedy`.
    pub fn name(self) -> &'static str {
        match self {
            Expert::Ucb => "ucb",
            Expert::Greedy => "greedy",
        }
    }
}

/// An expert's data set: `episodes` trajectories of every bandit setting.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpertData {
    /// The agent cloned.
    pub expert: Expert,
    /// The bandit settings (arms, noise, horizon), in order.
    pub settings: Vec<MabConfig>,
    /// Trajectories per setting.
    pub episodes: usize,
    /// Behaviour or thought cloning.
    pub mode: TargetMode,
    /// Prompts carry the per-arm summary after the history.
    pub summary: bool,
    /// Seed of the scenarios and reward noise: setting `s`, episode `e` plays scenario
    /// `EpisodeSeeds::new(derive_seed(seed, s), e)`.
    pub seed: u64,
}

/// Where an example of [`ExpertData`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpertIndex {
    /// Index into [`ExpertData::settings`].
    pub setting: usize,
    /// Episode of that setting.
    pub episode: usize,
    /// Step of the episode (the prompt shows steps `0..step`).
    pub step: usize,
}

impl ExpertData {
    /// Checks the settings and sizes.
    pub fn new(
        settings: Vec<MabConfig>,
        episodes: usize,
        mode: TargetMode,
        summary: bool,
        seed: u64,
    ) -> Result<ExpertData> {
        if settings.is_empty() {
            bail!("the expert data needs at least one bandit setting");
        }
        for c in &settings {
            c.validate().map_err(|e| anyhow::anyhow!("invalid bandit setting for the expert data: {e}"))?;
        }
        if episodes == 0 {
            bail!("invalid value 0 for the number of expert episodes: allowed 1 or more");
        }
        Ok(ExpertData { expert: Expert::Ucb, settings, episodes, mode, summary, seed })
    }

    /// The same data cloning `expert` instead.
    pub fn with_expert(mut self, expert: Expert) -> ExpertData {
        self.expert = expert;
        self
    }

    /// Number of examples (steps over all episodes and settings).
    pub fn len(&self) -> usize {
        self.settings.iter().map(|c| c.horizon * self.episodes).sum()
    }

    /// Never empty (checked by [`ExpertData::new`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Which (setting, episode, step) example `index` is.
    pub fn locate(&self, index: usize) -> Result<ExpertIndex> {
        let mut rest = index;
        for (setting, c) in self.settings.iter().enumerate() {
            let size = c.horizon * self.episodes;
            if rest < size {
                return Ok(ExpertIndex { setting, episode: rest / c.horizon, step: rest % c.horizon });
            }
            rest -= size;
        }
        bail!("example {index} is past the end of the UCB data ({} examples)", self.len())
    }

    /// Example `index`.
    pub fn get(&self, index: usize) -> Result<Example> {
        let at = self.locate(index)?;
        let mut one = self.episode_examples(at.setting, at.episode, at.step + 1)?;
        one.pop().context("an episode of at least one step")
    }

    /// The first `steps` examples of one episode (one per step), in step order.
    pub fn episode_examples(&self, setting: usize, episode: usize, steps: usize) -> Result<Vec<Example>> {
        let config = self.settings.get(setting).with_context(|| format!("no bandit setting {setting}"))?;
        let seeds = EpisodeSeeds::new(derive_seed(self.seed, setting as u64), episode as u64);
        let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
        env.reset(seeds.episode)?;
        let mut ucb = Ucb::paper();
        ucb.reset(config.arms)?;
        let mut greedy = Greedy::new();
        greedy.reset(config.arms)?;
        let mut unused = Rng::new(0); // UCB never draws
        // the greedy agent's one draw (its first arm), as run_bandit_episode seeds it
        let mut policy_rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
        let mut spec = MabPromptSpec::new(config);
        spec.output = self.mode.output_mode();
        spec.summary = self.summary;
        let templates = RationaleTemplates::default();
        let (mut actions, mut rewards) = (Vec::new(), Vec::new());
        let mut out = Vec::with_capacity(steps);
        for t in 0..steps.min(config.horizon) {
            let mut prompt = String::new();
            write_mab_prompt(&mut prompt, &spec, env.labels(), &actions, &rewards)
                .context("writing the prompt")?;
            let (arm, (target, chosen)) = match self.expert {
                Expert::Ucb => {
                    (ucb.select(&mut unused)?, expert_target(self.mode, &actions, &rewards, env.labels(), &templates)?)
                }
                Expert::Greedy => {
                    let arm = greedy.select(&mut policy_rng)?;
                    (arm, greedy_target(self.mode, &actions, &rewards, env.labels(), arm)?)
                }
            };
            if chosen != arm {
                bail!(
                    "setting {setting} episode {episode} step {t}: the rationale names arm {chosen}, the {} expert plays {arm}",
                    self.expert.name()
                );
            }
            out.push(Example { prompt, target });
            let tr = env.step(arm)?;
            ucb.update(arm, tr.reward)?;
            greedy.update(arm, tr.reward)?;
            actions.push(arm);
            rewards.push(tr.reward);
        }
        Ok(out)
    }
}

/// The expert's answer for the history `actions`/`rewards` and the arm it chooses (the paper's
/// UCB rule: the first untried arm, else the highest mean + sqrt(1/N)).
pub fn expert_target(
    mode: TargetMode,
    actions: &[usize],
    rewards: &[f64],
    labels: &env_core::LabelSet,
    templates: &RationaleTemplates<'_>,
) -> Result<(String, usize)> {
    let stats = ArmStats::from_history(labels.len(), actions, rewards)?;
    let mut text = String::new();
    let chosen = match mode {
        TargetMode::Thought => write_ucb_rationale(&mut text, &stats, UcbRule::PAPER, labels, templates)?,
        TargetMode::Behaviour => {
            let arm = UcbRule::PAPER.choose(&stats);
            write_action(&mut text, arm, labels, templates)?;
            arm
        }
    };
    Ok((text, chosen))
}

/// The greedy agent's answer for the history and the arm it chooses (`first`: the arm it drew
/// for the first step).
pub fn greedy_target(
    mode: TargetMode,
    actions: &[usize],
    rewards: &[f64],
    labels: &env_core::LabelSet,
    first: usize,
) -> Result<(String, usize)> {
    let stats = ArmStats::from_history(labels.len(), actions, rewards)?;
    let mut text = String::new();
    let chosen = match mode {
        TargetMode::Thought => write_greedy_rationale(&mut text, &stats, first, labels, &GreedyTemplates::default())?,
        TargetMode::Behaviour => {
            let arm = stats.greedy_arm().unwrap_or(first);
            write_action(&mut text, arm, labels, &RationaleTemplates::default())?;
            arm
        }
    };
    Ok((text, chosen))
}

/// Examples read from a JSONL file: one `{"prompt": ..., "target": ...}` object per line (other
/// keys are ignored; blank lines are skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct FileData {
    /// The file.
    pub path: PathBuf,
    /// Its examples, in file order.
    pub examples: Vec<Example>,
}

impl FileData {
    /// Reads and checks `path`: every line a JSON object with a string `prompt` and a non-empty
    /// string `target`.
    pub fn load(path: &Path) -> Result<FileData> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--data: cannot read {}", path.display()))?;
        let mut examples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("{}:{}", path.display(), i + 1);
            let v: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("{}: not a JSON object", at()))?;
            let field = |name: &str| -> Result<String> {
                match v.get(name) {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    Some(other) => bail!("{}: field \"{name}\" must be a string, got {other}", at()),
                    None => bail!(
                        "{}: missing field \"{name}\" (each line is {{\"prompt\": ..., \"target\": ...}})",
                        at()
                    ),
                }
            };
            if !v.is_object() {
                bail!("{}: expected a JSON object {{\"prompt\": ..., \"target\": ...}}", at());
            }
            let example = Example { prompt: field("prompt")?, target: field("target")? };
            if example.target.is_empty() {
                bail!("{}: field \"target\" is empty (the loss is taken on the target only)", at());
            }
            examples.push(example);
        }
        if examples.is_empty() {
            bail!("--data: {} has no examples", path.display());
        }
        Ok(FileData { path: path.to_path_buf(), examples })
    }
}

/// The training data: an expert (UCB or greedy) or a file.
#[derive(Debug, Clone, PartialEq)]
pub enum SftData {
    /// Generated on demand by a classic agent.
    Expert(ExpertData),
    /// Read from JSONL.
    File(FileData),
}

impl SftData {
    /// Number of examples.
    pub fn len(&self) -> usize {
        match self {
            SftData::Expert(d) => d.len(),
            SftData::File(d) => d.examples.len(),
        }
    }

    /// Never empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Example `index`.
    pub fn get(&self, index: usize) -> Result<Example> {
        match self {
            SftData::Expert(d) => d.get(index),
            SftData::File(d) => d
                .examples
                .get(index)
                .cloned()
                .with_context(|| format!("example {index} is past the end of {}", d.path.display())),
        }
    }

    /// Up to `limit` examples spread over the whole set (every episode's steps for the expert),
    /// in a fixed order: the tokenizer's training corpus.
    pub fn corpus(&self, limit: usize) -> Result<Vec<Example>> {
        match self {
            SftData::File(d) => Ok(d.examples.iter().take(limit).cloned().collect()),
            SftData::Expert(d) => {
                let mut out = Vec::new();
                'episodes: for e in 0..d.episodes {
                    for (s, c) in d.settings.iter().enumerate() {
                        for ex in d.episode_examples(s, e, c.horizon)? {
                            if out.len() >= limit {
                                break 'episodes;
                            }
                            out.push(ex);
                        }
                    }
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use env_core::{ArmDistribution, LabelStyle};

    fn data(mode: TargetMode) -> ExpertData {
        let c = |arms, sigma, horizon| MabConfig {
            arms,
            horizon,
            distribution: ArmDistribution::Gaussian { sigma },
            labels: LabelStyle::Buttons,
        };
        ExpertData::new(vec![c(3, 1.0, 6), c(5, 0.1, 4)], 3, mode, true, 7).unwrap()
    }

    #[test]
    fn indexing_covers_every_step_once() {
        let d = data(TargetMode::Thought);
        assert_eq!(d.len(), 3 * 6 + 3 * 4);
        assert_eq!(d.locate(0).unwrap(), ExpertIndex { setting: 0, episode: 0, step: 0 });
        assert_eq!(d.locate(7).unwrap(), ExpertIndex { setting: 0, episode: 1, step: 1 });
        assert_eq!(d.locate(18).unwrap(), ExpertIndex { setting: 1, episode: 0, step: 0 });
        assert_eq!(d.locate(29).unwrap(), ExpertIndex { setting: 1, episode: 2, step: 3 });
        assert!(d.locate(30).is_err());
    }

    #[test]
    fn an_example_is_its_episode_replayed_to_that_step() {
        let d = data(TargetMode::Thought);
        let whole = d.episode_examples(1, 2, 4).unwrap();
        for (t, ex) in whole.iter().enumerate() {
            assert_eq!(&d.get(18 + 2 * 4 + t).unwrap(), ex);
        }
        // Different episodes are different scenarios.
        assert_ne!(d.get(0).unwrap().prompt, d.get(6).unwrap().prompt);
    }

    #[test]
    fn first_steps_try_every_arm_then_ucb_decides() {
        let d = data(TargetMode::Thought);
        let steps = d.episode_examples(0, 0, 6).unwrap();
        assert!(steps[0].target.contains("Not all actions have been tried yet"), "{}", steps[0].target);
        assert!(steps[0].target.contains("count=0, mean=NaN, UCB=NaN"), "{}", steps[0].target);
        assert!(steps[4].target.contains("has the highest UCB value."), "{}", steps[4].target);
        let b = data(TargetMode::Behaviour).episode_examples(0, 0, 6).unwrap();
        for (thought, action) in steps.iter().zip(&b) {
            let last = thought.target.lines().last().unwrap();
            assert_eq!(last, action.target, "behaviour target = the rationale's last line");
            assert!(action.target.starts_with("ACTION="));
            assert!(action.prompt.contains("Answer with ACTION=X only"));
            assert!(thought.prompt.contains("Think step by step"));
        }
    }

    #[test]
    fn jsonl_errors_name_the_line_and_field() {
        let dir = tempfile::Builder::new().prefix("greedy-sft-data-").tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(&p, "{\"prompt\": \"a\", \"target\": \"b\"}\n\n{\"prompt\": \"c\"}\n").unwrap();
        let e = format!("{:#}", FileData::load(&p).unwrap_err());
        assert!(e.contains("d.jsonl:3") && e.contains("\"target\""), "{e}");
        std::fs::write(&p, "{\"prompt\": 1, \"target\": \"b\"}\n").unwrap();
        let e = format!("{:#}", FileData::load(&p).unwrap_err());
        assert!(e.contains("d.jsonl:1") && e.contains("\"prompt\" must be a string"), "{e}");
        std::fs::write(&p, "{\"prompt\": \"a\", \"target\": \"b\", \"id\": 3}\n").unwrap();
        let d = FileData::load(&p).unwrap();
        assert_eq!(d.examples, vec![Example { prompt: "a".into(), target: "b".into() }]);
    }
}
