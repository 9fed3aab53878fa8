//! `greedy prompt`: plays a history with a baseline agent, then prints the exact context an LLM
//! agent would read at that point (written by `env_core::prompt`).

use anyhow::{Result, bail};
use env_core::UcbRule;
use env_core::prompt::{ChatFormat, OutputMode};

use super::{PromptArgs, cb, mab, ttt};
use gpu_trainer::envs::EnvSettings;

/// The output mode and chat format the flags ask for.
fn modes(args: &PromptArgs) -> (OutputMode, ChatFormat<'static>) {
    let output = if args.knowing_doing {
        OutputMode::KnowingDoing(UcbRule::PAPER)
    } else if args.no_cot && !args.cot {
        OutputMode::ActionOnly
    } else {
        OutputMode::ChainOfThought
    };
    let chat = if args.base && !args.chat { ChatFormat::PLAIN } else { ChatFormat::GEMMA };
    (output, chat)
}

/// The prompt text for `args`.
pub fn render_prompt(args: &PromptArgs) -> Result<String> {
    let settings = args.as_eval_args().settings()?;
    let agent = &settings.agents[0];
    let (output, chat) = modes(args);
    match &settings.env {
        EnvSettings::Mab(config) => {
            if args.no_legal_moves {
                bail!("--no-legal-moves applies only to --env ttt");
            }
            mab::render(config, agent, &settings, args, output, chat)
        }
        EnvSettings::Ttt(ttt) => {
            for (flag, set) in [
                ("--summary", args.summary),
                ("--randomize", args.randomize),
                ("--knowing-doing", args.knowing_doing),
            ] {
                if set {
                    bail!("{flag} applies only to --env mab");
                }
            }
            ttt::render(ttt, agent, &settings, args, output, chat)
        }
        EnvSettings::Cb(cb) => {
            for (flag, set) in [
                ("--summary", args.summary),
                ("--randomize", args.randomize),
                ("--knowing-doing", args.knowing_doing),
                ("--no-legal-moves", args.no_legal_moves),
            ] {
                if set {
                    bail!("{flag} does not apply to --env cb");
                }
            }
            cb::render(cb, agent, &settings, args, output, chat)
        }
    }
}
