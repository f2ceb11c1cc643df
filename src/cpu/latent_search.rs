//! Twin of `latent_search.wgsl`: the per-element steps of the encoder's latent search (soft
//! rounding with stochastic Gumbel annealing, the rate's gradient, Adam, the distortion's
//! gradient). The same arithmetic in the same order as the shader; the random numbers are
//! integer hashes, identical on both.

use crate::tensor::Tensor;

/// Adam's moment decays and epsilon.
pub const ADAM_BETA1: f32 = 0.9;
/// Adam's second-moment decay.
pub const ADAM_BETA2: f32 = 0.999;
/// Adam's epsilon.
pub const ADAM_EPSILON: f32 = 1e-8;
/// The distance to floor(u) is clamped to [R_MIN, 1 - R_MIN] (atanh is infinite at 0 and 1).
pub const R_MIN: f32 = 1e-4;
/// CompressAI's lower bound of a symbol's probability.
pub const LIKELIHOOD_MIN: f32 = 1e-9;

/// One step's settings (the shader's `Params`, less the sizes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchStep {
    /// Adam's step number, from 1.
    pub step: u32,
    /// Seed of the Gumbel noise.
    pub seed: u32,
    /// Temperature of the soft rounding.
    pub tau: f32,
    /// Adam's step size.
    pub lr: f32,
    /// Weight of the rate (bits) in the loss: 1 / pixels gives bits per pixel.
    pub rate_weight: f32,
    /// Only the non-anchors (checkerboard) move.
    pub non_anchors_only: bool,
    /// The rectangle of y that moves (x, y, width, height): all of it, or a tile's core.
    pub free: [usize; 4],
}

/// What the soft rounding gives per element of y.
#[derive(Clone, Debug)]
pub struct SoftRounded {
    /// g_s's input: (soft-rounded y - mean + mean) times the inverse gain.
    pub synthesis_input: Tensor,
    /// d(soft-rounded y)/dy.
    pub d_round: Tensor,
    /// d(bits of the element)/d(soft-rounded y).
    pub rate_grad: Tensor,
}

/// PCG hash (O'Neill's RXS-M-XS output of one LCG step).
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// A uniform number in (0, 1) for element `index` of step `step`.
pub fn uniform(index: u32, step: u32, seed: u32) -> f32 {
    let h = pcg_hash(index.wrapping_add(pcg_hash(step ^ pcg_hash(seed))));
    ((h >> 8) as f32 + 0.5) / 16777216.0
}

