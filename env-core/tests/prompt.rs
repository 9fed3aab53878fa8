//! Prompt serialization: exact texts (these pin the format), buffer handling, context
//! randomization and the UCB expert rationale.

use env_core::cb::UserContext;
use env_core::labels::Label;
use env_core::mab::{ArmDistribution, MabConfig};
use env_core::parse::{ParsedAction, parse_action, parse_action_arm, parse_ucb_values};
use env_core::prompt::*;
use env_core::{ArmStats, Error, LabelSet, LabelStyle, Rng, UcbRule};

fn rgb() -> LabelSet {
    LabelSet::from_labels(&[Label::Name("blue"), Label::Name("green"), Label::Name("red")]).unwrap()
}

fn spec3() -> MabPromptSpec<'static> {
    MabPromptSpec::new(&MabConfig { arms: 3, ..MabConfig::default() })
}

const ACTIONS: [usize; 3] = [0, 1, 0];
const REWARDS: [f64; 3] = [0.3, -0.456, 1.0];

fn render_mab(spec: &MabPromptSpec<'_>, labels: &LabelSet, a: &[usize], r: &[f64]) -> String {
    let mut s = String::new();
    write_mab_prompt(&mut s, spec, labels, a, r).unwrap();
    s
}

const INSTRUCTION_RGB: &str = "You are a bandit algorithm in a room with 3 buttons, labeled blue, \
green, red. Each button is tied to a Gaussian reward distribution with a fixed but unknown mean. \
You have 50 steps. At each step you press exactly one button and receive its reward. Your goal is \
to maximize the total reward over the 50 steps.";

const COT_RGB: &str = "Think step by step about which action to take next, but keep your \
thinking short. End your answer with ACTION=X, where X is one of: blue, green, red.";

#[test]
fn mab_cot_prompt_exact() {
    let got = render_mab(&spec3(), &rgb(), &ACTIONS, &REWARDS);
    let want = format!(
        "<start_of_turn>user\n{INSTRUCTION_RGB}\n\n{COT_RGB}\n\n\
Step=0 Action=blue Reward=0.30\n\
Step=1 Action=green Reward=-0.46\n\
Step=2 Action=blue Reward=1.00\n\n\
Which button do you press at step 3?<end_of_turn>\n<start_of_turn>model\n"
    );
    assert_eq!(got, want);
}

#[test]
fn mab_summary_prompt_exact() {
    let spec = MabPromptSpec { summary: true, chat: ChatFormat::PLAIN, ..spec3() };
    let got = render_mab(&spec, &rgb(), &ACTIONS, &REWARDS);
    let want = format!(
        "{INSTRUCTION_RGB}\n\n{COT_RGB}\n\n\
Step=0 Action=blue Reward=0.30\n\
Step=1 Action=green Reward=-0.46\n\
Step=2 Action=blue Reward=1.00\n\n\
Summary of the buttons so far:\n\
blue: times pressed 2, average reward 0.65\n\
green: times pressed 1, average reward -0.46\n\
red: not pressed yet\n\n\
Which button do you press at step 3?"
    );
    assert_eq!(got, want);
}

#[test]
fn mab_numeric_bernoulli_action_only_empty_history_exact() {
    let cfg = MabConfig {
        arms: 4,
        horizon: 20,
        distribution: ArmDistribution::Bernoulli { gap: 0.2 },
        labels: LabelStyle::Numeric,
    };
    let spec =
        MabPromptSpec { output: OutputMode::ActionOnly, chat: ChatFormat::PLAIN, ..MabPromptSpec::new(&cfg) };
    let labels = LabelSet::new(LabelStyle::Numeric, 4, 0).unwrap();
    let got = render_mab(&spec, &labels, &[], &[]);
    let want = "You are a bandit algorithm facing 4 arms, labeled 0 to 3. Each arm is tied to a \
Bernoulli reward distribution (reward 0 or 1) with a fixed but unknown success probability. You \
have 20 steps. At each step you pull exactly one arm and receive its reward. Your goal is to \
maximize the total reward over the 20 steps.\n\n\
Do not explain. Answer with ACTION=X only, where X is one of: 0, 1, 2, 3.\n\n\
No arm has been pulled yet.\n\n\
Which arm do you pull at step 0?";
    assert_eq!(got, want);
    // numeric history lines
    let got = render_mab(&spec, &labels, &[3, 0], &[1.0, 0.0]);
    assert!(
        got.contains(
            "\n\nStep=0 Action=3 Reward=1.00\nStep=1 Action=0 Reward=0.00\n\nWhich arm do you pull at step 2?"
        ),
        "{got}"
    );
}

