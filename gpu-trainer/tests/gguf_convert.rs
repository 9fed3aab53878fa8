//! `gguf::convert` on a tiny Gemma3 GGUF written by gguf-py's GGUFWriter
//! (tests/fixtures/gguf/tiny_gemma3.gguf, 12 tensor types), against what HuggingFace
//! transformers makes of the same file (tools/gen_gguf_fixtures.py): names and shapes,
//! every dequantized value (CRC-32 of each tensor), the +1 undone on every norm, the
//! config, token ids, merges, and the logits of the converted model on the GPU. Then
//! every kind of bad input on corrupted copies: a named error and nothing written.

mod gguf_common;

use gguf_common::{check_tokenizer_json, crc32, fixture, read_json, u32s};
use gpu_trainer::generate::{Engine, LoadOptions, WeightDType};
use gpu_trainer::gguf::{ConvertOptions, ConvertReport, GgufError, GgufFile, OutDType, convert};
use gpu_trainer::model::{Config, DType, GemmaTokenizer, LayerKind, ModelType, Weights};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const TINY: &str = "tiny_gemma3.gguf";

/// A fresh empty directory for one test, deleted when the guard drops (also when the test fails).
fn scratch(tag: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("greedy-gguf-{tag}-")).tempdir().unwrap()
}

fn refs() -> Value {
    read_json(&fixture("tiny_gemma3_refs.json"))
}

/// The tiny GGUF converted into `<scratch>/model`; the guard keeps the directory alive.
fn convert_tiny(tag: &str, dtype: OutDType) -> (TempDir, PathBuf, ConvertReport) {
    let tmp = scratch(tag);
    let out = tmp.path().join("model");
    let r = convert(&fixture(TINY), &out, &ConvertOptions { dtype, overwrite: false }).unwrap();
    (tmp, out, r)
}

