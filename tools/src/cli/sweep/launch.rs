//! `greedy sweep slurm` and `greedy sweep k8s`: flags -> [`crate::cluster`]'s settings -> the
//! files, written into the sweep's `out` (`slurm/`, `k8s/`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{FileArgs, Plan};
use crate::cluster::k8s::{self, K8sOptions};
use crate::cluster::slurm::{self, SlurmOptions};
use crate::cluster::{Launch, job_name};
use crate::io::write_atomic;

/// `greedy sweep slurm` arguments.
#[derive(Debug, Clone, Args)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// GPUs per shard task (--gres=gpu:N); 0 for CPU-only tasks.
    #[arg(long, default_value_t = 1)]
    pub gpus_per_task: u32,
    /// CPUs per shard task.
    #[arg(long, default_value_t = 4)]
    pub cpus_per_task: u32,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each task (Slurm's --time, e.g. 04:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// At most this many shard tasks at once.
    #[arg(long)]
    pub max_parallel: Option<usize>,
    /// More #SBATCH options for both jobs, e.g. --sbatch-arg=--account=lab (repeatable).
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// The greedy binary the tasks run [default: this one].
    #[arg(long, value_name = "PATH")]
    pub greedy: Option<PathBuf>,
}

/// `greedy sweep k8s` arguments.
#[derive(Debug, Clone, Args)]
pub struct K8sArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// The container image that holds greedy.
    #[arg(long, default_value = "greedy:latest")]
    pub image: String,
    /// The PersistentVolumeClaim with the working directory (sweep file, models, outputs).
    #[arg(long, default_value = "greedy-work")]
    pub claim: String,
    /// Where the claim is mounted in the pods: the sweep's relative paths start there.
    #[arg(long, default_value = "/work")]
    pub workdir: PathBuf,
    /// GPUs per shard pod (nvidia.com/gpu); 0 for CPU-only pods.
    #[arg(long, default_value_t = 1)]
    pub gpus_per_task: u32,
    /// CPUs requested per shard pod.
    #[arg(long, default_value_t = 4)]
    pub cpus_per_task: u32,
    /// Shard pods at once [default: every task].
    #[arg(long)]
    pub parallelism: Option<usize>,
    /// The greedy binary in the image.
    #[arg(long, value_name = "PATH", default_value = "greedy")]
    pub greedy: PathBuf,
}

/// Writes `files` into `dir` (created if missing); returns their paths.
fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            write_atomic(&path, text.as_bytes())?;
            if name.ends_with(".sh") || name.ends_with(".sbatch") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(path)
        })
        .collect()
}

/// The sweep's name for its jobs: the file's name without extension.
fn sweep_name(file: &Path) -> String {
    job_name(&file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
}

/// Writes the Slurm scripts; returns what to print.
pub fn slurm(a: &SlurmArgs) -> Result<String> {
    let plan = Plan::load(&a.file.file)?;
    if a.max_parallel == Some(0) {
        bail!("invalid value 0 for --max-parallel: allowed >= 1");
    }
    let cwd = std::env::current_dir().context("the current directory")?;
    let greedy = match &a.greedy {
        Some(g) => cwd.join(g),
        None => std::env::current_exe().context("the path of this greedy binary")?,
    };
    let launch = Launch {
        name: sweep_name(&a.file.file),
        greedy,
        sweep: cwd.join(&a.file.file),
        workdir: cwd.clone(),
        tasks: plan.tasks().len(),
    };
    let options = SlurmOptions {
        gpus_per_task: a.gpus_per_task,
        cpus_per_task: a.cpus_per_task,
        partition: a.partition.clone(),
        time: a.time.clone(),
        max_parallel: a.max_parallel,
        extra: a.sbatch_arg.clone(),
    };
    let dir = cwd.join(&plan.file.out).join("slurm");
    let files = slurm::scripts(&launch, &options, &dir);
    let written = write_files(&dir, &files)?;
    Ok(format!(
        "{} tasks ({} runs) as one job array{}; wrote\n{}\nsubmit with: bash {}\n",
        launch.tasks,
        plan.runs.len(),
        if a.gpus_per_task > 0 {
            format!(", {} GPU(s) per task", a.gpus_per_task)
        } else {
            ", CPUs only".into()
        },
        written.iter().map(|p| format!("  {}", p.display())).collect::<Vec<_>>().join("\n"),
        dir.join("submit.sh").display()
    ))
}

/// Writes the Kubernetes manifests; returns what to print.
pub fn k8s(a: &K8sArgs) -> Result<String> {
    let plan = Plan::load(&a.file.file)?;
    if a.parallelism == Some(0) {
        bail!("invalid value 0 for --parallelism: allowed >= 1");
    }
    if a.file.file.is_absolute() {
        bail!(
            "{}: give the sweep file relative to this directory (the pods see it under --workdir {})",
            a.file.file.display(),
            a.workdir.display()
        );
    }
    let tasks = plan.tasks().len();
    let launch = Launch {
        name: sweep_name(&a.file.file),
        greedy: a.greedy.clone(),
        sweep: a.file.file.clone(),
        workdir: a.workdir.clone(),
        tasks,
    };
    let options = K8sOptions {
        image: a.image.clone(),
        claim: a.claim.clone(),
        gpus_per_task: a.gpus_per_task,
        cpus_per_task: a.cpus_per_task,
        parallelism: a.parallelism.unwrap_or(tasks),
    };
    let dir = plan.file.out.join("k8s");
    let written = write_files(&dir, &k8s::manifests(&launch, &options))?;
    Ok(format!(
        "{tasks} tasks ({} runs) as one Indexed Job; wrote\n{}\nsubmit with: sh {}\n",
        plan.runs.len(),
        written.iter().map(|p| format!("  {}", p.display())).collect::<Vec<_>>().join("\n"),
        dir.join("submit.sh").display()
    ))
}