#[test]
fn knowing_doing_prompt_exact_instruction() {
    let spec = MabPromptSpec {
        output: OutputMode::KnowingDoing(UcbRule::PAPER),
        chat: ChatFormat::PLAIN,
        ..spec3()
    };
    let got = render_mab(&spec, &rgb(), &ACTIONS, &REWARDS);
    let kd = "First write down the UCB rule: the UCB value of an action is mean + sqrt(1/N), where \
mean is its average reward so far and N the number of times it was chosen; an action never chosen \
has no UCB value yet (write nan). Then compute the UCB value of every action and write them between \
<ucb_values> and </ucb_values>, one line per action of the form label: value. Finally end your \
answer with ACTION=X, where X is one of: blue, green, red.";
    assert_eq!(
        got,
        format!(
            "{INSTRUCTION_RGB}\n\n{kd}\n\nStep=0 Action=blue Reward=0.30\nStep=1 Action=green Reward=-0.46\nStep=2 Action=blue Reward=1.00\n\nWhich button do you press at step 3?"
        )
    );
}

#[test]
fn chat_wrapper_exact() {
    let mut s = String::new();
    ChatFormat::GEMMA
        .wrap(&mut s, |w| {
            w.push_str("hello");
            Ok(())
        })
        .unwrap();
    assert_eq!(s, "<start_of_turn>user\nhello<end_of_turn>\n<start_of_turn>model\n");
    let mut s = String::new();
    ChatFormat::PLAIN
        .wrap(&mut s, |w| {
            w.push_str("hello");
            Ok(())
        })
        .unwrap();
    assert_eq!(s, "hello");
    assert_eq!(ChatFormat::default(), ChatFormat::GEMMA);
}

