//! Training on the GPU: trainable parameters with their gradients ([`param`]), the training
//! forward/backward of the model ([`model::TrainModel`] over packed [`Sequence`]s), optimizers
//! ([`optim`]), checkpoints ([`checkpoint`]), the learner that puts them together ([`learner`]),
//! and supervised fine-tuning on expert data ([`sft`]).
//!
//! - [`sequence`]: a sequence with per-position loss weights, and how a batch is packed;
//! - [`activations`]: activation / gradient-scratch / logits-chunk buffers, grown per size;
//! - [`layer`]: one decoder layer's forward and backward, side by side;
//! - [`head`]: final norm, LM head and the chunked loss over target rows only;
//! - [`model`]: [`TrainModel`] (load, forward_backward, log-probs, export / load);
//! - [`learner`]: [`learner::GpuLearner`]: model + optimizer + clip + checkpoints, per-token loss
//!   coefficients, generation from the live weights;
//! - [`fresh`]: small Gemma2 models made from scratch; [`bpe`]: a BPE tokenizer learned on text;
//! - [`sft`]: the SFT run (data, tokenization, loop, log, exact resume).

pub mod activations;
pub mod bpe;
pub mod checkpoint;
pub mod fresh;
pub mod head;
pub mod layer;
pub mod learner;
pub mod model;
pub mod optim;
pub mod param;
pub mod sequence;
pub mod sft;

pub use model::{
    HostTensor, MemoryReport, RlBackward, RlForward, StepStats, TrainModel, TrainOptions, VALUE_HEAD_BIAS,
    VALUE_HEAD_WEIGHT,
};
pub use param::Param;
pub use sequence::{Packed, Sequence};
