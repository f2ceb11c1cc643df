//! gdn.wgsl and gdn_subgroup.wgsl: GDN and IGDN.

use super::{linear_groups, Compiler, Recorder, SUBGROUP_OUTPUT_GROUPS};
use crate::error::Result;
use crate::gpu::GpuTensor;

/// Pixels per invocation in gdn_subgroup.wgsl (its `PX`).
pub(super) const SUBGROUP_GDN_PIXELS: usize = 4;

/// Binding numbers of gdn.wgsl and gdn_subgroup.wgsl (binding 0 is `p`).
pub(super) mod binding {
    pub const SRC: u32 = 1;
    pub const BETA: u32 = 2;
    pub const GAMMA: u32 = 3;
    pub const DST: u32 = 4;
}

/// The WGSL `Params` of shaders/shared/linear_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct LinearParams {
    plane: u32,
    c4: u32,
    inverse: u32,
    row_pitch: u32,
}

impl LinearParams {
    pub(super) fn new(plane: u32, c4: u32, inverse: u32, row_pitch: u32) -> LinearParams {
        LinearParams {
            plane,
            c4,
            inverse,
            row_pitch,
        }
    }
}

pub(super) struct GdnKernels {
    /// gdn.wgsl, or gdn_subgroup.wgsl with 4 output groups per invocation.
    general: wgpu::ComputePipeline,
    /// gdn_subgroup.wgsl with one output group (layers with fewer than 4).
    one_group: Option<wgpu::ComputePipeline>,
}

impl GdnKernels {
    pub(super) fn new(c: &Compiler, subgroups: bool) -> GdnKernels {
        match subgroups {
            false => GdnKernels {
                general: c.pipeline(&c.module("gdn.wgsl"), "gdn", &[]),
                one_group: None,
            },
            true => {
                let m = c.module("gdn_subgroup.wgsl");
                GdnKernels {
                    general: c.pipeline(&m, "gdn", &[]),
                    one_group: Some(c.pipeline(&m, "gdn", &[("GROUPS", 1.0)])),
                }
            }
        }
    }
}

impl Recorder<'_> {
    /// Records GDN (or IGDN) of `input` into `output`.
    pub(crate) fn gdn(
        &mut self,
        input: &GpuTensor,
        (beta, gamma): (&wgpu::Buffer, &wgpu::Buffer),
        inverse: bool,
        output: &GpuTensor,
    ) -> Result<()> {
        let kernels = self.kernels;
        let k = &kernels.gdn;
        let plane = input.height * input.width;
        let subgroups = k.one_group.is_some();
        // the subgroup kernel covers SUBGROUP_GDN_PIXELS pixels per invocation
        let per_invocation = if subgroups { SUBGROUP_GDN_PIXELS } else { 1 };
        let ((gx, gy), row_pitch) = linear_groups(plane.div_ceil(per_invocation));
        let params = LinearParams {
            plane: plane as u32,
            c4: input.groups() as u32,
            inverse: u32::from(inverse),
            row_pitch,
        };
        let (pipeline, z_groups) = match &k.one_group {
            Some(_) if input.groups() >= SUBGROUP_OUTPUT_GROUPS => {
                (&k.general, input.groups().div_ceil(SUBGROUP_OUTPUT_GROUPS))
            }
            Some(one) => (one, input.groups()),
            None => (&k.general, input.groups()),
        };
        self.dispatch(
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (binding::SRC, &input.buffer.buffer),
                (binding::BETA, beta),
                (binding::GAMMA, gamma),
                (binding::DST, &output.buffer.buffer),
            ],
            (gx, gy, z_groups),
        )
    }
}
