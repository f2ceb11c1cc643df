//! The model's float transforms uploaded to the GPU, and the code that runs them layer by layer.

use super::kernels::ConvShape;
use super::memory::GpuBuffer;
use super::timer::Probe;
use super::{GpuContext, GpuTensor};
use crate::error::Result;
use crate::model::{Conv, Gdn, Layer, Model, Transform};

/// A convolution's weights in the GPU layout.
pub struct GpuConv {
    pub(crate) shape: ConvShape,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    weights: GpuBuffer,
    bias: GpuBuffer,
}

/// GDN parameters in the GPU layout.
pub struct GpuGdn {
    /// Channels.
    pub channels: usize,
    inverse: bool,
    beta: GpuBuffer,
    gamma: GpuBuffer,
    /// gamma transposed (IGDN's backward pass mixes with it)
    gamma_t: GpuBuffer,
}

/// One layer on the GPU.
pub enum GpuLayer {
    /// Convolution or transposed convolution.
    Conv(GpuConv),
    /// GDN or IGDN.
    Gdn(GpuGdn),
}

/// A transform on the GPU.
pub struct GpuTransform {
    /// Its name.
    pub name: &'static str,
    /// Its layers.
    pub layers: Vec<GpuLayer>,
    /// Per layer: its name in timings (`g_a.2 conv5x5/2 64->64`).
    labels: Vec<String>,
}

/// The float transforms the codec runs on the GPU (the hyper-synthesis is the integer network,
/// [`super::int_net::GpuIntNetworks`]).
pub struct GpuNetwork {
    /// Analysis.
    pub g_a: GpuTransform,
    /// Synthesis.
    pub g_s: GpuTransform,
    /// Hyper-analysis.
    pub h_a: GpuTransform,
}

/// Conv weights as one column-major mat4x4 per (out group, in group, ky, kx): column j is input
/// channel 4*ig + j, row r is output channel 4*og + r; channels beyond the layer's are zero.
pub fn pack_conv_weights(conv: &Conv) -> Vec<[f32; 16]> {
    let (og_n, ig_n, k) = (
        conv.out_channels.div_ceil(4),
        conv.in_channels.div_ceil(4),
        conv.geometry.kernel,
    );
    let mut out = Vec::with_capacity(og_n * ig_n * k * k);
    for og in 0..og_n {
        for ig in 0..ig_n {
            for ky in 0..k {
                for kx in 0..k {
                    let mut m = [0.0f32; 16];
                    for j in 0..4 {
                        for r in 0..4 {
                            let (o, i) = (og * 4 + r, ig * 4 + j);
                            if o < conv.out_channels && i < conv.in_channels {
                                m[j * 4 + r] = conv.w(o, i, ky, kx);
                            }
                        }
                    }
                    out.push(m);
                }
            }
        }
    }
    out
}

/// A per-channel vector in groups of four, the last padded with `fill`.
pub fn pack4<T: Copy>(values: &[T], fill: T) -> Vec<[T; 4]> {
    values
        .chunks(4)
        .map(|c| std::array::from_fn(|i| c.get(i).copied().unwrap_or(fill)))
        .collect()
}

/// GDN gamma as one column-major mat4x4 per (out group, in group).
pub fn pack_gdn_gamma(gdn: &Gdn) -> Vec<[f32; 16]> {
    let c = gdn.channels;
    let g = c.div_ceil(4);
    let mut out = Vec::with_capacity(g * g);
    for og in 0..g {
        for ig in 0..g {
            let mut m = [0.0f32; 16];
            for j in 0..4 {
                for r in 0..4 {
                    let (o, i) = (og * 4 + r, ig * 4 + j);
                    if o < c && i < c {
                        m[j * 4 + r] = gdn.gamma[o * c + i];
                    }
                }
            }
            out.push(m);
        }
    }
    out
}

impl GpuConv {
    /// Uploads a convolution.
    pub fn new(ctx: &GpuContext, conv: &Conv) -> Result<GpuConv> {
        Ok(GpuConv {
            shape: ConvShape {
                geometry: conv.geometry,
                relu: conv.relu,
            },
            in_channels: conv.in_channels,
            out_channels: conv.out_channels,
            weights: ctx.upload("conv weights", &pack_conv_weights(conv))?,
            bias: ctx.upload("conv bias", &pack4(&conv.bias, 0.0))?,
        })
    }
}

impl GpuGdn {
    /// Uploads a GDN layer.
    pub fn new(ctx: &GpuContext, gdn: &Gdn) -> Result<GpuGdn> {
        Ok(GpuGdn {
            channels: gdn.channels,
            inverse: gdn.inverse,
            beta: ctx.upload("gdn beta", &pack4(&gdn.beta, 1.0))?,
            gamma: ctx.upload("gdn gamma", &pack_gdn_gamma(gdn))?,
            gamma_t: ctx.upload("gdn gamma transposed", &pack_gdn_gamma(&gdn.transposed()))?,
        })
    }
}

impl GpuGdn {
    /// Its beta, gamma and transposed gamma buffers.
    pub(crate) fn buffers(&self) -> (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer) {
        (&self.beta.buffer, &self.gamma.buffer, &self.gamma_t.buffer)
    }
}

