//! image.wgsl: RGBA8 pixels to and from the 3-channel tensor, and an alpha plane into them.

use super::{Compiler, Recorder, TILE};
use crate::error::{Error, Result};
use crate::gpu::GpuTensor;

/// Binding numbers of image.wgsl (binding 0 is `p`); each entry point has its own.
pub(super) mod binding {
    pub const RGBA_IN: u32 = 1;
    pub const TENSOR_OUT: u32 = 2;
    pub const TENSOR_IN: u32 = 3;
    pub const RGBA_OUT: u32 = 4;
    pub const ALPHA_IN: u32 = 5;
    pub const RGBA_INOUT: u32 = 6;
}

/// The WGSL `Params` of shaders/image.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct ImageParams {
    img_w: u32,
    img_h: u32,
    tensor_w: u32,
    tensor_h: u32,
    src_x: u32,
    src_y: u32,
    dst_x: u32,
    dst_y: u32,
    dst_pitch: u32,
    _pad: [u32; 3],
}

pub(super) struct ImageKernels {
    to_tensor: wgpu::ComputePipeline,
    to_rgba8: wgpu::ComputePipeline,
    merge_alpha: wgpu::ComputePipeline,
}

impl ImageKernels {
    pub(super) fn new(c: &Compiler) -> ImageKernels {
        let m = c.module("image.wgsl");
        ImageKernels {
            to_tensor: c.pipeline(&m, "rgba8_to_tensor", &[]),
            to_rgba8: c.pipeline(&m, "tensor_to_rgba8", &[]),
            merge_alpha: c.pipeline(&m, "merge_alpha", &[]),
        }
    }
}

/// Where a region of pixels goes: column and row of its first pixel in the destination, and the
/// destination's row pitch in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PixelTarget {
    pub x: usize,
    pub y: usize,
    pub pitch: usize,
}

impl Recorder<'_> {
    /// Records RGBA8 pixels (`img_w` x `img_h`) to a replicate-padded 3-channel tensor.
    pub(crate) fn rgba8_to_tensor(
        &mut self,
        rgba: &wgpu::Buffer,
        (img_w, img_h): (usize, usize),
        output: &GpuTensor,
    ) -> Result<()> {
        let params = ImageParams {
            img_w: img_w as u32,
            img_h: img_h as u32,
            tensor_w: output.width as u32,
            tensor_h: output.height as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        let kernels = self.kernels;
        self.dispatch(
            &kernels.image.to_tensor,
            bytemuck::bytes_of(&params),
            &[
                (binding::RGBA_IN, rgba),
                (binding::TENSOR_OUT, &output.buffer.buffer),
            ],
            (output.width.div_ceil(TILE), output.height.div_ceil(TILE), 1),
        )
    }

    /// Records the `w` x `h` region at `origin` of a 3-channel tensor to RGBA8 pixels at `dst`.
    pub(crate) fn tensor_to_rgba8(
        &mut self,
        input: &GpuTensor,
        origin: (usize, usize),
        (w, h): (usize, usize),
        rgba: &wgpu::Buffer,
        dst: PixelTarget,
    ) -> Result<()> {
        if origin.0 + w > input.width || origin.1 + h > input.height {
            return Err(Error::InvalidArgument(format!(
                "region {w}x{h} at {origin:?} outside a {}x{} tensor",
                input.width, input.height
            )));
        }
        let params = ImageParams {
            img_w: w as u32,
            img_h: h as u32,
            tensor_w: input.width as u32,
            tensor_h: input.height as u32,
            src_x: origin.0 as u32,
            src_y: origin.1 as u32,
            dst_x: dst.x as u32,
            dst_y: dst.y as u32,
            dst_pitch: dst.pitch as u32,
            _pad: [0; 3],
        };
        let kernels = self.kernels;
        self.dispatch(
            &kernels.image.to_rgba8,
            bytemuck::bytes_of(&params),
            &[
                (binding::TENSOR_IN, &input.buffer.buffer),
                (binding::RGBA_OUT, rgba),
            ],
            (w.div_ceil(TILE), h.div_ceil(TILE), 1),
        )
    }

    /// Records an alpha plane (`w` x `h` bytes, padded to whole u32s) into the alpha bytes of
    /// RGBA8 pixels whose rows are `pitch` pixels apart.
    pub(crate) fn merge_alpha(
        &mut self,
        alpha: &wgpu::Buffer,
        (w, h): (usize, usize),
        rgba: &wgpu::Buffer,
        pitch: usize,
    ) -> Result<()> {
        let params = ImageParams {
            img_w: w as u32,
            img_h: h as u32,
            dst_pitch: pitch as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        let kernels = self.kernels;
        self.dispatch(
            &kernels.image.merge_alpha,
            bytemuck::bytes_of(&params),
            &[(binding::ALPHA_IN, alpha), (binding::RGBA_INOUT, rgba)],
            (w.div_ceil(TILE), h.div_ceil(TILE), 1),
        )
    }
}
