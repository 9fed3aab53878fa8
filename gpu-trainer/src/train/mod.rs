//! Training on the GPU (issue 4): trainable parameters with their gradients ([`param`]); the
//! training forward/backward of the model, optimizers, checkpoints and the SFT loop build on it.

pub mod checkpoint;
pub mod optim;
pub mod param;

pub use param::Param;
