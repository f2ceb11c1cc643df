//! The integer hyper-synthesis on the GPU (`shaders/hyper_int.wgsl`).

use super::kernels::IntConvBuffers;
use super::{time_gpu, GpuBuffer, GpuContext, GpuTimer};
use crate::error::Result;
use crate::hyper::{IntConv, IntHyperSynthesis};

/// Integer weights as hyper_int.wgsl reads them: `[out / 4][in][ky][kx]` x 4 lanes (lane = out % 4),
/// zero for output channels beyond the layer's.
pub fn pack_int_weights(l: &IntConv) -> Vec<[i32; 4]> {
    let k = l.kernel;
    let mut out = Vec::with_capacity(l.out_channels.div_ceil(4) * l.in_channels * k * k);
    for o4 in 0..l.out_channels.div_ceil(4) {
        for i in 0..l.in_channels {
            for ky in 0..k {
                for kx in 0..k {
                    out.push(std::array::from_fn(|lane| {
                        let o = o4 * 4 + lane;
                        if o >= l.out_channels {
                            0
                        } else if l.transposed {
                            l.weight[((i * l.out_channels + o) * k + ky) * k + kx]
                        } else {
                            l.weight[((o * l.in_channels + i) * k + ky) * k + kx]
                        }
                    }));
                }
            }
        }
    }
    out
}

fn pack4<T: Copy>(v: &[T], fill: T) -> Vec<[T; 4]> {
    v.chunks(4)
        .map(|c| std::array::from_fn(|i| c.get(i).copied().unwrap_or(fill)))
        .collect()
}

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
                    ctx.upload("int weights", &pack_int_weights(l))?,
                    ctx.upload("int bias", &pack4(&l.bias, 0))?,
                    ctx.upload("int shift", &pack4(&l.shift, 0))?,
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
        Ok(self.run_stages(ctx, symbols, h, w, None)?.0)
    }

    /// [`GpuIntHyper::run`] with each stage (the layers, then the index lookup) submitted alone
    /// and timed (timestamp queries where `timer` exists): the indexes and seconds per stage.
    pub(crate) fn run_timed(
        &self,
        ctx: &GpuContext,
        symbols: &[i32],
        (h, w): (usize, usize),
        timer: Option<&GpuTimer>,
    ) -> Result<(Vec<u8>, Vec<f64>)> {
        self.run_stages(ctx, symbols, h, w, Some(timer))
    }

    /// `timed`: None records everything into one submission; Some submits and times each stage.
    fn run_stages(
        &self,
        ctx: &GpuContext,
        symbols: &[i32],
        h: usize,
        w: usize,
        timed: Option<Option<&GpuTimer>>,
    ) -> Result<(Vec<u8>, Vec<f64>)> {
        let input = self.net.input(symbols, h * w);
        let mut current = ctx.upload("int input", &input)?;
        let (mut ch, mut cw) = (h, w);
        let mut encoder = ctx.encoder("int h_s");
        let mut seconds = Vec::new();
        let mut stage = |encoder: &mut wgpu::CommandEncoder,
                         record: &mut dyn FnMut(&mut wgpu::CommandEncoder) -> Result<()>|
         -> Result<()> {
            match timed {
                None => record(encoder),
                Some(timer) => {
                    let ((), secs) = time_gpu(ctx, timer, |e| record(e))?;
                    seconds.push(secs);
                    Ok(())
                }
            }
        };
        let mut keep = Vec::new();
        for (layer, (weights, bias, shift)) in self.net.layers.iter().zip(&self.layers) {
            let (oh, ow) = layer.output_size(ch, cw);
            let out =
                ctx.storage_buffer("int activations", (layer.out_channels * oh * ow * 4) as u64)?;
            stage(&mut encoder, &mut |e| {
                ctx.kernels().int_conv(
                    ctx,
                    e,
                    layer,
                    IntConvBuffers {
                        weights: &weights.buffer,
                        bias: &bias.buffer,
                        shift: &shift.buffer,
                    },
                    &current.buffer,
                    (ch, cw),
                    &out.buffer,
                )
            })?;
            keep.push(std::mem::replace(&mut current, out));
            (ch, cw) = (oh, ow);
        }
        let count = self.net.layers.last().map_or(0, |l| l.out_channels) * ch * cw;
        let indexes = ctx.storage_buffer("scale indexes", (count * 4) as u64)?;
        stage(&mut encoder, &mut |e| {
            ctx.kernels().scale_index(
                ctx,
                e,
                &current.buffer,
                count,
                &self.thresholds.buffer,
                self.net.thresholds.len(),
                &indexes.buffer,
            )
        })?;
        ctx.submit(encoder);
        let bytes = ctx.read_buffer(&indexes.buffer, (count * 4) as u64)?;
        drop(keep);
        // indexes are < 256 (at most 256 tables): the low byte of each little-endian u32
        Ok((bytes.chunks_exact(4).map(|b| b[0]).collect(), seconds))
    }
}
