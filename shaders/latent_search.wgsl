// The encoder's latent search, per element of y (twin: src/cpu/latent_search.rs):
//   soft_round       y -> stochastic Gumbel-annealed soft rounding around the mean (Yang et al.
//                    2020), g_s's input, d(rounded)/dy and the rate's gradient (bits, Gaussian)
//   adam_step        the loss's gradient for y (distortion through g_s + weighted rate), Adam
//   distortion_grad  d(weight x squared error)/d(g_s output) inside a rectangle (the picture, or a
//                    tile's core), 0 elsewhere
// Tensors are vec4 channel groups of `plane` pixels (as conv.wgsl); lanes past `channels` stay 0.

struct Params {
    plane: u32,              // pixels per channel plane
    c4: u32,                 // channel groups of 4
    channels: u32,           // channels (the last group may be partial)
    width: u32,              // plane width (checkerboard; distortion_grad: the output's)
    row_pitch: u32,          // invocations per dispatch row (workgroups along x * 64)
    step: u32,               // Adam's step, from 1; also the noise's counter
    seed: u32,
    non_anchors_only: u32,   // 1: the checkerboard's anchors do not move
    tau: f32,                // temperature of the soft rounding
    lr: f32,                 // Adam's step size
    rate_weight: f32,        // weight of the bits in the loss
    bias1: f32,              // 1 - beta1^step
    bias2: f32,              // 1 - beta2^step
    crop_width: u32,         // distortion_grad: the rectangle of the output that counts
    crop_height: u32,
    distortion_weight: f32,
    crop_x: u32,
    crop_y: u32,
    free_x: u32,             // adam_step: the rectangle of y that moves (a tile's core)
    free_y: u32,
    free_width: u32,
    free_height: u32,
    _pad0: u32,
    _pad1: u32,
}

const ADAM_BETA1: f32 = 0.9;
const ADAM_BETA2: f32 = 0.999;
const ADAM_EPSILON: f32 = 1e-8;
const R_MIN: f32 = 1e-4;
const LIKELIHOOD_MIN: f32 = 1e-9;
const LN_2: f32 = 0.6931472;
const FRAC_1_SQRT_2: f32 = 0.70710677;
const INV_SQRT_2PI: f32 = 0.3989423;

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mean: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scale: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> inv_gain: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> synthesis_input: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> d_round: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> rate_grad: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> synthesis_grad: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> moment1: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> moment2: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read> output: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> picture: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> output_grad: array<vec4<f32>>;

fn pcg_hash(v: vec4<u32>) -> vec4<u32> {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> vec4<u32>(28u)) + 4u)) ^ state) * 277803737u;
    return (word >> vec4<u32>(22u)) ^ word;
}

// uniform numbers in (0, 1) for the four channels of group cg at pixel px
fn uniform(cg: u32, px: u32) -> vec4<f32> {
    let index = (vec4<u32>(0u, 1u, 2u, 3u) + 4u * cg) * p.plane + px;
    let counter = pcg_hash(vec4<u32>(p.step ^ pcg_hash(vec4<u32>(p.seed)).x)).x;
    let h = pcg_hash(index + counter);
    return (vec4<f32>(h >> vec4<u32>(8u)) + 0.5) / 16777216.0;
}

// Numerical Recipes' erfc (relative error under 1.2e-7)
fn erfc(x: vec4<f32>) -> vec4<f32> {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.2655122
        + t * (1.0000237
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.135204
                                + t * (1.4885159 + t * (-0.82215223 + t * 0.17087277))))))));
    let r = t * exp(poly);
    return select(2.0 - r, r, x >= vec4<f32>(0.0));
}

fn normal_cdf(t: vec4<f32>) -> vec4<f32> {
    return 0.5 * erfc(-t * FRAC_1_SQRT_2);
}

fn normal_pdf(t: vec4<f32>) -> vec4<f32> {
    return exp(-0.5 * t * t) * INV_SQRT_2PI;
}

fn atanh4(r: vec4<f32>) -> vec4<f32> {
    return 0.5 * log((1.0 + r) / (1.0 - r));
}

