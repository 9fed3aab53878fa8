//! The `greedy` command.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use greedy::cli::{Cli, Command, EvalArgs};
use greedy::eval::{EvalSettings, run_eval};
use greedy::report::{summary_json_lines, summary_table, write_run_files};

fn eval(args: EvalArgs) -> Result<()> {
    let args = args.with_config()?;
    let settings = EvalSettings::resolve(&args)?;
    if let Some(dir) = &args.out {
        greedy::io::check_run_dir(dir, "greedy eval", greedy::report::files::is_eval_file)?;
    }
    let show_progress = !args.json && std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
    let out = run_eval(&settings, show_progress)?;
    if let Some(dir) = &args.out {
        write_run_files(dir, &settings, &out)?;
    }
    let text = if args.json { summary_json_lines(&out)? } else { summary_table(&out.summaries) };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !args.json
        && let Some(dir) = &args.out
    {
        writeln!(
            stdout,
            "\nwrote {}/{{episodes.jsonl, summary.json, regret.png/svg, coverage.png/svg}}",
            dir.display()
        )?;
    }
    Ok(())
}

fn print(text: String) -> Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

fn main() -> ExitCode {
    // before any thread or GPU instance exists: no false "XDG_RUNTIME_DIR is invalid" errors
    gpu_trainer::runtime::xdg::ensure_runtime_dir();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval(args),
        Command::Prompt(args) => greedy::prompt::render_prompt(&args).and_then(print),
        Command::Logits(args) => greedy::llm::commands::logits(&args).and_then(print),
        Command::Generate(args) => greedy::llm::commands::generate(&args).and_then(print),
        Command::Bench(args) => greedy::bench::run(&args).and_then(print),
        Command::Train(args) => greedy::train::command::run_command(args).and_then(print),
        Command::Demo(args) => greedy::demo::run(&args).and_then(print),
        Command::Debug(args) => greedy::cli::debug::run(&args).and_then(print),
        Command::Convert(args) => greedy::cli::convert::run(&args).and_then(print),
        Command::Tokenize(args) => greedy::cli::tokenize::run(&args).and_then(print),
        Command::Diagnose(args) => greedy::diagnose::run(&args).and_then(print),
        Command::Report(args) => greedy::report::multi::run(&args).and_then(print),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<greedy::signals::Interrupted>().is_some() => {
            eprintln!("{e:#}");
            ExitCode::from(greedy::signals::INTERRUPTED_EXIT)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
