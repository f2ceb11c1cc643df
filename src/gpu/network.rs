//! The model's transforms uploaded to the GPU, and the code that runs them layer by layer.

use super::kernels::ConvShape;
use super::{GpuBuffer, GpuContext, GpuTensor};
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
}

/// One layer on the GPU.
pub enum GpuLayer {
    /// Convolution or transposed convolution.
    Conv(GpuConv),
    /// GDN or IGDN.
    Gdn(GpuGdn),
}

/// A transform (g_a, g_s, h_a or h_s) on the GPU.
pub struct GpuTransform {
    /// Its name.
    pub name: &'static str,
    /// Its layers.
    pub layers: Vec<GpuLayer>,
}

/// The floating-point transforms of a [`Model`] on the GPU.
pub struct GpuNetwork {
    /// Analysis.
    pub g_a: GpuTransform,
    /// Synthesis.
    pub g_s: GpuTransform,
    /// Hyper-analysis.
    pub h_a: GpuTransform,
    /// Hyper-synthesis (floating point).
    pub h_s: GpuTransform,
}

/// Conv weights as one column-major mat4x4 per (out group, in group, ky, kx): column j is input
/// channel 4*ig + j, row r is output channel 4*og + r; channels beyond the layer's are zero.
pub fn pack_conv_weights(conv: &Conv) -> Vec<[f32; 16]> {
    let (og_n, ig_n, k) = (
        conv.out_channels.div_ceil(4),
        conv.in_channels.div_ceil(4),
        conv.kernel,
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

/// A per-channel vector padded to whole groups of four with `fill`.
pub fn pack_channels(values: &[f32], fill: f32) -> Vec<[f32; 4]> {
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
                kernel: conv.kernel,
                stride: conv.stride,
                pad: conv.pad,
                transposed: conv.transposed,
                relu: conv.relu,
                abs_input: conv.abs_input,
            },
            in_channels: conv.in_channels,
            out_channels: conv.out_channels,
            weights: ctx.upload("conv weights", &pack_conv_weights(conv))?,
            bias: ctx.upload("conv bias", &pack_channels(&conv.bias, 0.0))?,
        })
    }

    /// Output size for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        let c = &self.shape;
        let f = |n| crate::model::conv_output_len(c.kernel, c.stride, c.pad, c.transposed, n);
        (f(h), f(w))
    }

    /// Records this convolution of `input` into a new tensor.
    pub fn record(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
    ) -> Result<GpuTensor> {
        let (h, w) = self.output_size(input.height, input.width);
        let output = ctx.new_tensor(self.out_channels, h, w)?;
        ctx.kernels().conv(
            ctx,
            encoder,
            input,
            self.shape,
            &self.weights.buffer,
            &self.bias.buffer,
            &output,
        )?;
        Ok(output)
    }
}

impl GpuGdn {
    /// Uploads a GDN layer.
    pub fn new(ctx: &GpuContext, gdn: &Gdn) -> Result<GpuGdn> {
        Ok(GpuGdn {
            channels: gdn.channels,
            inverse: gdn.inverse,
            beta: ctx.upload("gdn beta", &pack_channels(&gdn.beta, 1.0))?,
            gamma: ctx.upload("gdn gamma", &pack_gdn_gamma(gdn))?,
        })
    }

    /// Records this GDN of `input` into a new tensor.
    pub fn record(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
    ) -> Result<GpuTensor> {
        let output = ctx.new_tensor(self.channels, input.height, input.width)?;
        ctx.kernels().gdn(
            ctx,
            encoder,
            input,
            &self.beta.buffer,
            &self.gamma.buffer,
            self.inverse,
            &output,
        )?;
        Ok(output)
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

    /// Records this layer of `input` into a new tensor.
    pub fn record(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
    ) -> Result<GpuTensor> {
        match self {
            GpuLayer::Conv(c) => c.record(ctx, encoder, input),
            GpuLayer::Gdn(g) => g.record(ctx, encoder, input),
        }
    }
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
        })
    }

    /// Runs the transform on `input`, one submission per layer (short submissions keep driver
    /// watchdogs on integrated GPUs quiet); intermediate tensors are freed as soon as they are used.
    pub fn run(&self, ctx: &GpuContext, input: &GpuTensor) -> Result<GpuTensor> {
        let mut current: Option<GpuTensor> = None;
        for layer in &self.layers {
            let mut encoder = ctx.encoder(self.name);
            let next = layer.record(ctx, &mut encoder, current.as_ref().unwrap_or(input))?;
            ctx.submit(encoder);
            current = Some(next);
        }
        match current {
            Some(t) => Ok(t),
            None => ctx.copy_tensor(input),
        }
    }
}

