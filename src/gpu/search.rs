//! The encoder's latent search on the GPU: y moved by Adam for distortion + lambda x rate with the
//! decoder fixed. The distortion's gradient is g_s run backwards: each transposed convolution's
//! input gradient is the strided convolution of its weights ([`Conv::input_gradient`]), each
//! IGDN's is `gdn_backward.wgsl`; the rate's is closed-form per element (`latent_search.wgsl`).

use super::kernels::{SearchBuffers, SearchParams};
use super::memory::GpuBuffer;
use super::network::{GpuConv, GpuGdn, GpuLayer, GpuTransform};
use super::{GpuContext, GpuTensor};
use crate::cpu::{SearchStep, ADAM_BETA1, ADAM_BETA2};
use crate::error::{Error, Result};
use crate::model::{Layer, Transform};
use crate::tensor::Tensor;

impl GpuGdn {
    /// IGDN's input gradient at `input` for the output gradient `grad` (one submission).
    pub fn input_gradient(
        &self,
        ctx: &GpuContext,
        input: &GpuTensor,
        grad: &GpuTensor,
    ) -> Result<GpuTensor> {
        let output = ctx.new_tensor(input.channels, input.height, input.width)?;
        let scratch = ctx.new_tensor(input.channels, input.height, input.width)?;
        ctx.run("igdn backward", |rec| {
            rec.igdn_backward(input, grad, self.buffers(), &scratch, &output)
        })?;
        Ok(output)
    }
}

/// `weight x (output - picture)` inside the rectangle `crop` (x, y, width, height), 0 elsewhere:
/// the gradient of `weight / 2 x` the squared error there.
pub fn distortion_grad(
    ctx: &GpuContext,
    output: &GpuTensor,
    picture: &GpuTensor,
    crop: [usize; 4],
    weight: f32,
) -> Result<GpuTensor> {
    let grad = ctx.new_tensor(output.channels, output.height, output.width)?;
    ctx.run("distortion gradient", |rec| {
        rec.distortion_grad(output, picture, crop, weight, &grad)
    })?;
    Ok(grad)
}

/// The state of one search: y, its held entropy parameters, Adam's moments and the per-step
/// tensors.
pub struct LatentSearch {
    y: GpuTensor,
    mean: GpuTensor,
    scale: GpuTensor,
    inv_gain: GpuBuffer,
    synthesis_input: GpuTensor,
    d_round: GpuTensor,
    rate_grad: GpuTensor,
    moment1: GpuTensor,
    moment2: GpuTensor,
}

fn params(s: &SearchStep) -> SearchParams {
    SearchParams {
        step: s.step,
        seed: s.seed,
        non_anchors_only: u32::from(s.non_anchors_only),
        tau: s.tau,
        lr: s.lr,
        rate_weight: s.rate_weight,
        bias1: 1.0 - ADAM_BETA1.powi(s.step as i32),
        bias2: 1.0 - ADAM_BETA2.powi(s.step as i32),
        free_x: s.free[0] as u32,
        free_y: s.free[1] as u32,
        free_width: s.free[2] as u32,
        free_height: s.free[3] as u32,
        ..SearchParams::default()
    }
}

impl LatentSearch {
    /// A search from `y` (after the gain) with each element's `mean` and `scale` held, and the
    /// inverse gain per channel; Adam's moments start at 0.
    pub fn new(
        ctx: &GpuContext,
        y: &Tensor,
        mean: &Tensor,
        scale: &Tensor,
        inv_gain: &[f32],
    ) -> Result<LatentSearch> {
        let same = |t: &Tensor| (t.channels, t.height, t.width) == (y.channels, y.height, y.width);
        if !same(mean) || !same(scale) || inv_gain.len() != y.channels {
            return Err(Error::InvalidArgument(
                "the search's y, means, scales and gains disagree in shape".into(),
            ));
        }
        let zeros = || ctx.new_tensor(y.channels, y.height, y.width);
        Ok(LatentSearch {
            y: ctx.upload_tensor(y)?,
            mean: ctx.upload_tensor(mean)?,
            scale: ctx.upload_tensor(scale)?,
            inv_gain: ctx.upload("inverse gain", &super::pack4(inv_gain, 0.0))?,
            synthesis_input: zeros()?,
            d_round: zeros()?,
            rate_grad: zeros()?,
            moment1: zeros()?,
            moment2: zeros()?,
        })
    }

