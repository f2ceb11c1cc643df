//! # vaec-gpu
//!
//! A learned image codec: a variational autoencoder with a scale hyperprior (Balle et al. 2018)
//! whose network runs as hand-written WGSL compute shaders through wgpu, on any Vulkan, Metal,
//! DX12 or GL GPU.
//!
//! The stages, one module each:
//! - [`model`]: the layer graph, the integer networks and the safetensors weight file;
//! - [`gpu`]: the wgpu context, the WGSL kernels and the networks on the GPU;
//! - [`cpu`]: the CPU twin of every kernel (test oracle and GPU-less decoder);
//! - [`entropy`]: the rANS coder and its tables;
//! - [`format`](mod@format): the `.vaec` container; [`picture`]: what a picture carries besides RGB;
//! - [`tensor`]: feature maps on the CPU and the GPU layout; [`tiling`]: big pictures in tiles;
//! - [`codec`]: picture in, latents, picture out; [`bench`](mod@bench): where the time goes.
#![deny(missing_docs)]

pub mod bench;
mod block;
pub mod codec;
pub mod cpu;
pub mod entropy;
pub mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod gpu;
pub mod image;
#[cfg(feature = "image-hooks")]
pub mod image_hooks;
pub mod metrics;
pub mod model;
mod parallel;
pub mod picture;
pub mod rng;
pub mod tensor;
pub mod tiling;

pub use codec::{Codec, CodecOptions, Target, Targeted};
pub use error::{Error, Result};
pub use gpu::{Backend, GpuContext, GpuTensor};
pub use image::Image;
#[cfg(feature = "image-hooks")]
pub use image_hooks::register_image_hooks;
pub use model::Model;
pub use picture::Picture;
pub use tensor::Tensor;
/// The wgpu this crate is built on: embedders use it to create the device they hand in.
pub use wgpu;
