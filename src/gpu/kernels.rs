//! The compiled WGSL kernels and the code that records one dispatch of each.

use super::{GpuContext, GpuTensor};
use crate::error::{Error, Result};

/// Every WGSL file of `shaders/`, by file name: compiled into the binary, validated by naga in tests.
pub const SHADER_SOURCES: &[(&str, &str)] = &[
    ("conv.wgsl", include_str!("../../shaders/conv.wgsl")),
    (
        "conv_subgroup.wgsl",
        include_str!("../../shaders/conv_subgroup.wgsl"),
    ),
    ("deconv.wgsl", include_str!("../../shaders/deconv.wgsl")),
    ("gdn.wgsl", include_str!("../../shaders/gdn.wgsl")),
    (
        "deconv_subgroup.wgsl",
        include_str!("../../shaders/deconv_subgroup.wgsl"),
    ),
    (
        "gdn_subgroup.wgsl",
        include_str!("../../shaders/gdn_subgroup.wgsl"),
    ),
    (
        "elementwise.wgsl",
        include_str!("../../shaders/elementwise.wgsl"),
    ),
    ("image.wgsl", include_str!("../../shaders/image.wgsl")),
    (
        "hyper_int.wgsl",
        include_str!("../../shaders/hyper_int.wgsl"),
    ),
    (
        "hyper_int_subgroup.wgsl",
        include_str!("../../shaders/hyper_int_subgroup.wgsl"),
    ),
    (
        "conv_params.wgsl",
        include_str!("../../shaders/conv_params.wgsl"),
    ),
    (
        "subgroup_matrix.wgsl",
        include_str!("../../shaders/subgroup_matrix.wgsl"),
    ),
    (
        "conv_subgroup_common.wgsl",
        include_str!("../../shaders/conv_subgroup_common.wgsl"),
    ),
    (
        "hyper_params.wgsl",
        include_str!("../../shaders/hyper_params.wgsl"),
    ),
    (
        "linear_params.wgsl",
        include_str!("../../shaders/linear_params.wgsl"),
    ),
];

/// A line `//#include FILE` in a shader is replaced by FILE from [`SHADER_SOURCES`] (WGSL has no
/// includes; this keeps shared structs and helpers in one place).
const INCLUDE: &str = "//#include ";

/// Output pixels per invocation along x in conv.wgsl and deconv.wgsl (their `PX`).
const PX: usize = 4;
/// Output channel groups per invocation in the `_subgroup.wgsl` kernels.
const SUBGROUP_OUTPUT_GROUPS: usize = 4;
/// Pixels per invocation in gdn_subgroup.wgsl.
const SUBGROUP_GDN_PIXELS: usize = 4;
/// Invocations per workgroup of the 1-D kernels (gdn, elementwise).
const LINEAR_WORKGROUP: usize = 64;
/// Largest workgroup count per dispatch dimension that every adapter allows.
const MAX_GROUPS: usize = 65535;

