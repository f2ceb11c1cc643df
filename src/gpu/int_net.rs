//! The integer networks on the GPU (`shaders/int_conv.wgsl`), bit-identical to their CPU twins
//! (`crate::cpu::int_hyper_features`, `crate::cpu::int_entropy_parameters`).

use super::kernels::{ContextBuffers, ContextParams, IntConvBuffers, Recorder};
use super::memory::GpuBuffer;
use super::network::pack4;
use super::timer::{host_stage, Probe};
use super::GpuContext;
use crate::error::Result;
use crate::model::{EntropyParams, IntContext, IntConv, IntHyperSynthesis};

/// Integer weights as int_conv.wgsl reads them: `[out / 4][in][ky][kx]` x 4 lanes (lane = out % 4),
/// zero for output channels beyond the layer's.
pub fn pack_int_weights(l: &IntConv) -> Vec<[i32; 4]> {
    let k = l.geometry.kernel;
    let mut out = Vec::with_capacity(l.out_channels.div_ceil(4) * l.in_channels * k * k);
    for o4 in 0..l.out_channels.div_ceil(4) {
        for i in 0..l.in_channels {
            for ky in 0..k {
                for kx in 0..k {
                    out.push(std::array::from_fn(|lane| {
                        let o = o4 * 4 + lane;
                        if o < l.out_channels {
                            l.w(o, i, ky, kx)
                        } else {
                            0
                        }
                    }));
                }
            }
        }
    }
    out
}

/// One integer layer's buffers on the GPU, and its name in timings.
struct GpuIntConv {
    layer: IntConv,
    label: String,
    weights: GpuBuffer,
    bias: GpuBuffer,
    shift: GpuBuffer,
}

impl GpuIntConv {
    fn new(ctx: &GpuContext, layer: &IntConv, name: &str) -> Result<GpuIntConv> {
        let g = layer.geometry;
        let label = format!(
            "{name} int {}{}x{}/{} {}->{}",
            if g.transposed { "deconv" } else { "conv" },
            g.kernel,
            g.kernel,
            g.stride,
            layer.in_channels,
            layer.out_channels
        );
        Ok(GpuIntConv {
            layer: layer.clone(),
            label,
            weights: ctx.upload("int weights", &pack_int_weights(layer))?,
            bias: ctx.upload("int bias", &pack4(&layer.bias, 0))?,
            shift: ctx.upload("int shift", &pack4(&layer.shift, 0))?,
        })
    }

    /// Records this layer on `input` (`h` x `w`) into a new buffer; returns it and its size.
    fn run(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        (probe, stage): (Option<&Probe>, &str),
        input: &wgpu::Buffer,
        (h, w): (usize, usize),
    ) -> Result<(GpuBuffer, (usize, usize))> {
        let (oh, ow) = self.layer.output_size(h, w);
        let bytes = (self.layer.out_channels * oh * ow * 4) as u64;
        let out = ctx.storage_buffer("int activations", bytes)?;
        let buffers = IntConvBuffers {
            weights: &self.weights.buffer,
            bias: &self.bias.buffer,
            shift: &self.shift.buffer,
        };
        let record =
            |rec: &mut Recorder<'_>| rec.int_conv(&self.layer, buffers, input, (h, w), &out.buffer);
        match probe {
            None => record(&mut ctx.recorder(encoder))?,
            Some(p) => {
                let name = format!("{stage}{}", self.label);
                p.gpu(ctx, &name, self.layer.macs(oh, ow), record)?
            }
        }
        Ok((out, (oh, ow)))
    }
}

/// The context model's per-channel networks as int_context.wgsl reads them: one record per
/// channel of y (see the shader's header for the layout).
pub fn pack_context(net: &IntContext) -> Vec<i32> {
    let m = net.context.out_channels;
    let hidden = net.hidden();
    let mut out = Vec::new();
    for c in 0..m {
        for conv in [&net.context, &net.magnitude] {
            let k = conv.geometry.kernel;
            for ky in 0..k {
                for kx in 0..k {
                    out.push(conv.w(c, 0, ky, kx));
                }
            }
            out.push(conv.bias[c]);
            out.push(conv.shift[c] as i32);
        }
        for (layer, outputs, inputs) in [(&net.fusion[0], hidden, 3), (&net.fusion[1], 2, hidden)] {
            let o = |j: usize| c * outputs + j;
            for j in 0..outputs {
                out.extend((0..inputs).map(|i| layer.w(o(j), i, 0, 0)));
            }
            out.extend((0..outputs).map(|j| layer.bias[o(j)]));
            out.extend((0..outputs).map(|j| layer.shift[o(j)] as i32));
        }
    }
    out
}

/// The context model on the GPU: its packed networks.
struct GpuContextNets {
    net: IntContext,
    packed: GpuBuffer,
}

/// The h_s output of one picture, kept on the GPU between the passes.
pub struct GpuHyper {
    buffer: GpuBuffer,
    /// Its height and width (those of y).
    pub size: (usize, usize),
}

/// The model's integer networks uploaded to the GPU: the hyper-synthesis and, for the context
/// model, the context and entropy-parameter network.
pub struct GpuIntNetworks {
    hyper: IntHyperSynthesis,
    h_s: Vec<GpuIntConv>,
    thresholds: GpuBuffer,
    context: Option<GpuContextNets>,
}

