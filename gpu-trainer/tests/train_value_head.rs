//! The value head through the learner: trained alone (policy coefficients 0), through the shared
//! trunk, it fits the value targets of distinct prompts (the value loss falls and the explained
//! variance goes from 0 to near 1, which a constant prediction cannot do); it is saved as
//! `value_head.safetensors` beside a model.safetensors that stays a plain HF checkpoint, loaded
//! back with the same predictions, and a model without one gets a zero head.

mod common;

use gpu_trainer::model::{Config, Weights};
use gpu_trainer::rl::value::explained_variance;
use gpu_trainer::train::checkpoint::{MODEL_FILE, VALUE_HEAD_FILE};
use gpu_trainer::train::learner::{GpuLearner, Learner, LearnerSettings, OptimSettings, OptimizerKind};
use gpu_trainer::train::{RlBackward, Sequence};

fn settings(value_head: bool) -> LearnerSettings {
    LearnerSettings {
        optim: OptimSettings {
            kind: OptimizerKind::Adamw,
            lr: 1e-2,
            warmup: 0,
            min_lr: 1e-2,
            clip: Some(1.0),
            weight_decay: 0.0,
        },
        max_tokens: 4096,
        loss_chunk_rows: 64,
        checkpointing: false,
        value_head,
    }
}

/// Four prompts (each with one completion token) and their value targets.
fn data() -> (Vec<Sequence>, Vec<f64>) {
    let prompts: [&[u32]; 4] = [&[2, 17, 5, 90], &[2, 200, 31, 31, 4], &[2, 7, 120, 64], &[2, 9, 9, 9, 9, 9]];
    let seqs = prompts
        .iter()
        .map(|p| {
            let mut ids = p.to_vec();
            ids.push(11);
            let weights = (0..ids.len()).map(|t| if t == p.len() { 1.0 } else { 0.0 }).collect();
            Sequence::new(ids, weights)
        })
        .collect();
    (seqs, vec![-1.0, 0.5, 2.0, -2.5])
}

fn values(learner: &mut GpuLearner, seqs: &[Sequence]) -> Vec<f64> {
    learner.logprobs_and_values(seqs).unwrap().values.unwrap().iter().map(|&v| v as f64).collect()
}

#[test]
fn the_value_head_fits_distinct_states_and_round_trips_through_a_checkpoint() {
    let dir = common::fixture("gemma2_tiny_f32");
    let mut learner = GpuLearner::open(&dir, &settings(true), false).unwrap();
    assert_eq!(learner.value_head_source(), Some("initialised to zero"));
    let (seqs, targets) = data();
    let v0 = values(&mut learner, &seqs);
    assert!(v0.iter().all(|&v| v == 0.0), "a zero head predicts 0: {v0:?}");
    let loss = |v: &[f64]| v.iter().zip(&targets).map(|(v, t)| 0.5 * (v - t) * (v - t)).sum::<f64>() / 4.0;
    let first = loss(&v0);
    for _ in 0..60 {
        learner
            .accumulate_rl(&seqs, |fwd| {
                let v = fwd.values.as_ref().unwrap();
                let dv = v.iter().zip(&targets).map(|(&v, &t)| ((v as f64 - t) / 4.0) as f32).collect();
                let coef = fwd.logprobs.iter().map(|l| vec![0.0; l.len()]).collect();
                Ok(RlBackward { coef, dvalues: Some(dv) })
            })
            .unwrap();
        let a = learner.apply(1e-2).unwrap();
        assert!(a.skipped.is_none());
    }
    let v1 = values(&mut learner, &seqs);
    let ev = explained_variance(&v1, &targets);
    eprintln!("value loss {first:.3} -> {:.4}, explained variance 0 -> {ev:.4}, V {v1:?}", loss(&v1));
    assert!(loss(&v1) < first / 20.0, "value loss {first} -> {}", loss(&v1));
    assert!(ev > 0.9, "explained variance {ev}");

    // the checkpoint: value_head.safetensors beside a plain HF model.safetensors
    let tmp = common::tmpdir("value-head");
    let ck = tmp.path().join("ck");
    learner.save(&ck, &serde_json::json!({"step": 60})).unwrap();
    assert!(ck.join(VALUE_HEAD_FILE).is_file());
    let w = Weights::open_dir(&ck).unwrap();
    w.check(&Config::from_dir(&ck).unwrap()).expect("model.safetensors holds exactly the HF tensors");
    assert!(w.names().all(|n| !n.starts_with("value_head")));
    assert!(ck.join(MODEL_FILE).is_file());
    // loaded back: the same predictions, and the same optimizer state (resume)
    let mut again = GpuLearner::open(&ck, &settings(true), true).unwrap();
    assert_eq!(again.value_head_source(), Some("loaded"));
    assert_eq!(values(&mut again, &seqs), v1);
    // without --value-head the same checkpoint trains the policy only
    let plain = GpuLearner::open(&ck, &settings(false), false).unwrap();
    assert!(plain.value_head_source().is_none());
    assert!(plain.model().params().iter().all(|p| !p.name.starts_with("value_head")));
    // a value head file of the wrong width is a named error
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for f in std::fs::read_dir(&ck).unwrap().flatten() {
        std::fs::copy(f.path(), bad.join(f.file_name())).unwrap();
    }
    // a 3-wide head for a 64-wide model, written by hand
    let header = r#"{"value_head.weight":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]},"value_head.bias":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#;
    let mut header = header.to_string();
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    for x in [0.1f32, 0.2, 0.3, 0.0] {
        bytes.extend(x.to_le_bytes());
    }
    std::fs::write(bad.join(VALUE_HEAD_FILE), bytes).unwrap();
    let e = format!("{:#}", GpuLearner::open(&bad, &settings(true), false).err().unwrap());
    assert!(e.contains("value_head") && e.contains("hidden size"), "{e}");
}