/// Compute pipelines, one per WGSL entry point, compiled once per context.
pub struct Kernels {
    conv2d: wgpu::ComputePipeline,
    conv_transpose2d: wgpu::ComputePipeline,
    /// Subgroup variants with one output group per invocation, for layers with fewer than
    /// [`SUBGROUP_OUTPUT_GROUPS`] (None with the portable kernels).
    conv2d_one_group: Option<wgpu::ComputePipeline>,
    conv_transpose2d_one_group: Option<wgpu::ComputePipeline>,
    /// conv_subgroup.wgsl's kernel for 5x5 stride 2 pad 2, 4 groups and 1 group.
    conv2d_k5s2: Option<(wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    /// deconv_subgroup.wgsl's kernel for 5x5 stride 2 pad 2, 4 groups and 1 group.
    conv_transpose2d_k5s2: Option<(wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    gdn_one_group: Option<wgpu::ComputePipeline>,
    gdn: wgpu::ComputePipeline,
    scale_round: wgpu::ComputePipeline,
    scale: wgpu::ComputePipeline,
    rgba8_to_tensor: wgpu::ComputePipeline,
    tensor_to_rgba8: wgpu::ComputePipeline,
    int_conv: wgpu::ComputePipeline,
    /// hyper_int_subgroup.wgsl's int_conv and int_conv_transpose.
    int_conv_subgroup: Option<(wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    scale_index: wgpu::ComputePipeline,
    subgroups: bool,
}

/// The WGSL source of `file` from [`SHADER_SOURCES`] with its `//#include` lines expanded
/// (included files may include others, each expanded where it is named); `None` for an unknown
/// file or an include nested deeper than 4 (a cycle).
pub fn shader_source(file: &str) -> Option<String> {
    fn expand(file: &str, depth: usize, out: &mut String) -> Option<()> {
        let raw = SHADER_SOURCES.iter().find(|(n, _)| *n == file)?.1;
        for line in raw.lines() {
            match line.strip_prefix(INCLUDE) {
                Some(included) if depth < 4 => expand(included.trim(), depth + 1, out)?,
                Some(_) => return None,
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        Some(())
    }
    let mut out = String::new();
    expand(file, 0, &mut out)?;
    Some(out)
}

fn source(file: &str) -> String {
    shader_source(file).expect("shader and its includes listed in SHADER_SOURCES")
}

impl Kernels {
    /// Compiles every kernel; with `subgroups`, conv, deconv and gdn come from their `_subgroup`
    /// variants
    /// (the device must have `Features::SUBGROUP` and subgroups of at least 8 invocations).
    pub(crate) fn new(device: &wgpu::Device, subgroups: bool) -> Result<Kernels> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = |file: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(file),
                source: wgpu::ShaderSource::Wgsl(source(file).into()),
            })
        };
        let variant = |file: &str| {
            let file = match subgroups {
                true => file.replace(".wgsl", "_subgroup.wgsl"),
                false => file.to_string(),
            };
            module(&file)
        };
        let (conv, deconv, gdn) = (
            variant("conv.wgsl"),
            variant("deconv.wgsl"),
            variant("gdn.wgsl"),
        );
        let elementwise = module("elementwise.wgsl");
        let image = module("image.wgsl");
        let hyper = module("hyper_int.wgsl");
        let with_constants = |m: &wgpu::ShaderModule, entry: &str, constants: &[(&str, f64)]| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: m,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    ..Default::default()
                },
                cache: None,
            })
        };
        let pipeline = |m: &wgpu::ShaderModule, entry: &str| with_constants(m, entry, &[]);
        let one_group = |m: &wgpu::ShaderModule, entry: &str| {
            subgroups.then(|| with_constants(m, entry, &[("GROUPS", 1.0)]))
        };
        let kernels = Kernels {
            conv2d: pipeline(&conv, "conv2d"),
            conv_transpose2d: pipeline(&deconv, "conv_transpose2d"),
            conv2d_one_group: one_group(&conv, "conv2d"),
            conv_transpose2d_one_group: one_group(&deconv, "conv_transpose2d"),
            conv2d_k5s2: subgroups.then(|| {
                (
                    pipeline(&conv, "conv2d_k5s2"),
                    with_constants(&conv, "conv2d_k5s2", &[("GROUPS", 1.0)]),
                )
            }),
            conv_transpose2d_k5s2: subgroups.then(|| {
                (
                    pipeline(&deconv, "conv_transpose2d_k5s2"),
                    with_constants(&deconv, "conv_transpose2d_k5s2", &[("GROUPS", 1.0)]),
                )
            }),
            gdn_one_group: one_group(&gdn, "gdn"),
            gdn: pipeline(&gdn, "gdn"),
            scale_round: pipeline(&elementwise, "scale_round"),
            scale: pipeline(&elementwise, "scale"),
            rgba8_to_tensor: pipeline(&image, "rgba8_to_tensor"),
            tensor_to_rgba8: pipeline(&image, "tensor_to_rgba8"),
            int_conv: pipeline(&hyper, "int_conv"),
            int_conv_subgroup: subgroups.then(|| {
                let m = module("hyper_int_subgroup.wgsl");
                (pipeline(&m, "int_conv"), pipeline(&m, "int_conv_transpose"))
            }),
            scale_index: pipeline(&hyper, "scale_index"),
            subgroups,
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("compiling the WGSL kernels: {e}")));
        }
        Ok(kernels)
    }
}

