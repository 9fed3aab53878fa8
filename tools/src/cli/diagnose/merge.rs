//! `greedy merge` of diagnose shards: the study's JSON, `contexts.jsonl` and figure as one
//! process would have written them. The results and `contexts.jsonl` are the unsharded ones
//! exactly; the `run` block says what the merge knows: the model, the adapters the shards ran
//! on, their seconds added up, and the merge's own command line.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use gpu_trainer::diagnose::merge::{self as lib, FREQUENCY_KIND};
use gpu_trainer::shard::ShardSet;

use super::run::{frequency_title, knowing_title, write_outputs, wrote_line};
use crate::report::diagnose::{frequency_table, knowing_table};

/// The `run` block of a merged study, from the shards' own.
fn merged_run(set: &ShardSet) -> Value {
    let infos: Vec<&Value> = set.shards().iter().map(|s| &s.manifest.info).collect();
    let mut adapters: Vec<String> =
        infos.iter().filter_map(|i| i["adapter"].as_str().map(str::to_string)).collect();
    adapters.dedup();
    let seconds: f64 = infos.iter().filter_map(|i| i["seconds"].as_f64()).sum();
    let settings = set.settings();
    json!({
        "model": settings["model"],
        "dtype": settings["dtype"],
        "adapter": adapters.join(", "),
        "command": crate::cmdline::current(),
        "seconds": seconds,
    })
}

/// A number of the recorded settings, with an error naming it.
fn number(set: &ShardSet, v: &Value, field: &str) -> Result<u64> {
    v.as_u64().with_context(|| {
        format!("{}/shard.json: settings.{field} is missing or not a number", set.shards()[0].dir.display())
    })
}

/// Merges frequency-bias shards into `out`; returns what to print.
pub fn merge_frequency(set: &ShardSet, out: &Path, as_json: bool) -> Result<String> {
    let recorded = &set.settings()["settings"];
    let repeats = recorded["repeats"]
        .as_array()
        .and_then(|r| r.iter().map(|n| n.as_u64().map(|n| n as usize)).collect::<Option<Vec<_>>>())
        .with_context(|| {
            format!("{}/shard.json: settings.settings.repeats is malformed", set.shards()[0].dir.display())
        })?;
    let merged = lib::merge_frequency(set, &repeats)?;
    let summary = json!({
        "study": FREQUENCY_KIND,
        "run": merged_run(set),
        "settings": recorded,
        "results": merged.report,
    });
    let title = frequency_title(
        number(set, &recorded["contexts"], "settings.contexts")?,
        number(set, &recorded["bandit"]["arms"], "settings.bandit.arms")?,
    );
    write_outputs(out, "frequency_bias", &summary, &merged.jsonl, None, |stage| {
        crate::plot::diagnose::write_frequency_plot(&merged.report, &title, &stage.join("frequency_bias"))
    })?;
    if as_json {
        return Ok(serde_json::to_string(&summary)? + "\n");
    }
    Ok(frequency_table(&merged.report) + &wrote_line(out, "frequency_bias", false))
}

/// Merges knowing-doing shards into `out`; returns what to print.
pub fn merge_knowing(set: &ShardSet, out: &Path, as_json: bool) -> Result<String> {
    let recorded = &set.settings()["settings"];
    let merged = lib::merge_knowing(set)?;
    let summary = json!({
        "study": lib::KNOWING_KIND,
        "run": merged_run(set),
        "settings": recorded,
        "results": merged.report,
    });
    let title = knowing_title(
        number(set, &recorded["contexts"], "settings.contexts")?,
        number(set, &recorded["bandit"]["arms"], "settings.bandit.arms")?,
    );
    write_outputs(out, "knowing_doing", &summary, &merged.jsonl, None, |stage| {
        crate::plot::diagnose::write_knowing_plot(&merged.report, &title, &stage.join("knowing_doing"))
    })?;
    if as_json {
        return Ok(serde_json::to_string(&summary)? + "\n");
    }
    Ok(knowing_table(&merged.report) + &wrote_line(out, "knowing_doing", false))
}
