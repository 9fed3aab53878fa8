//! Answer parsing: properties over generated answers, plus the documented edge cases.

use env_core::labels::Label;
use env_core::parse::*;
use env_core::prompt::write_ucb_values;
use env_core::{LabelSet, LabelStyle};
use proptest::prelude::*;

fn buttons(k: usize, seed: u64) -> LabelSet {
    LabelSet::new(LabelStyle::Buttons, k, seed).unwrap()
}

/// Noise that can never contain a marker (no `=` or `:`) and ends at a word boundary.
fn noise() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,.!?()\n\u{e9}\u{4e2d}]{0,40}".prop_map(|s| format!("{s} "))
}

/// Text after the label: starts with something that is not a letter or digit.
fn tail() -> impl Strategy<Value = String> {
    ("[ !)\\]}*\n]", "[a-zA-Z0-9 ,.!?\n]{0,30}").prop_map(|(a, b)| format!("{a}{b}"))
}

fn random_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
        .collect()
}

const SEPARATORS: [&str; 6] = ["=", " = ", ":", " : ", "**:", "\t="];
const WRAPS: [(&str, &str); 9] = [
    ("", ""),
    ("**", "**"),
    ("`", "`"),
    ("\"", "\""),
    ("'", "'"),
    ("[", "]"),
    ("(", ")"),
    ("{", "}"),
    ("<", ">"),
];

fn decorated(label: &str, case: u64, sep: usize, wrap: usize, marker_case: u64) -> String {
    let (open, close) = WRAPS[wrap];
    format!(
        "{}{}{open}{}{close}",
        random_case("action", marker_case),
        SEPARATORS[sep],
        random_case(label, case)
    )
}

proptest! {
    #[test]
    fn decorated_last_action_parses(
        k in 2usize..=32, seed in any::<u64>(), arm_pick in any::<usize>(), numeric in any::<bool>(),
        pre in noise(), post in tail(), case in any::<u64>(), mcase in any::<u64>(),
        sep in 0usize..SEPARATORS.len(), wrap in 0usize..WRAPS.len(), punct in "[.!,;]?",
    ) {
        let labels = if numeric { LabelSet::new(LabelStyle::Numeric, k, 0).unwrap() } else { buttons(k, seed) };
        let arm = arm_pick % k;
        let label = labels.get(arm).unwrap().to_string();
        let text = format!("{pre}{}{punct}{post}", decorated(&label, case, sep, wrap, mcase));
        let parsed = parse_action(&text, &labels);
        prop_assert_eq!(parsed.arm(), Some(arm), "{:?} -> {:?}", text, parsed);
        if let ParsedAction::Valid { span, .. } = parsed {
            prop_assert!(span.of(&text).eq_ignore_ascii_case(&label));
        }
        prop_assert_eq!(parse_action_arm(&text, &labels), Ok(arm));
    }

    #[test]
    fn the_last_of_several_wins(
        k in 2usize..=20, seed in any::<u64>(), arms in proptest::collection::vec(any::<usize>(), 1..6),
        gaps in proptest::collection::vec(noise(), 6), sep in 0usize..SEPARATORS.len(), wrap in 0usize..WRAPS.len(),
    ) {
        let labels = buttons(k, seed);
        let mut text = String::new();
        for (i, a) in arms.iter().enumerate() {
            text.push_str(&gaps[i]);
            text.push_str(&decorated(&labels.get(a % k).unwrap().to_string(), 0, sep, wrap, u64::MAX));
            text.push('\n');
        }
        prop_assert_eq!(parse_action_arm(&text, &labels), Ok(arms.last().unwrap() % k));
    }

    #[test]
    fn a_later_invalid_action_makes_the_answer_invalid(
        k in 2usize..=10, seed in any::<u64>(), arm in 0usize..10, pre in noise(),
    ) {
        let labels = buttons(k, seed);
        let text = format!("{pre}ACTION={}\nACTION=notacolour", labels.get(arm % k).unwrap());
        let parsed = parse_action(&text, &labels);
        let ok = matches!(parsed, ParsedAction::UnknownLabel { span } if span.of(&text) == "notacolour");
        prop_assert!(ok, "{:?}", parsed);
        prop_assert_eq!(parse_action_arm(&text, &labels), Err(env_core::Error::NoValidAction));
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), k in 1usize..=32, seed in any::<u64>()) {
        let labels = buttons(k, seed);
        let numeric = LabelSet::new(LabelStyle::Numeric, k, 0).unwrap();
        let titles = Titles(&["Toy Story (1995)", "Heat", "\u{e9}t\u{e9}"]);
        let _ = parse_action(&text, &labels);
        let _ = parse_action(&text, &numeric);
        let _ = parse_action(&text, &titles);
        let _ = parse_ucb_values(&text, &labels);
        let _ = parse_ucb_values(&text, &titles);
        for p in ["ACTION=", "<ucb_values>", "action:", "</ucb_values>"] {
            let t = format!("{p}{text}");
            if let ParsedAction::Valid { span, .. } | ParsedAction::UnknownLabel { span } = parse_action(&t, &labels) {
                prop_assert!(t.get(span.start..span.end).is_some());
            }
            let _ = parse_action(&t, &numeric);
            let _ = parse_ucb_values(&t, &numeric);
            let _ = parse_ucb_values(&t, &titles);
        }
    }

    #[test]
    fn numbers_out_of_range_are_invalid(k in 1usize..=32, extra in 0usize..1000, pre in noise()) {
        let numeric = LabelSet::new(LabelStyle::Numeric, k, 0).unwrap();
        let text = format!("{pre}ACTION={}", k + extra);
        let unknown = matches!(parse_action(&text, &numeric), ParsedAction::UnknownLabel { .. });
        prop_assert!(unknown);
        let text = format!("{pre}ACTION=-{}", extra % k);
        prop_assert!(parse_action_arm(&text, &numeric).is_err());
    }

    #[test]
    fn ucb_values_round_trip(
        k in 1usize..=32, seed in any::<u64>(),
        values in proptest::collection::vec(prop_oneof![8 => -1.0e6f64..1.0e6, 1 => Just(f64::NAN), 1 => Just(f64::INFINITY)], 32),
        pre in noise(), post in noise(),
    ) {
        let labels = buttons(k, seed);
        let mut text = format!("{pre}<ucb_values>\nstale: 1\n</ucb_values>\n");
        write_ucb_values(&mut text, &labels, &values[..k]).unwrap();
        text.push_str(&post);
        let parsed = parse_ucb_values(&text, &labels).unwrap();
        prop_assert!(parsed.is_complete());
        for (a, &v) in values[..k].iter().enumerate() {
            let got = parsed.get(a).unwrap();
            prop_assert!((v.is_nan() && got.is_nan()) || got == v || (got - v).abs() <= 1e-9, "{} vs {}", got, v);
        }
        // argmax: untried (NaN / inf) first, lowest index among ties
        let key = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
        let mut best = 0;
        for a in 1..k {
            if key(values[a]) > key(values[best]) { best = a; }
        }
        prop_assert_eq!(parsed.argmax(), Some(best));
    }
}

