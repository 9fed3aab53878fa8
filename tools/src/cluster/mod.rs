//! Launching a sweep on an existing cluster engine: the files each engine takes, written from
//! plain settings (the command line fills them in: `greedy sweep slurm`, `greedy sweep k8s`;
//! Ray is driven by `tools/cluster/ray_sweep.py`). Every task of every engine runs the same
//! command, `greedy sweep task FILE K` (shard K of the sweep's flat task list), and the merge is
//! `greedy sweep merge FILE`: the engines only schedule, greedy does the rest.
//!
//! - [`slurm`]: an sbatch array script (one array index per shard, a GPU each), the merge job
//!   that depends on it, and the script that submits both.
//! - [`k8s`]: an Indexed Job manifest (one completion index per shard) and the merge Job.

pub mod k8s;
pub mod slurm;

use std::path::PathBuf;

/// What every launcher needs to know about a sweep.
#[derive(Debug, Clone)]
pub struct Launch {
    /// A name for the jobs (from the sweep file's name: letters, digits, `-`).
    pub name: String,
    /// The `greedy` binary the tasks run.
    pub greedy: PathBuf,
    /// The sweep file, as the tasks name it (from their working directory).
    pub sweep: PathBuf,
    /// The tasks' working directory (where the sweep's relative paths start).
    pub workdir: PathBuf,
    /// How many tasks (shards over all runs).
    pub tasks: usize,
}

/// `name` as a job name: lower-case letters, digits and `-` (what Kubernetes accepts), at most
/// 40 characters, never empty.
pub fn job_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    out.truncate(40);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "sweep".into() } else { out }
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_names_are_dns_labels() {
        assert_eq!(super::job_name("My_Sweep.v2"), "my-sweep-v2");
        assert_eq!(super::job_name("__"), "sweep");
        assert_eq!(super::job_name(&"a".repeat(60)).len(), 40);
    }
}
