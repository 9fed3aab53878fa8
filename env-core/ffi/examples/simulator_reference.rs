//! Prints what `examples/simulator.c` must print, computed with env-core's Rust API;
//! tools/check-firmware.sh diffs the two. Run: `cargo run -p env-core-ffi --example simulator_reference`.

#[path = "../tests/common/reference.rs"]
mod reference;

fn main() {
    print!("{}", reference::simulator_text());
}
