//! The integer networks on the GPU (`shaders/int_conv.wgsl`), bit-identical to their CPU twins.

use super::kernels::{IntConvBuffers, Recorder};
use super::memory::GpuBuffer;
use super::network::pack4;
use super::timer::Probe;
use super::GpuContext;
use crate::error::Result;
use crate::model::{IntConv, IntHyperSynthesis};

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

/// One integer layer's buffers on the GPU.
struct GpuIntConv {
    layer: IntConv,
    weights: GpuBuffer,
    bias: GpuBuffer,
    shift: GpuBuffer,
}

impl GpuIntConv {
    fn new(ctx: &GpuContext, layer: &IntConv) -> Result<GpuIntConv> {
        Ok(GpuIntConv {
            layer: layer.clone(),
            weights: ctx.upload("int weights", &pack_int_weights(layer))?,
            bias: ctx.upload("int bias", &pack4(&layer.bias, 0))?,
            shift: ctx.upload("int shift", &pack4(&layer.shift, 0))?,
        })
    }

    fn record(
        &self,
        rec: &mut Recorder<'_>,
        input: &wgpu::Buffer,
        size: (usize, usize),
        output: &wgpu::Buffer,
    ) -> Result<()> {
        let buffers = IntConvBuffers {
            weights: &self.weights.buffer,
            bias: &self.bias.buffer,
            shift: &self.shift.buffer,
        };
        rec.int_conv(&self.layer, buffers, input, size, output)
    }

    /// Its name in timings.
    fn label(&self, index: usize) -> String {
        let (l, g) = (&self.layer, self.layer.geometry);
        format!(
            "h_s.{} int {}{}x{}/{} {}->{}",
            2 * index,
            if g.transposed { "deconv" } else { "conv" },
            g.kernel,
            g.kernel,
            g.stride,
            l.in_channels,
            l.out_channels
        )
    }
}

/// An [`IntHyperSynthesis`] uploaded to the GPU.
pub struct GpuIntHyperSynthesis {
    net: IntHyperSynthesis,
    layers: Vec<GpuIntConv>,
    thresholds: GpuBuffer,
}

impl GpuIntHyperSynthesis {
    /// Uploads the integer network.
    pub fn new(ctx: &GpuContext, net: &IntHyperSynthesis) -> Result<GpuIntHyperSynthesis> {
        Ok(GpuIntHyperSynthesis {
            net: net.clone(),
            layers: net
                .layers
                .iter()
                .map(|l| GpuIntConv::new(ctx, l))
                .collect::<Result<_>>()?,
            thresholds: ctx.upload("thresholds", &net.thresholds)?,
        })
    }

    /// Scale-table indexes of y from the z symbols (N x h x w, CHW), bit-identical to
    /// [`crate::cpu::int_hyper_synthesis`].
    pub fn run(&self, ctx: &GpuContext, symbols: &[i32], h: usize, w: usize) -> Result<Vec<u8>> {
        self.run_probed(ctx, symbols, (h, w), None)
    }

    /// [`GpuIntHyperSynthesis::run`]; with a probe, each layer and the lookup are submitted alone
    /// and timed, and the transfers too.
    pub(crate) fn run_probed(
        &self,
        ctx: &GpuContext,
        symbols: &[i32],
        (h, w): (usize, usize),
        probe: Option<&Probe>,
    ) -> Result<Vec<u8>> {
        let input = self.net.input(symbols, h * w);
        let mut current = ctx.upload("int input", &input)?;
        let (mut ch, mut cw) = (h, w);
        let mut encoder = ctx.encoder("int h_s");
        let mut keep = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let (oh, ow) = layer.layer.output_size(ch, cw);
            let out = ctx.storage_buffer(
                "int activations",
                (layer.layer.out_channels * oh * ow * 4) as u64,
            )?;
            let record =
                |rec: &mut Recorder<'_>| layer.record(rec, &current.buffer, (ch, cw), &out.buffer);
            match probe {
                None => record(&mut ctx.recorder(&mut encoder))?,
                Some(p) => p.gpu(ctx, &layer.label(i), layer.layer.macs(oh, ow), record)?,
            }
            keep.push(std::mem::replace(&mut current, out));
            (ch, cw) = (oh, ow);
        }
        let count = self.net.out_channels() * ch * cw;
        let indexes = ctx.storage_buffer("scale indexes", (count * 4) as u64)?;
        let lookup = |rec: &mut Recorder<'_>| {
            rec.scale_index(
                &current.buffer,
                count,
                (&self.thresholds.buffer, self.net.thresholds.len()),
                &indexes.buffer,
            )
        };
        match probe {
            None => lookup(&mut ctx.recorder(&mut encoder))?,
            Some(p) => p.gpu(ctx, "h_s scale indexes", 0, lookup)?,
        }
        ctx.submit(encoder);
        let bytes = ctx.read_buffer(&indexes.buffer, (count * 4) as u64)?;
        drop(keep);
        // indexes are < 256 (at most 256 tables): the low byte of each little-endian u32
        Ok(bytes.chunks_exact(4).map(|b| b[0]).collect())
    }
}
