// The integer hyper-synthesis: every operation is exact i32 arithmetic, so every GPU (and the
// Rust twin in src/hyper.rs) computes the same scale indices bit for bit. No float is involved.
//
// int_conv: convolution or transposed convolution on plain CHW i32 tensors, weights in PyTorch's
// layout ([out, in, k, k], or [in, out, k, k] transposed), i32 bias at the accumulator's scale,
// then a rounding right shift per output channel and a ReLU clamped to [0, act_max]. The weight
// file is checked on loading so that no accumulation can overflow.
//
// scale_index: the scale-table index of each element: how many thresholds it exceeds.

struct Params {
    in_w: u32,
    in_h: u32,
    in_c: u32,
    out_w: u32,
    out_h: u32,
    out_c: u32,
    ksize: u32,
    stride: u32,
    pad: u32,
    transposed: u32,
    act_max: i32,
    count: u32,        // scale_index: elements
    n_thresholds: u32, // scale_index: thresholds (buffers are padded, so arrayLength would lie)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<i32>;
@group(0) @binding(2) var<storage, read> weights: array<i32>;
@group(0) @binding(3) var<storage, read> bias: array<i32>;
@group(0) @binding(4) var<storage, read> shift: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst: array<i32>;
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
    let o = gid.z;
    if (ox >= p.out_w || oy >= p.out_h || o >= p.out_c) {
        return;
    }
    let k = p.ksize;
    let plane = p.in_h * p.in_w;
    // weight index steps by one input channel
    var w_step = k * k;
    if (p.transposed != 0u) {
        w_step = p.out_c * k * k;
    }
    var acc = bias[o];
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
            var wi: u32;
            if (p.transposed != 0u) {
                wi = (o * k + ky) * k + kx;
            } else {
                wi = ((o * p.in_c) * k + ky) * k + kx;
            }
            var si = u32(iy) * p.in_w + u32(ix);
            for (var i = 0u; i < p.in_c; i++) {
                acc += weights[wi] * src[si];
                wi += w_step;
                si += plane;
            }
        }
    }
    let s = shift[o];
    let rounded = (acc + ((1 << s) >> 1u)) >> s;
    dst[(o * p.out_h + oy) * p.out_w + ox] = clamp(rounded, 0, p.act_max);
}

@compute @workgroup_size(64, 1, 1)
fn scale_index(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.y * 65535u * 64u + gid.x;
    if (e >= p.count) {
        return;
    }
    let v = src[e];
    var n = 0u;
    for (var t = 0u; t < p.n_thresholds; t++) {
        n += u32(v > thresholds[t]);
    }
    indexes[e] = n;
}
