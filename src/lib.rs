//! # vaec-gpu
//!
//! A learned image codec: a variational autoencoder with a scale hyperprior (Balle et al. 2018)
//! whose network runs as hand-written WGSL compute shaders through wgpu, on any Vulkan, Metal,
//! DX12 or GL GPU.
//!
//! The stages, one module each:
//! - [`model`]: the layer graph and the safetensors weight file;
//! - [`gpu`]: the wgpu context, the WGSL kernels and the network on the GPU;
//! - [`hyper`]: the integer hyper-synthesis that makes decoding bit-exact across devices;
//! - [`entropy`]: the rANS coder and its tables;
//! - [`format`]: the `.vaec` container;
//! - [`reference`]: a plain-Rust twin of every kernel, for the tests;
//! - [`tensor`]: feature maps on the CPU and the GPU layout;
//! - [`codec`]: image in, latents, image out.
#![deny(missing_docs)]

pub mod bench;
pub mod codec;
pub mod entropy;
pub mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod gpu;
pub mod hyper;
pub mod metrics;
pub mod model;
pub mod reference;
pub mod rng;
pub mod tensor;
pub mod tiling;

pub use codec::{Codec, Image};
pub use error::{Error, Result};
pub use gpu::{Backend, GpuContext, GpuTensor};
pub use model::Model;
pub use tensor::Tensor;
/// The wgpu this crate is built on: embedders use it to create the device they hand in.
pub use wgpu;
