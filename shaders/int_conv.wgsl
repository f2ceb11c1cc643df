// The integer networks (hyper-synthesis, context, entropy parameters): every operation is exact
// i32 arithmetic, so every GPU (and the Rust twin in src/cpu/int_conv.rs) computes the same scale
// indexes and means bit for bit. No float is involved.
//
// int_conv: convolution or transposed convolution on plain CHW i32 tensors. Each invocation
// computes four output channels of one pixel as a vec4<i32>: weights are repacked by the host as
// [out / 4][in][ky][kx] x 4 lanes (lane = out % 4, zero beyond the layer's channels), so every input
// value loaded serves four outputs. i32 bias at the accumulator's scale, then a rounding right shift
// per output channel and a clamp to [act_min, act_max] (a ReLU when act_min is 0). The weight file is checked on loading so
// that no accumulation can overflow.
//
// scale_index: the scale-table index of each element: how many thresholds it exceeds.

//#include shared/int_conv_params.wgsl
@group(0) @binding(6) var<storage, read> thresholds: array<i32>;
@group(0) @binding(7) var<storage, read_write> indexes: array<u32>;

// The input coordinate that output coordinate o reads through tap k, or -1.
fn source_index(o: u32, k: u32, size: u32) -> i32 {
    let s = i32(p.stride);
    var i: i32;
    if (p.transposed != 0u) {
        let t = i32(o + p.pad) - i32(k);
        if (t < 0 || t % s != 0) {
            return -1;
        }
        i = t / s;
    } else {
        i = i32(o) * s + i32(k) - i32(p.pad);
    }
    if (i < 0 || i >= i32(size)) {
        return -1;
    }
    return i;
}

@compute @workgroup_size(8, 8, 1)
fn int_conv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    let o4 = gid.z;
    if (ox >= p.out_w || oy >= p.out_h || o4 * 4u >= p.out_c) {
        return;
    }
    let k = p.ksize;
    let taps = k * k;
    let plane = p.in_h * p.in_w;
    var acc = bias[o4];
    // taps outside, channels inside: the index arithmetic runs once per tap, not per multiply
    for (var ky = 0u; ky < k; ky++) {
        let iy = source_index(oy, ky, p.in_h);
        if (iy < 0) {
            continue;
        }
        for (var kx = 0u; kx < k; kx++) {
            let ix = source_index(ox, kx, p.in_w);
            if (ix < 0) {
                continue;
            }
            var wi = o4 * p.in_c * taps + ky * k + kx;
            var si = u32(iy) * p.in_w + u32(ix);
            for (var i = 0u; i < p.in_c; i++) {
                acc += weights[wi] * src[si];
                wi += taps;
                si += plane;
            }
        }
    }
    let y = requantize(acc, o4);
    for (var lane = 0u; lane < 4u; lane++) {
        let o = o4 * 4u + lane;
        if (o < p.out_c) {
            dst[(o * p.out_h + oy) * p.out_w + ox] = y[lane];
        }
    }
}

@compute @workgroup_size(64, 1, 1)
fn scale_index(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.y * p.row_pitch + gid.x;
    if (e >= p.count) {
        return;
    }
    // thresholds are sorted (the loader checks): the count of those below v is the first position
    // whose threshold is >= v, found by bisection (6 loads for 63 thresholds instead of 63)
    let v = src[e];
    var lo = 0u;
    var hi = p.n_thresholds;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (thresholds[mid] < v) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    indexes[e] = lo;
}
