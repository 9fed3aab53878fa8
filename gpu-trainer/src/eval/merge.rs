//! Evaluation shards put back together: `episodes.jsonl` in the unsharded order (the shards'
//! lines, byte for byte) and the summaries recomputed from all episodes, so the merged run is
//! the one a single process would have written.

use anyhow::{Result, bail};
use serde_json::Value;

use super::runner::summarize;
use super::{AgentSummary, EvalOutput};
use crate::envs::EpisodeRecord;
use crate::shard::lines::{Line, join_lines, read_jsonl};
use crate::shard::{Shard, ShardManifest, ShardSet};

/// The `kind` of evaluation shards.
pub const KIND: &str = "eval";
/// What their items are.
pub const UNIT: &str = "episodes";
/// The data file of an evaluation shard (and run).
pub const EPISODES_FILE: &str = "episodes.jsonl";

/// The manifest of `shard` of an evaluation with `settings` ([`super::EvalSettings::to_json`]).
pub fn manifest(shard: Shard, settings: &super::EvalSettings) -> ShardManifest {
    ShardManifest::new(KIND, UNIT, shard, settings.episodes, settings.to_json())
}

/// A merged evaluation.
#[derive(Debug, Clone)]
pub struct MergedEval {
    /// The settings as recorded (every shard's).
    pub settings: Value,
    /// The environment's short name.
    pub env: String,
    /// Episodes per agent.
    pub episodes: usize,
    /// `episodes.jsonl` of the whole run.
    pub jsonl: String,
    /// Every record (agent-major, then episode order) and the summaries.
    pub output: EvalOutput,
}

/// What the merge reads from the recorded settings.
struct Names {
    agents: Vec<String>,
    env: String,
    episodes: usize,
}

fn names(settings: &Value, set: &ShardSet) -> Result<Names> {
    let dir = set.shards()[0].dir.display();
    let bad = |field: &str| anyhow::anyhow!("{dir}/shard.json: settings.{field} is missing or malformed");
    let agents = settings["agents"]
        .as_array()
        .ok_or_else(|| bad("agents"))?
        .iter()
        .map(|a| a.as_str().map(str::to_string).ok_or_else(|| bad("agents")))
        .collect::<Result<Vec<_>>>()?;
    let env = settings["environment"]["env"].as_str().ok_or_else(|| bad("environment.env"))?.to_string();
    let episodes = settings["episodes"].as_u64().ok_or_else(|| bad("episodes"))? as usize;
    if agents.is_empty() {
        return Err(bad("agents"));
    }
    if episodes != set.total() {
        bail!("{dir}/shard.json: settings.episodes {episodes} but total {}", set.total());
    }
    Ok(Names { agents, env, episodes })
}

