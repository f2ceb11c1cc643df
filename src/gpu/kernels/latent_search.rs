//! latent_search.wgsl and gdn_backward.wgsl: the encoder's latent search (soft rounding, Adam,
//! the distortion's gradient) and IGDN's input gradient.

use super::gdn::{binding as gdn_binding, LinearParams};
use super::{linear_groups, Compiler, Recorder};
use crate::error::Result;
use crate::gpu::GpuTensor;

/// Binding numbers of latent_search.wgsl (binding 0 is `p`).
pub(super) mod binding {
    pub const Y: u32 = 1;
    pub const MEAN: u32 = 2;
    pub const SCALE: u32 = 3;
    pub const INV_GAIN: u32 = 4;
    pub const SYNTHESIS_INPUT: u32 = 5;
    pub const D_ROUND: u32 = 6;
    pub const RATE_GRAD: u32 = 7;
    pub const SYNTHESIS_GRAD: u32 = 8;
    pub const MOMENT1: u32 = 9;
    pub const MOMENT2: u32 = 10;
    pub const OUTPUT: u32 = 11;
    pub const PICTURE: u32 = 12;
    pub const OUTPUT_GRAD: u32 = 13;
    /// gdn_backward.wgsl's own (its others are gdn.wgsl's: src, beta, gamma)
    pub const GRAD: u32 = 4;
    pub const T: u32 = 5;
    pub const DST: u32 = 6;
    pub const GAMMA_T: u32 = 7;
}

/// The WGSL `Params` of latent_search.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct SearchParams {
    pub plane: u32,
    pub c4: u32,
    pub channels: u32,
    pub width: u32,
    pub row_pitch: u32,
    pub step: u32,
    pub seed: u32,
    pub non_anchors_only: u32,
    pub tau: f32,
    pub lr: f32,
    pub rate_weight: f32,
    pub bias1: f32,
    pub bias2: f32,
    pub crop_width: u32,
    pub crop_height: u32,
    pub distortion_weight: f32,
    pub crop_x: u32,
    pub crop_y: u32,
    pub free_x: u32,
    pub free_y: u32,
    pub free_width: u32,
    pub free_height: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

pub(super) struct SearchKernels {
    soft_round: wgpu::ComputePipeline,
    adam_step: wgpu::ComputePipeline,
    distortion_grad: wgpu::ComputePipeline,
    igdn_backward_t: wgpu::ComputePipeline,
    igdn_backward_mix: wgpu::ComputePipeline,
    igdn_backward_pixel: wgpu::ComputePipeline,
}

/// Most channel groups `igdn_backward_pixel` takes (gdn_backward.wgsl's `MAX_PIXEL_GROUPS`).
pub(super) const MAX_PIXEL_GROUPS: usize = 32;

impl SearchKernels {
    pub(super) fn new(c: &Compiler) -> SearchKernels {
        let search = c.module("latent_search.wgsl");
        let gdn = c.module("gdn_backward.wgsl");
        SearchKernels {
            soft_round: c.pipeline(&search, "soft_round", &[]),
            adam_step: c.pipeline(&search, "adam_step", &[]),
            distortion_grad: c.pipeline(&search, "distortion_grad", &[]),
            igdn_backward_t: c.pipeline(&gdn, "igdn_backward_t", &[]),
            igdn_backward_mix: c.pipeline(&gdn, "igdn_backward_mix", &[]),
            igdn_backward_pixel: c.pipeline(&gdn, "igdn_backward_pixel", &[]),
        }
    }
}

/// The tensors of one search, on the GPU.
pub(crate) struct SearchBuffers<'a> {
    pub y: &'a GpuTensor,
    pub mean: &'a GpuTensor,
    pub scale: &'a GpuTensor,
    pub inv_gain: &'a wgpu::Buffer,
    pub synthesis_input: &'a GpuTensor,
    pub d_round: &'a GpuTensor,
    pub rate_grad: &'a GpuTensor,
    pub moment1: &'a GpuTensor,
    pub moment2: &'a GpuTensor,
}

