//! The integer hyper-synthesis (Balle, Johnston, Minnen 2019, "Integer networks for data
//! compression with latent-variable models"): z symbols in, one scale-table index per element of y
//! out, computed with integer arithmetic only so that encoder and decoder agree bit for bit on
//! every device. This file holds the network, its loading and checking, and the CPU twin of
//! `shaders/hyper_int.wgsl`. The fixed-point format is described in docs/integer-hyper-synthesis.md.

use crate::error::{Error, Result};
use crate::model::{conv_output_len, conv_source_index};

/// Bits of the signed input activations (z_hat in fixed point).
pub const INPUT_BITS: u32 = 12;

/// One integer layer: convolution or transposed convolution, rounding shift, clamped ReLU.
#[derive(Clone, Debug)]
pub struct IntConv {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding.
    pub pad: usize,
    /// Transposed convolution (output_padding = stride - 1).
    pub transposed: bool,
    /// Weights in PyTorch's layout.
    pub weight: Vec<i32>,
    /// Bias at the accumulator's scale.
    pub bias: Vec<i32>,
    /// Right shift per output channel (0..=30), rounding half up.
    pub shift: Vec<u32>,
    /// Upper clamp of the output (the lower clamp is 0: ReLU).
    pub act_max: i32,
}

/// The integer h_s with its input format and output thresholds.
#[derive(Clone, Debug)]
pub struct IntHyperSynthesis {
    /// Fraction bits of the input: x = symbol * 2^bits + median_fixed.
    pub input_frac_bits: u32,
    /// Per z channel, the median in the input's fixed point.
    pub medians: Vec<i32>,
    /// The three layers.
    pub layers: Vec<IntConv>,
    /// Index = number of thresholds the last layer's output exceeds.
    pub thresholds: Vec<i32>,
}

impl IntConv {
    /// Output height and width for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        let f = |n| conv_output_len(self.kernel, self.stride, self.pad, self.transposed, n);
        (f(h), f(w))
    }

    #[inline]
    fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> i32 {
        let k = self.kernel;
        if self.transposed {
            self.weight[((i * self.out_channels + o) * k + ky) * k + kx]
        } else {
            self.weight[((o * self.in_channels + i) * k + ky) * k + kx]
        }
    }

    /// The input coordinate that output coordinate `o` reads through tap `k`, if any.
    #[inline]
    fn source_index(&self, o: usize, k: usize, size: usize) -> Option<usize> {
        conv_source_index(self.stride, self.pad, self.transposed, o, k, size)
    }

    /// The largest |accumulator| any output of channel `o` can reach for inputs within
    /// `[-in_abs_max, in_abs_max]`: |bias| + (the largest sum of |w| one output pixel receives) x max.
    fn accumulator_bound(&self, o: usize, in_abs_max: i64) -> i64 {
        let k = self.kernel;
        // Transposed convolutions feed each output pixel from one class of taps (ky, kx mod stride).
        let classes = if self.transposed { self.stride } else { 1 };
        let mut worst = 0i64;
        for cy in 0..classes {
            for cx in 0..classes {
                let mut sum = 0i64;
                for i in 0..self.in_channels {
                    for ky in (cy..k).step_by(classes) {
                        for kx in (cx..k).step_by(classes) {
                            sum += (self.w(o, i, ky, kx) as i64).abs();
                        }
                    }
                }
                worst = worst.max(sum);
            }
        }
        (self.bias[o] as i64).abs() + worst * in_abs_max
    }
}

/// CPU twin of `int_conv` in `shaders/hyper_int.wgsl`, on CHW i32 data.
pub fn int_conv(
    input: &[i32],
    in_h: usize,
    in_w: usize,
    layer: &IntConv,
) -> (Vec<i32>, usize, usize) {
    let (oh, ow) = layer.output_size(in_h, in_w);
    let mut out = vec![0i32; layer.out_channels * oh * ow];
    for o in 0..layer.out_channels {
        let round = (1i32 << layer.shift[o]) >> 1;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = layer.bias[o];
                for ky in 0..layer.kernel {
                    let Some(iy) = layer.source_index(oy, ky, in_h) else {
                        continue;
                    };
                    for kx in 0..layer.kernel {
                        let Some(ix) = layer.source_index(ox, kx, in_w) else {
                            continue;
                        };
                        for i in 0..layer.in_channels {
                            // cannot overflow: bounded when the weights were loaded
                            acc += layer.w(o, i, ky, kx) * input[(i * in_h + iy) * in_w + ix];
                        }
                    }
                }
                let v = (acc + round) >> layer.shift[o];
                out[(o * oh + oy) * ow + ox] = v.clamp(0, layer.act_max);
            }
        }
    }
    (out, oh, ow)
}

/// CPU twin of `scale_index` in `shaders/hyper_int.wgsl`.
pub fn scale_index(values: &[i32], thresholds: &[i32]) -> Vec<u8> {
    values
        .iter()
        .map(|v| thresholds.iter().filter(|t| v > t).count() as u8)
        .collect()
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

    /// Scale-table indexes of y (M x 4h x 4w) from the z symbols (N x h x w), on the CPU.
    pub fn run_cpu(&self, symbols: &[i32], h: usize, w: usize) -> Vec<u8> {
        let mut x = self.input(symbols, h * w);
        let (mut ch, mut cw) = (h, w);
        for layer in &self.layers {
            let (out, oh, ow) = int_conv(&x, ch, cw, layer);
            x = out;
            (ch, cw) = (oh, ow);
        }
        scale_index(&x, &self.thresholds)
    }

    /// Number of z channels.
    pub fn in_channels(&self) -> usize {
        self.medians.len()
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
                    tables - 1
                ),
            );
        }
        let mut in_abs_max: i64 = 1 << (INPUT_BITS - 1);
        for (layer, name) in self.layers.iter().zip(["0", "2", "4"]) {
            if let Some(s) = layer.shift.iter().find(|s| **s > 30) {
                return bad(&format!("{name}.shift"), format!("shift {s} is above 30"));
            }
            if layer.act_max <= 0 {
                return bad(&format!("{name}.act_max"), "must be positive".into());
            }
            for o in 0..layer.out_channels {
                let bound = layer.accumulator_bound(o, in_abs_max);
                if bound > i32::MAX as i64 {
                    return bad(
                        &format!("{name}.weight"),
                        format!("output channel {o} can reach {bound}, which overflows an i32 accumulator"),
                    );
                }
            }
            in_abs_max = layer.act_max as i64 + 1;
        }
        Ok(())
    }
}
