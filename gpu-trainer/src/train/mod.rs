//! Training on the GPU (issue 4): trainable parameters with their gradients ([`param`]), the
//! training forward/backward of the model ([`model::TrainModel`] over packed [`Sequence`]s),
//! optimizers ([`optim`]) and checkpoints ([`checkpoint`]); the SFT loop builds on them.
//!
//! - [`sequence`]: a sequence with per-position loss weights, and how a batch is packed;
//! - [`activations`]: activation / gradient-scratch / logits-chunk buffers, grown per size;
//! - [`layer`]: one decoder layer's forward and backward, side by side;
//! - [`head`]: final norm, LM head and the chunked loss over target rows only;
//! - [`model`]: [`TrainModel`] (load, forward_backward, log-probs, export / load).

pub mod activations;
pub mod checkpoint;
pub mod head;
pub mod layer;
pub mod model;
pub mod optim;
pub mod param;
pub mod sequence;

pub use model::{HostTensor, MemoryReport, StepStats, TrainModel, TrainOptions};
pub use param::Param;
pub use sequence::{Packed, Sequence};