#[test]
fn documented_edge_cases() {
    let l = LabelSet::from_labels(&[Label::Name("blue"), Label::Name("green"), Label::Name("red")]).unwrap();
    let arm = |t: &str| parse_action_arm(t, &l).ok();
    assert_eq!(arm("ACTION=red"), Some(2));
    assert_eq!(arm("action = Blue"), Some(0));
    assert_eq!(arm("**ACTION=red**"), Some(2));
    assert_eq!(arm("**Action**: green."), Some(1));
    assert_eq!(arm("ACTION: red"), Some(2));
    assert_eq!(arm("ACTION=`red`"), Some(2));
    assert_eq!(arm("ACTION=\u{201c}red\u{201d}"), Some(2));
    assert_eq!(arm("ACTION=red."), Some(2));
    assert_eq!(arm("ACTION=[RED]!"), Some(2));
    assert_eq!(arm("ACTION=reddish"), None);
    assert_eq!(arm("ACTION=red\u{e9}"), None);
    assert_eq!(arm("transaction=red"), None);
    assert_eq!(arm("ACTIONS=red"), None);
    assert_eq!(arm("I press red"), None);
    assert_eq!(arm(""), None);
    assert_eq!(arm("ACTION="), None);
    assert_eq!(parse_action("no marker", &l), ParsedAction::NoActionFound);
    assert_eq!(
        parse_action("ACTION=red then action: purple", &l),
        ParsedAction::UnknownLabel { span: Span { start: 24, end: 30 } }
    );
    let n = LabelSet::new(LabelStyle::Numeric, 10, 0).unwrap();
    let num = |t: &str| parse_action_arm(t, &n).ok();
    assert_eq!(num("ACTION=7"), Some(7));
    assert_eq!(num("ACTION=07."), Some(7));
    assert_eq!(num("ACTION=3.5"), None);
    assert_eq!(num("ACTION=10"), None);
    assert_eq!(num("ACTION=(4)"), Some(4));

    let block = "Rule: UCB = mean + sqrt(1/N)\n<UCB_VALUES>\n- **blue**: 0.5 + sqrt(1/2) = 1.21\n\
* green = NaN\n  red: count=2, UCB=0.9.\nnot a label: 7\n</ucb_values>\nACTION=green";
    let v = parse_ucb_values(block, &l).unwrap();
    assert_eq!(v.get(0), Some(1.21));
    assert!(v.get(1).unwrap().is_nan());
    assert_eq!(v.get(2), Some(0.9));
    assert_eq!(v.argmax(), Some(1));
    assert_eq!(v.given_mask(), 0b111);
    let partial = parse_ucb_values("<ucb_values>\nred: -inf\nblue: 2", &l).unwrap();
    assert_eq!(partial.given_count(), 2);
    assert!(!partial.is_complete());
    assert_eq!(partial.get(1), None);
    assert_eq!(partial.argmax(), Some(0));
    assert_eq!(parse_ucb_values("no block", &l), None);
}
