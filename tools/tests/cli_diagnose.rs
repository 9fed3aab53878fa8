//! `greedy diagnose frequency-bias` and `greedy diagnose knowing-doing` on a tiny random Gemma2
//! with the fixture tokenizer (lavapipe where there is no GPU): JSON parsed and checked, the
//! action scores against the CPU reference forward, the knowing-doing answers against a separate
//! greedy generation, the files written.

mod support;

use env_core::{ArmDistribution, LabelStyle, MabConfig, UcbRule};
use gpu_trainer::agent::{Policy, SampleOptions};
use gpu_trainer::cpu::model::CpuModel;
use gpu_trainer::diagnose::{frequency, knowing};
use gpu_trainer::generate::sampler::log_softmax;
use gpu_trainer::generate::{Engine, LoadOptions};
use gpu_trainer::model::GemmaTokenizer;
use serde_json::Value;
use support::{err_text, jsonl, ok_stdout, tiny_model_with_tokenizer, tmpdir};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn frequency_bias_scores_match_the_cpu_reference() {
    let model_dir = tmpdir("diag", "freq-model");
    let model = model_dir.path();
    tiny_model_with_tokenizer(model);
    let out_dir = tmpdir("diag", "freq-out");
    let out = out_dir.path();
    let m = model.to_str().unwrap();
    let flags = "diagnose frequency-bias --arms 3 --contexts 2 --repeats 0,3 --max-history 4 --seed 7 --json";
    let mut args: Vec<&str> = flags.split_whitespace().collect();
    args.extend(["--model", m, "--out", out.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
    assert_eq!(v["study"], "frequency-bias");
    assert_eq!(v["settings"]["repeats"], serde_json::json!([0, 3]));
    assert_eq!(v["settings"]["bandit"]["horizon"], 8, "max history 4 + 3 repeats + 1");
    let rows = v["results"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["contexts"], 2);
        for kind in ["chosen", "mass"] {
            let s = &row[kind];
            let sum = s["frequent"].as_f64().unwrap()
                + s["greedy"].as_f64().unwrap()
                + s["other"].as_f64().unwrap();
            assert!(close(sum, 1.0, 1e-9), "{kind} shares sum to {sum}");
        }
        let h = row["mean_entropy"].as_f64().unwrap();
        assert!(h > 0.0 && h <= 3f64.ln() + 1e-9, "entropy {h} over 3 arms");
    }
    assert!(v["results"]["entropy_repeat_correlation"].is_number());
    for f in ["frequency_bias.json", "frequency_bias.png", "frequency_bias.svg", "contexts.jsonl"] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let lines = jsonl(&out.join("contexts.jsonl"));
    assert_eq!(lines.len(), 4, "2 contexts x 2 repetition counts");

    // the same prompts rebuilt through the library, scored by the CPU reference
    let repeats = vec![0, 3];
    let settings = frequency::FrequencySettings {
        config: MabConfig {
            arms: 3,
            horizon: frequency::horizon_for(4, &repeats),
            distribution: ArmDistribution::Gaussian { sigma: 1.0 },
            labels: LabelStyle::Buttons,
        },
        contexts: 2,
        repeats,
        min_history: 2,
        max_history: 4,
        seed: 7,
        chat: true,
        summary: false,
        answer: "ACTION={label}".into(),
    };
    let contexts = frequency::build_contexts(&settings).unwrap();
    let cpu = CpuModel::load(model).unwrap();
    let tok = GemmaTokenizer::from_dir(model).unwrap();
    let vocab = cpu.config.vocab_size;
    for (ctx, line) in contexts.iter().zip(&lines) {
        assert_eq!(line["repeats"].as_u64().unwrap() as usize, ctx.repeats);
        assert_eq!(line["target"].as_u64().unwrap() as usize, ctx.target);
        let mut prompt = vec![tok.bos_id];
        prompt.extend(tok.encode(&frequency::prompt_text(&settings, ctx).unwrap(), false).unwrap());
        let scores: Vec<f64> =
            line["scores"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let probs: Vec<f64> = line["probs"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert!(close(probs.iter().sum::<f64>(), 1.0, 1e-9));
        for (arm, &got) in scores.iter().enumerate() {
            let answer = tok
                .encode(&frequency::answer_text(&settings.answer, &ctx.labels, arm).unwrap(), false)
                .unwrap();
            let mut ids = prompt.clone();
            ids.extend(&answer);
            let logits = cpu.forward(&ids);
            let want: f64 = (0..answer.len())
                .map(|j| {
                    let r = prompt.len() - 1 + j;
                    log_softmax(&logits[r * vocab..(r + 1) * vocab], 1.0)[answer[j] as usize]
                })
                .sum();
            assert!(
                close(got, want, 1e-3 * (1.0 + want.abs())),
                "context {}: arm {arm}: GPU {got} vs CPU {want}",
                ctx.context
            );
        }
    }
}

#[test]
fn knowing_doing_grades_the_generated_answers() {
    let model_dir = tmpdir("diag", "kd-model");
    let model = model_dir.path();
    tiny_model_with_tokenizer(model);
    let out_dir = tmpdir("diag", "kd-out");
    let out = out_dir.path();
    let m = model.to_str().unwrap();
    let flags = "diagnose knowing-doing --arms 3 --labels numeric --contexts 3 --horizon 10 --max-steps 4 \
                 --max-new-tokens 12 --batch 2 --seed 5 --json";
    let mut args: Vec<&str> = flags.split_whitespace().collect();
    args.extend(["--model", m, "--out", out.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
    assert_eq!(v["study"], "knowing-doing");
    let r = &v["results"];
    assert_eq!(r["answers"], 3);
    let in_matrix: u64 = r["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(
        in_matrix + r["invalid_actions"].as_u64().unwrap(),
        3,
        "every answer is in the matrix or invalid"
    );
    for f in ["knowing_doing.json", "knowing_doing.png", "knowing_doing.svg", "contexts.jsonl"] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let lines = jsonl(&out.join("contexts.jsonl"));
    assert_eq!(lines.len(), 3);

    // the answers are the engine's greedy answers to the same prompts (stream = context index)
    let settings = knowing::KnowingSettings {
        config: MabConfig { arms: 3, horizon: 10, labels: LabelStyle::Numeric, ..MabConfig::default() },
        contexts: 3,
        min_steps: 0,
        max_steps: 4,
        history_agent: knowing::history_agent("random").unwrap(),
        epsilon: 0.1,
        rule: UcbRule::PAPER,
        max_new_tokens: 12,
        temperature: 0.0,
        batch: 2,
        seed: 5,
        chat: true,
        summary: false,
    };
    let contexts = knowing::build_contexts(&settings).unwrap();
    let mut engine = Engine::load(model, &LoadOptions::default()).unwrap();
    let opts = SampleOptions { max_new_tokens: 12, temperature: 0.0, seed: 5, entropy: false };
    for (ctx, line) in contexts.iter().zip(&lines) {
        let text = knowing::prompt_text(&settings, ctx).unwrap();
        let alone = engine.complete(&[text], &[ctx.context as u64], &opts).unwrap().remove(0).text;
        assert_eq!(line["answer"].as_str().unwrap(), alone, "context {}", ctx.context);
        assert_eq!(line["steps"].as_u64().unwrap() as usize, ctx.actions.len());
        let graded = knowing::grade(&UcbRule::PAPER, ctx, &alone).unwrap();
        let mut want = serde_json::to_value(&graded).unwrap();
        let mut got = line.clone();
        // JSON text does not round-trip every last bit of an f64: compare the values apart
        let values = |v: &mut Value| -> Vec<Option<f64>> {
            v["true_values"].take().as_array().unwrap().iter().map(Value::as_f64).collect()
        };
        for (a, b) in values(&mut want).iter().zip(values(&mut got)) {
            assert_eq!(a.is_some(), b.is_some());
            assert!(close(a.unwrap_or(0.0), b.unwrap_or(0.0), 1e-12));
        }
        assert_eq!(want, got);
    }

    let e = err_text(&["diagnose", "knowing-doing", "--model", m, "--horizon", "5", "--max-steps", "5"]);
    assert!(e.contains("--max-steps"), "{e}");
    let e = err_text(&["diagnose", "frequency-bias", "--model", m, "--repeats", "1,x"]);
    assert!(e.contains("--repeats") && e.contains("'x'"), "{e}");
    let e = err_text(&["diagnose", "knowing-doing", "--model", m, "--history-agent", "llm"]);
    assert!(e.contains("--history-agent"), "{e}");
}

#[test]
fn eval_llm_switches_self_consistency_self_correction_and_try_all() {
    let model_dir = tmpdir("diag", "switch-model");
    let model = model_dir.path();
    tiny_model_with_tokenizer(model);
    let m = model.to_str().unwrap();
    let run = |tag: &str| {
        let out = tmpdir("diag", tag);
        let flags = "eval --env mab --arms 2 --horizon 3 --episodes 1 --seed 3 --agent try-all:llm \
                     --agent eps-greedy:llm --epsilon 0.5 --max-new-tokens 3 --samples 2 --temperature 1 \
                     --self-correct --no-cot --summary --randomize";
        let mut args: Vec<&str> = flags.split_whitespace().collect();
        args.extend(["--model", m, "--out", out.path().to_str().unwrap()]);
        ok_stdout(&args);
        out
    };
    let (a_dir, b_dir) = (run("switch-a"), run("switch-b"));
    let (a, b) = (a_dir.path(), b_dir.path());
    let raw = std::fs::read(a.join("episodes.jsonl")).unwrap();
    assert_eq!(raw, std::fs::read(b.join("episodes.jsonl")).unwrap(), "reproducible with sampling");
    let lines = jsonl(&a.join("episodes.jsonl"));
    assert_eq!(lines.len(), 2);
    for ep in &lines {
        let agent = ep["agent"].as_str().unwrap();
        assert!(agent == "try-all:llm" || agent == "eps:llm", "{agent}");
        let samples = ep["sample_actions"].as_array().unwrap();
        let explore = ep["explore_steps"].as_u64().unwrap() as usize;
        assert_eq!(samples.len(), 3, "one entry per step");
        assert_eq!(samples.iter().filter(|s| s.as_array().unwrap().is_empty()).count(), explore);
        let sizes: Vec<usize> = samples.iter().map(|s| s.as_array().unwrap().len()).collect();
        assert!(sizes.iter().all(|n| [0, 2].contains(n)), "2 samples when the model is asked: {sizes:?}");
        assert_eq!(ep["first_answers"].as_array().unwrap().len(), 3);
        assert!(ep["changed_by_correction"].as_u64().unwrap() <= 2 * 3);
        if agent == "try-all:llm" {
            assert_eq!(explore, 2, "try-all plays each of the 2 arms first");
            assert_eq!(ep["actions"].as_array().unwrap()[..2], [0, 1].map(Value::from));
        }
        // invalid answers are counted among the steps the model answered
        let invalid = ep["invalid_answers"].as_u64().unwrap() as usize;
        let voted_none = samples.iter().filter(|s| {
            let s = s.as_array().unwrap();
            !s.is_empty() && s.iter().all(Value::is_null)
        });
        assert_eq!(invalid, voted_none.count());
    }
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["settings"]["llm"]["samples"], 2);
    assert_eq!(summary["settings"]["llm"]["self_correct"], true);
    let e = err_text(&["eval", "--agent", "llm", "--model", m, "--samples", "4"]);
    assert!(e.contains("--samples") && e.contains("--temperature"), "{e}");
    let e = err_text(&["eval", "--env", "ttt", "--agent", "try-all:llm", "--model", m]);
    assert!(e.contains("wrappers apply only to --env mab"), "{e}");
    let e = err_text(&["eval", "--agent", "ucb", "--self-correct"]);
    assert!(e.contains("--self-correct") && e.contains("--agent llm"), "{e}");
}

#[test]
fn report_puts_runs_together_with_their_settings() {
    let base_dir = tmpdir("diag", "report");
    let base = base_dir.path();
    let (x, y, out) = (base.join("ucb-vs-greedy"), base.join("random"), base.join("report"));
    let common = ["eval", "--env", "mab", "--arms", "4", "--horizon", "12", "--episodes", "8"];
    let mut args = common.to_vec();
    args.extend(["--agent", "ucb", "--agent", "greedy", "--seed", "1", "--out", x.to_str().unwrap()]);
    ok_stdout(&args);
    let mut args = common.to_vec();
    args.extend(["--agent", "random", "--seed", "2", "--out", y.to_str().unwrap()]);
    ok_stdout(&args);
    let table = ok_stdout(&[
        "report",
        x.to_str().unwrap(),
        y.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--title",
        "T",
    ]);
    assert!(table.contains("ucb-vs-greedy") && table.contains("report.md"), "{table}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# T\n"));
    // the settings of each run, and one row per (run, agent) with its summary's numbers
    assert!(md.contains("seed=1") && md.contains("seed=2") && md.contains("environment.arms=4"), "{md}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(x.join("summary.json")).unwrap()).unwrap();
    let ucb = &summary["agents"][0];
    let row = format!(
        "| ucb-vs-greedy | ucb | 8 | {:.2} ± {:.2} |",
        ucb["mean_regret"].as_f64().unwrap(),
        ucb["regret_ci95"].as_f64().unwrap()
    );
    assert!(md.contains(&row), "missing {row} in {md}");
    assert!(md.contains("| random | random | 8 |"));
    for f in ["regret.png", "regret.svg", "coverage.png", "coverage.svg"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let svg = std::fs::read_to_string(out.join("coverage.svg")).unwrap();
    assert!(
        svg.contains("ucb-vs-greedy/greedy") && svg.contains("random/random"),
        "one curve per run and agent"
    );
    // every linked figure exists relative to the report
    for link in md.split("](").skip(1).map(|s| &s[..s.find(')').unwrap()]) {
        assert!(out.join(link).is_file(), "broken link {link}");
    }
    let e = err_text(&["report", base.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(e.contains("summary.json"), "{e}");
}
