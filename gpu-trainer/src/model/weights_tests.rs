//! Tests of `model::weights`.
use super::*;

/// A fresh directory, deleted when the returned guard drops (also when the test fails).
fn tmpdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("gt-weights-{tag}-")).tempdir().unwrap()
}

/// a hand-written file: 8-byte length, header text, data
fn raw_file(path: &Path, header: &str, data: &[u8], len_override: Option<u64>) {
    let mut out = Vec::new();
    out.extend_from_slice(&len_override.unwrap_or(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

fn open_err(path: &Path) -> String {
    Weights::open_file(path).unwrap_err().to_string()
}

#[test]
fn reads_f32_bf16_f16() {
    let tmp = tmpdir("dtypes");
    let d = tmp.path();
    let p = d.join("m.safetensors");
    let bf: Vec<u8> =
        [1.5f32, -2.0].iter().flat_map(|&x| half::bf16::from_f32(x).to_bits().to_le_bytes()).collect();
    let hf: Vec<u8> =
        [0.25f32, 3.0].iter().flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes()).collect();
    write_safetensors(
        &p,
        &[
            ("a", DType::F32, &[2, 2], &f32_bytes(&[1.0, 2.0, 3.0, 4.0])),
            ("b", DType::BF16, &[2], &bf),
            ("c", DType::F16, &[2], &hf),
        ],
    )
    .unwrap();
    let w = Weights::open_file(&p).unwrap();
    assert_eq!(w.names().collect::<Vec<_>>(), vec!["a", "b", "c"]);
    assert_eq!(w.to_f32("a").unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(w.to_f32("b").unwrap(), vec![1.5, -2.0]);
    assert_eq!(w.to_f32("c").unwrap(), vec![0.25, 3.0]);
    let b = w.tensor("b").unwrap();
    assert_eq!((b.dtype, b.shape, b.bytes), (DType::BF16, &[2usize][..], &bf[..]));
    assert!(w.tensor("zz").unwrap_err().to_string().contains("missing tensor \"zz\""));
    assert!(w.to_f32_shaped("a", &[4]).unwrap_err().to_string().contains("tensor \"a\" has shape [2, 2]"));
}

#[test]
fn malformed_files_name_file_and_tensor() {
    let tmp = tmpdir("bad");
    let d = tmp.path();
    let p = d.join("bad.safetensors");
    let f = p.display().to_string();

    std::fs::write(&p, [1u8, 2, 3]).unwrap();
    assert!(open_err(&p).starts_with(&format!("{f}: truncated")), "{}", open_err(&p));

    raw_file(&p, "{}", &[], Some(1000));
    assert!(open_err(&p).contains("header length 1000 is past the end"), "{}", open_err(&p));

    raw_file(&p, "{not json", &[], None);
    assert!(open_err(&p).contains("header is not valid JSON"));

    raw_file(&p, r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 4], None);
    let e = open_err(&p);
    assert!(
        e.starts_with(&f)
            && e.contains("tensor \"w\": data_offsets [0, 8] reach past the end of the data (4 bytes)"),
        "{e}"
    );

    raw_file(&p, r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &[0; 8], None);
    assert!(
        open_err(&p).contains("tensor \"w\": data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12")
    );

    raw_file(&p, r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, &[0; 8], None);
    assert!(open_err(&p).contains("tensor \"w\": data_offsets [4, 0] end before they begin"));

    raw_file(
        &p,
        r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
        &[0; 12],
        None,
    );
    let e = open_err(&p);
    assert!(e.contains("tensors \"x\" and \"y\" overlap"), "{e}");

    raw_file(&p, r#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, &[0; 8], None);
    assert!(open_err(&p).contains("tensor \"w\": dtype I64 is not supported"));

    raw_file(&p, r#"{"w":{"dtype":"F32","shape":[1]}}"#, &[0; 4], None);
    assert!(open_err(&p).contains("tensor \"w\": missing or bad \"data_offsets\""));

    assert!(open_err(&d.join("nope.safetensors")).contains("nope.safetensors: cannot open"));
}

#[test]
fn metadata_is_ignored_and_empty_tensors_ok() {
    let tmp = tmpdir("meta");
    let d = tmp.path();
    let p = d.join("m.safetensors");
    raw_file(
        &p,
        r#"{"__metadata__":{"format":"pt"},"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        &1.0f32.to_le_bytes(),
        None,
    );
    let w = Weights::open_file(&p).unwrap();
    assert_eq!(w.len(), 2);
    assert_eq!(w.to_f32("w").unwrap(), vec![1.0]);
}

#[test]
fn sharded_index() {
    let tmp = tmpdir("shard");
    let d = tmp.path();
    write_safetensors(&d.join("s1.safetensors"), &[("a", DType::F32, &[1], &f32_bytes(&[1.0]))]).unwrap();
    write_safetensors(&d.join("s2.safetensors"), &[("b", DType::F32, &[1], &f32_bytes(&[2.0]))]).unwrap();
    let idx = d.join(INDEX_FILE);
    std::fs::write(&idx, r#"{"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#)
        .unwrap();
    let w = Weights::open_dir(d).unwrap();
    assert_eq!(w.to_f32("b").unwrap(), vec![2.0]);
    assert_eq!(w.files().count(), 2);

    std::fs::write(&idx, r#"{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}"#).unwrap();
    let e = Weights::open_dir(d).unwrap_err().to_string();
    assert!(e.contains("s1.safetensors") && e.contains("tensor \"b\" is missing"), "{e}");

    // a shard file the index does not mention is not opened
    std::fs::write(&idx, r#"{"weight_map":{"a":"s1.safetensors"}}"#).unwrap();
    assert_eq!(Weights::open_dir(d).unwrap().len(), 1);

    std::fs::write(&idx, r#"{"weight_map":{"a":"s1.safetensors","b":"s3.safetensors"}}"#).unwrap();
    let e = Weights::open_dir(d).unwrap_err().to_string();
    assert!(
        e.contains(INDEX_FILE)
            && e.contains("shard \"s3.safetensors\" (holding tensor \"b\") does not exist"),
        "{e}"
    );

    write_safetensors(&d.join("s2.safetensors"), &[("a", DType::F32, &[1], &f32_bytes(&[2.0]))]).unwrap();
    std::fs::write(&idx, r#"{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#).unwrap();
    let e = Weights::open_dir(d).unwrap_err().to_string();
    assert!(e.contains("s2.safetensors") && e.contains("tensor \"b\" is missing"), "{e}");

    std::fs::write(&idx, r#"{"metadata":{}}"#).unwrap();
    assert!(Weights::open_dir(d).unwrap_err().to_string().contains("missing object \"weight_map\""));
}

fn tiny_config(tied: bool) -> Config {
    let s = format!(
        r#"{{"model_type":"gemma3_text","vocab_size":5,"hidden_size":4,"intermediate_size":6,
        "num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":2,
        "tie_word_embeddings":{tied}}}"#
    );
    Config::from_json_str(&s, "config.json").unwrap()
}

fn write_model(path: &Path, c: &Config, skip: Option<&str>, extra: Option<&str>, reshape: Option<&str>) {
    let mut specs = expected_tensors(c);
    specs.retain(|(n, _)| Some(n.as_str()) != skip);
    if let Some(x) = extra {
        specs.push((x.to_string(), vec![1]));
    }
    for (n, s) in specs.iter_mut() {
        if Some(n.as_str()) == reshape {
            s[0] += 1;
        }
    }
    let data: Vec<Vec<u8>> = specs.iter().map(|(_, s)| f32_bytes(&vec![0.5; s.iter().product()])).collect();
    let list: Vec<(&str, DType, &[usize], &[u8])> = specs
        .iter()
        .zip(&data)
        .map(|((n, s), d)| (n.as_str(), DType::F32, s.as_slice(), d.as_slice()))
        .collect();
    write_safetensors(path, &list).unwrap();
}

#[test]
fn check_against_config() {
    let tmp = tmpdir("check");
    let d = tmp.path();
    let p = d.join("model.safetensors");
    let c = tiny_config(true);
    write_model(&p, &c, None, None, None);
    assert_eq!(Weights::open_file(&p).unwrap().check(&c).unwrap(), DType::F32);
    assert!(expected_tensors(&c).iter().any(|(n, _)| n == "model.layers.0.self_attn.q_norm.weight"));

    write_model(&p, &c, Some("model.layers.0.self_attn.k_norm.weight"), None, None);
    let e = Weights::open_file(&p).unwrap().check(&c).unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors")
            && e.contains("missing tensor \"model.layers.0.self_attn.k_norm.weight\""),
        "{e}"
    );

    write_model(&p, &c, None, Some("lm_head.weight"), None);
    let e = Weights::open_file(&p).unwrap().check(&c).unwrap_err().to_string();
    assert!(e.contains("unexpected tensor \"lm_head.weight\" (tie_word_embeddings is true)"), "{e}");

    write_model(&p, &c, None, None, Some("model.layers.0.mlp.up_proj.weight"));
    let e = Weights::open_file(&p).unwrap().check(&c).unwrap_err().to_string();
    assert!(
        e.contains("tensor \"model.layers.0.mlp.up_proj.weight\" has shape [7, 4], config.json wants [6, 4]"),
        "{e}"
    );

    let untied = tiny_config(false);
    write_model(&p, &c, None, None, None);
    let e = Weights::open_file(&p).unwrap().check(&untied).unwrap_err().to_string();
    assert!(e.contains("missing tensor \"lm_head.weight\""), "{e}");
}
