//! CPU f32 reference implementations (ground truth for the GPU kernels).

pub mod grad_attention;
pub mod model;
pub mod ops;
