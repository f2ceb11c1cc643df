//! The GPU side, one module per concern:
//! - `context`: adapter, device, queue, fault capture, buffers and readback;
//! - `memory`: GPU memory accounting; `tensor`: feature maps on the GPU and their transfers;
//! - `shaders`: the WGSL sources and their includes; `kernels`: one module per kernel family;
//! - `network`: the float transforms; `int_net`: the integer networks; `search`: the encoder's
//!   latent search (g_s backwards, Adam);
//! - `texture`: textures in and out; `timer`: stage timings for the bench;
//! - `blocking`: the blocking API of native programs, waiting for the async one.

#[cfg(not(target_arch = "wasm32"))]
mod blocking;
mod context;
mod int_net;
mod kernels;
mod memory;
mod network;
mod search;
mod shaders;
mod tensor;
mod texture;
mod timer;

pub use context::{Backend, GpuContext};
pub use int_net::{pack_int_weights, GpuIntNetworks, HyperFeatures};
pub use kernels::Kernels;
pub(crate) use kernels::PixelTarget;
pub use memory::{GpuBuffer, MemoryCounter};
pub use network::{
    pack4, pack_conv_weights, pack_gdn_gamma, GpuConv, GpuGdn, GpuLayer, GpuNetwork, GpuTransform,
};
pub use search::{distortion_grad, LatentSearch, SynthesisGradient};
pub use shaders::{shader_source, SHADER_SOURCES};
pub use tensor::GpuTensor;
pub(crate) use texture::texture_row_pitch;
pub(crate) use timer::{host_stage, host_stage_async};
pub use timer::{Probe, StageTime};
