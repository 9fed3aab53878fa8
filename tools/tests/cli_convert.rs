//! `greedy convert gguf`, `greedy tokenize` and the `greedy logits --top --json` form, end to
//! end on the tiny Gemma3 GGUF fixture of gpu-trainer (references from transformers loading
//! the same file: tools/gen_gguf_fixtures.py).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gpu_trainer::model::Weights;
use serde_json::Value;
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu-trainer/tests/fixtures/gguf").join(name)
}

fn greedy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greedy")).args(args).output().expect("run greedy")
}

fn ok_stdout(args: &[&str]) -> String {
    let out = greedy(args);
    assert!(out.status.success(), "greedy {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A fresh directory, deleted when the guard drops (also when the test fails).
fn scratch(tag: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("greedy-cli-convert-{tag}-")).tempdir().unwrap()
}

fn refs() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("tiny_gemma3_refs.json")).unwrap()).unwrap()
}

/// Converts the tiny fixture into a fresh directory (which the command creates inside a scratch
/// directory); returns the scratch guard, the model directory and the --json summary.
fn converted(tag: &str) -> (TempDir, PathBuf, Value) {
    let tmp = scratch(tag);
    let out = tmp.path().join("tiny");
    let gguf = fixture("tiny_gemma3.gguf");
    let s = ok_stdout(&["convert", "gguf", gguf.to_str().unwrap(), out.to_str().unwrap(), "--json"]);
    (tmp, out, serde_json::from_str(&s).unwrap())
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn convert_then_tokenize_like_transformers() {
    let (_tmp, out, summary) = converted("tok");
    assert_eq!(summary["architecture"], "gemma3");
    assert_eq!(summary["tensors"], 80);
    assert_eq!(summary["shifted_norms"], 37);
    assert_eq!(summary["vocab_size"], 324);
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let m = out.to_str().unwrap();
    for case in refs()["tokenize"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let v: Value = serde_json::from_str(&ok_stdout(&["tokenize", "--model", m, text, "--json"])).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1, "only \"ids\": {v}");
        assert_eq!(u32s(&v["ids"]), u32s(&case["ids"]), "{text:?}");
    }
    // without the special tokens the tokenizer adds: no leading <bos>
    let v: Value =
        serde_json::from_str(&ok_stdout(&["tokenize", "--model", m, "the", "--no-special", "--json"]))
            .unwrap();
    let with: Value = serde_json::from_str(&ok_stdout(&["tokenize", "--model", m, "the", "--json"])).unwrap();
    assert_eq!(with["ids"][0], 2);
    assert_eq!(u32s(&with["ids"])[1..], u32s(&v["ids"])[..]);
    // text form: one "id<TAB>token" line per token
    let text = ok_stdout(&["tokenize", "--model", m, "the"]);
    assert!(text.starts_with("2\t\"<bos>\"\n"), "{text}");
}

#[test]
fn logits_top_json_of_the_converted_model() {
    let (_tmp, out, _) = converted("logits");
    let r = refs();
    let ids = u32s(&r["logits_ids"]);
    let want =
        Weights::open_file(&fixture("tiny_gemma3_logits.safetensors")).unwrap().to_f32("logits").unwrap();
    let vocab = want.len() / ids.len();
    let n = 6;
    let arg: Vec<String> = ids[..n].iter().map(u32::to_string).collect();
    let s = ok_stdout(&[
        "logits",
        "--model",
        out.to_str().unwrap(),
        "--ids",
        &arg.join(","),
        "--top",
        "5",
        "--json",
    ]);
    // the documented form, keys in this order
    assert!(s.starts_with("{\"top\":[{\"pos\":0,\"ids\":["), "{s}");
    assert!(s.contains("],\"logits\":[") && s.contains("]},{\"pos\":1,\"ids\":["), "{s}");
    let v: Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["top"]);
    let top = v["top"].as_array().unwrap();
    assert_eq!(top.len(), n);
    for (pos, e) in top.iter().enumerate() {
        assert_eq!(e.as_object().unwrap().keys().collect::<Vec<_>>(), ["ids", "logits", "pos"]);
        assert_eq!(e["pos"], pos);
        let row = &want[pos * vocab..(pos + 1) * vocab];
        let mut order: Vec<usize> = (0..vocab).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        assert_eq!(
            u32s(&e["ids"]),
            order[..5].iter().map(|&i| i as u32).collect::<Vec<_>>(),
            "position {pos}"
        );
        for (id, l) in u32s(&e["ids"]).iter().zip(e["logits"].as_array().unwrap()) {
            let err = (l.as_f64().unwrap() as f32 - row[*id as usize]).abs();
            assert!(err <= 5e-4, "position {pos} id {id}: {err}");
        }
    }
}

#[test]
fn bad_input_fails_with_a_named_error_and_writes_nothing() {
    let tmp = scratch("bad");
    let dir = tmp.path();
    let bad = dir.join("bad.gguf");
    std::fs::write(&bad, b"GGMLxxxxxxxxxxxxxxxxxxxx").unwrap();
    let out = dir.join("out");
    let r = greedy(&["convert", "gguf", bad.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(e.contains("bad.gguf") && e.contains("not a GGUF file"), "{e}");
    assert!(!out.exists());

    // an existing directory is kept without --force
    std::fs::create_dir_all(&out).unwrap();
    let gguf = fixture("tiny_gemma3.gguf");
    let r = greedy(&["convert", "gguf", gguf.to_str().unwrap(), out.to_str().unwrap()]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("--force"));
    let s = ok_stdout(&[
        "convert",
        "gguf",
        gguf.to_str().unwrap(),
        out.to_str().unwrap(),
        "--force",
        "--dtype",
        "bf16",
    ]);
    assert!(s.starts_with("wrote ") && s.contains("37 norms"), "{s}");
    let cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["torch_dtype"], "bfloat16");

    let r = greedy(&["tokenize", "--model", dir.to_str().unwrap(), "x"]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("tokenizer.json"));
}
