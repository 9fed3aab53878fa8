//! Kernel profiling for developers: with `GREEDY_PROFILE_KERNELS=1` every dispatch is submitted on
//! its own and waited for, and its wall time is added to its kernel's total. Serializing the GPU
//! changes what is measured on real GPUs (no overlap, a submit per dispatch), so this answers
//! "which kernel dominates", not "how fast is the step"; on a software driver (lavapipe) the
//! times are the kernels' CPU cost.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The environment variable that turns profiling on (`1`).
pub const PROFILE_ENV: &str = "GREEDY_PROFILE_KERNELS";

/// Whether dispatches are profiled in this process (read once).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var(PROFILE_ENV).is_ok_and(|v| v == "1"))
}

fn totals() -> &'static Mutex<HashMap<String, (u64, Duration)>> {
    static T: OnceLock<Mutex<HashMap<String, (u64, Duration)>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Adds one dispatch of `kernel` that took `time`.
pub(crate) fn record(kernel: &str, time: Duration) {
    let mut t = totals().lock().unwrap_or_else(|e| e.into_inner());
    let e = t.entry(kernel.to_string()).or_insert((0, Duration::ZERO));
    e.0 += 1;
    e.1 += time;
}

/// (kernel, dispatches, total time), the most expensive first; empty unless [`enabled`].
pub fn summary() -> Vec<(String, u64, Duration)> {
    let t = totals().lock().unwrap_or_else(|e| e.into_inner());
    let mut v: Vec<_> = t.iter().map(|(k, (n, d))| (k.clone(), *n, *d)).collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    v
}

/// [`summary`] as a table with each kernel's share of the profiled time.
pub fn table() -> String {
    let rows = summary();
    let total: f64 = rows.iter().map(|r| r.2.as_secs_f64()).sum();
    let mut out = format!("{:<40} {:>10} {:>12} {:>7}\n", "kernel", "dispatches", "seconds", "share");
    for (k, n, d) in rows {
        let s = d.as_secs_f64();
        out.push_str(&format!("{k:<40} {n:>10} {s:>12.4} {:>6.1}%\n", 100.0 * s / total.max(1e-12)));
    }
    out
}
