//! End-to-end tests of `greedy prompt`: the exact context after a played history.

use std::process::{Command, Output};

fn greedy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greedy")).args(args).output().expect("greedy runs")
}

fn text(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(out.status.success(), "greedy {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const FORM: &[&str] =
    &["prompt", "--env", "mab", "--arms", "5", "--agent", "random", "--steps", "10", "--seed", "1"];

#[test]
fn mab_prompt_has_the_history_and_chat_turns() {
    let t = text(FORM);
    assert!(
        t.starts_with("<start_of_turn>user\n") && t.ends_with("<end_of_turn>\n<start_of_turn>model\n"),
        "{t}"
    );
    assert_eq!(t.lines().filter(|l| l.starts_with("Step=")).count(), 10);
    assert!(t.contains("Step=9 Action=") && !t.contains("Step=10 Action="));
    assert!(t.contains("step 10") && t.contains("5 buttons") && t.contains("ACTION=X"));
    assert_eq!(t, text(FORM), "same seed, same prompt");
}

#[test]
fn flags_change_the_prompt() {
    let mut base = FORM.to_vec();
    base.extend(["--base", "--no-cot", "--summary"]);
    let t = text(&base);
    assert!(!t.contains("<start_of_turn>"));
    assert!(t.contains("ACTION=X only"));
    assert!(t.contains("average reward"));
    let mut kd = FORM.to_vec();
    kd.push("--knowing-doing");
    assert!(text(&kd).contains("<ucb_values>"));
    let mut rnd = FORM.to_vec();
    rnd.push("--randomize");
    assert_ne!(text(&rnd), text(FORM));
    let t = text(&["prompt", "--env", "ttt", "--opponent", "minimax", "--agent", "random", "--steps", "1"]);
    assert!(t.contains("Step=0 State=000000000") && t.contains("Legal moves"), "{t}");
}

#[test]
fn bad_steps_are_named() {
    let out = greedy(&["prompt", "--arms", "5", "--steps", "50"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--steps"));
    let out = greedy(&["prompt", "--env", "ttt", "--summary"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--summary"));
}

#[test]
fn cb_prompt_shows_the_users_history_and_the_current_user() {
    let args = ["prompt", "--env", "cb", "--agent", "linucb", "--movies", "4", "--steps", "3", "--seed", "2"];
    let out = text(&args);
    assert_eq!(out.matches("\nStep=").count(), 3, "{out}");
    assert_eq!(out.matches("User=(age ").count(), 3, "{out}");
    assert!(out.contains("Current user: age "), "{out}");
    assert!(out.starts_with("<start_of_turn>user\n"), "{out}");
    assert_eq!(out, text(&args), "deterministic");
    let bad = greedy(&["prompt", "--env", "cb", "--steps", "50"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--steps"));
    let bad = greedy(&["prompt", "--env", "cb", "--summary"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--summary"));
}