    fn buffers(&self) -> SearchBuffers<'_> {
        SearchBuffers {
            y: &self.y,
            mean: &self.mean,
            scale: &self.scale,
            inv_gain: &self.inv_gain.buffer,
            synthesis_input: &self.synthesis_input,
            d_round: &self.d_round,
            rate_grad: &self.rate_grad,
            moment1: &self.moment1,
            moment2: &self.moment2,
        }
    }

    /// The current y.
    pub fn y(&self) -> &GpuTensor {
        &self.y
    }

    /// g_s's input from the last soft rounding.
    pub fn synthesis_input(&self) -> &GpuTensor {
        &self.synthesis_input
    }

    /// d(rounded)/dy from the last soft rounding.
    pub fn d_round(&self) -> &GpuTensor {
        &self.d_round
    }

    /// The rate's gradient (bits) from the last soft rounding.
    pub fn rate_grad(&self) -> &GpuTensor {
        &self.rate_grad
    }

    /// Soft-rounds y for step `s` (one submission).
    pub fn soft_round(&self, ctx: &GpuContext, s: &SearchStep) -> Result<()> {
        ctx.run("soft round", |rec| {
            rec.soft_round(&self.buffers(), params(s))
        })
    }

    /// One Adam step on y, given g_s's input gradient `synthesis_grad` (one submission).
    pub fn adam_step(
        &self,
        ctx: &GpuContext,
        synthesis_grad: &GpuTensor,
        s: &SearchStep,
    ) -> Result<()> {
        ctx.run("adam step", |rec| {
            rec.adam_step(&self.buffers(), synthesis_grad, params(s))
        })
    }
}

/// g_s forward keeping what its backward pass needs, and that backward pass.
pub struct SynthesisGradient {
    /// Per layer of g_s: the adjoint of a transposed convolution, or None for an IGDN.
    adjoints: Vec<Option<GpuLayer>>,
}

impl SynthesisGradient {
    /// The adjoints of `g_s`'s layers (transposed convolutions without ReLU and IGDNs only).
    pub fn new(ctx: &GpuContext, g_s: &Transform) -> Result<SynthesisGradient> {
        let adjoints = g_s
            .layers
            .iter()
            .map(|layer| match layer {
                Layer::Conv(c) => match c.input_gradient() {
                    Some(adjoint) => Ok(Some(GpuLayer::Conv(GpuConv::new(ctx, &adjoint)?))),
                    None => Err(Error::InvalidArgument(
                        "the search runs backwards through transposed convolutions only".into(),
                    )),
                },
                Layer::Gdn(g) if g.inverse => Ok(None),
                Layer::Gdn(_) => Err(Error::InvalidArgument(
                    "the search runs backwards through IGDN only".into(),
                )),
            })
            .collect::<Result<_>>()?;
        Ok(SynthesisGradient { adjoints })
    }

    /// Runs `g_s` (its GPU layers) on `input`, returning the output and each IGDN's input.
    pub fn forward(
        &self,
        ctx: &GpuContext,
        g_s: &GpuTransform,
        input: &GpuTensor,
    ) -> Result<(GpuTensor, Vec<Option<GpuTensor>>)> {
        let mut kept = Vec::with_capacity(g_s.layers.len());
        let mut current: Option<GpuTensor> = None;
        for layer in &g_s.layers {
            let x = current.as_ref().unwrap_or(input);
            let out = layer.run(ctx, x)?;
            let is_gdn = matches!(layer, GpuLayer::Gdn(_));
            kept.push(match (is_gdn, current.take()) {
                (true, Some(x)) => Some(x),
                _ => None,
            });
            current = Some(out);
        }
        let output = current.ok_or_else(|| Error::InvalidArgument("an empty g_s".into()))?;
        Ok((output, kept))
    }

    /// The gradient for g_s's input from its output's `grad`, with what `forward` kept.
    pub fn backward(
        &self,
        ctx: &GpuContext,
        g_s: &GpuTransform,
        kept: &[Option<GpuTensor>],
        grad: GpuTensor,
    ) -> Result<GpuTensor> {
        let mut grad = grad;
        for ((layer, adjoint), input) in g_s.layers.iter().zip(&self.adjoints).zip(kept).rev() {
            grad = match (layer, adjoint, input) {
                (_, Some(adjoint), _) => adjoint.run(ctx, &grad)?,
                (GpuLayer::Gdn(g), None, Some(x)) => g.input_gradient(ctx, x, &grad)?,
                _ => return Err(Error::InvalidArgument("g_s's layers changed".into())),
            };
        }
        Ok(grad)
    }
}
