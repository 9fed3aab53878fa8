//! `gpu-trainer`: Gemma2 / Gemma3-text forward (later backward) through WGSL
//! compute shaders on wgpu, each checked against the CPU f32 reference in
//! [`cpu::ops`].

pub mod cpu;
pub mod model;
