//! The contextual-bandit context after `--steps` steps of an agent.

use anyhow::{Context, Result, bail};
use env_core::agents::POLICY_STREAM;
use env_core::cb::ContextualBandit;
use env_core::prompt::{CbPromptSpec, ChatFormat, OutputMode, write_cb_prompt};
use env_core::{Environment, Rng};

use super::PromptArgs;
use gpu_trainer::envs::cb::CbData;
use gpu_trainer::envs::{CbSettings, EpisodeSeeds};
use gpu_trainer::eval::baselines::cb_policy;
use gpu_trainer::eval::{AgentSpec, EvalSettings};

/// Plays `args.steps` steps of episode `args.episode` with `agent` and writes the prompt of the
/// next step (the user to serve now, after the history of users, movies and rewards).
pub fn render(
    cb: &CbSettings,
    agent: &AgentSpec,
    settings: &EvalSettings,
    args: &PromptArgs,
    output: OutputMode,
    chat: ChatFormat<'static>,
) -> Result<String> {
    if args.steps >= cb.horizon {
        bail!(
            "invalid value {} for --steps: allowed 0..={} (the horizon is {})",
            args.steps,
            cb.horizon - 1,
            cb.horizon
        );
    }
    let data = CbData::prepare(cb, settings.seed)?;
    let seeds = EpisodeSeeds::new(settings.seed, args.episode);
    let mut env = ContextualBandit::new(data.tables()?, cb.horizon)?;
    let mut policy = cb_policy(agent)?;
    let tables = *env.tables();
    policy.reset(tables.num_movies(), tables.dim())?;
    let mut rng = Rng::from_stream(seeds.episode, POLICY_STREAM);
    env.reset(seeds.episode)?;
    let (mut users, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.steps {
        let context = env.context();
        let arm = policy.select(context, &mut rng)?;
        users.push(env.current_user());
        let tr = env.step(arm)?;
        policy.update(arm, context, tr.reward)?;
        actions.push(arm);
        rewards.push(tr.reward);
    }
    let titles = (0..tables.num_movies()).map(|m| env.movie_title(m)).collect::<Result<Vec<_>, _>>()?;
    let spec = CbPromptSpec { horizon: cb.horizon, output, chat, ..CbPromptSpec::default() };
    let mut text = String::new();
    write_cb_prompt(&mut text, &spec, &titles, &users, &actions, &rewards, &env.current_user())
        .context("writing the prompt")?;
    Ok(text)
}
