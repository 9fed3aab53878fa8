//! Checkpoints: a round trip of weights (f32 and bf16), optimizer state and trainer state; the
//! saved directory loads as a model (Config + Weights::open_dir, and the GPU engine gives the
//! same logits as the source model); interrupted saves never corrupt the previous checkpoint;
//! corrupt or missing files give errors naming the file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gpu_trainer::generate::{Engine, WeightDType};
use gpu_trainer::model::{Config, DType, Weights};
use gpu_trainer::train::Param;
use gpu_trainer::train::checkpoint::{
    self, CheckpointData, HostTensor, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE, download_params,
    upload_params, upload_params_from_weights,
};
use gpu_trainer::train::optim::{AdaFactorConfig, GradNorm, Optimizer, OptimizerConfig};
use gpu_trainer::{Gpu, GpuOptions};
use serde_json::json;
use tempfile::TempDir;

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        Gpu::new().unwrap_or_else(|e| panic!("cannot open a GPU for the checkpoint tests: {e}"))
    })
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh, empty scratch directory for one test, deleted when the guard drops (also when the
/// test fails).
fn scratch(test: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("greedy-train-checkpoint-{test}-")).tempdir().unwrap()
}

/// The tiny Gemma2 fixture as checkpoint data, with params on the GPU, an optimizer state after
/// one AdaFactor step (beta1, so every slot kind) and a trainer state.
fn source() -> (CheckpointData, Vec<Param>) {
    let dir = fixtures().join("gemma2_tiny_f32");
    let config_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let w = Weights::open_dir(&dir).unwrap();
    let tensors: Vec<HostTensor> = w
        .names()
        .map(|n| {
            let t = w.tensor(n).unwrap();
            HostTensor { name: n.to_string(), shape: t.shape.to_vec(), data: t.to_f32() }
        })
        .collect();
    let g = gpu();
    let params: Vec<Param> =
        tensors.iter().map(|t| Param::new(g, &t.name, &t.shape, &t.data).unwrap()).collect();
    for p in &params {
        let grad: Vec<f32> = (0..p.numel()).map(|i| ((i * 7919 % 101) as f32 - 50.0) * 1e-3).collect();
        p.grad.write_bytes(g, bytemuck::cast_slice(&grad));
    }
    let config = OptimizerConfig::AdaFactor(AdaFactorConfig { beta1: Some(0.9), ..Default::default() });
    let mut opt = Optimizer::new(g, &params, &config).unwrap();
    // the weights as loaded (so the saved model can be compared with the fixture's logits)
    let tensors = download_params(g, &params).unwrap();
    let stats = GradNorm::new(g, &params).unwrap().compute(g, &params).unwrap();
    opt.step(g, &params, 1e-3, &stats, Some(1.0)).unwrap();
    let data = CheckpointData {
        tensors,
        dtype: DType::F32,
        config_json,
        tokenizer_json: Some(std::fs::read(fixtures().join("tokenizer/tokenizer.json")).unwrap()),
        optimizer: Some(opt.export_state(g).unwrap()),
        trainer_state: json!({"step": 1, "rng": [1u64, 2u64, u64::MAX], "data_cursor": {"epoch": 0, "index": 17}, "lr": 1e-3}),
    };
    (data, params)
}

