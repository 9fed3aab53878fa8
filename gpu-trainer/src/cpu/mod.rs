//! CPU f32 reference implementations (ground truth for the GPU kernels).

pub mod ops;
