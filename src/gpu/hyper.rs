//! The integer hyper-synthesis on the GPU (`shaders/hyper_int.wgsl`).

use super::kernels::IntConvBuffers;
use super::{GpuBuffer, GpuContext};
use crate::error::Result;
use crate::hyper::IntHyperSynthesis;

/// An [`IntHyperSynthesis`] uploaded to the GPU.
pub struct GpuIntHyper {
    net: IntHyperSynthesis,
    layers: Vec<(GpuBuffer, GpuBuffer, GpuBuffer)>,
    thresholds: GpuBuffer,
}

impl GpuIntHyper {
    /// Uploads the integer network.
    pub fn new(ctx: &GpuContext, net: &IntHyperSynthesis) -> Result<GpuIntHyper> {
        let layers = net
            .layers
            .iter()
            .map(|l| {
                Ok((
                    ctx.upload("int weights", &l.weight)?,
                    ctx.upload("int bias", &l.bias)?,
                    ctx.upload("int shift", &l.shift)?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(GpuIntHyper {
            net: net.clone(),
            layers,
            thresholds: ctx.upload("thresholds", &net.thresholds)?,
        })
    }

    /// Scale-table indexes of y from the z symbols (N x h x w, CHW), bit-identical to
    /// [`IntHyperSynthesis::run_cpu`].
    pub fn run(&self, ctx: &GpuContext, symbols: &[i32], h: usize, w: usize) -> Result<Vec<u8>> {
        let input = self.net.input(symbols, h * w);
        let mut current = ctx.upload("int input", &input)?;
        let (mut ch, mut cw) = (h, w);
        let mut encoder = ctx.encoder("int h_s");
        let mut keep = Vec::new();
        for (layer, (weights, bias, shift)) in self.net.layers.iter().zip(&self.layers) {
            let (oh, ow) = layer.output_size(ch, cw);
            let out =
                ctx.storage_buffer("int activations", (layer.out_channels * oh * ow * 4) as u64)?;
            ctx.kernels().int_conv(
                ctx,
                &mut encoder,
                layer,
                IntConvBuffers {
                    weights: &weights.buffer,
                    bias: &bias.buffer,
                    shift: &shift.buffer,
                },
                &current.buffer,
                (ch, cw),
                &out.buffer,
            )?;
            keep.push(std::mem::replace(&mut current, out));
            (ch, cw) = (oh, ow);
        }
        let count = self.net.layers.last().map_or(0, |l| l.out_channels) * ch * cw;
        let indexes = ctx.storage_buffer("scale indexes", (count * 4) as u64)?;
        ctx.kernels().scale_index(
            ctx,
            &mut encoder,
            &current.buffer,
            count,
            &self.thresholds.buffer,
            self.net.thresholds.len(),
            &indexes.buffer,
        )?;
        ctx.submit(encoder);
        let bytes = ctx.read_buffer(&indexes.buffer, (count * 4) as u64)?;
        drop(keep);
        // indexes are < 256 (at most 256 tables): the low byte of each little-endian u32
        Ok(bytes.chunks_exact(4).map(|b| b[0]).collect())
    }
}
