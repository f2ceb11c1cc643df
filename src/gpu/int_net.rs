//! The integer networks on the GPU (`shaders/int_conv.wgsl`), bit-identical to their CPU twins
//! (`crate::cpu::int_hyper_features`, `crate::cpu::int_entropy_parameters`).

use super::kernels::{ContextBuffers, ContextParams, IntConvBuffers, Recorder};
use super::memory::GpuBuffer;
use super::network::pack4;
use super::timer::{host_stage, host_stage_async, Probe};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::model::{EntropyParams, IntContext, IntConv, IntHyperSynthesis};
use crate::tiling::{self, plan_span};

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
    async fn run(
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
                p.gpu(ctx, &name, self.layer.macs(oh, ow), record).await?
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
        for fusion in [&net.anchor_fusion, &net.fusion] {
            for (layer, outputs, inputs) in [(&fusion[0], hidden, 3), (&fusion[1], 2, hidden)] {
                let o = |j: usize| c * outputs + j;
                for j in 0..outputs {
                    out.extend((0..inputs).map(|i| layer.w(o(j), i, 0, 0)));
                }
                out.extend((0..outputs).map(|j| layer.bias[o(j)]));
                out.extend((0..outputs).map(|j| layer.shift[o(j)] as i32));
            }
        }
    }
    out
}

/// The context model on the GPU: its packed networks, `record` i32 per channel.
struct GpuContextNets {
    net: IntContext,
    packed: GpuBuffer,
    record: usize,
}

