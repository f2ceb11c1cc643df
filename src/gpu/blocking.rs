//! The blocking GPU API of native programs: each function waits for its `_async` twin (see
//! `crate::block`). A browser cannot block; there the `_async` functions are the API.

use super::{GpuContext, GpuIntNetworks, GpuTensor};
use crate::block::wait;
use crate::error::Result;
use crate::tensor::Tensor;

impl GpuContext {
    /// [`GpuContext::new_async`], waited for.
    pub fn new(backend: Option<super::Backend>) -> Result<GpuContext> {
        wait(GpuContext::new_async(backend))
    }

    /// Uses an application's device and queue (the limits it was created with apply). The
    /// subgroup kernel variants are used when the device was created with `Features::SUBGROUP`
    /// and its subgroups have at least 8 invocations.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Result<GpuContext> {
        wait(GpuContext::from_device_async(device, queue))
    }

    /// The same device with the portable kernels only (no subgroup variants): a baseline for
    /// benchmarks and tests.
    pub fn without_subgroups(self) -> Result<GpuContext> {
        wait(self.without_subgroups_async())
    }

    /// [`GpuContext::guarded_async`] on synchronous work, waited for.
    pub fn guarded<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        wait(self.guarded_async(async { work() }))
    }

    /// [`GpuContext::download_tensor_async`], waited for.
    pub fn download_tensor(&self, t: &GpuTensor) -> Result<Tensor> {
        wait(self.download_tensor_async(t))
    }

    /// Converts the top-left `img_w` x `img_h` of a 3-channel tensor to RGBA8 and reads it back.
    pub fn tensor_to_rgba8(
        &self,
        input: &GpuTensor,
        img_w: usize,
        img_h: usize,
    ) -> Result<Vec<u8>> {
        wait(self.tensor_region_to_rgba8_async(input, (0, 0), img_w, img_h))
    }

    /// [`GpuContext::tensor_region_to_rgba8_async`], waited for.
    pub fn tensor_region_to_rgba8(
        &self,
        input: &GpuTensor,
        origin: (usize, usize),
        img_w: usize,
        img_h: usize,
    ) -> Result<Vec<u8>> {
        wait(self.tensor_region_to_rgba8_async(input, origin, img_w, img_h))
    }

    /// [`GpuContext::merge_alpha_async`], waited for.
    pub fn merge_alpha(
        &self,
        rgba: &[u8],
        alpha: &[u8],
        size: (usize, usize),
        pitch: usize,
    ) -> Result<Vec<u8>> {
        wait(self.merge_alpha_async(rgba, alpha, size, pitch))
    }

    /// [`GpuContext::read_texture_async`], waited for.
    pub fn read_texture(&self, texture: &wgpu::Texture) -> Result<Vec<u8>> {
        wait(self.read_texture_async(texture))
    }
}

impl GpuIntNetworks {
    /// Scale-table indexes of y from the z symbols (N x h x w, CHW) with the scale hyperprior,
    /// bit-identical to [`crate::cpu::int_hyper_synthesis`].
    pub fn run(&self, ctx: &GpuContext, symbols: &[i32], h: usize, w: usize) -> Result<Vec<u8>> {
        wait(self.run_async(ctx, symbols, (h, w)))
    }
}
