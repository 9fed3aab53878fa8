//! Kubernetes: `shards.yaml`, an Indexed Job whose completion index K runs
//! `greedy sweep task SWEEP K` (a GPU each), `merge.yaml`, a Job that merges, and `submit.sh`,
//! which applies the first, waits for it to complete and applies the second (Kubernetes has no
//! dependencies between Jobs). The pods share a volume (a PersistentVolumeClaim) mounted where
//! the sweep's relative paths start; the image holds the `greedy` binary. A template: the image,
//! the claim and the resources are the ones given, edit the rest to fit the cluster.

use super::Launch;

/// What the manifests request.
#[derive(Debug, Clone, Default)]
pub struct K8sOptions {
    /// The container image with `greedy` in it.
    pub image: String,
    /// The PersistentVolumeClaim holding the working directory (sweep file, models, outputs).
    pub claim: String,
    /// GPUs per shard pod (`nvidia.com/gpu`); 0 runs on CPUs.
    pub gpus_per_task: u32,
    /// CPUs requested per shard pod.
    pub cpus_per_task: u32,
    /// Pods at once.
    pub parallelism: usize,
}

/// YAML double-quoted scalar.
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The file names and contents of the manifests and the submit script.
pub fn manifests(l: &Launch, o: &K8sOptions) -> Vec<(&'static str, String)> {
    let workdir = l.workdir.display().to_string();
    let greedy = l.greedy.display().to_string();
    let sweep = l.sweep.display().to_string();
    let gpu_limit = if o.gpus_per_task > 0 {
        format!("\n            limits:\n              nvidia.com/gpu: {}", o.gpus_per_task)
    } else {
        String::new()
    };
    let volume = |indent: &str| {
        format!("{indent}volumeMounts:\n{indent}  - name: work\n{indent}    mountPath: {w}", w = q(&workdir))
    };
    let volumes = format!(
        "      volumes:\n        - name: work\n          persistentVolumeClaim:\n            claimName: {}",
        q(&o.claim)
    );
    let shards = format!(
        "# Every shard of the sweep {sweep}: completion index K runs `greedy sweep task SWEEP K`.
# Written by `greedy sweep k8s` (a template: image, claim and resources as given).
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}-shards
  labels:
    app: greedy-sweep
    sweep: {name}
spec:
  completionMode: Indexed
  completions: {tasks}
  parallelism: {parallelism}
  backoffLimit: {backoff}
  template:
    metadata:
      labels:
        app: greedy-sweep
        sweep: {name}
    spec:
      restartPolicy: Never
      containers:
        - name: shard
          image: {image}
          workingDir: {wd}
          command: [\"/bin/sh\", \"-c\", {cmd}]
          resources:
            requests:
              cpu: {cpus}{gpu_limit}
{mounts}
{volumes}
",
        name = l.name,
        tasks = l.tasks,
        parallelism = o.parallelism.clamp(1, l.tasks.max(1)),
        backoff = 2 * l.tasks.max(1),
        image = q(&o.image),
        wd = q(&workdir),
        cmd = q(&format!("exec {} sweep task {} \"$JOB_COMPLETION_INDEX\"", sh(&greedy), sh(&sweep))),
        cpus = q(&o.cpus_per_task.max(1).to_string()),
        mounts = volume("          "),
    );
    let merge = format!(
        "# Merges every run of the sweep {sweep} (apply once the shards' Job is complete: submit.sh).
# Written by `greedy sweep k8s`.
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}-merge
  labels:
    app: greedy-sweep
    sweep: {name}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: merge
          image: {image}
          workingDir: {wd}
          command: [{g}, \"sweep\", \"merge\", {s}]
{mounts}
{volumes}
",
        name = l.name,
        image = q(&o.image),
        wd = q(&workdir),
        g = q(&greedy),
        s = q(&sweep),
        mounts = volume("          "),
    );
    let submit = format!(
        "#!/bin/sh
# Runs the sweep {sweep} on the cluster kubectl points at: the shards' Indexed Job, then, once
# it is complete, the merge Job.
set -eu
cd \"$(dirname \"$0\")\"
kubectl apply -f shards.yaml
kubectl wait --for=condition=complete --timeout=-1s job/{name}-shards
kubectl apply -f merge.yaml
kubectl wait --for=condition=complete --timeout=-1s job/{name}-merge
",
        name = l.name,
    );
    vec![("shards.yaml", shards), ("merge.yaml", merge), ("submit.sh", submit)]
}

/// A shell word inside the `sh -c` string.
fn sh(s: &str) -> String {
    crate::cmdline::quote(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn an_indexed_job_with_one_completion_per_task() {
        let l = Launch {
            name: "grid".into(),
            greedy: PathBuf::from("greedy"),
            sweep: PathBuf::from("sweeps/a.toml"),
            workdir: PathBuf::from("/work"),
            tasks: 6,
        };
        let o = K8sOptions {
            image: "reg/greedy:1".into(),
            claim: "data".into(),
            gpus_per_task: 1,
            cpus_per_task: 4,
            parallelism: 4,
        };
        let files = manifests(&l, &o);
        let job = &files[0].1;
        for want in [
            "completionMode: Indexed",
            "completions: 6",
            "parallelism: 4",
            "nvidia.com/gpu: 1",
            "claimName: \"data\"",
            "image: \"reg/greedy:1\"",
            "\"exec greedy sweep task sweeps/a.toml \\\"$JOB_COMPLETION_INDEX\\\"\"",
            "mountPath: \"/work\"",
        ] {
            assert!(job.contains(want), "{want} in\n{job}");
        }
        assert!(files[1].1.contains("command: [\"greedy\", \"sweep\", \"merge\", \"sweeps/a.toml\"]"));
        assert!(files[2].1.contains("kubectl wait --for=condition=complete --timeout=-1s job/grid-shards"));
        let cpu = manifests(&l, &K8sOptions { gpus_per_task: 0, ..o });
        assert!(!cpu[0].1.contains("nvidia.com/gpu"));
    }
}
