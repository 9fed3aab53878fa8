//! Helpers shared by the gguf_* integration tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

/// tests/fixtures/gguf/<name>
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf").join(name)
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// CRC-32 (IEEE, zlib's `crc32`), continuing from `crc`.
pub fn crc32(mut crc: u32, bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    crc = !crc;
    for &b in bytes {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// CRC-32 of `line\n` for every line (the references' merges / vocabulary checksums).
pub fn crc32_lines<'a>(lines: impl Iterator<Item = &'a str>) -> u32 {
    lines.fold(0, |crc, l| crc32(crc32(crc, l.as_bytes()), b"\n"))
}

pub fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Checks a converted tokenizer.json against a references' `tokenizer` entry
/// (merge and vocabulary counts and CRC-32s, number of added tokens).
pub fn check_tokenizer_json(dir: &Path, r: &Value) {
    let json = read_json(&dir.join("tokenizer.json"));
    let merges: Vec<String> = json["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{} {}", m[0].as_str().unwrap(), m[1].as_str().unwrap()))
        .collect();
    assert_eq!(merges.len() as u64, r["merges"].as_u64().unwrap(), "number of merges");
    let crc = crc32_lines(merges.iter().map(String::as_str));
    assert_eq!(crc as u64, r["merges_crc32"].as_u64().unwrap(), "merges differ from transformers'");
    let mut vocab: Vec<(&str, u64)> = json["model"]["vocab"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, i)| (t.as_str(), i.as_u64().unwrap()))
        .collect();
    vocab.sort_by_key(|v| v.1);
    assert_eq!(vocab.len() as u64, r["vocab"].as_u64().unwrap(), "vocabulary size");
    let crc = crc32_lines(vocab.iter().map(|v| v.0));
    assert_eq!(crc as u64, r["vocab_crc32"].as_u64().unwrap(), "vocabulary differs from transformers'");
    assert_eq!(json["added_tokens"].as_array().unwrap().len() as u64, r["added_tokens"].as_u64().unwrap());
}

#[test]
fn crc32_matches_zlib() {
    // zlib.crc32(b"123456789") == 0xCBF43926, the standard check value
    assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xCBF4_3926);
}
