//! Slurm: `shards.sbatch` (a job array, one index per task, a GPU each), `merge.sbatch` (the
//! merge, on a CPU) and `submit.sh`, which submits the array and then the merge with
//! `--dependency=afterok:<array>`, so the merge runs once every shard succeeded.

use std::path::Path;

use super::Launch;
use crate::cmdline::quote;

/// What the scripts request.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// GPUs per shard task (`--gres=gpu:N`); 0 runs on CPUs only.
    pub gpus_per_task: u32,
    /// CPUs per shard task.
    pub cpus_per_task: u32,
    /// `--partition`, if any.
    pub partition: Option<String>,
    /// `--time` of each task, if any.
    pub time: Option<String>,
    /// At most this many tasks at once (`--array=...%N`).
    pub max_parallel: Option<usize>,
    /// More `#SBATCH` options for both jobs, as given (`--account=x`, `--qos=y`).
    pub extra: Vec<String>,
}

/// The file names and contents of the three scripts; `dir` is where they (and their `logs/`)
/// go.
pub fn scripts(l: &Launch, o: &SlurmOptions, dir: &Path) -> Vec<(&'static str, String)> {
    let logs = dir.join("logs");
    let mut common = vec![format!("#SBATCH --chdir={}", quote(&l.workdir.display().to_string()))];
    if let Some(p) = &o.partition {
        common.push(format!("#SBATCH --partition={}", quote(p)));
    }
    common.extend(o.extra.iter().map(|e| format!("#SBATCH {e}")));
    let common = common.join("\n");
    let array = match o.max_parallel {
        Some(n) => format!("0-{}%{n}", l.tasks.saturating_sub(1)),
        None => format!("0-{}", l.tasks.saturating_sub(1)),
    };
    let gres =
        if o.gpus_per_task > 0 { format!("#SBATCH --gres=gpu:{}\n", o.gpus_per_task) } else { String::new() };
    let time = o.time.as_ref().map(|t| format!("#SBATCH --time={}\n", quote(t))).unwrap_or_default();
    let greedy = quote(&l.greedy.display().to_string());
    let sweep = quote(&l.sweep.display().to_string());
    let shards = format!(
        "#!/bin/bash
# One task per shard of the sweep {sweep}: array index K runs `greedy sweep task SWEEP K`.
# Written by `greedy sweep slurm`; write it again rather than editing it.
#SBATCH --job-name={name}
#SBATCH --array={array}
{gres}#SBATCH --cpus-per-task={cpus}
{time}#SBATCH --output={out}
{common}
set -euo pipefail

# The GPU this task was given, as GREEDY_ADAPTER: Slurm names it by its index
# (CUDA_VISIBLE_DEVICES / SLURM_STEP_GPUS), Vulkan lists adapters in its own order, so the
# index becomes the PCI bus id (nvidia-smi) that greedy matches (GREEDY_ADAPTER=pci:<bus id>).
# Without nvidia-smi greedy takes its default adapter: set GREEDY_ADAPTER yourself there.
if [ -z \"${{GREEDY_ADAPTER:-}}\" ]; then
  gpu=${{CUDA_VISIBLE_DEVICES:-${{SLURM_STEP_GPUS:-${{SLURM_JOB_GPUS:-}}}}}}
  gpu=${{gpu%%,*}}
  if [ -n \"$gpu\" ] && command -v nvidia-smi >/dev/null 2>&1; then
    bus=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader -i \"$gpu\" 2>/dev/null | head -n 1 || true)
    [ -n \"$bus\" ] && export GREEDY_ADAPTER=\"pci:$bus\"
  fi
fi
echo \"task $SLURM_ARRAY_TASK_ID on $(hostname), GPU ${{gpu:-none}}, GREEDY_ADAPTER=${{GREEDY_ADAPTER:-default}}\"
exec {greedy} sweep task {sweep} \"$SLURM_ARRAY_TASK_ID\"
",
        name = l.name,
        cpus = o.cpus_per_task.max(1),
        out = quote(&logs.join("shard-%a.out").display().to_string()),
    );
    let merge = format!(
        "#!/bin/bash
# Merges every run of the sweep {sweep} once all its shards are done (submitted by submit.sh
# with --dependency=afterok on the shards' array).
# Written by `greedy sweep slurm`; write it again rather than editing it.
#SBATCH --job-name={name}-merge
#SBATCH --cpus-per-task=1
#SBATCH --output={out}
{common}
set -euo pipefail
exec {greedy} sweep merge {sweep}
",
        name = l.name,
        out = quote(&logs.join("merge.out").display().to_string()),
    );
    let here = quote(&dir.display().to_string());
    let submit = format!(
        "#!/bin/bash
# Submits the shards of the sweep {sweep} as a job array, then the merge, which waits for
# every shard to succeed (--dependency=afterok). Prints the two job ids.
set -euo pipefail
cd {here}
mkdir -p logs
array=$(sbatch --parsable shards.sbatch)
array=${{array%%;*}}
merge=$(sbatch --parsable --dependency=afterok:\"$array\" merge.sbatch)
merge=${{merge%%;*}}
echo \"shards: job $array ({tasks} array tasks); merge: job $merge (after every shard succeeded)\"
echo \"$array $merge\" > jobs.txt
",
        tasks = l.tasks,
    );
    vec![("shards.sbatch", shards), ("merge.sbatch", merge), ("submit.sh", submit)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_array_has_one_index_per_task_and_a_gpu_each() {
        let l = Launch {
            name: "s".into(),
            greedy: PathBuf::from("/opt/greedy"),
            sweep: PathBuf::from("/w/my sweep.toml"),
            workdir: PathBuf::from("/w"),
            tasks: 8,
        };
        let o = SlurmOptions {
            gpus_per_task: 1,
            cpus_per_task: 4,
            max_parallel: Some(3),
            extra: vec!["--account=a".into()],
            ..SlurmOptions::default()
        };
        let files = scripts(&l, &o, Path::new("/w/runs/slurm"));
        let shards = &files[0].1;
        for want in [
            "#SBATCH --array=0-7%3",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --chdir=/w\n",
            "#SBATCH --account=a",
            "#SBATCH --output=/w/runs/slurm/logs/shard-%a.out",
            "exec /opt/greedy sweep task '/w/my sweep.toml' \"$SLURM_ARRAY_TASK_ID\"",
            "GREEDY_ADAPTER=\"pci:$bus\"",
        ] {
            assert!(shards.contains(want), "{want} in\n{shards}");
        }
        assert!(
            files[1].1.contains("exec /opt/greedy sweep merge '/w/my sweep.toml'")
                && !files[1].1.contains("gres")
        );
        assert!(files[2].1.contains("--dependency=afterok:\"$array\" merge.sbatch"));
        let cpu = scripts(&l, &SlurmOptions::default(), Path::new("/x"));
        assert!(!cpu[0].1.contains("--gres") && cpu[0].1.contains("#SBATCH --array=0-7\n"));
    }
}
