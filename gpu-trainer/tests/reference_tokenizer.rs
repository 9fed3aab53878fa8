//! The tokenizer against Python `tokenizers` on a tiny Gemma-like
//! tokenizer.json (BPE, byte fallback, "▁" for spaces, <bos> added), made by
//! tools/gen_gemma_fixtures.py.

use gpu_trainer::model::GemmaTokenizer;
use gpu_trainer::model::tokenizer::{Role, chat_prompt, user_prompt};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer")
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn encode_decode_match_python() {
    let tok = GemmaTokenizer::from_dir(&dir()).unwrap();
    let exp = expected();
    assert_eq!(tok.vocab_size() as u64, exp["vocab_size"].as_u64().unwrap());
    for case in exp["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        let got = tok.encode(text, true).unwrap();
        assert_eq!(got, want, "encode {text:?}");
        assert_eq!(got[0], tok.bos_id, "BOS first");
        assert_eq!(tok.decode(&got, true).unwrap(), case["decoded"].as_str().unwrap(), "decode {text:?}");
    }
    // byte fallback: non-ASCII text round-trips through <0xNN> tokens
    let text = "é ü 🙂";
    let got = tok.encode(text, false).unwrap();
    assert!(got.iter().any(|&i| tok.id_to_token(i).unwrap().starts_with("<0x")));
    assert_eq!(tok.decode(&got, true).unwrap(), text);
}

#[test]
fn special_ids_and_chat_template() {
    let tok = GemmaTokenizer::from_dir(&dir()).unwrap();
    let exp = expected();
    let sp = &exp["special"];
    assert_eq!(tok.bos_id as u64, sp["<bos>"].as_u64().unwrap());
    assert_eq!(tok.eos_id as u64, sp["<eos>"].as_u64().unwrap());
    assert_eq!(tok.end_of_turn_id as u64, sp["<end_of_turn>"].as_u64().unwrap());
    assert_eq!(tok.start_of_turn_id as u64, sp["<start_of_turn>"].as_u64().unwrap());
    assert_eq!(tok.stop_ids(), [tok.eos_id, tok.end_of_turn_id]);

    let chat = exp["chat_text"].as_str().unwrap();
    assert_eq!(user_prompt("Which button?"), chat);
    let want = ids(&exp["chat_ids"]);
    assert_eq!(tok.encode(chat, false).unwrap(), want);
    assert_eq!(tok.encode_chat(&[(Role::User, "Which button?")]).unwrap(), want);
    assert_eq!(want.iter().filter(|&&i| i == tok.bos_id).count(), 1, "exactly one <bos>");
    assert_eq!(chat_prompt(&[(Role::User, " Which button?\n")]), chat, "content is trimmed");
}

#[test]
fn missing_special_token_is_an_error_naming_the_file() {
    let tmp = tempfile::Builder::new().prefix("gt-tok-").tempdir().unwrap();
    let d = tmp.path();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("tokenizer.json")).unwrap()).unwrap();
    for t in json["added_tokens"].as_array_mut().unwrap() {
        if t["content"] == "<end_of_turn>" {
            t["content"] = "<eot>".into();
        }
    }
    let p = d.join("tokenizer.json");
    std::fs::write(&p, json.to_string()).unwrap();
    let e = GemmaTokenizer::from_file(&p).unwrap_err().to_string();
    assert!(e.contains("tokenizer.json") && e.contains("\"<end_of_turn>\" is not in the vocabulary"), "{e}");
    std::fs::write(&p, "{").unwrap();
    assert!(GemmaTokenizer::from_file(&p).unwrap_err().to_string().contains("not a tokenizer"));
}
