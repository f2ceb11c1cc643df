// The context model's entropy parameters (checkerboard context, He et al. 2021), channel by
// channel, in exact i32 arithmetic: every GPU and the Rust twin (src/cpu/int_context.rs) compute
// the same table index and mean of every element of y bit for bit.
//
// One invocation per element (c, y, x) of y; each pass computes only its own positions (the
// anchors, then the others) and writes 0 to the rest. Second pass only: the depthwise 5x5 context of
// channel c over the context input (the decoded anchors in fixed point, 0 elsewhere) and the same
// over its magnitudes; the first pass (the anchors) has both 0. Then the per-channel fusion:
// hidden units from (h_s output, context, magnitude), then (scale, mean); the scale's table index
// by bisection over the sorted thresholds.
//
// Each channel's parameters are one record of `record` i32 in `net` (src/gpu/int_net.rs packs it):
//   context weights (k*k), bias, shift; magnitude weights (k*k), bias, shift;
//   then the anchors' fusion network and the others', each:
//     layer 1: weights (hidden x 3), biases (hidden), shifts (hidden);
//     layer 2: weights (2 x hidden), biases (2), shifts (2).

struct Params {
    width: u32,
    height: u32,
    ksize: u32,
    pad: u32,
    hidden: u32,
    record: u32,
    second_pass: u32,
    count: u32,
    n_thresholds: u32,
    row_pitch: u32,     // invocations per dispatch row (workgroups along x * 64)
    input_max: i32,     // the context input's largest value (its magnitude is clamped to it)
    context_max: i32,   // the contexts are clamped to [-context_max - 1, context_max]
    magnitude_max: i32,
    hidden_max: i32,    // hidden units: [0, hidden_max]
    out_max: i32,       // scale and mean: [-out_max - 1, out_max]
    // the dispatch covers channels first_channel .. (one chunk): net is indexed by the channel in
    // y, hyper, context_in, indexes and means by the channel within the chunk
    first_channel: u32,
}

// The most hidden units per channel (the host checks).
const MAX_HIDDEN: u32 = 8u;

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> hyper: array<i32>;
@group(0) @binding(2) var<storage, read> context_in: array<i32>;
@group(0) @binding(3) var<storage, read> net: array<i32>;
@group(0) @binding(4) var<storage, read> thresholds: array<i32>;
@group(0) @binding(5) var<storage, read_write> indexes: array<u32>;
@group(0) @binding(6) var<storage, read_write> means: array<i32>;

// (acc + 2^(shift - 1)) >> shift, clamped to [lo, hi].
fn requantize(acc: i32, shift: i32, lo: i32, hi: i32) -> i32 {
    let s = u32(shift);
    return clamp((acc + i32((1u << s) >> 1u)) >> s, lo, hi);
}

@compute @workgroup_size(64, 1, 1)
fn checkerboard_parameters(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.y * p.row_pitch + gid.x;
    if (e >= p.count) {
        return;
    }
    let plane = p.width * p.height;
    let c = e / plane; // within the chunk
    let y = (e % plane) / p.width;
    let x = (e % plane) % p.width;
    // each pass computes its own positions (the anchors first); the others get 0
    if ((((y + x) & 1u) == 0u) == (p.second_pass != 0u)) {
        indexes[e] = 0u;
        means[e] = 0;
        return;
    }
    let base = (p.first_channel + c) * p.record;
    let taps = p.ksize * p.ksize;
    var context = 0;
    var magnitude = 0;
    if (p.second_pass != 0u) {
        var acc_c = net[base + taps];
        var acc_m = net[base + 2u * taps + 2u];
        for (var ky = 0u; ky < p.ksize; ky++) {
            let iy = i32(y + ky) - i32(p.pad);
            if (iy < 0 || iy >= i32(p.height)) {
                continue;
            }
            // only the anchors ((row + column) even) are read: the context input is 0 elsewhere
            for (var kx = u32(iy + i32(p.pad) + i32(x)) & 1u; kx < p.ksize; kx += 2u) {
                let ix = i32(x + kx) - i32(p.pad);
                if (ix < 0 || ix >= i32(p.width)) {
                    continue;
                }
                let v = context_in[c * plane + u32(iy) * p.width + u32(ix)];
                acc_c += net[base + ky * p.ksize + kx] * v;
                acc_m += net[base + taps + 2u + ky * p.ksize + kx] * min(abs(v), p.input_max);
            }
        }
        context = requantize(acc_c, net[base + taps + 1u], -p.context_max - 1, p.context_max);
        magnitude = requantize(acc_m, net[base + 2u * taps + 3u], -p.magnitude_max - 1, p.magnitude_max);
    }
    let h = hyper[e];
    // the second pass's fusion network follows the anchors'
    let f1 = base + 2u * taps + 4u + p.second_pass * (7u * p.hidden + 4u);
    var units = array<i32, MAX_HIDDEN>();
    for (var j = 0u; j < p.hidden; j++) {
        let w = f1 + 3u * j;
        let acc = net[f1 + 3u * p.hidden + j] + net[w] * h + net[w + 1u] * context + net[w + 2u] * magnitude;
        units[j] = requantize(acc, net[f1 + 4u * p.hidden + j], 0, p.hidden_max);
    }
    let f2 = f1 + 5u * p.hidden;
    var out = array<i32, 2>();
    for (var k = 0u; k < 2u; k++) {
        var acc = net[f2 + 2u * p.hidden + k];
        for (var j = 0u; j < p.hidden; j++) {
            acc += net[f2 + k * p.hidden + j] * units[j];
        }
        out[k] = requantize(acc, net[f2 + 2u * p.hidden + 2u + k], -p.out_max - 1, p.out_max);
    }
    // the count of thresholds below the scale: the first position whose threshold is >= it
    var lo = 0u;
    var hi = p.n_thresholds;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (thresholds[mid] < out[0]) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    indexes[e] = lo;
    means[e] = out[1];
}