fn lanes(cg: u32) -> vec4<bool> {
    return (vec4<u32>(0u, 1u, 2u, 3u) + 4u * cg) < vec4<u32>(p.channels);
}

fn element(gid: vec3<u32>) -> vec2<u32> {
    return vec2<u32>(gid.y * p.row_pitch + gid.x, gid.z);
}

@compute @workgroup_size(64, 1, 1)
fn soft_round(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = element(gid);
    let px = at.x;
    let cg = at.y;
    if (px >= p.plane || cg >= p.c4) {
        return;
    }
    let e = cg * p.plane + px;
    let valid = lanes(cg);
    let m = mean[e];
    let s = select(vec4<f32>(1.0), scale[e], valid);
    let u = y[e] - m;
    let lo = floor(u);
    let raw = u - lo;
    let r = clamp(raw, vec4<f32>(R_MIN), vec4<f32>(1.0 - R_MIN));
    let noise = uniform(cg, px);
    let logistic = log(noise) - log(1.0 - noise);
    let diff = (atanh4(r) - atanh4(1.0 - r)) / p.tau;
    let p_up = 1.0 / (1.0 + exp(-(diff + logistic) / p.tau));
    let rounded = lo + p_up;
    let d_diff = (1.0 / (1.0 - r * r) + 1.0 / (1.0 - (1.0 - r) * (1.0 - r))) / p.tau;
    let inside = raw == r;
    let d = select(vec4<f32>(0.0), p_up * (1.0 - p_up) * d_diff / p.tau, inside);
    let v = abs(rounded);
    let upper = (0.5 - v) / s;
    let lower = (-0.5 - v) / s;
    let prob = max(normal_cdf(upper) - normal_cdf(lower), vec4<f32>(LIKELIHOOD_MIN));
    let dp_dv = (normal_pdf(lower) - normal_pdf(upper)) / s;
    let zero = vec4<f32>(0.0);
    synthesis_input[e] = select(zero, (rounded + m) * inv_gain[cg], valid);
    d_round[e] = select(zero, d, valid);
    rate_grad[e] = select(zero, -sign(rounded) * dp_dv / (prob * LN_2), valid);
}

@compute @workgroup_size(64, 1, 1)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = element(gid);
    let px = at.x;
    let cg = at.y;
    if (px >= p.plane || cg >= p.c4) {
        return;
    }
    let row = px / p.width;
    let col = px % p.width;
    let outside = col < p.free_x || col >= p.free_x + p.free_width || row < p.free_y
        || row >= p.free_y + p.free_height;
    if (outside || (p.non_anchors_only != 0u && (row + col) % 2u == 0u)) {
        return;
    }
    let e = cg * p.plane + px;
    let d_rounded = synthesis_grad[e] * inv_gain[cg] + p.rate_weight * rate_grad[e];
    let g = d_rounded * d_round[e];
    let m = ADAM_BETA1 * moment1[e] + (1.0 - ADAM_BETA1) * g;
    let v = ADAM_BETA2 * moment2[e] + (1.0 - ADAM_BETA2) * g * g;
    moment1[e] = m;
    moment2[e] = v;
    y[e] -= select(vec4<f32>(0.0), p.lr * (m / p.bias1) / (sqrt(v / p.bias2) + ADAM_EPSILON), lanes(cg));
}

@compute @workgroup_size(64, 1, 1)
fn distortion_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = element(gid);
    let px = at.x;
    let cg = at.y;
    if (px >= p.plane || cg >= p.c4) {
        return;
    }
    let e = cg * p.plane + px;
    let row = px / p.width;
    let col = px % p.width;
    let inside = row >= p.crop_y && row < p.crop_y + p.crop_height && col >= p.crop_x
        && col < p.crop_x + p.crop_width;
    let g = p.distortion_weight * (output[e] - picture[e]);
    output_grad[e] = select(vec4<f32>(0.0), select(vec4<f32>(0.0), g, lanes(cg)), inside);
}