impl GpuLayer {
    /// Uploads a layer.
    pub fn new(ctx: &GpuContext, layer: &Layer) -> Result<GpuLayer> {
        Ok(match layer {
            Layer::Conv(c) => GpuLayer::Conv(GpuConv::new(ctx, c)?),
            Layer::Gdn(g) => GpuLayer::Gdn(GpuGdn::new(ctx, g)?),
        })
    }

    /// Output size for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        match self {
            GpuLayer::Conv(c) => c.shape.geometry.output_size(h, w),
            GpuLayer::Gdn(_) => (h, w),
        }
    }

    /// Multiply-adds for an output of `h` x `w`.
    fn macs(&self, h: usize, w: usize) -> u64 {
        match self {
            GpuLayer::Conv(c) => c.shape.geometry.macs(c.in_channels, c.out_channels, h, w),
            GpuLayer::Gdn(g) => (g.channels * g.channels * h * w) as u64,
        }
    }

    /// Runs this layer on `input` into a new tensor (one submission).
    pub fn run(&self, ctx: &GpuContext, input: &GpuTensor) -> Result<GpuTensor> {
        let output = self.new_output(ctx, input)?;
        ctx.run("layer", |rec| self.record(rec, input, &output))?;
        Ok(output)
    }

    fn new_output(&self, ctx: &GpuContext, input: &GpuTensor) -> Result<GpuTensor> {
        let (h, w) = self.output_size(input.height, input.width);
        let channels = match self {
            GpuLayer::Conv(c) => c.out_channels,
            GpuLayer::Gdn(g) => g.channels,
        };
        ctx.new_tensor(channels, h, w)
    }

    fn record(
        &self,
        rec: &mut super::kernels::Recorder<'_>,
        input: &GpuTensor,
        output: &GpuTensor,
    ) -> Result<()> {
        match self {
            GpuLayer::Conv(c) => {
                rec.conv(input, c.shape, (&c.weights.buffer, &c.bias.buffer), output)
            }
            GpuLayer::Gdn(g) => {
                rec.gdn(input, (&g.beta.buffer, &g.gamma.buffer), g.inverse, output)
            }
        }
    }
}

/// A layer's name in timings: CompressAI's module name and what it does.
fn label(t: &Transform, i: usize) -> String {
    let what = match &t.layers[i] {
        Layer::Conv(c) => {
            let g = c.geometry;
            format!(
                "{}{}x{}/{} {}->{}",
                if g.transposed { "deconv" } else { "conv" },
                g.kernel,
                g.kernel,
                g.stride,
                c.in_channels,
                c.out_channels
            )
        }
        Layer::Gdn(g) => format!("{} {}", if g.inverse { "igdn" } else { "gdn" }, g.channels),
    };
    // CompressAI numbers the layers of its Sequential with ReLUs counted
    let index = match t.name {
        "h_a" | "h_s" => 2 * i,
        _ => i,
    };
    format!("{}.{index} {what}", t.name)
}

impl GpuTransform {
    /// Uploads a transform.
    pub fn new(ctx: &GpuContext, t: &Transform) -> Result<GpuTransform> {
        Ok(GpuTransform {
            name: t.name,
            layers: t
                .layers
                .iter()
                .map(|l| GpuLayer::new(ctx, l))
                .collect::<Result<_>>()?,
            labels: (0..t.layers.len()).map(|i| label(t, i)).collect(),
        })
    }

    /// Runs the transform on `input`, one submission per layer (short submissions keep driver
    /// watchdogs on integrated GPUs quiet); intermediate tensors are freed as soon as they are used.
    pub fn run(&self, ctx: &GpuContext, input: &GpuTensor) -> Result<GpuTensor> {
        // without a probe nothing is waited for
        crate::block::ready(self.run_probed(ctx, input, None))
    }

    /// [`GpuTransform::run`], each layer timed in `probe` if there is one.
    pub(crate) async fn run_probed(
        &self,
        ctx: &GpuContext,
        input: &GpuTensor,
        probe: Option<&Probe>,
    ) -> Result<GpuTensor> {
        let mut current: Option<GpuTensor> = None;
        for (layer, label) in self.layers.iter().zip(&self.labels) {
            let x = current.as_ref().unwrap_or(input);
            let output = layer.new_output(ctx, x)?;
            let record = |rec: &mut super::kernels::Recorder<'_>| layer.record(rec, x, &output);
            match probe {
                None => ctx.run(self.name, record)?,
                Some(p) => {
                    let macs = layer.macs(output.height, output.width);
                    p.gpu(ctx, label, macs, record).await?
                }
            }
            current = Some(output);
        }
        match current {
            Some(t) => Ok(t),
            None => ctx.copy_tensor(input),
        }
    }
}

impl GpuNetwork {
    /// Uploads the model's float transforms.
    pub fn new(ctx: &GpuContext, model: &Model) -> Result<GpuNetwork> {
        Ok(GpuNetwork {
            g_a: GpuTransform::new(ctx, &model.g_a)?,
            g_s: GpuTransform::new(ctx, &model.g_s)?,
            h_a: GpuTransform::new(ctx, &model.h_a)?,
        })
    }
}