#[test]
fn converts_names_shapes_norms_and_config() {
    let (_tmp, out, report) = convert_tiny("names", OutDType::F32);
    // embed + final norm + 6 layers x 13 tensors; norms: final + 6 per layer (q/k norms included)
    assert_eq!(report.tensors, 2 + 6 * 13);
    assert_eq!(report.shifted_norms, 1 + 6 * 6);
    assert_eq!(report.types.len(), 13, "every type but Q8_1 and Q8_K: {:?}", report.types);

    let c = Config::from_dir(&out).unwrap();
    let r = refs();
    let hf = &r["config"];
    assert_eq!(c.model_type, ModelType::Gemma3Text);
    assert_eq!((c.hidden_size, c.intermediate_size, c.num_layers), (256, 32, 6));
    assert_eq!((c.num_heads, c.num_kv_heads, c.head_dim), (2, 1, 16));
    assert_eq!(c.head_dim as u64, hf["head_dim"].as_u64().unwrap());
    assert_eq!(c.vocab_size as u64, hf["vocab_size"].as_u64().unwrap());
    assert_eq!(c.max_position_embeddings, Some(128));
    assert_eq!(c.rms_norm_eps, hf["rms_norm_eps"].as_f64().unwrap() as f32);
    assert_eq!(c.query_pre_attn_scalar, 16.0, "llama.cpp's Gemma3 attention scale: head_dim^-0.5");
    assert_eq!((c.attn_softcap, c.final_softcap), (None, None));
    assert!(c.qk_norm && c.tie_word_embeddings);
    assert_eq!((c.bos_token_id, c.eos_token_ids.as_slice(), c.pad_token_id), (Some(2), &[1u32][..], Some(0)));
    let kinds: Vec<&str> =
        hf["layer_types"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let rope = &hf["rope_parameters"];
    for (l, kind) in c.layers.iter().zip(kinds) {
        let (want_kind, theta, window) = match kind {
            "sliding_attention" => (LayerKind::Local, &rope["sliding_attention"]["rope_theta"], Some(4)),
            _ => (LayerKind::Global, &rope["full_attention"]["rope_theta"], None),
        };
        assert_eq!(
            (l.kind, l.rope_theta, l.rope_factor, l.window),
            (want_kind, theta.as_f64().unwrap() as f32, 1.0, window)
        );
    }
    assert_eq!(c.layers.iter().filter(|l| l.kind == LayerKind::Global).count(), 1);

    // every tensor: HuggingFace name, [out, in] shape, values bit-identical to transformers'
    let w = Weights::open_dir(&out).unwrap();
    assert_eq!(w.check(&c).unwrap(), DType::F32);
    let wanted = r["weights"].as_object().unwrap();
    assert_eq!(w.len(), wanted.len());
    for (name, want) in wanted {
        let t = w.tensor(name).unwrap();
        let shape: Vec<usize> =
            want["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        assert_eq!(t.shape, shape.as_slice(), "{name}");
        assert_eq!(
            crc32(0, t.bytes) as u64,
            want["crc32"].as_u64().unwrap(),
            "{name}: values differ from transformers'"
        );
    }

    // the norms: stored 1 + w in the GGUF, w in the checkpoint
    let g = GgufFile::open(&fixture(TINY)).unwrap();
    for (gguf_name, hf_name) in [
        ("blk.2.attn_q_norm.weight", "model.layers.2.self_attn.q_norm.weight"),
        ("blk.5.post_ffw_norm.weight", "model.layers.5.post_feedforward_layernorm.weight"),
        ("output_norm.weight", "model.norm.weight"),
    ] {
        let stored = g.dequantize(g.tensor(gguf_name).unwrap()).unwrap();
        let got = w.to_f32(hf_name).unwrap();
        assert!(stored.iter().zip(&got).all(|(s, v)| *v == s - 1.0), "{hf_name} is not the stored value - 1");
        assert!(stored.iter().sum::<f32>() / stored.len() as f32 > 0.8, "fixture norms are stored around 1");
    }
    // a projection: the GGUF's [in, out] dims become [out, in], bytes in the same order
    let q = g.tensor("blk.1.attn_q.weight").unwrap();
    assert_eq!(q.dims, vec![256, 32]);
    assert_eq!(w.to_f32("model.layers.1.self_attn.q_proj.weight").unwrap(), g.dequantize(q).unwrap());
}

#[test]
fn tokenizer_matches_transformers() {
    let (_tmp, out, report) = convert_tiny("tok", OutDType::F32);
    let r = refs();
    check_tokenizer_json(&out, &r["tokenizer"]);
    assert_eq!(report.merges as u64, r["tokenizer"]["merges"].as_u64().unwrap());
    let tok = GemmaTokenizer::from_dir(&out).unwrap();
    for case in r["tokenize"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(tok.encode(text, true).unwrap(), u32s(&case["ids"]), "{text:?}");
    }
    // the space tokens are spelled with ▁ and reached through the merges
    assert_eq!(tok.encode("a  b", false).unwrap()[1], tok.token_to_id("\u{2581}\u{2581}").unwrap());
    let cfg = read_json(&out.join("tokenizer_config.json"));
    assert_eq!((cfg["add_bos_token"].as_bool(), cfg["bos_token"].as_str()), (Some(true), Some("<bos>")));
}

#[test]
fn logits_match_transformers() {
    let (_tmp, out, _) = convert_tiny("logits", OutDType::F32);
    let r = refs();
    let ids = u32s(&r["logits_ids"]);
    let want =
        Weights::open_file(&fixture("tiny_gemma3_logits.safetensors")).unwrap().to_f32("logits").unwrap();
    let mut e = Engine::load(&out, &LoadOptions { dtype: WeightDType::Auto, adapter: None })
        .unwrap_or_else(|e| panic!("{e:#} (no GPU adapter? install mesa-vulkan-drivers)"));
    let got = e.logits(&ids).unwrap();
    assert_eq!(got.len(), want.len());
    let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    let scale = want.iter().map(|x| x.abs()).fold(0f32, f32::max);
    println!(
        "tiny gemma3: {} tokens, max |ours - transformers| = {err:.2e} (logits up to {scale:.2})",
        ids.len()
    );
    // f32 on both sides, summation order aside: 4e-6 of the largest logit (~5e-4 here)
    assert!(err <= 4e-6 * scale, "max abs logit error {err}");
}

#[test]
fn bf16_is_the_f32_conversion_rounded() {
    let (_f32_tmp, f32_dir, _) = convert_tiny("f32", OutDType::F32);
    let (_bf_tmp, bf_dir, _) = convert_tiny("bf16", OutDType::Bf16);
    let (a, b) = (Weights::open_dir(&f32_dir).unwrap(), Weights::open_dir(&bf_dir).unwrap());
    assert_eq!(b.check(&Config::from_dir(&bf_dir).unwrap()).unwrap(), DType::BF16);
    for name in a.names() {
        let want: Vec<u16> =
            a.to_f32(name).unwrap().iter().map(|&x| half::bf16::from_f32(x).to_bits()).collect();
        let got: Vec<u16> =
            b.tensor(name).unwrap().bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(read_json(&bf_dir.join("config.json"))["torch_dtype"], "bfloat16");
}

#[test]
fn an_existing_directory_is_kept_unless_overwrite() {
    let tmp = scratch("exists");
    let out = tmp.path().join("model");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    let e = convert(&fixture(TINY), &out, &ConvertOptions::default()).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert!(out.join("keep.txt").exists());
    convert(&fixture(TINY), &out, &ConvertOptions { overwrite: true, ..Default::default() }).unwrap();
    assert!(!out.join("keep.txt").exists() && out.join("model.safetensors").exists());
    let parent: Vec<_> =
        std::fs::read_dir(out.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(parent, vec![std::ffi::OsString::from("model")], "temporary directories left behind");
}

// ---- bad input ---------------------------------------------------------------------------

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not in the file", needle))
}

/// `len u64 | bytes` as GGUF writes a string
fn gguf_string(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend(s.as_bytes());
    v
}

/// offset of the value of metadata `key` (after its type u32)
fn value_at(b: &[u8], key: &str) -> usize {
    let k = gguf_string(key);
    find(b, &k) + k.len() + 4
}

/// offset of the type u32 of tensor `name` in the tensor table (2-D tensors)
fn tensor_type_at(b: &[u8], name: &str) -> usize {
    let k = gguf_string(name);
    let at = find(b, &k) + k.len();
    assert_eq!(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()), 2, "{name} is 2-D");
    at + 4 + 16
}

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Converts `bytes` (a corrupted copy) and returns the error; checks nothing was left behind.
fn convert_bad(tag: &str, bytes: &[u8]) -> GgufError {
    let tmp = scratch(&format!("bad-{tag}"));
    let dir = tmp.path();
    let file = dir.join("bad.gguf");
    std::fs::write(&file, bytes).unwrap();
    let out = dir.join("model");
    let e = match convert(&file, &out, &ConvertOptions::default()) {
        Ok(_) => panic!("{tag}: converted a bad file"),
        Err(e) => e,
    };
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bad.gguf")], "{tag}: wrote {left:?}");
    assert!(
        e.to_string().starts_with(&file.display().to_string()),
        "{tag}: error does not name the file: {e}"
    );
    println!("{tag}: {e}");
    e
}

fn tiny_bytes() -> Vec<u8> {
    std::fs::read(fixture(TINY)).unwrap()
}

#[test]
fn wrong_magic() {
    let mut b = tiny_bytes();
    b[..4].copy_from_slice(b"GGML");
    assert!(matches!(convert_bad("magic", &b), GgufError::BadMagic { found, .. } if found == "GGML"));
    assert!(matches!(convert_bad("empty", &[]), GgufError::BadMagic { .. }));
}

#[test]
fn unknown_version() {
    for v in [1u32, 4, 0xFFFF_FFFF] {
        let mut b = tiny_bytes();
        set_u32(&mut b, 4, v);
        let e = convert_bad(&format!("version{v}"), &b);
        assert!(matches!(e, GgufError::UnsupportedVersion { version, .. } if version == v), "{e}");
    }
}

#[test]
fn truncated_header_metadata_and_tensor_table() {
    let b = tiny_bytes();
    let table = find(&b, &gguf_string("blk.0.attn_q.weight"));
    for (tag, n) in [("in-header", 10), ("in-metadata", 300), ("in-tensor-table", table + 5)] {
        let e = convert_bad(tag, &b[..n]);
        assert!(matches!(e, GgufError::Truncated { .. }), "{tag}: {e}");
    }
}

#[test]
fn truncated_tensor_data() {
    let b = tiny_bytes();
    let g = GgufFile::open(&fixture(TINY)).unwrap();
    let last = g.tensors.iter().max_by_key(|t| t.start).unwrap().name.clone();
    let e = convert_bad("data", &b[..b.len() - 100]);
    assert!(matches!(&e, GgufError::TruncatedTensorData { tensor, .. } if *tensor == last), "{e}");
    assert!(e.to_string().contains("truncated tensor data"));
}

#[test]
fn unsupported_tensor_types() {
    for (id, name) in [(16u32, "IQ2_XXS"), (23, "IQ4_XS"), (99, "unknown")] {
        let mut b = tiny_bytes();
        let at = tensor_type_at(&b, "blk.0.attn_q.weight");
        set_u32(&mut b, at, id);
        let e = convert_bad(&format!("type{id}"), &b);
        assert!(
            matches!(&e, GgufError::UnsupportedTensorType { tensor, type_id, type_name, .. }
                if tensor == "blk.0.attn_q.weight" && *type_id == id && type_name == name),
            "{e}"
        );
    }
}

#[test]
fn inconsistent_metadata() {
    let key_err = |tag: &str, key: &str, value: u32, want_key: &str, want_text: &str| {
        let mut b = tiny_bytes();
        let at = value_at(&b, key);
        set_u32(&mut b, at, value);
        let e = convert_bad(tag, &b);
        assert!(matches!(&e, GgufError::BadMetadata { key, .. } if key == want_key), "{tag}: {e}");
        assert!(e.to_string().contains(want_text), "{tag}: {e}");
    };
    // fewer or more blocks than the tensor table holds: refused before anything is sized by it
    key_err("layers5", "gemma3.block_count", 5, "gemma3.block_count", "holds 6 blocks");
    key_err("layers7", "gemma3.block_count", 7, "gemma3.block_count", "holds 6 blocks");
    key_err("layers1e7", "gemma3.block_count", 10_000_000, "gemma3.block_count", "is 10000000");
    key_err("kv3", "gemma3.attention.head_count_kv", 3, "gemma3.attention.head_count_kv", "does not divide");
    key_err("vlen", "gemma3.attention.value_length", 32, "gemma3.attention.value_length", "key_length is 16");
    key_err("bos", "tokenizer.ggml.bos_token_id", 5000, "tokenizer.ggml.bos_token_id", "past the vocabulary");

    // a hidden size the tensors do not have
    let mut b = tiny_bytes();
    let at = value_at(&b, "gemma3.embedding_length");
    set_u32(&mut b, at, 128);
    let e = convert_bad("hidden", &b);
    assert!(matches!(&e, GgufError::BadTensor { tensor, .. } if tensor == "token_embd.weight"), "{e}");
    assert!(e.to_string().contains("hidden 128"), "{e}");

    // another architecture
    let mut b = tiny_bytes();
    let at = value_at(&b, "general.architecture") + 8;
    b[at..at + 6].copy_from_slice(b"llama3");
    assert!(matches!(convert_bad("arch", &b), GgufError::Unsupported { .. }));

    // a tensor offset off the alignment
    let mut b = tiny_bytes();
    let at = tensor_type_at(&b, "blk.3.ffn_up.weight") + 4;
    let off = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    b[at..at + 8].copy_from_slice(&(off + 4).to_le_bytes());
    let e = convert_bad("align", &b);
    assert!(matches!(&e, GgufError::BadTensor { tensor, .. } if tensor == "blk.3.ffn_up.weight"), "{e}");
    assert!(e.to_string().contains("alignment"), "{e}");
}

#[test]
fn missing_files_and_bad_paths() {
    let tmp = scratch("missing");
    let dir = tmp.path();
    let e = convert(&dir.join("nope.gguf"), &dir.join("out"), &ConvertOptions::default()).unwrap_err();
    assert!(matches!(e, GgufError::Io { .. }) && e.to_string().contains("nope.gguf"), "{e}");
    assert!(!Path::new(&dir.join("out")).exists());
}
