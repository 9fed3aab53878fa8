//! Shards of the two studies put back together: `contexts.jsonl` in the unsharded order (the
//! shards' lines, byte for byte) and the report recomputed from every context's line, so the
//! results are the ones a single process would have written.

use anyhow::{Result, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::frequency::{self, ContextResult, FrequencyReport};
use super::knowing::{self, Graded, KnowingReport};
use crate::shard::lines::{Line, join_lines, read_jsonl};
use crate::shard::{Shard, ShardManifest, ShardSet};

/// The `kind` of frequency-bias shards.
pub const FREQUENCY_KIND: &str = "frequency-bias";
/// The `kind` of knowing-doing shards.
pub const KNOWING_KIND: &str = "knowing-doing";
/// What the studies' items are.
pub const UNIT: &str = "contexts";
/// The per-context data file of both studies.
pub const CONTEXTS_FILE: &str = "contexts.jsonl";

/// The manifest of `shard` of a `kind` study of `contexts` contexts with `settings` (what the
/// study records as its settings, with the model).
pub fn manifest(kind: &str, shard: Shard, contexts: usize, settings: Value) -> ShardManifest {
    ShardManifest::new(kind, UNIT, shard, contexts, settings)
}

/// A merged study: `contexts.jsonl` and the report over all contexts.
#[derive(Debug, Clone)]
pub struct Merged<R> {
    /// `contexts.jsonl` of the whole study.
    pub jsonl: String,
    /// The report.
    pub report: R,
}

/// Merges frequency-bias shards; `repeats` are the study's repetition counts, in order.
pub fn merge_frequency(set: &ShardSet, repeats: &[usize]) -> Result<Merged<FrequencyReport>> {
    check_kind(set, FREQUENCY_KIND)?;
    let lines: Vec<Line<ContextResult>> = gather(set, repeats.len(), |r: &ContextResult| r.context)?;
    for (k, l) in lines.iter().enumerate() {
        let want = repeats[k % repeats.len()];
        if l.value.repeats != want {
            bail!(
                "context {}: a line with {} repeats where the study's counts give {want}",
                l.value.context,
                l.value.repeats
            );
        }
    }
    let jsonl = join_lines(lines.iter().map(|l| l.text.as_str()));
    let report = frequency::aggregate(lines.into_iter().map(|l| l.value).collect(), repeats)?;
    Ok(Merged { jsonl, report })
}

/// Merges knowing-doing shards.
pub fn merge_knowing(set: &ShardSet) -> Result<Merged<KnowingReport>> {
    check_kind(set, KNOWING_KIND)?;
    let lines: Vec<Line<Graded>> = gather(set, 1, |g: &Graded| g.context)?;
    let jsonl = join_lines(lines.iter().map(|l| l.text.as_str()));
    let report = knowing::summarize(lines.into_iter().map(|l| l.value).collect());
    Ok(Merged { jsonl, report })
}

fn check_kind(set: &ShardSet, kind: &str) -> Result<()> {
    if set.kind() != kind {
        bail!("{} holds {} shards, not {kind} shards", set.shards()[0].dir.display(), set.kind());
    }
    Ok(())
}

/// Every shard's `contexts.jsonl` (checked against its manifest), `per_context` lines per
/// context, each checked to be of the context it should be, in the unsharded order.
fn gather<T: DeserializeOwned>(
    set: &ShardSet,
    per_context: usize,
    context_of: impl Fn(&T) -> usize,
) -> Result<Vec<Line<T>>> {
    let mut parts: Vec<std::vec::IntoIter<Line<T>>> = Vec::with_capacity(set.count());
    for s in set.shards() {
        let path = s.dir.join(CONTEXTS_FILE);
        let bytes = s.manifest.read_file(&s.dir, CONTEXTS_FILE)?;
        let lines: Vec<Line<T>> = read_jsonl(&path, &bytes)?;
        let items = &s.manifest.items;
        if lines.len() != items.len() * per_context {
            bail!(
                "{}: {} lines, expected {} ({} contexts x {per_context})",
                path.display(),
                lines.len(),
                items.len() * per_context,
                items.len()
            );
        }
        for (k, l) in lines.iter().enumerate() {
            let want = items[k / per_context] as usize;
            if context_of(&l.value) != want {
                bail!(
                    "{} line {}: a line of context {}, expected context {want}",
                    path.display(),
                    k + 1,
                    context_of(&l.value)
                );
            }
        }
        parts.push(lines.into_iter());
    }
    let n = set.count();
    let mut out = Vec::with_capacity(set.total() * per_context);
    for c in 0..set.total() {
        out.extend(parts[c % n].by_ref().take(per_context));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{Completion, Policy, SampleOptions};
    use crate::diagnose::frequency::{
        FrequencySettings, horizon_for, run_frequency_bias, run_frequency_shard,
    };
    use crate::diagnose::knowing::{KnowingSettings, history_agent, run_knowing_doing, run_knowing_shard};
    use crate::diagnose::scorer::AnswerScorer;
    use crate::shard::set::LoadedShard;
    use env_core::{ArmDistribution, LabelStyle, MabConfig, UcbRule};
    use serde::Serialize;
    use serde_json::json;

    /// Scores that depend on the prompt's text: a hash of it and of the answer.
    struct Hashy;

    impl AnswerScorer for Hashy {
        fn score_answers(&mut self, prompts: &[String], answers: &[(usize, String)]) -> Result<Vec<f64>> {
            Ok(answers
                .iter()
                .map(|(p, a)| {
                    let h = crate::shard::digest_hex(format!("{}|{a}", prompts[*p]).as_bytes());
                    -(u32::from_str_radix(&h[..8], 16).unwrap() as f64) / 1e9
                })
                .collect())
        }
    }

    /// Answers with the stream number: values for arm 0 and an action that depends on it.
    struct Streams;

    impl Policy for Streams {
        fn complete(
            &mut self,
            texts: &[String],
            streams: &[u64],
            _: &SampleOptions,
        ) -> Result<Vec<Completion>> {
            Ok(texts
                .iter()
                .zip(streams)
                .map(|(_, s)| {
                    Completion::text(format!("<ucb_values>\n0: {}.5\n</ucb_values>\nACTION={}", s, s % 3))
                })
                .collect())
        }
    }

    fn jsonl<T: Serialize>(lines: &[T]) -> String {
        lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect()
    }

    fn write_shard(
        root: &std::path::Path,
        kind: &str,
        shard: Shard,
        total: usize,
        text: &str,
    ) -> LoadedShard {
        let dir = root.join(format!("{kind}-{}", shard.index));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(CONTEXTS_FILE), text).unwrap();
        let mut m = manifest(kind, shard, total, json!({"seed": 1}));
        m.add_file(CONTEXTS_FILE, text.as_bytes());
        LoadedShard { dir, manifest: m }
    }

    #[test]
    fn frequency_shards_merge_into_the_whole_study() {
        let repeats = vec![0, 2, 5];
        let s = FrequencySettings {
            config: MabConfig {
                arms: 4,
                horizon: horizon_for(4, &repeats),
                distribution: ArmDistribution::Gaussian { sigma: 1.0 },
                labels: LabelStyle::Buttons,
            },
            contexts: 7,
            repeats: repeats.clone(),
            min_history: 1,
            max_history: 4,
            seed: 3,
            chat: true,
            summary: false,
            answer: "ACTION={label}".into(),
        };
        let whole = run_frequency_bias(&mut Hashy, &s, 2, &mut |_| {}).unwrap();
        let root = tempfile::Builder::new().prefix("greedy-dmerge-").tempdir().unwrap();
        let n = 3;
        let shards: Vec<LoadedShard> = (0..n)
            .map(|i| {
                let shard = Shard::new(i, n).unwrap();
                let r = run_frequency_shard(&mut Hashy, &s, shard, 1, &mut |_| {}).unwrap();
                write_shard(root.path(), FREQUENCY_KIND, shard, 7, &jsonl(&r.details))
            })
            .rev()
            .collect();
        let merged = merge_frequency(&ShardSet::check(shards).unwrap(), &repeats).unwrap();
        assert_eq!(merged.jsonl, jsonl(&whole.details));
        assert_eq!(serde_json::to_string(&merged.report).unwrap(), serde_json::to_string(&whole).unwrap());
        assert_eq!(merged.report, whole);
        // the wrong repetition counts are refused
        let set = ShardSet::check(
            (0..n)
                .map(|i| write_shard(root.path(), FREQUENCY_KIND, Shard::new(i, n).unwrap(), 7, ""))
                .collect(),
        )
        .unwrap();
        assert!(merge_frequency(&set, &repeats).unwrap_err().to_string().contains("lines, expected"));
    }

    #[test]
    fn knowing_shards_merge_into_the_whole_study() {
        let s = KnowingSettings {
            config: MabConfig { arms: 3, labels: LabelStyle::Numeric, ..MabConfig::default() },
            contexts: 5,
            min_steps: 0,
            max_steps: 6,
            history_agent: history_agent("random").unwrap(),
            epsilon: 0.1,
            rule: UcbRule::PAPER,
            max_new_tokens: 64,
            temperature: 0.0,
            batch: 4,
            seed: 4,
            chat: true,
            summary: false,
        };
        let whole = run_knowing_doing(&mut Streams, &s, &mut |_| {}).unwrap();
        let root = tempfile::Builder::new().prefix("greedy-dmerge-").tempdir().unwrap();
        let shards: Vec<LoadedShard> = (0..2)
            .map(|i| {
                let shard = Shard::new(i, 2).unwrap();
                let r = run_knowing_shard(&mut Streams, &s, shard, &mut |_| {}).unwrap();
                write_shard(root.path(), KNOWING_KIND, shard, 5, &jsonl(&r.graded))
            })
            .collect();
        let set = ShardSet::check(shards).unwrap();
        let merged = merge_knowing(&set).unwrap();
        assert_eq!(merged.jsonl, jsonl(&whole.graded));
        assert_eq!(merged.report, whole);
        assert!(merge_frequency(&set, &[0]).unwrap_err().to_string().contains("not frequency-bias shards"));
    }
}