fn leftovers(dir: &Path) -> Vec<String> {
    let parent = dir.parent().unwrap();
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn round_trip_f32_is_exact_and_loads_as_a_model() {
    let (data, params) = source();
    let dir_tmp = scratch("round_trip");
    let dir = dir_tmp.path().join("checkpoint-1");
    checkpoint::save(&dir, &data).unwrap();
    for f in ["config.json", "tokenizer.json", MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE] {
        assert!(dir.join(f).is_file(), "{f} not written");
    }
    assert!(leftovers(&dir).is_empty(), "temporary directories left: {:?}", leftovers(&dir));
    let back = checkpoint::load(&dir).unwrap();
    assert!(back == data, "the checkpoint does not load back as saved (values or tensor order)");
    assert_eq!(back.tensors.len(), data.tensors.len());
    for t in &data.tensors {
        let b = back.tensors.iter().find(|b| b.name == t.name).unwrap();
        assert_eq!(b.shape, t.shape, "{}", t.name);
        assert!(b.data.iter().zip(&t.data).all(|(x, y)| x.to_bits() == y.to_bits()), "{} changed", t.name);
    }
    assert_eq!(back.dtype, DType::F32);
    assert_eq!(back.config_json, data.config_json);
    assert_eq!(back.tokenizer_json, data.tokenizer_json);
    assert_eq!(back.trainer_state, data.trainer_state);
    assert_eq!(back.trainer_state["rng"][2].as_u64(), Some(u64::MAX));
    let (o, ob) = (data.optimizer.as_ref().unwrap(), back.optimizer.as_ref().unwrap());
    assert_eq!((ob.kind.as_str(), ob.step), ("adafactor", 1));
    for t in &o.tensors {
        let b =
            ob.tensors.iter().find(|b| b.name == t.name).unwrap_or_else(|| panic!("state {} lost", t.name));
        assert!(b == t, "state {} changed", t.name);
    }
    assert_eq!(ob.tensors.len(), o.tensors.len());

    // the directory is a model: our config / weights checks, and the same logits on the GPU
    let config = Config::from_dir(&dir).unwrap();
    assert_eq!(Weights::open_dir(&dir).unwrap().check(&config).unwrap(), DType::F32);
    let ids = [2u32, 17, 99, 4, 250, 31, 7];
    let logits = |d: &Path| {
        let mut e = Engine::load_on(Gpu::new().unwrap(), d, WeightDType::Auto).unwrap();
        e.logits(&ids).unwrap()
    };
    let (a, b) = (logits(&fixtures().join("gemma2_tiny_f32")), logits(&dir));
    assert!(a == b, "the saved model's logits differ from the source model's");

    // weights back into fresh params (from host tensors, and straight from the file)
    let g = gpu();
    let fresh: Vec<Param> = params
        .iter()
        .map(|p| Param::new(g, &p.name, &p.value.shape, &vec![0.0; p.numel()]).unwrap())
        .collect();
    upload_params(g, &fresh, &back.tensors).unwrap();
    assert!(download_params(g, &fresh).unwrap() == data.tensors);
    let fresh2: Vec<Param> = params
        .iter()
        .map(|p| Param::new(g, &p.name, &p.value.shape, &vec![0.0; p.numel()]).unwrap())
        .collect();
    upload_params_from_weights(g, &fresh2, &Weights::open_dir(&dir).unwrap()).unwrap();
    assert!(download_params(g, &fresh2).unwrap() == data.tensors);

    // and the optimizer state into a fresh optimizer
    let config = OptimizerConfig::AdaFactor(AdaFactorConfig { beta1: Some(0.9), ..Default::default() });
    let mut opt = Optimizer::new(g, &fresh, &config).unwrap();
    opt.load_state(g, ob).unwrap();
    assert_eq!(opt.steps(), 1);
    assert!(&opt.export_state(g).unwrap() == o);
}

#[test]
fn bf16_weights_round_to_nearest_even_and_load() {
    let (mut data, _) = source();
    data.dtype = DType::BF16;
    data.optimizer = None;
    data.tokenizer_json = None;
    let dir_tmp = scratch("bf16");
    let dir = dir_tmp.path().join("ckpt");
    checkpoint::save(&dir, &data).unwrap();
    let w = Weights::open_dir(&dir).unwrap();
    let config = Config::from_dir(&dir).unwrap();
    assert_eq!(w.check(&config).unwrap(), DType::BF16);
    let back = checkpoint::load(&dir).unwrap();
    assert_eq!(back.dtype, DType::BF16);
    assert!(back.optimizer.is_none() && back.tokenizer_json.is_none());
    let mut changed = 0;
    for t in &data.tensors {
        let b = back.tensors.iter().find(|b| b.name == t.name).unwrap();
        for (x, y) in b.data.iter().zip(&t.data) {
            assert_eq!(x.to_bits(), half::bf16::from_f32(*y).to_f32().to_bits(), "{}", t.name);
            changed += (x != y) as usize;
        }
    }
    assert!(changed > 0, "bf16 rounding changed nothing: the test data is too coarse");
}

#[test]
fn interrupted_save_keeps_the_previous_checkpoint() {
    let (a, _) = source();
    let dir_tmp = scratch("interrupted");
    let dir = dir_tmp.path().join("latest");
    checkpoint::save(&dir, &a).unwrap();
    let mut b = a.clone();
    b.trainer_state = json!({"step": 2});
    for t in &mut b.tensors {
        t.data.iter_mut().for_each(|x| *x += 1.0);
    }
    // fail after each file in turn: the old checkpoint is intact every time
    for fail_at in 1..=5 {
        let mut n = 0;
        let mut hook = |p: &Path| {
            n += 1;
            if n == fail_at {
                Err(std::io::Error::other(format!("injected failure after {}", p.display())))
            } else {
                Ok(())
            }
        };
        let e = checkpoint::save_with_hook(&dir, &b, &mut hook).unwrap_err();
        assert!(e.message.contains("injected failure"), "{e}");
        assert!(checkpoint::load(&dir).unwrap() == a, "failure after file {fail_at} changed the checkpoint");
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    }

    // a crash between the two renames: the previous checkpoint is `.latest.old`, the new one
    // half-written in `.latest.saving`; load and save recover the old one
    let parent = dir.parent().unwrap();
    std::fs::rename(&dir, parent.join(".latest.old")).unwrap();
    std::fs::create_dir(parent.join(".latest.saving")).unwrap();
    std::fs::write(parent.join(".latest.saving").join(MODEL_FILE), b"truncated").unwrap();
    assert!(checkpoint::load(&dir).unwrap() == a, "the previous checkpoint was not recovered");
    assert!(!parent.join(".latest.old").exists());
    checkpoint::save(&dir, &b).unwrap();
    assert!(checkpoint::load(&dir).unwrap() == b, "the new checkpoint is not the one loaded");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));

    // a crash after installing the new one but before removing the old: the new one wins
    std::fs::create_dir(parent.join(".latest.old")).unwrap();
    std::fs::write(parent.join(".latest.old").join(TRAINER_STATE_FILE), b"{}").unwrap();
    assert!(checkpoint::load(&dir).unwrap() == b, "the new checkpoint is not the one loaded");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn never_replaces_a_directory_that_is_not_a_checkpoint() {
    let (a, _) = source();
    let dir_tmp = scratch("not_a_checkpoint");
    let dir = dir_tmp.path().join("home");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), b"precious").unwrap();
    let e = checkpoint::save(&dir, &a).unwrap_err();
    assert!(e.message.contains("not a checkpoint"), "{e}");
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"precious");
    // an empty directory is fine
    let empty_tmp = scratch("empty_dir");
    let empty = empty_tmp.path().join("ckpt");
    std::fs::create_dir_all(&empty).unwrap();
    checkpoint::save(&empty, &a).unwrap();
}