/// erfc by Numerical Recipes' Chebyshev fit (relative error under 1.2e-7), only `exp` inside.
pub fn erfc(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The standard normal's cumulative distribution.
fn normal_cdf(t: f32) -> f32 {
    0.5 * erfc(-t * std::f32::consts::FRAC_1_SQRT_2)
}

/// The standard normal's density.
fn normal_pdf(t: f32) -> f32 {
    (-0.5 * t * t).exp() * 0.398_942_3
}

fn atanh(r: f32) -> f32 {
    0.5 * ((1.0 + r) / (1.0 - r)).ln()
}

/// Whether y element `px` (row-major in a plane `width` wide) is a checkerboard anchor.
fn is_anchor(px: usize, width: usize) -> bool {
    crate::model::is_anchor(px / width, px % width)
}

/// One element: (soft-rounded u, d(rounded)/du, d bits/d rounded) for u = y - mean.
pub fn soft_round_element(u: f32, scale: f32, noise: f32, tau: f32) -> (f32, f32, f32) {
    let lo = u.floor();
    let raw = u - lo;
    let r = raw.clamp(R_MIN, 1.0 - R_MIN);
    // logits of floor and ceil (Yang et al.: atanh of the distance, over tau), a logistic
    // sample for the difference of their Gumbel noises, softmax at temperature tau
    let logistic = noise.ln() - (1.0 - noise).ln();
    let diff = (atanh(r) - atanh(1.0 - r)) / tau;
    let p_up = 1.0 / (1.0 + (-(diff + logistic) / tau).exp());
    let rounded = lo + p_up;
    let d_diff = (1.0 / (1.0 - r * r) + 1.0 / (1.0 - (1.0 - r) * (1.0 - r))) / tau;
    let inside = raw == r;
    let d_round = if inside {
        p_up * (1.0 - p_up) * d_diff / tau
    } else {
        0.0
    };
    // bits = -log2 P, P = Phi((0.5 - |v|)/s) - Phi((-0.5 - |v|)/s)
    let v = rounded.abs();
    let upper = (0.5 - v) / scale;
    let lower = (-0.5 - v) / scale;
    let p = (normal_cdf(upper) - normal_cdf(lower)).max(LIKELIHOOD_MIN);
    let dp_dv = (normal_pdf(lower) - normal_pdf(upper)) / scale;
    let sign = if rounded > 0.0 {
        1.0
    } else if rounded < 0.0 {
        -1.0
    } else {
        0.0
    };
    let rate_grad = -sign * dp_dv / (p * std::f32::consts::LN_2);
    (rounded, d_round, rate_grad)
}

/// `soft_round`: every element of y against its mean and scale.
pub fn soft_round(
    y: &Tensor,
    mean: &Tensor,
    scale: &Tensor,
    inv_gain: &[f32],
    s: &SearchStep,
) -> SoftRounded {
    let plane = y.height * y.width;
    let mut out = SoftRounded {
        synthesis_input: Tensor::zeros(y.channels, y.height, y.width),
        d_round: Tensor::zeros(y.channels, y.height, y.width),
        rate_grad: Tensor::zeros(y.channels, y.height, y.width),
    };
    for (e, &value) in y.data.iter().enumerate() {
        let noise = uniform(e as u32, s.step, s.seed);
        let m = mean.data[e];
        let (rounded, d_round, rate_grad) =
            soft_round_element(value - m, scale.data[e], noise, s.tau);
        out.synthesis_input.data[e] = (rounded + m) * inv_gain[e / plane];
        out.d_round.data[e] = d_round;
        out.rate_grad.data[e] = rate_grad;
    }
    out
}

/// The Adam moments of the search.
#[derive(Clone, Debug)]
pub struct AdamState {
    /// First moment.
    pub m: Tensor,
    /// Second moment.
    pub v: Tensor,
}

/// `adam_step`: the gradient of the loss with respect to y (distortion through g_s, whose
/// input gradient is `synthesis_grad`, plus the weighted rate), then one Adam step on y.
pub fn adam_step(
    y: &mut Tensor,
    adam: &mut AdamState,
    synthesis_grad: &Tensor,
    rounded: &SoftRounded,
    inv_gain: &[f32],
    s: &SearchStep,
) {
    let plane = y.height * y.width;
    let c1 = 1.0 - ADAM_BETA1.powi(s.step as i32);
    let c2 = 1.0 - ADAM_BETA2.powi(s.step as i32);
    for e in 0..y.data.len() {
        let (row, col) = ((e % plane) / y.width, e % y.width);
        let [x0, y0, w, h] = s.free;
        let outside = col < x0 || col >= x0 + w || row < y0 || row >= y0 + h;
        if outside || (s.non_anchors_only && is_anchor(e % plane, y.width)) {
            continue;
        }
        let d_rounded = synthesis_grad.data[e] * inv_gain[e / plane]
            + s.rate_weight * rounded.rate_grad.data[e];
        let g = d_rounded * rounded.d_round.data[e];
        let m = ADAM_BETA1 * adam.m.data[e] + (1.0 - ADAM_BETA1) * g;
        let v = ADAM_BETA2 * adam.v.data[e] + (1.0 - ADAM_BETA2) * g * g;
        adam.m.data[e] = m;
        adam.v.data[e] = v;
        y.data[e] -= s.lr * (m / c1) / ((v / c2).sqrt() + ADAM_EPSILON);
    }
}

/// `distortion_grad`: `weight x (output - picture)` inside the rectangle `crop` (x, y, width,
/// height: the picture within its padding, or a tile's core), 0 elsewhere.
pub fn distortion_grad(output: &Tensor, picture: &Tensor, crop: [usize; 4], weight: f32) -> Tensor {
    let mut grad = Tensor::zeros(output.channels, output.height, output.width);
    let plane = output.height * output.width;
    let [x0, y0, w, h] = crop;
    for (e, g) in grad.data.iter_mut().enumerate() {
        let (row, col) = ((e % plane) / output.width, e % output.width);
        if row >= y0 && row < y0 + h && col >= x0 && col < x0 + w {
            *g = weight * (output.data[e] - picture.data[e]);
        }
    }
    grad
}