impl GpuNetwork {
    /// Uploads the model's transforms.
    pub fn new(ctx: &GpuContext, model: &Model) -> Result<GpuNetwork> {
        Ok(GpuNetwork {
            g_a: GpuTransform::new(ctx, &model.g_a)?,
            g_s: GpuTransform::new(ctx, &model.g_s)?,
            h_a: GpuTransform::new(ctx, &model.h_a)?,
            h_s: GpuTransform::new(ctx, &model.h_s)?,
        })
    }
}

impl GpuContext {
    /// A new (uninitialised) tensor in GPU memory.
    pub fn new_tensor(&self, channels: usize, height: usize, width: usize) -> Result<GpuTensor> {
        let buffer =
            self.storage_buffer("tensor", GpuTensor::bytes_for(channels, height, width))?;
        Ok(GpuTensor {
            buffer,
            channels,
            height,
            width,
        })
    }

    /// A copy of a tensor.
    pub fn copy_tensor(&self, t: &GpuTensor) -> Result<GpuTensor> {
        let out = self.new_tensor(t.channels, t.height, t.width)?;
        let mut encoder = self.encoder("copy");
        encoder.copy_buffer_to_buffer(&t.buffer.buffer, 0, &out.buffer.buffer, 0, t.bytes());
        self.submit(encoder);
        Ok(out)
    }

    /// `input * gain[c]` per channel, rounded to integers if `round` (the quantizer of y).
    pub fn scale_tensor(&self, input: &GpuTensor, gain: &[f32], round: bool) -> Result<GpuTensor> {
        let gain = self.upload("gain", &pack_channels(gain, 0.0))?;
        let output = self.new_tensor(input.channels, input.height, input.width)?;
        let mut encoder = self.encoder("scale");
        self.kernels()
            .scale(self, &mut encoder, input, &gain.buffer, round, &output)?;
        self.submit(encoder);
        Ok(output)
    }

    /// Uploads RGBA8 pixels and converts them to a 3-channel tensor replicate-padded to
    /// `width` x `height`.
    pub fn rgba8_to_tensor(
        &self,
        rgba: &[u8],
        img_w: usize,
        img_h: usize,
        width: usize,
        height: usize,
    ) -> Result<GpuTensor> {
        let pixels = self.upload("rgba8", rgba)?;
        let output = self.new_tensor(3, height, width)?;
        let mut encoder = self.encoder("rgba8_to_tensor");
        self.kernels().rgba8_to_tensor(
            self,
            &mut encoder,
            &pixels.buffer,
            img_w,
            img_h,
            &output,
        )?;
        self.submit(encoder);
        Ok(output)
    }

    /// Converts the top-left `img_w` x `img_h` of a 3-channel tensor to RGBA8 and reads it back.
    pub fn tensor_to_rgba8(
        &self,
        input: &GpuTensor,
        img_w: usize,
        img_h: usize,
    ) -> Result<Vec<u8>> {
        self.tensor_region_to_rgba8(input, (0, 0), img_w, img_h)
    }

    /// Converts the `img_w` x `img_h` region at `origin` of a 3-channel tensor to RGBA8 and reads
    /// it back.
    pub fn tensor_region_to_rgba8(
        &self,
        input: &GpuTensor,
        origin: (usize, usize),
        img_w: usize,
        img_h: usize,
    ) -> Result<Vec<u8>> {
        let bytes = (img_w * img_h * 4) as u64;
        let pixels = self.storage_buffer("rgba8", bytes)?;
        let mut encoder = self.encoder("tensor_to_rgba8");
        self.kernels().tensor_to_rgba8(
            self,
            &mut encoder,
            input,
            origin,
            img_w,
            img_h,
            &pixels.buffer,
            (0, 0, img_w),
        )?;
        self.submit(encoder);
        self.read_buffer(&pixels.buffer, bytes)
    }
}
