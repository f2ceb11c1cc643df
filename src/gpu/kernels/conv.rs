//! conv.wgsl / deconv.wgsl and their subgroup variants: float (transposed) convolutions.

use super::{Compiler, Recorder, SUBGROUP_OUTPUT_GROUPS, TILE};
use crate::error::Result;
use crate::gpu::GpuTensor;
use crate::model::ConvGeometry;

/// Output pixels per invocation along x (the shaders' `PX`).
pub(super) const PX: usize = 4;
/// `flags` bit: ReLU on the output (the shaders' `FLAG_RELU`).
pub(super) const FLAG_RELU: u32 = 1;

/// Binding numbers of conv_params.wgsl / conv_subgroup_common.wgsl (binding 0 is `p`).
pub(super) mod binding {
    pub const SRC: u32 = 1;
    pub const WEIGHTS: u32 = 2;
    pub const BIAS: u32 = 3;
    pub const DST: u32 = 4;
}

/// The WGSL `Params` of shaders/shared/conv_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct ConvParams {
    in_w: u32,
    in_h: u32,
    in_c4: u32,
    out_w: u32,
    out_h: u32,
    out_c4: u32,
    ksize: u32,
    stride: u32,
    pad: u32,
    flags: u32,
    blocks_per_residue: u32,
    rows_per_residue: u32,
}

/// A convolution's geometry and activation, as the kernels need them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvShape {
    pub geometry: ConvGeometry,
    pub relu: bool,
}

/// The pipelines of one direction (convolution or transposed).
struct Direction {
    /// The portable kernel, or the subgroup one with 4 output groups per invocation.
    general: wgpu::ComputePipeline,
    /// Subgroup variants only: one output group per invocation (layers with fewer than 4), and
    /// the 5x5 stride-2 specializations with 4 and 1 groups.
    subgroup: Option<[wgpu::ComputePipeline; 3]>,
}

impl Direction {
    fn new(c: &Compiler, file: &str, entry: &str, subgroups: bool) -> Direction {
        if !subgroups {
            return Direction {
                general: c.pipeline(&c.module(&format!("{file}.wgsl")), entry, &[]),
                subgroup: None,
            };
        }
        let m = c.module(&format!("{file}_subgroup.wgsl"));
        let one = [("GROUPS", 1.0)];
        let k5s2 = format!("{entry}_k5s2");
        Direction {
            general: c.pipeline(&m, entry, &[]),
            subgroup: Some([
                c.pipeline(&m, entry, &one),
                c.pipeline(&m, &k5s2, &[]),
                c.pipeline(&m, &k5s2, &one),
            ]),
        }
    }

    /// The specialized 5x5/2 subgroup kernel where it applies, with 4 output groups per
    /// invocation or one for layers with fewer; else the general kernel.
    fn pick(&self, k5s2: bool, several: bool) -> &wgpu::ComputePipeline {
        match (&self.subgroup, k5s2, several) {
            (Some([_, four, _]), true, true) => four,
            (Some([_, _, one]), true, false) => one,
            (Some([one, _, _]), false, false) => one,
            _ => &self.general,
        }
    }
}

pub(super) struct ConvKernels {
    conv: Direction,
    deconv: Direction,
    subgroups: bool,
}

impl ConvKernels {
    pub(super) fn new(c: &Compiler, subgroups: bool) -> ConvKernels {
        ConvKernels {
            conv: Direction::new(c, "conv", "conv2d", subgroups),
            deconv: Direction::new(c, "deconv", "conv_transpose2d", subgroups),
            subgroups,
        }
    }
}

impl Recorder<'_> {
    /// Records a convolution or transposed convolution of `input` into `output`.
    pub(crate) fn conv(
        &mut self,
        input: &GpuTensor,
        shape: ConvShape,
        (weights, bias): (&wgpu::Buffer, &wgpu::Buffer),
        output: &GpuTensor,
    ) -> Result<()> {
        let kernels = self.kernels;
        let k = &kernels.conv;
        let g = shape.geometry;
        let out_w = output.width;
        let mut blocks_per_residue = out_w.div_ceil(g.stride).div_ceil(PX);
        let mut y_invocations = output.height;
        let mut rows_per_residue = 0;
        if g.transposed && k.subgroups {
            // deconv_subgroup.wgsl: each workgroup inside one residue class of x and of y
            blocks_per_residue = blocks_per_residue.next_multiple_of(TILE);
            rows_per_residue = output.height.div_ceil(g.stride).next_multiple_of(TILE);
            y_invocations = rows_per_residue * g.stride;
        }
        let params = ConvParams {
            in_w: input.width as u32,
            in_h: input.height as u32,
            in_c4: input.groups() as u32,
            out_w: out_w as u32,
            out_h: output.height as u32,
            out_c4: output.groups() as u32,
            ksize: g.kernel as u32,
            stride: g.stride as u32,
            pad: g.pad as u32,
            flags: if shape.relu { FLAG_RELU } else { 0 },
            blocks_per_residue: blocks_per_residue as u32,
            rows_per_residue: rows_per_residue as u32,
        };
        let several = k.subgroups && output.groups() >= SUBGROUP_OUTPUT_GROUPS;
        let k5s2 = g.kernel == 5 && g.stride == 2 && g.pad == 2;
        let (pipeline, x_invocations) = match g.transposed {
            true => (k.deconv.pick(k5s2, several), blocks_per_residue * g.stride),
            false => (k.conv.pick(k5s2, several), out_w.div_ceil(PX)),
        };
        let z_groups = match several {
            // the subgroup kernels compute 4 output groups per invocation
            true => output.groups().div_ceil(SUBGROUP_OUTPUT_GROUPS),
            false => output.groups(),
        };
        self.dispatch(
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (binding::SRC, &input.buffer.buffer),
                (binding::WEIGHTS, weights),
                (binding::BIAS, bias),
                (binding::DST, &output.buffer.buffer),
            ],
            (
                x_invocations.div_ceil(TILE),
                y_invocations.div_ceil(TILE),
                z_groups,
            ),
        )
    }
}