/// The pipeline of a (transposed) convolution: the specialized 5x5/2 subgroup kernel where it
/// applies, with 4 output groups per invocation or `one` group for layers with fewer; else the
/// general kernel (the subgroup one with 4 groups, or the portable one).
fn pick_variant<'a>(
    general: &'a wgpu::ComputePipeline,
    one: &'a Option<wgpu::ComputePipeline>,
    k5s2: &'a Option<(wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    is_k5s2: bool,
    several: bool,
) -> &'a wgpu::ComputePipeline {
    match (k5s2, one) {
        (Some((four, _)), _) if is_k5s2 && several => four,
        (Some((_, one)), _) if is_k5s2 => one,
        (_, Some(one)) if !several => one,
        _ => general,
    }
}

impl Kernels {
    /// Whether conv2d and gdn run their subgroup variants.
    pub fn subgroups(&self) -> bool {
        self.subgroups
    }
}

/// The WGSL `Params` of shaders/conv_params.wgsl (conv, deconv and their subgroup variants).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ConvParams {
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

/// The WGSL `Params` of shaders/linear_params.wgsl (gdn, its subgroup variant, elementwise).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LinearParams {
    plane: u32,
    c4: u32,
    inverse: u32,
    row_pitch: u32,
}

/// The WGSL `Params` of shaders/image.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ImageParams {
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

/// The WGSL `Params` of shaders/hyper_params.wgsl (hyper_int and its subgroup variant).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct IntParams {
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
    act_max: i32,
    count: u32,
    n_thresholds: u32,
    blocks_per_residue: u32,
    rows_per_residue: u32,
    _pad: u32,
}

/// Buffers of one integer layer on the GPU.
pub(crate) struct IntConvBuffers<'a> {
    pub weights: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub shift: &'a wgpu::Buffer,
}

/// A convolution's geometry and flags, as the kernels need them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvShape {
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub transposed: bool,
    pub relu: bool,
    pub abs_input: bool,
}

fn dispatch(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    params: &[u8],
    bindings: &[(u32, &wgpu::Buffer)],
    groups: (usize, usize, usize),
) -> Result<()> {
    if groups.0 > MAX_GROUPS || groups.1 > MAX_GROUPS || groups.2 > MAX_GROUPS {
        return Err(Error::Limit {
            what: "workgroups per dispatch dimension",
            value: groups.0.max(groups.1).max(groups.2) as u64,
            limit: MAX_GROUPS as u64,
        });
    }
    if groups.0 == 0 || groups.1 == 0 || groups.2 == 0 {
        return Ok(());
    }
    // create + write_buffer, not create_buffer_init: that one panics on a lost device
    let uniform = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("params"),
        size: (params.len() as u64).next_multiple_of(16),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue.write_buffer(&uniform, 0, params);
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: uniform.as_entire_binding(),
    }];
    entries.extend(bindings.iter().map(|(binding, buf)| wgpu::BindGroupEntry {
        binding: *binding,
        resource: buf.as_entire_binding(),
    }));
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: None,
    });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, &bind_group, &[]);
    pass.dispatch_workgroups(groups.0 as u32, groups.1 as u32, groups.2 as u32);
    Ok(())
}

/// Workgroups for `n` invocations of a 64-wide 1-D kernel, folded into two dimensions when one is
/// not enough; returns the groups and the row pitch (invocations per row) the shader needs.
fn linear_groups(n: usize) -> ((usize, usize), u32) {
    let groups = n.div_ceil(LINEAR_WORKGROUP).max(1);
    let x = groups.min(MAX_GROUPS);
    let y = groups.div_ceil(x);
    ((x, y), (x * LINEAR_WORKGROUP) as u32)
}

