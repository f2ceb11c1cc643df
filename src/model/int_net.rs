//! The integer networks (Balle, Johnston, Minnen 2019, "Integer networks for data compression with
//! latent-variable models"): everything that decides an entropy-table index is computed with
//! integer arithmetic only, so that encoder and decoder agree bit for bit on every device. This
//! file holds the networks and their checks; `cpu::int_conv` and `shaders/int_conv.wgsl` run them.
//! The fixed-point format is described in docs/integer-hyper-synthesis.md.

use super::layers::ConvGeometry;
use crate::error::{Error, Result};

/// Bits of the signed input activations (z_hat in fixed point).
pub const INPUT_BITS: u32 = 12;
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

    /// The weight connecting input channel `i` to output channel `o` at tap `(ky, kx)`.
    #[inline]
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> i32 {
        let at = self
            .geometry
            .weight_index((self.in_channels, self.out_channels), o, i, ky, kx);
        self.weight[at]
    }

    /// Multiply-adds over an output of `out_h` x `out_w`.
    pub fn macs(&self, out_h: usize, out_w: usize) -> u64 {
        self.geometry
            .macs(self.in_channels, self.out_channels, out_h, out_w)
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
                for i in 0..self.in_channels {
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
