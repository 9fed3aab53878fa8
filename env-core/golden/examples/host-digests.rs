//! Prints the golden digests computed on the host, in the firmware's format
//! (`cargo run -p env-core-golden --example host-digests`).

fn main() {
    env_core_golden::run_all(&mut |r| println!("{:<18} {:016x} {}", r.name, r.digest, r.values))
        .expect("every scenario runs");
}