#[test]
fn small_buffer_is_buffer_too_small_and_counting_matches() {
    let mut small = heapless::String::<64>::new();
    assert_eq!(
        write_mab_prompt(&mut small, &spec3(), &rgb(), &ACTIONS, &REWARDS),
        Err(Error::BufferTooSmall)
    );
    let full = render_mab(&spec3(), &rgb(), &ACTIONS, &REWARDS);
    let n = required_len(|w| write_mab_prompt(w, &spec3(), &rgb(), &ACTIONS, &REWARDS)).unwrap();
    assert_eq!(n, full.len());
    let mut fits = heapless::String::<2048>::new();
    write_mab_prompt(&mut fits, &spec3(), &rgb(), &ACTIONS, &REWARDS).unwrap();
    assert_eq!(fits.as_str(), full);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let mut s = String::new();
    assert!(matches!(
        write_mab_prompt(&mut s, &spec3(), &rgb(), &[0, 1], &[0.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        write_mab_prompt(&mut s, &spec3(), &rgb(), &[3], &[0.0]),
        Err(Error::InvalidAction { action: 3, num_actions: 3 })
    ));
    let p = LabelPermutation::identity(4).unwrap();
    let spec = MabPromptSpec { permutation: Some(p), ..spec3() };
    assert!(matches!(write_mab_prompt(&mut s, &spec, &rgb(), &[], &[]), Err(Error::ShapeMismatch { .. })));
    let mut t = spec3();
    t.templates.history_line = "Step={step} Act={actoin}";
    assert_eq!(
        write_mab_prompt(&mut s, &t, &rgb(), &ACTIONS, &REWARDS),
        Err(Error::BadTemplate { offset: 16 })
    );
    assert!(matches!(LabelPermutation::from_shown(&[0, 0, 1]), Err(Error::InvalidAction { .. })));
}

#[test]
fn custom_templates_are_used() {
    let mut spec = MabPromptSpec { chat: ChatFormat::PLAIN, output: OutputMode::ActionOnly, ..spec3() };
    spec.templates.history_line = "{{t={step}}} {action} -> {reward}";
    spec.templates.buttons.question = "Next?";
    spec.templates.buttons.instruction = "{k} buttons: {labels}.";
    spec.templates.output.action_only = "ACTION=<one of {labels}>";
    let got = render_mab(&spec, &rgb(), &[2], &[0.5]);
    assert_eq!(
        got,
        "3 buttons: blue, green, red.\n\nACTION=<one of blue, green, red>\n\n{t=0} red -> 0.50\n\nNext?"
    );
}

#[test]
fn randomization_round_trip_and_consistent_relabelling() {
    let labels = LabelSet::new(LabelStyle::Buttons, 10, 7).unwrap();
    let mut differs = false;
    for seed in 0..20u64 {
        for step in 0..50u64 {
            let p = LabelPermutation::for_step(10, seed, step).unwrap();
            assert_eq!(p, LabelPermutation::for_step(10, seed, step).unwrap());
            differs |= p != LabelPermutation::for_step(10, seed, step + 1).unwrap();
            for a in 0..10 {
                assert_eq!(p.true_arm(p.shown(a).unwrap()).unwrap(), a);
                assert_eq!(p.shown(p.true_arm(a).unwrap()).unwrap(), a);
                assert_eq!(p.inverse().shown(a).unwrap(), p.true_arm(a).unwrap());
            }
            assert_eq!(p.inverse().inverse(), p);
            let shown = p.relabel(&labels).unwrap();
            for a in 0..10 {
                assert_eq!(shown.get(a).unwrap(), p.label(&labels, a).unwrap());
            }
        }
    }
    assert!(differs);

    // Relabelled history: every line names the true arm under this step's permutation, and the
    // answer maps back to the true arm either way.
    let mut rng = Rng::new(11);
    let actions: Vec<usize> = (0..30).map(|_| rng.below(10)).collect();
    let rewards: Vec<f64> = (0..30).map(|_| rng.normal(0.5, 1.0)).collect();
    let p = LabelPermutation::for_step(10, 3, 30).unwrap();
    let spec = MabPromptSpec { permutation: Some(p), summary: true, ..MabPromptSpec::default() };
    let text = render_mab(&spec, &labels, &actions, &rewards);
    let shown = spec.shown_labels(&labels).unwrap();
    let history: Vec<&str> = text.lines().filter(|l| l.starts_with("Step=")).collect();
    assert_eq!(history.len(), 30);
    for (t, line) in history.iter().enumerate() {
        assert_eq!(parse_action_arm(line, &shown), Ok(actions[t]), "{line}");
        let j = parse_action_arm(line, &labels).unwrap();
        assert_eq!(p.true_arm(j), Ok(actions[t]));
    }
    // The instruction lists the canonical order, not the permuted one.
    let mut list = String::new();
    for (i, l) in labels.as_slice().iter().enumerate() {
        if i > 0 {
            list.push_str(", ");
        }
        list.push_str(&l.to_string());
    }
    assert!(text.contains(&format!("labeled {list}.")));
}

#[test]
fn summary_follows_the_permutation() {
    // true arm 0 -> red, 1 -> blue, 2 -> green
    let p = LabelPermutation::from_shown(&[2, 0, 1]).unwrap();
    let spec = MabPromptSpec { permutation: Some(p), summary: true, chat: ChatFormat::PLAIN, ..spec3() };
    let got = render_mab(&spec, &rgb(), &ACTIONS, &REWARDS);
    assert!(got.contains(
        "\n\nStep=0 Action=red Reward=0.30\nStep=1 Action=blue Reward=-0.46\nStep=2 Action=red Reward=1.00\n\n\
Summary of the buttons so far:\n\
blue: times pressed 1, average reward -0.46\n\
green: not pressed yet\n\
red: times pressed 2, average reward 0.65\n\n"
    ), "{got}");
    let shown = spec.shown_labels(&rgb()).unwrap();
    assert_eq!(parse_action_arm("ACTION=green", &shown), Ok(2));
    assert_eq!(p.true_arm(parse_action_arm("ACTION=green", &rgb()).unwrap()), Ok(2));
}

#[test]
fn ucb_rationale_exact() {
    let stats = ArmStats::from_history(3, &ACTIONS, &REWARDS).unwrap();
    let mut s = String::new();
    let arm =
        write_ucb_rationale(&mut s, &stats, UcbRule::PAPER, &rgb(), &RationaleTemplates::default()).unwrap();
    assert_eq!(arm, 2);
    assert_eq!(
        s,
        "For each action I compute its count N, its mean reward and UCB = mean + sqrt(1/N).\n\
blue: count=2, mean=0.65, UCB=1.36\n\
green: count=1, mean=-0.46, UCB=0.54\n\
red: count=0, mean=NaN, UCB=NaN\n\
Not all actions have been tried yet, so I choose the next untried one: red.\n\
ACTION=red"
    );
    let stats = ArmStats::from_history(3, &[0, 1, 2, 0], &[0.3, -0.456, 0.5, 1.0]).unwrap();
    let mut s = String::new();
    let arm =
        write_ucb_rationale(&mut s, &stats, UcbRule::PAPER, &rgb(), &RationaleTemplates::default()).unwrap();
    assert_eq!(arm, 2);
    assert!(
        s.ends_with("red: count=1, mean=0.50, UCB=1.50\nred has the highest UCB value.\nACTION=red"),
        "{s}"
    );
}

#[test]
fn ucb_rationale_action_equals_ucb_choose() {
    let mut rng = Rng::new(2024);
    for case in 0..500 {
        let k = 2 + rng.below(19);
        let n = rng.below(40);
        let actions: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
        let rewards: Vec<f64> = (0..n)
            .map(|_| {
                let m = rng.uniform();
                rng.normal(m, 1.0)
            })
            .collect();
        let stats = ArmStats::from_history(k, &actions, &rewards).unwrap();
        let labels =
            LabelSet::new(if case % 2 == 0 { LabelStyle::Buttons } else { LabelStyle::Numeric }, k, case)
                .unwrap();
        let rule = if case % 3 == 0 { UcbRule::LOG_HALF } else { UcbRule::PAPER };
        let mut s = String::new();
        let arm = write_ucb_rationale(&mut s, &stats, rule, &labels, &RationaleTemplates::default()).unwrap();
        assert_eq!(arm, rule.choose(&stats));
        assert_eq!(parse_action_arm(&s, &labels), Ok(arm), "{s}");
        assert_eq!(s.lines().count(), k + 3);
        // deterministic
        let mut again = String::new();
        write_ucb_rationale(&mut again, &stats, rule, &labels, &RationaleTemplates::default()).unwrap();
        assert_eq!(s, again);
    }
}

#[test]
fn explore_and_action_targets_exact() {
    let t = RationaleTemplates::default();
    let mut s = String::new();
    write_explore_rationale(&mut s, 1, &rgb(), &t).unwrap();
    assert_eq!(s, "Action green has not been tried yet, let's explore it. ACTION=green");
    let mut s = String::new();
    write_action(&mut s, 2, &rgb(), &t).unwrap();
    assert_eq!(s, "ACTION=red");
    assert!(matches!(write_action(&mut s, 3, &rgb(), &t), Err(Error::InvalidAction { .. })));
}

#[test]
fn ucb_values_block_round_trips() {
    let mut s = String::new();
    write_ucb_values(&mut s, &rgb(), &[1.5, f64::NAN, -0.25]).unwrap();
    assert_eq!(s, "<ucb_values>\nblue: 1.5\ngreen: NaN\nred: -0.25\n</ucb_values>");
    let v = parse_ucb_values(&s, &rgb()).unwrap();
    assert_eq!(v.get(0), Some(1.5));
    assert!(v.get(1).unwrap().is_nan());
    assert_eq!(v.get(2), Some(-0.25));
    assert_eq!(v.argmax(), Some(1));
}

#[test]
fn ttt_prompt_exact() {
    let spec = TttPromptSpec { chat: ChatFormat::PLAIN, ..TttPromptSpec::default() };
    let states = [[0u8; 9], [1, 0, 2, 0, 0, 0, 0, 0, 0]];
    let board = [1, 0, 2, 0, 1, 0, 2, 0, 0];
    let legal = [1, 3, 5, 7, 8];
    let mut s = String::new();
    write_ttt_prompt(&mut s, &spec, &states, &[0, 4], &[0.0, 0.0], &board, &legal).unwrap();
    let instr = "You are playing tic-tac-toe. You are player 1 and your opponent is player 2. The \
board is written as 9 digits, one per position, positions 0 to 8 row by row from the top left: 0 is \
an empty cell, 1 your mark, 2 your opponent's mark. At each step you place your mark on an empty \
position. At the end of the game you receive a reward of 1 for a win, 0 for a draw and -1 for a loss.";
    let want = format!(
        "{instr}\n\n\
Think step by step about which action to take next, but keep your thinking short. End your answer \
with ACTION=X, where X is one of: 1, 3, 5, 7, 8.\n\n\
Step=0 State=000000000 Action=0 Reward=0\n\
Step=1 State=102000000 Action=4 Reward=0\n\n\
Current state: 102010200\n\
Legal moves: 1, 3, 5, 7, 8\n\n\
Which position do you play?"
    );
    assert_eq!(s, want);

    let hidden = TttPromptSpec { show_legal_moves: false, ..spec };
    let mut s = String::new();
    write_ttt_prompt(&mut s, &hidden, &[], &[], &[], &[0; 9], &[0, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    assert!(!s.contains("Legal moves"));
    assert!(s.ends_with("one of: 0, 1, 2, 3, 4, 5, 6, 7, 8.\n\nNo move has been played yet.\n\nCurrent state: 000000000\n\nWhich position do you play?"), "{s}");
    assert!(matches!(
        write_ttt_prompt(&mut s, &spec, &[], &[], &[], &[3; 9], &[]),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        write_ttt_prompt(&mut s, &spec, &[], &[], &[], &[0; 9], &[9]),
        Err(Error::InvalidAction { .. })
    ));
}

#[test]
fn cb_prompt_exact() {
    let titles = ["Toy Story (1995)", "Heat (1995)"];
    let prefs = [0.123, -0.3];
    let u = UserContext {
        age: 25,
        gender: "female",
        occupation: "artist",
        location: "90210",
        preferences: &prefs,
    };
    let spec = CbPromptSpec {
        horizon: 10,
        chat: ChatFormat::PLAIN,
        output: OutputMode::ActionOnly,
        ..CbPromptSpec::default()
    };
    let mut s = String::new();
    write_cb_prompt(&mut s, &spec, &titles, &[u], &[1], &[3.456], &u).unwrap();
    let want = "You are a movie recommendation system. At each of 10 steps a user arrives and you \
recommend exactly one of the 2 movies below; the reward is how much the user likes it. Your goal is \
to maximize the total reward. The movies are:\n\
- Toy Story (1995)\n\
- Heat (1995)\n\n\
Do not explain. Answer with ACTION=X only, where X is one of: Toy Story (1995), Heat (1995).\n\n\
Step=0 User=(age 25, female, artist, location 90210, preferences [0.12, -0.30]) Action=Heat (1995) Reward=3.46\n\n\
Current user: age 25, female, artist, location 90210, preferences [0.12, -0.30]\n\n\
Which movie do you recommend to this user?";
    assert_eq!(s, want);
    assert_eq!(
        parse_action("I pick ACTION=**toy story (1995)**.", &env_core::parse::Titles(&titles)),
        ParsedAction::Valid { arm: 0, span: env_core::parse::Span { start: 16, end: 32 } }
    );
    assert!(matches!(
        write_cb_prompt(&mut s, &spec, &titles, &[u], &[2], &[0.0], &u),
        Err(Error::InvalidAction { .. })
    ));
}
