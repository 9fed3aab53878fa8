//! The `greedy` command.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use greedy::cli::Cli;

fn main() -> ExitCode {
    // before any thread or GPU instance exists: no false "XDG_RUNTIME_DIR is invalid" errors
    gpu_trainer::runtime::xdg::ensure_runtime_dir();
    let cli = Cli::parse();
    let result = greedy::cli::run(cli.command)
        .and_then(|text| Ok(std::io::stdout().lock().write_all(text.as_bytes())?));
    if gpu_trainer::runtime::profile::enabled() {
        eprint!("\n{}", gpu_trainer::runtime::profile::table());
    }
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
