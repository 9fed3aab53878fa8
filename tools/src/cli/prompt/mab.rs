//! The bandit context after `--steps` steps of an agent.

use anyhow::{Context, Result, bail};
use env_core::agents::{BanditPolicy, POLICY_STREAM};
use env_core::prompt::{ChatFormat, LabelPermutation, MabPromptSpec, OutputMode, write_mab_prompt};
use env_core::{Environment, MabConfig, MultiArmedBandit, Rng};

use super::PromptArgs;
use gpu_trainer::envs::EpisodeSeeds;
use gpu_trainer::eval::baselines::build_bandit_policy;
use gpu_trainer::eval::{AgentSpec, EvalSettings};

/// Plays `args.steps` steps of episode `args.episode` and writes the prompt of the next step.
pub fn render(
    config: &MabConfig,
    agent: &AgentSpec,
    settings: &EvalSettings,
    args: &PromptArgs,
    output: OutputMode,
    chat: ChatFormat<'static>,
) -> Result<String> {
    if args.steps >= config.horizon {
        bail!(
            "invalid value {} for --steps: allowed 0..={} (the prompt asks for the next step within --horizon {})",
            args.steps,
            config.horizon - 1,
            config.horizon
        );
    }
    let seeds = EpisodeSeeds::new(settings.seed, args.episode);
    let mut env = MultiArmedBandit::new(*config, seeds.scenario).context("building the bandit")?;
    env.reset(seeds.episode)?;
    let mut policy = build_bandit_policy(agent, config, settings.epsilon)?;
    policy.reset(config.arms)?;
    let mut rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
    let (mut actions, mut rewards) = (Vec::new(), Vec::new());
    for _ in 0..args.steps {
        let arm = policy.select(&mut rng)?;
        let tr = env.step(arm)?;
        policy.update(arm, tr.reward)?;
        actions.push(arm);
        rewards.push(tr.reward);
    }
    let mut spec = MabPromptSpec::new(config);
    spec.output = output;
    spec.chat = chat;
    spec.summary = args.summary;
    if args.randomize {
        spec.permutation = Some(LabelPermutation::for_step(config.arms, seeds.episode, args.steps as u64)?);
    }
    let mut text = String::new();
    write_mab_prompt(&mut text, &spec, env.labels(), &actions, &rewards).context("writing the prompt")?;
    Ok(text)
}