impl GpuIntNetworks {
    /// Uploads the integer networks.
    pub fn new(
        ctx: &GpuContext,
        hyper: &IntHyperSynthesis,
        context: Option<&IntContext>,
    ) -> Result<GpuIntNetworks> {
        let h_s = hyper
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| GpuIntConv::new(ctx, l, &format!("h_s.{}", 2 * i)))
            .collect::<Result<_>>()?;
        let context = match context {
            None => None,
            Some(c) => Some(GpuContextNets {
                net: c.clone(),
                packed: ctx.upload("context networks", &pack_context(c))?,
            }),
        };
        Ok(GpuIntNetworks {
            hyper: hyper.clone(),
            h_s,
            thresholds: ctx.upload("thresholds", &hyper.thresholds)?,
            context,
        })
    }

    /// Scale-table indexes of y from the z symbols (N x h x w, CHW) with the scale hyperprior,
    /// bit-identical to [`crate::cpu::int_hyper_synthesis`].
    pub fn run(&self, ctx: &GpuContext, symbols: &[i32], h: usize, w: usize) -> Result<Vec<u8>> {
        let hyper = self.hyper(ctx, symbols, (h, w), None)?;
        Ok(self.parameters(ctx, &hyper, None, None, 1)?.indexes)
    }

    /// Runs h_s on the z symbols (N x h x w) and keeps its output on the GPU.
    pub fn hyper(
        &self,
        ctx: &GpuContext,
        symbols: &[i32],
        (h, w): (usize, usize),
        probe: Option<&Probe>,
    ) -> Result<GpuHyper> {
        let input = self.hyper.input(symbols, h * w);
        let mut current = ctx.upload("int input", &input)?;
        let mut size = (h, w);
        let mut encoder = ctx.encoder("int h_s");
        let mut keep = Vec::new();
        for layer in &self.h_s {
            let (out, out_size) =
                layer.run(ctx, &mut encoder, (probe, ""), &current.buffer, size)?;
            keep.push(std::mem::replace(&mut current, out));
            size = out_size;
        }
        ctx.submit(encoder);
        drop(keep);
        Ok(GpuHyper {
            buffer: current,
            size,
        })
    }

    /// The table indexes and means of every element of y: from the h_s output alone (the scale
    /// hyperprior, or the checkerboard's first pass when `context_input` is `None`), or with the
    /// context of the decoded anchors (`context_input`: M x h x w, see
    /// [`IntContext::context_input`]). `pass` (1 or 2) names the stages in the probe.
    pub fn parameters(
        &self,
        ctx: &GpuContext,
        hyper: &GpuHyper,
        context_input: Option<&[i32]>,
        probe: Option<&Probe>,
        pass: usize,
    ) -> Result<EntropyParams> {
        let (h, w) = hyper.size;
        let count = self.hyper.out_channels() * h * w;
        let bytes = (count * 4) as u64;
        let indexes = ctx.storage_buffer("scale indexes", bytes)?;
        let Some(c) = &self.context else {
            let lookup = |rec: &mut Recorder<'_>| {
                rec.scale_index(
                    &hyper.buffer.buffer,
                    count,
                    (&self.thresholds.buffer, self.hyper.thresholds.len()),
                    &indexes.buffer,
                )
            };
            match probe {
                None => ctx.run("scale indexes", lookup)?,
                Some(p) => p.gpu(ctx, "scale indexes", 0, lookup)?,
            }
            let raw = host_stage(probe, "readback indexes", || {
                ctx.read_buffer(&indexes.buffer, bytes)
            })?;
            // indexes are < 256 (at most 256 tables): the low byte of each little-endian u32
            let indexes = raw.chunks_exact(4).map(|b| b[0]).collect();
            return Ok(EntropyParams {
                indexes,
                means: Vec::new(),
            });
        };
        let stage = format!("pass {pass}: ");
        let input = match context_input {
            None => None,
            Some(input) => Some(host_stage(
                probe,
                &format!("{stage}upload context input"),
                || ctx.upload("context input", input),
            )?),
        };
        let means = ctx.storage_buffer("means", bytes)?;
        let net = &c.net;
        let params = ContextParams {
            width: w as u32,
            height: h as u32,
            ksize: net.context.geometry.kernel as u32,
            pad: net.context.geometry.pad as u32,
            hidden: net.hidden() as u32,
            record: (pack_context(net).len() / net.context.out_channels) as u32,
            second_pass: u32::from(input.is_some()),
            count: count as u32,
            n_thresholds: self.hyper.thresholds.len() as u32,
            input_max: IntContext::input_max(),
            context_max: net.context.act_max,
            magnitude_max: net.magnitude.act_max,
            hidden_max: net.fusion[0].act_max,
            out_max: net.fusion[1].act_max,
            ..Default::default()
        };
        let buffers = ContextBuffers {
            hyper: &hyper.buffer.buffer,
            // the first pass reads no context input: any buffer fills the binding
            context_in: input.as_ref().map_or(&hyper.buffer.buffer, |b| &b.buffer),
            net: &c.packed.buffer,
            thresholds: &self.thresholds.buffer,
            indexes: &indexes.buffer,
            means: &means.buffer,
        };
        let record = |rec: &mut Recorder<'_>| rec.checkerboard_parameters(params, buffers);
        let name = format!("{stage}context + entropy parameters (int)");
        let macs = (count * (2 * net.context.geometry.kernel.pow(2) + 5 * net.hidden())) as u64;
        match probe {
            None => ctx.run("entropy parameters", record)?,
            Some(p) => p.gpu(ctx, &name, macs, record)?,
        }
        host_stage(probe, &format!("{stage}readback indexes and means"), || {
            let raw = ctx.read_buffer(&indexes.buffer, bytes)?;
            let indexes = raw.chunks_exact(4).map(|b| b[0]).collect();
            let means = bytemuck::pod_collect_to_vec(&ctx.read_buffer(&means.buffer, bytes)?);
            Ok(EntropyParams { indexes, means })
        })
    }
}