/// The h_s output of one picture (one feature per element of y, CHW) and its height and width
/// (those of y): kept on the host between the passes, uploaded in channel chunks.
pub type HyperFeatures = (Vec<i32>, (usize, usize));

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
            Some(c) => {
                let packed = pack_context(c);
                Some(GpuContextNets {
                    net: c.clone(),
                    record: packed.len() / c.context.out_channels,
                    packed: ctx.upload("context networks", &packed)?,
                })
            }
        };
        Ok(GpuIntNetworks {
            hyper: hyper.clone(),
            h_s,
            thresholds: ctx.upload("thresholds", &hyper.thresholds)?,
            context,
        })
    }

    /// Scale-table indexes of y from the z symbols (N x `h` x `w`, CHW) with the scale
    /// hyperprior, bit-identical to [`crate::cpu::int_hyper_synthesis`].
    pub async fn run_async(
        &self,
        ctx: &GpuContext,
        symbols: &[i32],
        (h, w): (usize, usize),
    ) -> Result<Vec<u8>> {
        let hyper = self.hyper(ctx, symbols, (h, w), None, u64::MAX).await?;
        let params = self.parameters(ctx, &hyper, None, (None, 1), u64::MAX);
        Ok(params.await?.indexes)
    }

    /// GPU bytes h_s needs on z of `h` x `w` in bands of `rows` output rows, for the band with
    /// the most input rows: its input, every layer's output (all alive until the band is
    /// submitted) and the readback copy of its rows.
    fn band_bytes(&self, (h, w): (usize, usize), rows: usize) -> u64 {
        let layers: Vec<_> = self.h_s.iter().map(|l| Some(l.layer.geometry)).collect();
        let (out_h, _) = self.output_size((h, w));
        let in_rows = tiling::spans(out_h, rows)
            .into_iter()
            .map(|band| {
                let ((a, b), _) = plan_span(&layers, h, band);
                b - a
            })
            .max()
            .unwrap_or(0);
        let mut size = (in_rows, w);
        let mut bytes = (self.hyper.in_channels() * in_rows * w * 4) as u64;
        for layer in &self.h_s {
            size = layer.layer.output_size(size.0, size.1);
            bytes += (layer.layer.out_channels * size.0 * size.1 * 4) as u64;
        }
        bytes + (self.hyper.out_channels() * rows * size.1 * 4) as u64
    }

    /// GPU bytes [`GpuIntNetworks::parameters`] needs per channel of y (`h` x `w`): the h_s
    /// output, the context input, indexes, means, and a readback copy.
    fn channel_bytes((h, w): (usize, usize)) -> u64 {
        (5 * h * w * 4) as u64
    }

    /// The size of h_s's output (that of y) on z of `h` x `w`.
    fn output_size(&self, (h, w): (usize, usize)) -> (usize, usize) {
        self.h_s
            .iter()
            .fold((h, w), |size, l| l.layer.output_size(size.0, size.1))
    }

    /// The least GPU memory (besides what is held already) the integer networks run in on z of
    /// `h` x `w`: h_s one row at a time, the parameters one channel at a time.
    pub fn smallest_memory(&self, z: (usize, usize)) -> u64 {
        self.band_bytes(z, 1)
            .max(Self::channel_bytes(self.output_size(z)))
    }

    /// Runs h_s on the z symbols (N x h x w) in bands of rows whose GPU buffers fit `memory`
    /// (with halos, so the result equals an untiled run).
    pub async fn hyper(
        &self,
        ctx: &GpuContext,
        symbols: &[i32],
        (h, w): (usize, usize),
        probe: Option<&Probe>,
        memory: u64,
    ) -> Result<HyperFeatures> {
        let layers: Vec<_> = self.h_s.iter().map(|l| Some(l.layer.geometry)).collect();
        let (out_h, out_w) = self.output_size((h, w));
        // the most output rows per band that fit
        let mut rows = out_h.max(1);
        loop {
            let need = self.band_bytes((h, w), rows);
            if need <= memory {
                break;
            }
            if rows == 1 {
                return Err(Error::Limit {
                    what: "GPU memory needed for one row of the hyper-synthesis (bytes)",
                    value: need + ctx.memory_in_use(),
                    limit: memory + ctx.memory_in_use(),
                });
            }
            rows = rows.div_ceil(2);
        }
        let m = self.hyper.out_channels();
        let mut features = vec![0i32; m * out_h * out_w];
        for (r0, r1) in tiling::spans(out_h, rows) {
            let ((a, b), offset) = plan_span(&layers, h, (r0, r1));
            let band: Vec<i32> = (0..self.hyper.in_channels())
                .flat_map(|c| &symbols[c * h * w + a * w..c * h * w + b * w])
                .copied()
                .collect();
            let input = self.hyper.input(&band, (b - a) * w);
            let mut current = ctx.upload("int input", &input)?;
            let mut size = (b - a, w);
            let mut encoder = ctx.encoder("int h_s");
            let mut keep = Vec::new();
            for layer in &self.h_s {
                let (out, out_size) = layer
                    .run(ctx, &mut encoder, (probe, ""), &current.buffer, size)
                    .await?;
                keep.push(std::mem::replace(&mut current, out));
                size = out_size;
            }
            ctx.submit(encoder);
            drop(keep);
            let bytes = (m * size.0 * size.1 * 4) as u64;
            let raw = host_stage_async(
                probe,
                "readback h_s output",
                ctx.read_buffer(&current.buffer, bytes),
            )
            .await?;
            let band_out: Vec<i32> = bytemuck::pod_collect_to_vec(&raw);
            let plane = size.0 * size.1;
            for c in 0..m {
                let src = c * plane + offset * out_w;
                let dst = c * out_h * out_w + r0 * out_w;
                let len = (r1 - r0) * out_w;
                features[dst..dst + len].copy_from_slice(&band_out[src..src + len]);
            }
        }
        Ok((features, (out_h, out_w)))
    }

    /// The table indexes and means of every element of y: from the h_s output alone (the scale
    /// hyperprior, or the checkerboard's first pass when `context_input` is `None`), or with the
    /// context of the decoded anchors (`context_input`: M x h x w, see
    /// [`IntContext::context_input`]). `pass` (1 or 2) names the stages in the probe; `memory`
    /// bounds the GPU memory allocated (the work goes in chunks of channels).
    pub async fn parameters(
        &self,
        ctx: &GpuContext,
        (hyper, (h, w)): &HyperFeatures,
        context_input: Option<&[i32]>,
        (probe, pass): (Option<&Probe>, usize),
        memory: u64,
    ) -> Result<EntropyParams> {
        let (h, w) = (*h, *w);
        let m = self.hyper.out_channels();
        let plane = h * w;
        let per_channel = Self::channel_bytes((h, w));
        if per_channel > memory {
            return Err(Error::Limit {
                what: "GPU memory needed for one channel of the entropy parameters (bytes)",
                value: per_channel + ctx.memory_in_use(),
                limit: memory + ctx.memory_in_use(),
            });
        }
        let chunk = ((memory / per_channel.max(1)) as usize).clamp(1, m.max(1));
        let count = m * plane;
        let mut out = EntropyParams {
            indexes: Vec::with_capacity(count),
            means: Vec::with_capacity(if self.context.is_some() { count } else { 0 }),
        };
        for first in (0..m).step_by(chunk) {
            let channels = chunk.min(m - first);
            let span = first * plane..(first + channels) * plane;
            let hyper = ctx.upload("h_s output", &hyper[span.clone()])?;
            match &self.context {
                None => {
                    self.scale_indexes(ctx, &hyper, span.len(), probe, &mut out)
                        .await?
                }
                Some(c) => {
                    let chunk = ContextChunk {
                        first,
                        span: span.clone(),
                        size: (h, w),
                        pass,
                    };
                    self.context_parameters(ctx, c, &hyper, context_input, chunk, probe, &mut out)
                        .await?
                }
            }
        }
        Ok(out)
    }

    /// The scale hyperprior's table indexes of `count` elements whose h_s output is in `hyper`.
    async fn scale_indexes(
        &self,
        ctx: &GpuContext,
        hyper: &GpuBuffer,
        count: usize,
        probe: Option<&Probe>,
        out: &mut EntropyParams,
    ) -> Result<()> {
        let bytes = (count * 4) as u64;
        let indexes = ctx.storage_buffer("scale indexes", bytes)?;
        let lookup = |rec: &mut Recorder<'_>| {
            rec.scale_index(
                &hyper.buffer,
                count,
                (&self.thresholds.buffer, self.hyper.thresholds.len()),
                &indexes.buffer,
            )
        };
        match probe {
            None => ctx.run("scale indexes", lookup)?,
            Some(p) => p.gpu(ctx, "scale indexes", 0, lookup).await?,
        }
        let readback = ctx.read_buffer(&indexes.buffer, bytes);
        let raw = host_stage_async(probe, "readback indexes", readback).await?;
        // indexes are < 256 (at most 256 tables): the low byte of each little-endian u32
        out.indexes.extend(raw.chunks_exact(4).map(|b| b[0]));
        Ok(())
    }

    /// The context model's table indexes and means of one chunk of channels.
    #[allow(clippy::too_many_arguments)]
    async fn context_parameters(
        &self,
        ctx: &GpuContext,
        c: &GpuContextNets,
        hyper: &GpuBuffer,
        context_input: Option<&[i32]>,
        chunk: ContextChunk,
        probe: Option<&Probe>,
        out: &mut EntropyParams,
    ) -> Result<()> {
        let ContextChunk {
            first,
            span,
            size: (h, w),
            pass,
        } = chunk;
        let stage = format!("pass {pass}: ");
        let net = &c.net;
        let elements = span.len();
        let bytes = (elements * 4) as u64;
        let input = match context_input {
            None => None,
            Some(input) => Some(host_stage(
                probe,
                &format!("{stage}upload context input"),
                || ctx.upload("context input", &input[span]),
            )?),
        };
        let indexes = ctx.storage_buffer("scale indexes", bytes)?;
        let means = ctx.storage_buffer("means", bytes)?;
        let params = ContextParams {
            width: w as u32,
            height: h as u32,
            ksize: net.context.geometry.kernel as u32,
            pad: net.context.geometry.pad as u32,
            hidden: net.hidden() as u32,
            record: c.record as u32,
            second_pass: u32::from(input.is_some()),
            count: elements as u32,
            n_thresholds: self.hyper.thresholds.len() as u32,
            input_max: IntContext::input_max(),
            context_max: net.context.act_max,
            magnitude_max: net.magnitude.act_max,
            hidden_max: net.fusion[0].act_max,
            out_max: net.fusion[1].act_max,
            first_channel: first as u32,
            ..Default::default()
        };
        let buffers = ContextBuffers {
            hyper: &hyper.buffer,
            // the first pass reads no context input: any buffer fills the binding
            context_in: input.as_ref().map_or(&hyper.buffer, |b| &b.buffer),
            net: &c.packed.buffer,
            thresholds: &self.thresholds.buffer,
            indexes: &indexes.buffer,
            means: &means.buffer,
        };
        let record = |rec: &mut Recorder<'_>| rec.checkerboard_parameters(params, buffers);
        let name = format!("{stage}context + entropy parameters (int)");
        // half the elements are this pass's; the two context convolutions read the anchors
        // among the taps, about half of them
        let taps = net.context.geometry.kernel.pow(2);
        let context_macs = if pass == 2 { taps } else { 0 };
        let macs = (elements / 2 * (context_macs + 5 * net.hidden())) as u64;
        match probe {
            None => ctx.run("entropy parameters", record)?,
            Some(p) => p.gpu(ctx, &name, macs, record).await?,
        }
        drop(input);
        let readback = async {
            let raw = ctx.read_buffer(&indexes.buffer, bytes).await?;
            out.indexes.extend(raw.chunks_exact(4).map(|b| b[0]));
            drop(indexes);
            let raw = ctx.read_buffer(&means.buffer, bytes).await?;
            out.means
                .extend(bytemuck::pod_collect_to_vec::<u8, i32>(&raw));
            Ok(())
        };
        let name = format!("{stage}readback indexes and means");
        host_stage_async(probe, &name, readback).await
    }
}

/// One chunk of channels of the context model's pass: channels from `first`, elements `span` of
/// y (CHW) of height and width `size`, in pass `pass` (1 or 2).
struct ContextChunk {
    first: usize,
    span: std::ops::Range<usize>,
    size: (usize, usize),
    pass: usize,
}
