//! int_context.wgsl: the context model's table indexes and means, channel by channel.

use super::{linear_groups, Compiler, Recorder};
use crate::error::Result;

/// Binding numbers of int_context.wgsl (binding 0 is `p`).
pub(super) mod binding {
    pub const HYPER: u32 = 1;
    pub const CONTEXT_IN: u32 = 2;
    pub const NET: u32 = 3;
    pub const THRESHOLDS: u32 = 4;
    pub const INDEXES: u32 = 5;
    pub const MEANS: u32 = 6;
}

/// The WGSL `Params` of shaders/int_context.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ContextParams {
    pub width: u32,
    pub height: u32,
    pub ksize: u32,
    pub pad: u32,
    pub hidden: u32,
    pub record: u32,
    pub second_pass: u32,
    pub count: u32,
    pub n_thresholds: u32,
    pub row_pitch: u32,
    pub input_max: i32,
    pub context_max: i32,
    pub magnitude_max: i32,
    pub hidden_max: i32,
    pub out_max: i32,
    pub first_channel: u32,
}

pub(super) struct IntContextKernels {
    parameters: wgpu::ComputePipeline,
}

impl IntContextKernels {
    pub(super) fn new(c: &Compiler) -> IntContextKernels {
        let m = c.module("int_context.wgsl");
        IntContextKernels {
            parameters: c.pipeline(&m, "checkerboard_parameters", &[]),
        }
    }
}

/// The buffers of one pass: h_s's output, the context input (any buffer in the first pass), the
/// packed per-channel networks, the thresholds; indexes and means come out.
pub(crate) struct ContextBuffers<'a> {
    pub hyper: &'a wgpu::Buffer,
    pub context_in: &'a wgpu::Buffer,
    pub net: &'a wgpu::Buffer,
    pub thresholds: &'a wgpu::Buffer,
    pub indexes: &'a wgpu::Buffer,
    pub means: &'a wgpu::Buffer,
}

impl Recorder<'_> {
    /// Records `checkerboard_parameters` over `params.count` elements.
    pub(crate) fn checkerboard_parameters(
        &mut self,
        mut params: ContextParams,
        buffers: ContextBuffers<'_>,
    ) -> Result<()> {
        let kernels = self.kernels;
        let ((gx, gy), row_pitch) = linear_groups(params.count as usize);
        params.row_pitch = row_pitch;
        self.dispatch(
            &kernels.int_context.parameters,
            bytemuck::bytes_of(&params),
            &[
                (binding::HYPER, buffers.hyper),
                (binding::CONTEXT_IN, buffers.context_in),
                (binding::NET, buffers.net),
                (binding::THRESHOLDS, buffers.thresholds),
                (binding::INDEXES, buffers.indexes),
                (binding::MEANS, buffers.means),
            ],
            (gx, gy, 1),
        )
    }
}