#[test]
fn bad_data_is_refused_before_anything_is_written() {
    let (a, _) = source();
    let dir_tmp = scratch("bad_data");
    let dir = dir_tmp.path().join("ckpt");
    let mut short = a.clone();
    short.tensors[3].data.pop();
    let e = checkpoint::save(&dir, &short).unwrap_err();
    assert!(e.file.ends_with(MODEL_FILE) && e.message.contains(&a.tensors[3].name), "{e}");
    let mut dup = a.clone();
    dup.tensors.push(dup.tensors[0].clone());
    assert!(checkpoint::save(&dir, &dup).unwrap_err().message.contains("twice"));
    let mut opt = a.clone();
    opt.optimizer.as_mut().unwrap().tensors[0].shape.push(2);
    let e = checkpoint::save(&dir, &opt).unwrap_err();
    assert!(e.file.ends_with(OPTIMIZER_FILE), "{e}");
    let mut cfg = a.clone();
    cfg.config_json = json!([1, 2]);
    assert!(checkpoint::save(&dir, &cfg).unwrap_err().file.ends_with("config.json"));
    assert!(!dir.exists() && leftovers(&dir).is_empty());
}

#[test]
fn corrupt_or_missing_files_name_the_file() {
    let (a, params) = source();
    let root_tmp = scratch("corrupt");
    let root = root_tmp.path();
    let fresh = |name: &str| {
        let d = root.join(name);
        checkpoint::save(&d, &a).unwrap();
        d
    };
    let err = |d: &Path| checkpoint::load(d).unwrap_err();

    assert!(err(&root.join("absent")).message.contains("no checkpoint directory"));

    let d = fresh("no_state");
    std::fs::remove_file(d.join(TRAINER_STATE_FILE)).unwrap();
    assert!(err(&d).file.ends_with(TRAINER_STATE_FILE));

    let d = fresh("bad_config");
    std::fs::write(d.join("config.json"), b"{\"hidden_size\": ").unwrap();
    let e = err(&d);
    assert!(e.file.ends_with("config.json") && e.message.contains("JSON"), "{e}");

    let d = fresh("no_model");
    std::fs::remove_file(d.join(MODEL_FILE)).unwrap();
    let e = err(&d);
    assert!(e.file.ends_with(MODEL_FILE) && e.message.contains("missing"), "{e}");

    let d = fresh("truncated_model");
    let bytes = std::fs::read(d.join(MODEL_FILE)).unwrap();
    std::fs::write(d.join(MODEL_FILE), &bytes[..bytes.len() - 100]).unwrap();
    assert!(err(&d).file.ends_with(MODEL_FILE), "{}", err(&d));

    let d = fresh("garbage_optimizer");
    std::fs::write(d.join(OPTIMIZER_FILE), b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk").unwrap();
    let e = err(&d);
    assert!(e.file.ends_with(OPTIMIZER_FILE) && e.message.contains("header"), "{e}");

    // an optimizer file without the step in its metadata
    let d = fresh("optimizer_no_step");
    let opt = a.optimizer.as_ref().unwrap();
    let refs: Vec<(&str, DType, &[usize], Vec<u8>)> = opt
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), DType::F32, t.shape.as_slice(), bytemuck::cast_slice(&t.data).to_vec()))
        .collect();
    let refs: Vec<(&str, DType, &[usize], &[u8])> =
        refs.iter().map(|(n, d, s, b)| (*n, *d, *s, b.as_slice())).collect();
    gpu_trainer::model::weights::write_safetensors(&d.join(OPTIMIZER_FILE), &refs).unwrap();
    let e = err(&d);
    assert!(e.file.ends_with(OPTIMIZER_FILE) && e.message.contains("optimizer"), "{e}");

    // uploading a checkpoint into the wrong model names the tensor
    let g = gpu();
    let mut extra = a.tensors.clone();
    extra.push(HostTensor { name: "lm_head.weight".into(), shape: vec![1], data: vec![0.0] });
    let e = upload_params(g, &params, &extra).unwrap_err();
    assert!(e.message.contains("lm_head.weight"), "{e}");
    let e = upload_params(g, &params, &a.tensors[1..]).unwrap_err();
    assert!(e.message.contains(&a.tensors[0].name) && e.message.contains("missing"), "{e}");
    let mut reshaped = a.tensors.clone();
    reshaped[0].shape = vec![reshaped[0].data.len()];
    let e = upload_params(g, &params, &reshaped).unwrap_err();
    assert!(e.message.contains(&a.tensors[0].name) && e.message.contains("shape"), "{e}");
}

#[test]
fn split_params_download_and_upload_every_part() {
    let g = Gpu::with_options(GpuOptions { max_binding_override: Some(4096), ..Default::default() }).unwrap();
    let data: Vec<f32> = (0..300 * 20).map(|i| i as f32 * 0.5 - 7.0).collect();
    let p = Param::new(&g, "model.embed_tokens.weight", &[300, 20], &data).unwrap();
    assert!(p.value.parts().len() > 1);
    let host = download_params(&g, std::slice::from_ref(&p)).unwrap();
    assert_eq!(host[0].data, data);
    let doubled: Vec<f32> = data.iter().map(|x| x * 2.0).collect();
    let t = HostTensor { name: p.name.clone(), shape: vec![300, 20], data: doubled.clone() };
    upload_params(&g, std::slice::from_ref(&p), &[t]).unwrap();
    assert_eq!(p.value.to_f32(&g).unwrap(), doubled);
}