impl Kernels {
    /// Records a convolution or transposed convolution of `input` into `output`.
    pub(crate) fn conv(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
        shape: ConvShape,
        weights: &wgpu::Buffer,
        bias: &wgpu::Buffer,
        output: &GpuTensor,
    ) -> Result<()> {
        let out_w = output.width;
        let mut blocks_per_residue = out_w.div_ceil(shape.stride).div_ceil(PX);
        let mut y_invocations = output.height;
        let mut rows_per_residue = 0;
        if shape.transposed && self.subgroups {
            // deconv_subgroup.wgsl: each workgroup inside one residue class of x and of y
            blocks_per_residue = blocks_per_residue.next_multiple_of(8);
            rows_per_residue = output.height.div_ceil(shape.stride).next_multiple_of(8);
            y_invocations = rows_per_residue * shape.stride;
        }
        let params = ConvParams {
            in_w: input.width as u32,
            in_h: input.height as u32,
            in_c4: input.groups() as u32,
            out_w: out_w as u32,
            out_h: output.height as u32,
            out_c4: output.groups() as u32,
            ksize: shape.kernel as u32,
            stride: shape.stride as u32,
            pad: shape.pad as u32,
            flags: u32::from(shape.relu) | (u32::from(shape.abs_input) << 1),
            blocks_per_residue: blocks_per_residue as u32,
            rows_per_residue: rows_per_residue as u32,
        };
        let several = self.subgroups && output.groups() >= SUBGROUP_OUTPUT_GROUPS;
        let k5s2 = shape.kernel == 5 && shape.stride == 2 && shape.pad == 2;
        let (pipeline, x_invocations) = match shape.transposed {
            true => (
                pick_variant(
                    &self.conv_transpose2d,
                    &self.conv_transpose2d_one_group,
                    &self.conv_transpose2d_k5s2,
                    k5s2,
                    several,
                ),
                blocks_per_residue * shape.stride,
            ),
            false => (
                pick_variant(
                    &self.conv2d,
                    &self.conv2d_one_group,
                    &self.conv2d_k5s2,
                    k5s2,
                    several,
                ),
                out_w.div_ceil(PX),
            ),
        };
        dispatch(
            ctx,
            encoder,
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (1, &input.buffer.buffer),
                (2, weights),
                (3, bias),
                (4, &output.buffer.buffer),
            ],
            (
                x_invocations.div_ceil(8),
                y_invocations.div_ceil(8),
                match several {
                    // conv_subgroup.wgsl and deconv_subgroup.wgsl: 4 output groups per invocation
                    true => output.groups().div_ceil(SUBGROUP_OUTPUT_GROUPS),
                    false => output.groups(),
                },
            ),
        )
    }

    /// Records GDN (or IGDN) of `input` into `output`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gdn(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
        beta: &wgpu::Buffer,
        gamma: &wgpu::Buffer,
        inverse: bool,
        output: &GpuTensor,
    ) -> Result<()> {
        let plane = input.height * input.width;
        // the subgroup kernel covers SUBGROUP_GDN_PIXELS pixels per invocation
        let pixels_per_invocation = if self.subgroups {
            SUBGROUP_GDN_PIXELS
        } else {
            1
        };
        let ((gx, gy), row_pitch) = linear_groups(plane.div_ceil(pixels_per_invocation));
        let params = LinearParams {
            plane: plane as u32,
            c4: input.groups() as u32,
            inverse: u32::from(inverse),
            row_pitch,
        };
        let several = self.subgroups && input.groups() >= SUBGROUP_OUTPUT_GROUPS;
        let (pipeline, z_groups) = match (&self.gdn_one_group, several) {
            (Some(one), false) => (one, input.groups()),
            (_, true) => (&self.gdn, input.groups().div_ceil(SUBGROUP_OUTPUT_GROUPS)),
            (None, false) => (&self.gdn, input.groups()),
        };
        dispatch(
            ctx,
            encoder,
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (1, &input.buffer.buffer),
                (2, beta),
                (3, gamma),
                (4, &output.buffer.buffer),
            ],
            (gx, gy, z_groups),
        )
    }

    /// Records `output = input * gain[c]`, rounded to integers if `round`.
    pub(crate) fn scale(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
        gain: &wgpu::Buffer,
        round: bool,
        output: &GpuTensor,
    ) -> Result<()> {
        let plane = input.height * input.width;
        let ((gx, gy), row_pitch) = linear_groups(plane);
        let params = LinearParams {
            plane: plane as u32,
            c4: input.groups() as u32,
            inverse: 0,
            row_pitch,
        };
        let pipeline = if round {
            &self.scale_round
        } else {
            &self.scale
        };
        dispatch(
            ctx,
            encoder,
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (1, &input.buffer.buffer),
                (2, gain),
                (3, &output.buffer.buffer),
            ],
            (gx, gy, input.groups()),
        )
    }

    /// Records RGBA8 pixels (`img_w` x `img_h`) to a replicate-padded 3-channel tensor.
    pub(crate) fn rgba8_to_tensor(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        rgba: &wgpu::Buffer,
        img_w: usize,
        img_h: usize,
        output: &GpuTensor,
    ) -> Result<()> {
        let params = ImageParams {
            img_w: img_w as u32,
            img_h: img_h as u32,
            tensor_w: output.width as u32,
            tensor_h: output.height as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        dispatch(
            ctx,
            encoder,
            &self.rgba8_to_tensor,
            bytemuck::bytes_of(&params),
            &[(1, rgba), (2, &output.buffer.buffer)],
            (output.width.div_ceil(8), output.height.div_ceil(8), 1),
        )
    }

    /// Records the `img_w` x `img_h` region at `(src_x, src_y)` of a 3-channel tensor to RGBA8
    /// pixels at `dst` = (x, y, row pitch in pixels) of `rgba`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tensor_to_rgba8(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
        (src_x, src_y): (usize, usize),
        img_w: usize,
        img_h: usize,
        rgba: &wgpu::Buffer,
        dst: (usize, usize, usize),
    ) -> Result<()> {
        if src_x + img_w > input.width || src_y + img_h > input.height {
            return Err(Error::InvalidArgument(format!(
                "region {img_w}x{img_h} at ({src_x}, {src_y}) outside a {}x{} tensor",
                input.width, input.height
            )));
        }
        let params = ImageParams {
            img_w: img_w as u32,
            img_h: img_h as u32,
            tensor_w: input.width as u32,
            tensor_h: input.height as u32,
            src_x: src_x as u32,
            src_y: src_y as u32,
            dst_x: dst.0 as u32,
            dst_y: dst.1 as u32,
            dst_pitch: dst.2 as u32,
            _pad: [0; 3],
        };
        dispatch(
            ctx,
            encoder,
            &self.tensor_to_rgba8,
            bytemuck::bytes_of(&params),
            &[(3, &input.buffer.buffer), (4, rgba)],
            (img_w.div_ceil(8), img_h.div_ceil(8), 1),
        )
    }

    /// Records one integer layer (hyper_int.wgsl `int_conv`) on CHW i32 buffers.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn int_conv(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        layer: &crate::hyper::IntConv,
        buffers: IntConvBuffers<'_>,
        input: &wgpu::Buffer,
        (in_h, in_w): (usize, usize),
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let (out_h, out_w) = layer.output_size(in_h, in_w);
        let mut params = IntParams {
            in_w: in_w as u32,
            in_h: in_h as u32,
            in_c: layer.in_channels as u32,
            out_w: out_w as u32,
            out_h: out_h as u32,
            out_c: layer.out_channels as u32,
            ksize: layer.kernel as u32,
            stride: layer.stride as u32,
            pad: layer.pad as u32,
            transposed: u32::from(layer.transposed),
            act_max: layer.act_max,
            ..bytemuck::Zeroable::zeroed()
        };
        let mut groups = (out_w.div_ceil(8), out_h.div_ceil(8));
        // hyper_int_subgroup.wgsl computes 4 output groups (16 channels) per invocation
        let z_groups = match self.int_conv_subgroup {
            Some(_) => layer.out_channels.div_ceil(4 * SUBGROUP_OUTPUT_GROUPS),
            None => layer.out_channels.div_ceil(4),
        };
        let pipeline = match &self.int_conv_subgroup {
            Some((conv, _)) if !layer.transposed => conv,
            Some((_, transposed)) => {
                // every workgroup inside one residue class of x and of y
                let per_x = out_w.div_ceil(layer.stride).next_multiple_of(8);
                let per_y = out_h.div_ceil(layer.stride).next_multiple_of(8);
                params.blocks_per_residue = per_x as u32;
                params.rows_per_residue = per_y as u32;
                groups = (per_x * layer.stride / 8, per_y * layer.stride / 8);
                transposed
            }
            None => &self.int_conv,
        };
        dispatch(
            ctx,
            encoder,
            pipeline,
            bytemuck::bytes_of(&params),
            &[
                (1, input),
                (2, buffers.weights),
                (3, buffers.bias),
                (4, buffers.shift),
                (5, output),
            ],
            (groups.0, groups.1, z_groups),
        )
    }

    /// Records hyper_int.wgsl `scale_index` over `count` i32 values.
    pub(crate) fn scale_index(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        values: &wgpu::Buffer,
        count: usize,
        thresholds: &wgpu::Buffer,
        n_thresholds: usize,
        indexes: &wgpu::Buffer,
    ) -> Result<()> {
        let ((gx, gy), row_pitch) = linear_groups(count);
        debug_assert!(gy == 1 || row_pitch as usize == MAX_GROUPS * LINEAR_WORKGROUP);
        let params = IntParams {
            count: count as u32,
            n_thresholds: n_thresholds as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        dispatch(
            ctx,
            encoder,
            &self.scale_index,
            bytemuck::bytes_of(&params),
            &[(1, values), (6, thresholds), (7, indexes)],
            (gx, gy, 1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (field, byte offset) of a params struct, padding fields left out: the struct is filled
    /// with word i = i and read back through its Debug output ("T { a: 0, b: 1, _pad: [2, 3] }"),
    /// so no field list is written a third time here.
    fn rust_layout<T: bytemuck::Pod + std::fmt::Debug>() -> Vec<(String, u32)> {
        let words: Vec<u32> = (0..(size_of::<T>() / 4) as u32).collect();
        let value: T = bytemuck::pod_read_unaligned(bytemuck::cast_slice(&words));
        let text = format!("{value:?}");
        let body = text.split_once('{').unwrap().1.trim_end_matches('}');
        body.split(", ")
            .filter_map(|field| field.trim().split_once(": "))
            .filter(|(name, _)| !name.starts_with('_'))
            .map(|(name, word)| (name.to_string(), 4 * word.trim().parse::<u32>().unwrap()))
            .collect()
    }

    /// (member, byte offset) of the struct `Params` of a shader as naga lays it out, padding
    /// members left out, and its size.
    fn wgsl_layout(file: &str) -> (Vec<(String, u32)>, u32) {
        let module = naga::front::wgsl::parse_str(&source(file)).unwrap();
        let (members, span) = module
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(name), naga::TypeInner::Struct { members, span }) if name == "Params" => {
                    Some((members.clone(), *span))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{file}: no struct Params"));
        let named = members
            .iter()
            .filter_map(|m| Some((m.name.clone()?, m.offset)))
            .filter(|(name, _)| !name.starts_with('_'))
            .collect();
        (named, span)
    }

    fn assert_same_layout<T: bytemuck::Pod + std::fmt::Debug>(files: &[&str]) {
        for file in files {
            let (members, span) = wgsl_layout(file);
            assert_eq!(
                members,
                rust_layout::<T>(),
                "{file} vs {}",
                std::any::type_name::<T>()
            );
            assert_eq!(span as usize, size_of::<T>(), "{file}: size");
        }
    }

    #[test]
    fn params_structs_match_their_shaders() {
        assert_same_layout::<ConvParams>(&[
            "conv.wgsl",
            "deconv.wgsl",
            "conv_subgroup.wgsl",
            "deconv_subgroup.wgsl",
        ]);
        assert_same_layout::<LinearParams>(&["gdn.wgsl", "gdn_subgroup.wgsl", "elementwise.wgsl"]);
        assert_same_layout::<ImageParams>(&["image.wgsl"]);
        assert_same_layout::<IntParams>(&["hyper_int.wgsl", "hyper_int_subgroup.wgsl"]);
    }
}
