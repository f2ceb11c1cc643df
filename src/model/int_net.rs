//! The integer networks (Balle, Johnston, Minnen 2019, "Integer networks for data compression with
//! latent-variable models"): everything that decides an entropy-table index is computed with
//! integer arithmetic only, so that encoder and decoder agree bit for bit on every device. This
//! file holds the networks and their checks; `cpu::int_conv` and `shaders/int_conv.wgsl` run them.
//! The fixed-point format is described in docs/integer-hyper-synthesis.md.

use super::layers::ConvGeometry;
use crate::error::{Error, Result};

/// Bits of the signed input activations (z_hat in fixed point).
pub const INPUT_BITS: u32 = 12;
/// Bits of the signed input of the context (the decoded anchors in fixed point).
pub const CONTEXT_INPUT_BITS: u32 = 16;
/// The most hidden units per channel in the context model's fusion (int_context.wgsl's array).
pub const MAX_HIDDEN: usize = 8;
/// Largest right shift a layer may use.
pub const MAX_SHIFT: u32 = 30;

/// One integer layer: convolution or transposed convolution, rounding shift, clamp.
#[derive(Clone, Debug)]
pub struct IntConv {
    /// Kernel, stride, padding, transposed.
    pub geometry: ConvGeometry,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Weights in PyTorch's layout.
    pub weight: Vec<i32>,
    /// Bias at the accumulator's scale.
    pub bias: Vec<i32>,
    /// Right shift per output channel (0..=30), rounding half up.
    pub shift: Vec<u32>,
    /// Upper clamp of the output.
    pub act_max: i32,
    /// Lower clamp 0 (a ReLU); else `-act_max - 1` (signed outputs).
    pub relu: bool,
    /// Channel groups (PyTorch's `groups`): output channel o reads only the input channels of
    /// its group, `o / (out / groups)`. 1 for every h_s layer.
    pub groups: usize,
}

