//! The integer networks on the GPU (`shaders/int_conv.wgsl`), bit-identical to their CPU twins
//! (`crate::cpu::int_hyper_features`, `crate::cpu::int_entropy_parameters`).

use super::kernels::{IntConvBuffers, Recorder};
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

/// The context and entropy-parameter network on the GPU.
struct GpuContextNets {
    net: IntContext,
    context: GpuIntConv,
    fusion: Vec<GpuIntConv>,
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
                context: GpuIntConv::new(ctx, &c.context, "context")?,
                fusion: c
                    .fusion
                    .iter()
                    .enumerate()
                    .map(|(i, l)| GpuIntConv::new(ctx, l, &format!("entropy_parameters.{}", 2 * i)))
                    .collect::<Result<_>>()?,
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
        let stage = match self.context {
            Some(_) => format!("pass {pass}: "),
            None => String::new(),
        };
        let (h, w) = hyper.size;
        let plane = h * w;
        let m = self.hyper.out_channels();
        let mut encoder = ctx.encoder("entropy parameters");
        let mut keep = Vec::new();
        // what the scale indexes are read from: h_s's output, or the fusion's first M channels
        let scales = match &self.context {
            None => &hyper.buffer,
            Some(c) => {
                let ctx_channels = c.net.context_channels();
                let joint_bytes = ((m + ctx_channels) * plane * 4) as u64;
                let joint = ctx.storage_buffer("h_s output + context", joint_bytes)?;
                let hyper_bytes = (m * plane * 4) as u64;
                let context_bytes = (ctx_channels * plane * 4) as u64;
                let context_out = match context_input {
                    None => None,
                    Some(input) => {
                        let upload = format!("{stage}upload context input");
                        let input =
                            host_stage(probe, &upload, || ctx.upload("context input", input))?;
                        let at = (probe, stage.as_str());
                        let (out, _) =
                            c.context
                                .run(ctx, &mut encoder, at, &input.buffer, (h, w))?;
                        keep.push(input);
                        Some(out)
                    }
                };
                let gather = |rec: &mut Recorder<'_>| {
                    let e = &mut *rec.encoder;
                    e.copy_buffer_to_buffer(&hyper.buffer.buffer, 0, &joint.buffer, 0, hyper_bytes);
                    match &context_out {
                        Some(out) => e.copy_buffer_to_buffer(
                            &out.buffer,
                            0,
                            &joint.buffer,
                            hyper_bytes,
                            context_bytes,
                        ),
                        None => e.clear_buffer(&joint.buffer, hyper_bytes, Some(context_bytes)),
                    }
                    Ok(())
                };
                match probe {
                    None => gather(&mut ctx.recorder(&mut encoder))?,
                    Some(p) => p.gpu(
                        ctx,
                        &format!("{stage}gather h_s output + context"),
                        0,
                        gather,
                    )?,
                }
                keep.extend(context_out);
                let mut current = joint;
                for layer in &c.fusion {
                    let at = (probe, stage.as_str());
                    let (out, _) = layer.run(ctx, &mut encoder, at, &current.buffer, (h, w))?;
                    keep.push(std::mem::replace(&mut current, out));
                }
                keep.push(current);
                keep.last().map(|b| b as &GpuBuffer).expect("just pushed")
            }
        };
        let count = m * plane;
        let indexes = ctx.storage_buffer("scale indexes", (count * 4) as u64)?;
        let lookup = |rec: &mut Recorder<'_>| {
            rec.scale_index(
                &scales.buffer,
                count,
                (&self.thresholds.buffer, self.hyper.thresholds.len()),
                &indexes.buffer,
            )
        };
        match probe {
            None => lookup(&mut ctx.recorder(&mut encoder))?,
            Some(p) => p.gpu(ctx, &format!("{stage}scale indexes"), 0, lookup)?,
        }
        ctx.submit(encoder);
        let readback = format!("{stage}readback indexes and means");
        let params = host_stage(probe, &readback, || {
            let bytes = ctx.read_buffer(&indexes.buffer, (count * 4) as u64)?;
            // indexes are < 256 (at most 256 tables): the low byte of each little-endian u32
            let indexes = bytes.chunks_exact(4).map(|b| b[0]).collect();
            let means = match self.context {
                None => Vec::new(),
                Some(_) => {
                    let at = (count * 4) as u64;
                    let raw = ctx.read_buffer_at(&scales.buffer, at, at)?;
                    bytemuck::pod_collect_to_vec(&raw)
                }
            };
            Ok(EntropyParams { indexes, means })
        })?;
        drop(keep);
        Ok(params)
    }
}
