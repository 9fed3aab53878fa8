//! `greedy eval --shard I/N --out DIR`: one shard of an evaluation (the episodes `i mod N == I`,
//! see [`gpu_trainer::shard`]), written with its manifest for `greedy merge`.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use gpu_trainer::eval::{EvalSettings, merge, run_episodes};
use gpu_trainer::shard::Shard;

use super::EvalArgs;
use crate::report::files::{EvalFiles, episodes_jsonl, is_eval_file, write_eval_dir};

/// Runs shard `shard` (the `--shard` text) of the evaluation `settings`; returns what to print.
pub fn run(args: &EvalArgs, settings: &EvalSettings, shard: &str) -> Result<String> {
    let shard = Shard::parse(shard, "--shard")?;
    let Some(dir) = &args.out else {
        bail!("--shard {shard} needs --out DIR: a shard is its files (greedy merge reads them)");
    };
    shard.check_total(settings.episodes, "episodes", "--episodes")?;
    crate::io::check_run_dir(dir, "greedy eval", is_eval_file)?;
    let episodes = shard.items(settings.episodes);
    let show = !args.json && std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
    let out = run_episodes(settings, &episodes, &crate::progress::Bar::new(show))?;
    let mut manifest = merge::manifest(shard, settings);
    manifest.info = serde_json::json!({ "command": crate::cmdline::current() });
    let files = EvalFiles {
        settings: &manifest.settings.clone(),
        env: &settings.env.name(),
        episodes: settings.episodes,
        jsonl: &episodes_jsonl(&out)?,
        out: &out,
    };
    write_eval_dir(dir, &files, Some(manifest), &mut |_| Ok(()))?;
    if args.json {
        return crate::report::summary_json_lines(&out);
    }
    let mut text = crate::report::summary_table(&out.summaries);
    text.push_str(&format!(
        "\nshard {shard}: {} of {} episodes per agent (partial summary)\nwrote {}/{{episodes.jsonl, summary.json, shard.json}}; join the {} shards with `greedy merge DIR... --out DIR`\n",
        episodes.len(),
        settings.episodes,
        dir.display(),
        shard.count
    ));
    Ok(text)
}