impl IntConv {
    /// Output height and width for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        self.geometry.output_size(h, w)
    }

    /// The lower clamp of the output.
    pub fn act_min(&self) -> i32 {
        if self.relu {
            0
        } else {
            -self.act_max - 1
        }
    }

    /// Input channels each output channel reads (`in_channels / groups`).
    pub fn in_per_group(&self) -> usize {
        self.in_channels / self.groups
    }

    /// The weight from input `j` of its group to output channel `o` at tap `(ky, kx)` (with one
    /// group, `j` is the input channel).
    #[inline]
    pub fn w(&self, o: usize, j: usize, ky: usize, kx: usize) -> i32 {
        let shape = (self.in_per_group(), self.out_channels);
        self.weight[self.geometry.weight_index(shape, o, j, ky, kx)]
    }

    /// Multiply-adds over an output of `out_h` x `out_w`.
    pub fn macs(&self, out_h: usize, out_w: usize) -> u64 {
        self.geometry
            .macs(self.in_per_group(), self.out_channels, out_h, out_w)
    }

    /// The largest |accumulator| any output of channel `o` can reach for inputs within
    /// `[-in_abs_max, in_abs_max]`: |bias| + (the largest sum of |w| one output pixel receives) x max.
    fn accumulator_bound(&self, o: usize, in_abs_max: i64) -> i64 {
        let g = self.geometry;
        // Transposed convolutions feed each output pixel from one class of taps (ky, kx mod stride).
        let classes = if g.transposed { g.stride } else { 1 };
        let mut worst = 0i64;
        for cy in 0..classes {
            for cx in 0..classes {
                let mut sum = 0i64;
                for i in 0..self.in_per_group() {
                    for ky in (cy..g.kernel).step_by(classes) {
                        for kx in (cx..g.kernel).step_by(classes) {
                            sum += (self.w(o, i, ky, kx) as i64).abs();
                        }
                    }
                }
                worst = worst.max(sum);
            }
        }
        (self.bias[o] as i64).abs() + worst * in_abs_max
    }

    /// Checks the shift range, the clamp and that no accumulation can overflow an i32 for inputs
    /// within `[-in_abs_max, in_abs_max]`; `name` prefixes the messages.
    pub(crate) fn validate(&self, name: &str, in_abs_max: i64) -> Result<()> {
        let grouped = self.groups != 1;
        if self.groups == 0
            || !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
            || (grouped && self.geometry.transposed)
        {
            return Err(Error::weights(
                format!("{name}.geometry"),
                format!(
                    "{} groups do not divide {} -> {} channels",
                    self.groups, self.in_channels, self.out_channels
                ),
            ));
        }
        if let Some(s) = self.shift.iter().find(|s| **s > MAX_SHIFT) {
            return Err(Error::weights(
                format!("{name}.shift"),
                format!("shift {s} is above {MAX_SHIFT}"),
            ));
        }
        if self.act_max <= 0 {
            return Err(Error::weights(
                format!("{name}.act_max"),
                "must be positive",
            ));
        }
        for o in 0..self.out_channels {
            let bound = self.accumulator_bound(o, in_abs_max);
            if bound > i32::MAX as i64 {
                return Err(Error::weights(
                    format!("{name}.weight"),
                    format!(
                        "output channel {o} can reach {bound}, which overflows an i32 accumulator"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The integer h_s with its input format and output thresholds: z symbols in, one scale-table
/// index per element of y out.
#[derive(Clone, Debug)]
pub struct IntHyperSynthesis {
    /// Fraction bits of the input: x = symbol * 2^bits + median_fixed.
    pub input_frac_bits: u32,
    /// Per z channel, the median in the input's fixed point.
    pub medians: Vec<i32>,
    /// The layers (three: deconv, deconv, conv).
    pub layers: Vec<IntConv>,
    /// Index = number of thresholds the last layer's output exceeds.
    pub thresholds: Vec<i32>,
}

impl IntHyperSynthesis {
    /// The first layer's input from z symbols (`round(z - median)`, CHW): `symbol * 2^frac +
    /// median`, clamped to the signed input range. Exact integer arithmetic.
    pub fn input(&self, symbols: &[i32], plane: usize) -> Vec<i32> {
        let lo = -(1i64 << (INPUT_BITS - 1));
        let hi = (1i64 << (INPUT_BITS - 1)) - 1;
        symbols
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let c = i / plane.max(1);
                let v = ((s as i64) << self.input_frac_bits) + self.medians[c] as i64;
                v.clamp(lo, hi) as i32
            })
            .collect()
    }

    /// Number of z channels.
    pub fn in_channels(&self) -> usize {
        self.medians.len()
    }

    /// Channels of the output (one scale per element of y).
    pub fn out_channels(&self) -> usize {
        self.layers.last().map_or(0, |l| l.out_channels)
    }

    /// Checks shapes, shifts and the accumulator bound of every layer: a weight file that could
    /// make an i32 accumulator overflow is refused.
    pub(crate) fn validate(&self, n: usize, tables: usize) -> Result<()> {
        let bad =
            |name: &str, problem: String| Err(Error::weights(format!("h_s_int.{name}"), problem));
        if self.medians.len() != n {
            return bad(
                "medians",
                format!("{} entries, expected {n}", self.medians.len()),
            );
        }
        if self.input_frac_bits > 20 {
            return bad(
                "input_frac_bits",
                format!("{} is above 20", self.input_frac_bits),
            );
        }
        if self.thresholds.len() + 1 != tables {
            return bad(
                "thresholds",
                format!(
                    "{} entries, expected {} (scale table size - 1)",
                    self.thresholds.len(),
                    tables.saturating_sub(1)
                ),
            );
        }
        let mut in_abs_max: i64 = 1 << (INPUT_BITS - 1);
        let mut channels = n;
        for (i, layer) in self.layers.iter().enumerate() {
            let name = format!("h_s_int.{}", 2 * i);
            if layer.in_channels != channels {
                return Err(Error::weights(
                    format!("{name}.weight"),
                    format!("{} input channels, expected {channels}", layer.in_channels),
                ));
            }
            layer.validate(&name, in_abs_max)?;
            in_abs_max = layer.act_max as i64 + 1;
            channels = layer.out_channels;
        }
        Ok(())
    }
}

/// Table indexes and means of every element of y (CHW): one pass's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntropyParams {
    /// Scale-table index of every element.
    pub indexes: Vec<u8>,
    /// Means in fixed point (the model's `mean_frac_bits`); empty for the scale hyperprior.
    pub means: Vec<i32>,
}

/// The integer checkerboard context (He et al. 2021), channel by channel: from the hyper features
/// and the decoded anchors to the scale index and the mean of every element of y.
///
/// For element (c, y, x): `context` and `magnitude` are 5x5 depthwise convolutions of channel c of
/// the context input ([`IntContext::context_input`]) and of its magnitude (both 0 for the anchors,
/// which are coded first); `fusion` maps (h_s output, context, magnitude) of channel c through
/// hidden units to (scale, mean) of channel c: grouped 1x1 layers, three inputs and two outputs
/// side by side per group. The anchors have a fusion network of their own, `anchor_fusion`. The scale is compared with the thresholds; the mean has
/// [`IntContext::mean_frac_bits`] fractional bits.
#[derive(Clone, Debug)]
pub struct IntContext {
    /// Depthwise 5x5 convolution of the decoded anchors (weights zero at the taps the
    /// checkerboard masks), signed.
    pub context: IntConv,
    /// The same over the anchors' magnitudes, signed.
    pub magnitude: IntConv,
    /// Fraction bits of the context's input.
    pub input_frac_bits: u32,
    /// Grouped 1x1 (3M -> H M, ReLU) and (H M -> 2M, signed), for the second pass.
    pub fusion: Vec<IntConv>,
    /// The same for the anchors (the first pass).
    pub anchor_fusion: Vec<IntConv>,
    /// Fraction bits of the means (the last layer's output).
    pub mean_frac_bits: u32,
}

/// Whether the element at `(row, column)` of y is an anchor (coded in the first pass).
#[inline]
pub fn is_anchor(row: usize, column: usize) -> bool {
    (row + column).is_multiple_of(2)
}

impl IntContext {
    /// Hidden units per channel of the fusion.
    pub fn hidden(&self) -> usize {
        self.fusion[0].out_channels / self.fusion[0].groups
    }

    /// The largest value of the context's input.
    pub fn input_max() -> i32 {
        (1 << (CONTEXT_INPUT_BITS - 1)) - 1
    }

    /// The context's input from the decoded anchors (CHW over y): `(clamp(symbol) << f) + the
    /// mean rounded to f fractional bits`, clamped to the signed input range; 0 at the other
    /// positions. Exact integer arithmetic, the same on every device.
    pub fn context_input(
        &self,
        symbols: &[i32],
        means: &[i32],
        height: usize,
        width: usize,
    ) -> Vec<i32> {
        let top = Self::input_max() as i64;
        let f = self.input_frac_bits;
        let drop = self.mean_frac_bits - f;
        let round = (1i64 << drop) >> 1;
        let plane = height * width;
        (0..symbols.len())
            .map(|i| {
                let p = i % plane.max(1);
                if !is_anchor(p / width, p % width) {
                    return 0;
                }
                let s = (symbols[i] as i64).clamp(-top - 1, top);
                let v = (s << f) + ((means[i] as i64 + round) >> drop);
                v.clamp(-top - 1, top) as i32
            })
            .collect()
    }

    /// Checks shapes, fixed-point positions and the accumulator bounds; `m` is y's channels,
    /// `hyper_max` the largest h_s output.
    pub(crate) fn validate(&self, m: usize, hyper_max: i32) -> Result<()> {
        let bad = |tensor: &str, problem: String| Err(Error::weights(tensor, problem));
        let convs = [
            ("context_prediction_int", &self.context),
            ("context_magnitude_int", &self.magnitude),
        ];
        for (name, conv) in convs {
            let g = conv.geometry;
            let depthwise = conv.in_channels == m && conv.out_channels == m && conv.groups == m;
            let same_size = !g.transposed && g.stride == 1 && g.kernel == 2 * g.pad + 1;
            if !depthwise || !same_size {
                return bad(
                    &format!("{name}.weight"),
                    format!("expected a depthwise {m} -> {m} convolution keeping the size"),
                );
            }
            conv.validate(name, Self::input_max() as i64 + 1)?;
        }
        if self.input_frac_bits > self.mean_frac_bits || self.mean_frac_bits > MAX_SHIFT {
            return bad(
                "entropy_parameters_int.output_frac_bits",
                format!(
                    "means with {} fractional bits cannot feed a context input of {}",
                    self.mean_frac_bits, self.input_frac_bits
                ),
            );
        }
        self.validate_fusion("anchor_parameters_int", &self.anchor_fusion, m, hyper_max)?;
        self.validate_fusion("entropy_parameters_int", &self.fusion, m, hyper_max)
    }

    fn validate_fusion(
        &self,
        name: &str,
        fusion: &[IntConv],
        m: usize,
        hyper_max: i32,
    ) -> Result<()> {
        let bad = |tensor: &str, problem: String| Err(Error::weights(tensor, problem));
        let [first, last] = fusion else {
            return bad(name, "expects two layers".into());
        };
        let hidden = first.out_channels / m.max(1);
        if hidden > MAX_HIDDEN {
            return bad(
                &format!("{name}.0.weight"),
                format!("{hidden} hidden units per channel; at most {MAX_HIDDEN}"),
            );
        }
        let pointwise = |l: &IntConv| {
            let g = l.geometry;
            g.kernel == 1 && g.pad == 0 && g.stride == 1 && !g.transposed && l.groups == m
        };
        if !pointwise(first)
            || first.in_channels != 3 * m
            || hidden == 0
            || first.out_channels != hidden * m
        {
            return bad(
                &format!("{name}.0.weight"),
                format!("expected a 1x1 layer of {m} groups from 3 to H channels each"),
            );
        }
        if !pointwise(last) || last.in_channels != first.out_channels || last.out_channels != 2 * m
        {
            return bad(
                &format!("{name}.2.weight"),
                format!("expected a 1x1 layer of {m} groups from {hidden} to 2 channels each"),
            );
        }
        let in_max = hyper_max
            .max(self.context.act_max)
            .max(self.magnitude.act_max) as i64
            + 1;
        if fusion[0].out_channels != self.fusion[0].out_channels
            || last.act_max != self.fusion[1].act_max
        {
            return bad(
                &format!("{name}.2.act_max"),
                "both fusion networks need the same hidden units and output range".into(),
            );
        }
        first.validate(&format!("{name}.0"), in_max)?;
        last.validate(&format!("{name}.2"), first.act_max as i64 + 1)?;
        Ok(())
    }
}
