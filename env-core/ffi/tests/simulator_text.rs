//! The committed expected output of the C example is the Rust API's text, byte for byte
//! (tools/check-firmware.sh then diffs the C program's output with both).

#[path = "common/reference.rs"]
mod reference;

#[test]
fn committed_expected_output_is_the_rust_reference() {
    let want = reference::simulator_text();
    let committed = include_str!("../examples/simulator.expected");
    assert_eq!(committed, want, "regenerate with: cargo run -p env-core-ffi --example simulator_reference > env-core/ffi/examples/simulator.expected");
}

#[test]
fn reference_agrees_with_the_pinned_golden_ucb_steps() {
    // env-core/tests/bandit_agents.rs pins the first UCB steps of scenario 7, seed 11.
    let text = reference::simulator_text();
    assert!(text.contains("step  0: arm 0 (") && text.contains("[3ff2adebe132af98]"));
    assert!(text.contains("step  9: arm 9 (") && text.contains("[3fe5de5d6f2ca18a]"));
}
