//! The compiled WGSL kernels, one module per shader family (each owns its `Params` struct, its
//! pipelines and the choice between the portable and the subgroup variant), and the
//! [`Recorder`] that records their dispatches into a command encoder.

mod conv;
mod gdn;
mod image;
mod int_context;
mod int_conv;
mod latent_search;

pub(crate) use conv::ConvShape;
pub(crate) use image::PixelTarget;
pub(crate) use int_context::{ContextBuffers, ContextParams};
pub(crate) use int_conv::IntConvBuffers;
pub(crate) use latent_search::{SearchBuffers, SearchParams};

use crate::error::{Error, Result};

/// Largest workgroup count per dispatch dimension that every adapter allows.
const MAX_GROUPS: usize = 65535;
/// Invocations per workgroup of the 1-D kernels (gdn, scale_index): their `@workgroup_size(64)`.
const LINEAR_WORKGROUP: usize = 64;
/// Side of the 2-D workgroups (`@workgroup_size(8, 8)`), and the subgroup kernels' 64
/// invocations laid out as 8 x 8 pixels.
const TILE: usize = 8;
/// Output channel groups per invocation in the `_subgroup.wgsl` kernels (conv, deconv, gdn,
/// int_conv).
const SUBGROUP_OUTPUT_GROUPS: usize = 4;

/// Compute pipelines of every kernel family, compiled once per context.
pub struct Kernels {
    conv: conv::ConvKernels,
    gdn: gdn::GdnKernels,
    image: image::ImageKernels,
    int_conv: int_conv::IntConvKernels,
    int_context: int_context::IntContextKernels,
    search: latent_search::SearchKernels,
    subgroups: bool,
}

/// Compiles the entry points of shader files, with pipeline-overridable constants.
struct Compiler<'a> {
    device: &'a wgpu::Device,
}

impl Compiler<'_> {
    fn module(&self, file: &str) -> wgpu::ShaderModule {
        self.device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(file),
                source: wgpu::ShaderSource::Wgsl(super::shaders::source(file).into()),
            })
    }

    fn pipeline(
        &self,
        module: &wgpu::ShaderModule,
        entry: &str,
        constants: &[(&str, f64)],
    ) -> wgpu::ComputePipeline {
        self.device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    ..Default::default()
                },
                cache: None,
            })
    }
}

impl Kernels {
    /// Compiles every kernel; with `subgroups`, the `_subgroup` variants too (the device must have
    /// `Features::SUBGROUP` and subgroups of at least 8 invocations).
    pub(crate) async fn new(device: &wgpu::Device, subgroups: bool) -> Result<Kernels> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let c = Compiler { device };
        let kernels = Kernels {
            conv: conv::ConvKernels::new(&c, subgroups),
            gdn: gdn::GdnKernels::new(&c, subgroups),
            image: image::ImageKernels::new(&c),
            int_conv: int_conv::IntConvKernels::new(&c, subgroups),
            int_context: int_context::IntContextKernels::new(&c),
            search: latent_search::SearchKernels::new(&c),
            subgroups,
        };
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(format!("compiling the WGSL kernels: {e}")));
        }
        Ok(kernels)
    }

    /// Whether the subgroup variants run.
    pub fn subgroups(&self) -> bool {
        self.subgroups
    }
}

/// Records kernel dispatches into a command encoder. Each kernel family adds its methods (see
/// `conv.rs`, `gdn.rs`, `image.rs`, `int_conv.rs`, `int_context.rs`).
pub(crate) struct Recorder<'a> {
    pub device: &'a wgpu::Device,
    pub queue: &'a wgpu::Queue,
    pub encoder: &'a mut wgpu::CommandEncoder,
    pub kernels: &'a Kernels,
    /// Where a timed stage's passes write their timestamps: query 0 when the first pass begins,
    /// query 1 when each ends (the last one's stays).
    pub timestamps: Option<&'a wgpu::QuerySet>,
    /// Compute passes recorded so far.
    pub passes: u32,
}

impl Recorder<'_> {
    /// One compute pass: `params` at binding 0 and `bindings`, all storage buffers. The params
    /// are a read-only storage buffer, not a uniform one: on Mesa 22.3's lavapipe a new uniform
    /// buffer per dispatch leaked about 1.9 MB of host memory per encode or decode of a small
    /// picture (benches/soak.rs at 64x64; probably its shader variants for inlined uniforms),
    /// and a storage buffer does not. Every WGSL file declares `p` as `var<storage, read>`.
    fn dispatch(
        &mut self,
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
        let params_buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: (params.len() as u64).next_multiple_of(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&params_buffer, 0, params);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params_buffer.as_entire_binding(),
        }];
        entries.extend(bindings.iter().map(|(binding, buf)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: buf.as_entire_binding(),
        }));
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let timestamp_writes = self
            .timestamps
            .map(|query_set| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: (self.passes == 0).then_some(0),
                end_of_pass_write_index: Some(1),
            });
        self.passes += 1;
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes,
            });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0 as u32, groups.1 as u32, groups.2 as u32);
        Ok(())
    }
}

/// Workgroups for `n` invocations of a 64-wide 1-D kernel, folded into two dimensions when one is
/// not enough; returns the groups and the row pitch (invocations per row) the shader needs.
fn linear_groups(n: usize) -> ((usize, usize), u32) {
    let groups = n.div_ceil(LINEAR_WORKGROUP).max(1);
    let x = groups.min(MAX_GROUPS);
    let y = groups.div_ceil(x);
    ((x, y), (x * LINEAR_WORKGROUP) as u32)
}

#[cfg(test)]
mod tests;
