//! Dequantization of every supported ggml block type against gguf-py
//! (`gguf.quants.dequantize`; numpy `d * q` for Q8_1 / Q8_K, which gguf-py lacks), on
//! random blocks with valid f16 scales from tools/gen_gguf_fixtures.py: bit-exact.

use gpu_trainer::gguf::GgmlType;
use gpu_trainer::gguf::dequant::dequantize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn every_type_matches_gguf_py_bit_for_bit() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf/dequant.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let mut covered = BTreeSet::new();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["type"].as_str().unwrap();
        let t = GgmlType::from_id(case["ggml_type"].as_u64().unwrap() as u32).unwrap();
        assert_eq!(t.name(), name);
        let bytes = hex(case["bytes_hex"].as_str().unwrap());
        let want: Vec<u32> =
            case["f32_bits"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(bytes.len() / t.type_size() * t.block_size(), want.len(), "{name}: fixture sizes");
        let mut got = vec![0f32; want.len()];
        dequantize(t, &bytes, &mut got).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.to_bits(), *w, "{name} element {i}: {g} vs gguf-py {}", f32::from_bits(*w));
        }
        println!("{name}: {} values bit-exact", want.len());
        covered.insert(t);
    }
    let missing: Vec<&str> = GgmlType::ALL
        .iter()
        .filter(|t| **t != GgmlType::F32 && !covered.contains(t))
        .map(|t| t.name())
        .collect();
    assert!(missing.is_empty(), "no fixture for {missing:?}");
}

#[test]
fn f32_is_read_as_stored() {
    let v = [0.0f32, -1.5, f32::MIN_POSITIVE, 3.4e38, -0.0];
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut got = [1f32; 5];
    dequantize(GgmlType::F32, &bytes, &mut got).unwrap();
    assert_eq!(got.map(f32::to_bits), v.map(f32::to_bits));
}

#[test]
fn partial_blocks_are_refused() {
    let mut out = vec![0f32; 100];
    let e = dequantize(GgmlType::Q4_K, &[0u8; 144], &mut out).unwrap_err();
    assert!(e.contains("100 elements of Q4_K"), "{e}");
}
