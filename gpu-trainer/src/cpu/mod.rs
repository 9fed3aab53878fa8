//! CPU f32 reference implementations (ground truth for the GPU kernels).

pub mod grad_attention;
pub mod grad_linear;
pub mod grad_pointwise;
pub mod model;
pub mod ops;