impl Recorder<'_> {
    /// A per-element dispatch over the channel groups and pixels of `t`; the sizes go into `p`.
    fn elementwise(
        &mut self,
        pipeline: &wgpu::ComputePipeline,
        t: &GpuTensor,
        mut p: SearchParams,
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Result<()> {
        let plane = t.height * t.width;
        let ((gx, gy), row_pitch) = linear_groups(plane);
        p.plane = plane as u32;
        p.c4 = t.groups() as u32;
        p.channels = t.channels as u32;
        p.width = t.width as u32;
        p.row_pitch = row_pitch;
        self.dispatch(
            pipeline,
            bytemuck::bytes_of(&p),
            bindings,
            (gx, gy, t.groups()),
        )
    }

    /// Soft-rounds y: g_s's input, d(rounded)/dy and the rate's gradient.
    pub(crate) fn soft_round(&mut self, b: &SearchBuffers<'_>, p: SearchParams) -> Result<()> {
        let pipeline = &self.kernels.search.soft_round;
        self.elementwise(
            pipeline,
            b.y,
            p,
            &[
                (binding::Y, &b.y.buffer.buffer),
                (binding::MEAN, &b.mean.buffer.buffer),
                (binding::SCALE, &b.scale.buffer.buffer),
                (binding::INV_GAIN, b.inv_gain),
                (binding::SYNTHESIS_INPUT, &b.synthesis_input.buffer.buffer),
                (binding::D_ROUND, &b.d_round.buffer.buffer),
                (binding::RATE_GRAD, &b.rate_grad.buffer.buffer),
            ],
        )
    }

    /// One Adam step on y, given g_s's input gradient.
    pub(crate) fn adam_step(
        &mut self,
        b: &SearchBuffers<'_>,
        synthesis_grad: &GpuTensor,
        p: SearchParams,
    ) -> Result<()> {
        let pipeline = &self.kernels.search.adam_step;
        self.elementwise(
            pipeline,
            b.y,
            p,
            &[
                (binding::Y, &b.y.buffer.buffer),
                (binding::INV_GAIN, b.inv_gain),
                (binding::D_ROUND, &b.d_round.buffer.buffer),
                (binding::RATE_GRAD, &b.rate_grad.buffer.buffer),
                (binding::SYNTHESIS_GRAD, &synthesis_grad.buffer.buffer),
                (binding::MOMENT1, &b.moment1.buffer.buffer),
                (binding::MOMENT2, &b.moment2.buffer.buffer),
            ],
        )
    }

    /// `weight x (output - picture)` inside the rectangle `crop` (x, y, width, height), 0
    /// outside, into `grad`.
    pub(crate) fn distortion_grad(
        &mut self,
        output: &GpuTensor,
        picture: &GpuTensor,
        crop: [usize; 4],
        weight: f32,
        grad: &GpuTensor,
    ) -> Result<()> {
        let p = SearchParams {
            crop_x: crop[0] as u32,
            crop_y: crop[1] as u32,
            crop_width: crop[2] as u32,
            crop_height: crop[3] as u32,
            distortion_weight: weight,
            ..SearchParams::default()
        };
        let pipeline = &self.kernels.search.distortion_grad;
        self.elementwise(
            pipeline,
            output,
            p,
            &[
                (binding::OUTPUT, &output.buffer.buffer),
                (binding::PICTURE, &picture.buffer.buffer),
                (binding::OUTPUT_GRAD, &grad.buffer.buffer),
            ],
        )
    }

    /// IGDN's input gradient at `input` for the output gradient `grad`, into `output`: one pass
    /// per pixel up to [`MAX_PIXEL_GROUPS`] channel groups, else two (`scratch`: a tensor of the
    /// same shape, used by those).
    pub(crate) fn igdn_backward(
        &mut self,
        input: &GpuTensor,
        grad: &GpuTensor,
        (beta, gamma, gamma_t): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer),
        scratch: &GpuTensor,
        output: &GpuTensor,
    ) -> Result<()> {
        let plane = input.height * input.width;
        let ((gx, gy), row_pitch) = linear_groups(plane);
        let params = LinearParams::new(plane as u32, input.groups() as u32, 1, row_pitch);
        let k = &self.kernels.search;
        if input.groups() <= MAX_PIXEL_GROUPS {
            return self.dispatch(
                &k.igdn_backward_pixel,
                bytemuck::bytes_of(&params),
                &[
                    (gdn_binding::SRC, &input.buffer.buffer),
                    (gdn_binding::BETA, beta),
                    (gdn_binding::GAMMA, gamma),
                    (binding::GRAD, &grad.buffer.buffer),
                    (binding::DST, &output.buffer.buffer),
                    (binding::GAMMA_T, gamma_t),
                ],
                (gx, gy, 1),
            );
        }
        let (first, second) = (&k.igdn_backward_t, &k.igdn_backward_mix);
        let groups = (gx, gy, input.groups());
        self.dispatch(
            first,
            bytemuck::bytes_of(&params),
            &[
                (gdn_binding::SRC, &input.buffer.buffer),
                (gdn_binding::BETA, beta),
                (gdn_binding::GAMMA, gamma),
                (binding::GRAD, &grad.buffer.buffer),
                (binding::T, &scratch.buffer.buffer),
                (binding::DST, &output.buffer.buffer),
            ],
            groups,
        )?;
        self.dispatch(
            second,
            bytemuck::bytes_of(&params),
            &[
                (gdn_binding::SRC, &input.buffer.buffer),
                (binding::GAMMA_T, gamma_t),
                (binding::T, &scratch.buffer.buffer),
                (binding::DST, &output.buffer.buffer),
            ],
            groups,
        )
    }
}
