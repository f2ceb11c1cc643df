//! int_conv.wgsl and int_conv_subgroup.wgsl: exact integer layers and the table-index lookup.

use super::{linear_groups, Compiler, Recorder, SUBGROUP_OUTPUT_GROUPS, TILE};
use crate::error::Result;
use crate::model::IntConv;

/// Binding numbers of int_conv_params.wgsl and int_conv.wgsl (binding 0 is `p`).
pub(super) mod binding {
    pub const SRC: u32 = 1;
    pub const WEIGHTS: u32 = 2;
    pub const BIAS: u32 = 3;
    pub const SHIFT: u32 = 4;
    pub const DST: u32 = 5;
    pub const THRESHOLDS: u32 = 6;
    pub const INDEXES: u32 = 7;
}

/// The WGSL `Params` of shaders/shared/int_conv_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct IntParams {
    in_w: u32,
    in_h: u32,
    in_c: u32,
    out_w: u32,
    out_h: u32,
    out_c: u32,
    ksize: u32,
    stride: u32,
    pad: u32,
    transposed: u32,
    act_min: i32,
    act_max: i32,
    count: u32,
    n_thresholds: u32,
    blocks_per_residue: u32,
    rows_per_residue: u32,
    row_pitch: u32,
    _pad: [u32; 3],
}

/// Buffers of one integer layer on the GPU.
pub(crate) struct IntConvBuffers<'a> {
    pub weights: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub shift: &'a wgpu::Buffer,
}

pub(super) struct IntConvKernels {
    portable: wgpu::ComputePipeline,
    /// int_conv_subgroup.wgsl's int_conv and int_conv_transpose.
    subgroup: Option<(wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    scale_index: wgpu::ComputePipeline,
}

impl IntConvKernels {
    pub(super) fn new(c: &Compiler, subgroups: bool) -> IntConvKernels {
        let m = c.module("int_conv.wgsl");
        IntConvKernels {
            portable: c.pipeline(&m, "int_conv", &[]),
            subgroup: subgroups.then(|| {
                let s = c.module("int_conv_subgroup.wgsl");
                (
                    c.pipeline(&s, "int_conv", &[]),
                    c.pipeline(&s, "int_conv_transpose", &[]),
                )
            }),
            scale_index: c.pipeline(&m, "scale_index", &[]),
        }
    }
}

impl Recorder<'_> {
    /// Records one integer layer on CHW i32 buffers.
    pub(crate) fn int_conv(
        &mut self,
        layer: &IntConv,
        buffers: IntConvBuffers<'_>,
        input: &wgpu::Buffer,
        (in_h, in_w): (usize, usize),
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let kernels = self.kernels;
        let k = &kernels.int_conv;
        let g = layer.geometry;
        let (out_h, out_w) = layer.output_size(in_h, in_w);
        let mut params = IntParams {
            in_w: in_w as u32,
            in_h: in_h as u32,
            in_c: layer.in_channels as u32,
            out_w: out_w as u32,
            out_h: out_h as u32,
            out_c: layer.out_channels as u32,
            ksize: g.kernel as u32,
            stride: g.stride as u32,
            pad: g.pad as u32,
            transposed: u32::from(g.transposed),
            act_min: layer.act_min(),
            act_max: layer.act_max,
            ..bytemuck::Zeroable::zeroed()
        };
        let mut groups = (out_w.div_ceil(TILE), out_h.div_ceil(TILE));
        // int_conv_subgroup.wgsl computes 4 output groups (16 channels) per invocation
        let z_groups = match k.subgroup {
            Some(_) => layer.out_channels.div_ceil(4 * SUBGROUP_OUTPUT_GROUPS),
            None => layer.out_channels.div_ceil(4),
        };
        let pipeline = match &k.subgroup {
            Some((conv, _)) if !g.transposed => conv,
            Some((_, transposed)) => {
                // every workgroup inside one residue class of x and of y
                let per_x = out_w.div_ceil(g.stride).next_multiple_of(TILE);
                let per_y = out_h.div_ceil(g.stride).next_multiple_of(TILE);
                params.blocks_per_residue = per_x as u32;
                params.rows_per_residue = per_y as u32;
                groups = (per_x * g.stride / TILE, per_y * g.stride / TILE);
                transposed
            }
            None => &k.portable,
        };
        self.dispatch(
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (binding::SRC, input),
                (binding::WEIGHTS, buffers.weights),
                (binding::BIAS, buffers.bias),
                (binding::SHIFT, buffers.shift),
                (binding::DST, output),
            ],
            (groups.0, groups.1, z_groups),
        )
    }

    /// Records `scale_index` over `count` i32 values against sorted thresholds.
    pub(crate) fn scale_index(
        &mut self,
        values: &wgpu::Buffer,
        count: usize,
        (thresholds, n_thresholds): (&wgpu::Buffer, usize),
        indexes: &wgpu::Buffer,
    ) -> Result<()> {
        let kernels = self.kernels;
        let ((gx, gy), row_pitch) = linear_groups(count);
        let params = IntParams {
            count: count as u32,
            n_thresholds: n_thresholds as u32,
            row_pitch,
            ..bytemuck::Zeroable::zeroed()
        };
        self.dispatch(
            &kernels.int_conv.scale_index,
            bytemuck::bytes_of(&params),
            &[
                (binding::SRC, values),
                (binding::THRESHOLDS, thresholds),
                (binding::INDEXES, indexes),
            ],
            (gx, gy, 1),
        )
    }
}