/// Merges the evaluation shards of `set` (checked by [`ShardSet::check`]): reads every shard's
/// `episodes.jsonl` (checked against its manifest: a truncated or changed file is an error),
/// checks that each line is the record of the agent and episode it should be, and puts them in
/// the unsharded order.
pub fn merge_eval(set: &ShardSet) -> Result<MergedEval> {
    if set.kind() != KIND {
        bail!("{} holds {} shards, not evaluation shards", set.shards()[0].dir.display(), set.kind());
    }
    let Names { agents, env, episodes } = names(set.settings(), set)?;
    let mut parts: Vec<Vec<Line<EpisodeRecord>>> = Vec::with_capacity(set.count());
    for s in set.shards() {
        let path = s.dir.join(EPISODES_FILE);
        let bytes = s.manifest.read_file(&s.dir, EPISODES_FILE)?;
        let lines: Vec<Line<EpisodeRecord>> = read_jsonl(&path, &bytes)?;
        let items = &s.manifest.items;
        if lines.len() != agents.len() * items.len() {
            bail!(
                "{}: {} records, expected {} ({} agents x {} episodes)",
                path.display(),
                lines.len(),
                agents.len() * items.len(),
                agents.len(),
                items.len()
            );
        }
        for (k, l) in lines.iter().enumerate() {
            let (agent, episode) = (&agents[k / items.len()], items[k % items.len()]);
            let r = &l.value;
            if r.agent != *agent || r.episode != episode || r.env != env {
                bail!(
                    "{} line {}: the record of agent {} episode {} ({}), expected agent {agent} episode {episode} ({env})",
                    path.display(),
                    k + 1,
                    r.agent,
                    r.episode,
                    r.env
                );
            }
        }
        parts.push(lines);
    }
    let n = set.count();
    let mut order: Vec<&Line<EpisodeRecord>> = Vec::with_capacity(agents.len() * episodes);
    for a in 0..agents.len() {
        for i in 0..episodes {
            let part = &parts[i % n];
            let per_agent = set.shards()[i % n].manifest.items.len();
            order.push(&part[a * per_agent + i / n]);
        }
    }
    let jsonl = join_lines(order.iter().map(|l| l.text.as_str()));
    let records: Vec<EpisodeRecord> = order.iter().map(|l| l.value.clone()).collect();
    let summaries: Vec<AgentSummary> = summarize(&agents, &env, &records, episodes);
    Ok(MergedEval {
        settings: set.settings().clone(),
        env,
        episodes,
        jsonl,
        output: EvalOutput { records, summaries },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envs::EnvKind;
    use crate::envs::EnvSettings;
    use crate::eval::{AgentSpec, EvalSettings, run_episodes, run_eval};
    use crate::shard::set::LoadedShard;
    use env_core::MabConfig;

    fn settings() -> EvalSettings {
        let agents = ["ucb", "try-all:greedy", "thompson"]
            .iter()
            .map(|a| AgentSpec::parse(a, EnvKind::Mab).unwrap())
            .collect();
        EvalSettings {
            env: EnvSettings::Mab(MabConfig { arms: 4, horizon: 12, ..MabConfig::default() }),
            agents,
            epsilon: 0.1,
            mcts_budget: 10,
            episodes: 7,
            seed: 42,
            llm: None,
        }
    }

    fn jsonl(records: &[EpisodeRecord]) -> String {
        join_lines(
            records
                .iter()
                .map(|r| serde_json::to_string(r).unwrap())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
    }

    /// Writes each shard's episodes.jsonl and manifest into a directory of `root`.
    fn write_shards(root: &std::path::Path, s: &EvalSettings, n: usize) -> Vec<std::path::PathBuf> {
        (0..n)
            .map(|i| {
                let shard = Shard::new(i, n).unwrap();
                let out = run_episodes(s, &shard.items(s.episodes), &()).unwrap();
                let dir = root.join(format!("s{i}"));
                std::fs::create_dir_all(&dir).unwrap();
                let text = jsonl(&out.records);
                std::fs::write(dir.join(EPISODES_FILE), &text).unwrap();
                let mut m = manifest(shard, s);
                m.add_file(EPISODES_FILE, text.as_bytes());
                std::fs::write(dir.join("shard.json"), m.to_bytes().unwrap()).unwrap();
                dir
            })
            .collect()
    }

    #[test]
    fn merged_shards_are_the_whole_run() {
        let s = settings();
        let whole = run_eval(&s, &()).unwrap();
        let root = tempfile::Builder::new().prefix("greedy-merge-").tempdir().unwrap();
        for n in [1, 2, 3, 7] {
            let mut dirs = write_shards(&root.path().join(n.to_string()), &s, n);
            dirs.reverse();
            let merged = merge_eval(&ShardSet::open(&dirs).unwrap()).unwrap();
            assert_eq!(merged.jsonl, jsonl(&whole.records), "{n} shards");
            assert_eq!(merged.output.records, whole.records);
            // bit for bit: NaN-free summaries compare with ==, and their JSON too
            assert_eq!(merged.output.summaries, whole.summaries);
            assert_eq!(
                serde_json::to_string(&merged.output.summaries).unwrap(),
                serde_json::to_string(&whole.summaries).unwrap()
            );
            assert_eq!(merged.settings, s.to_json());
        }
    }

    #[test]
    fn a_record_out_of_place_is_refused() {
        let s = settings();
        let root = tempfile::Builder::new().prefix("greedy-merge-").tempdir().unwrap();
        let dirs = write_shards(root.path(), &s, 2);
        // swap two lines of shard 1 and fix its manifest: the digest passes, the order does not
        let path = dirs[1].join(EPISODES_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.swap(0, 1);
        let text = join_lines(lines);
        std::fs::write(&path, &text).unwrap();
        let mut m = ShardManifest::read(&dirs[1]).unwrap();
        m.add_file(EPISODES_FILE, text.as_bytes());
        let set = ShardSet::check(vec![
            LoadedShard { dir: dirs[0].clone(), manifest: ShardManifest::read(&dirs[0]).unwrap() },
            LoadedShard { dir: dirs[1].clone(), manifest: m },
        ])
        .unwrap();
        let e = merge_eval(&set).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("expected agent ucb episode 1"), "{e}");
    }

    #[test]
    fn floats_read_back_bit_for_bit() {
        // values whose shortest decimal form needs the slow, exact parser
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut r = EpisodeRecord::new("x".into(), "mab".into(), 0, 1, 2);
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = f64::from_bits(state >> 2); // positive, finite
            if v.is_finite() {
                r.rewards.push(v);
            }
        }
        let back: EpisodeRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.rewards), bits(&r.rewards));
    }
}
