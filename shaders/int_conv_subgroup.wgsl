// int_conv.wgsl's int_conv on adapters with subgroups of at least 8 invocations: int_conv for
// convolutions, int_conv_transpose for transposed ones. Still exact i32 arithmetic: the sum is
// the same in any order, so the scale indexes stay bit-identical to int_conv.wgsl and to the
// Rust twin.
//
// The weights of an output group are the same for the whole workgroup; as in conv_subgroup.wgsl,
// each lane loads those of one of 8 consecutive input channels and subgroupBroadcast hands them
// to every lane (4 ints loaded per lane for 8 channels instead of 32). Uniform control flow: out-
// of-range pixels and channels read clamped addresses and contribute 0.

//#include shared/int_conv_params.wgsl

// Input channel i at `at` (a pixel offset within a plane), 0 where masked out.
fn input(i: u32, at: u32, ok: bool) -> i32 {
    let plane = p.in_h * p.in_w;
    return select(0, src[min(i, p.in_c - 1u) * plane + at], ok && i < p.in_c);
}

@compute @workgroup_size(64, 1, 1)
fn int_conv(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let ox = wid.x * 8u + li % 8u;
    let oy = wid.y * 8u + li / 8u;
    let first = wid.z * 4u;
    let k = p.ksize;
    var acc = first_bias(first);
    for (var ky = 0u; ky < k; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        for (var kx = 0u; kx < k; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            let ok = iy >= 0 && iy < i32(p.in_h) && ix >= 0 && ix < i32(p.in_w);
            let at = u32(clamp(iy, 0, i32(p.in_h) - 1)) * p.in_w + u32(clamp(ix, 0, i32(p.in_w) - 1));
            for (var i0 = 0u; i0 < p.in_c; i0 += 8u) {
                mac8(&acc, my_weights(first, i0, ky * k + kx, lane), i0, at, ok);
            }
        }
    }
    finish4(ox, oy, first, acc);
}

// Shift, clamp and store the 4 output channels of group o4 at (ox, oy), if inside.
fn finish(ox: u32, oy: u32, o4: u32, acc: vec4<i32>) {
    if (ox >= p.out_w || oy >= p.out_h) {
        return;
    }
    let y = requantize(acc, o4);
    for (var l = 0u; l < 4u; l++) {
        let o = o4 * 4u + l;
        if (o < p.out_c) {
            dst[(o * p.out_h + oy) * p.out_w + ox] = y[l];
        }
    }
}

// Adds the 8 input channels from i0 at `at` times the weights of 4 output groups (`mine[g]`:
// lane l holds those of channel i0 + l); each input value is loaded once for the 4 groups.
fn mac8(acc: ptr<function, array<vec4<i32>, 4>>, mine: array<vec4<i32>, 4>, i0: u32, at: u32, ok: bool) {
    var x: i32;
    x = input(i0 + 0u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 0u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 0u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 0u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 0u) * x;
    x = input(i0 + 1u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 1u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 1u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 1u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 1u) * x;
    x = input(i0 + 2u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 2u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 2u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 2u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 2u) * x;
    x = input(i0 + 3u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 3u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 3u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 3u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 3u) * x;
    x = input(i0 + 4u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 4u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 4u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 4u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 4u) * x;
    x = input(i0 + 5u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 5u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 5u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 5u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 5u) * x;
    x = input(i0 + 6u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 6u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 6u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 6u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 6u) * x;
    x = input(i0 + 7u, at, ok);
    (*acc)[0] += subgroupBroadcast(mine[0], 7u) * x;
    (*acc)[1] += subgroupBroadcast(mine[1], 7u) * x;
    (*acc)[2] += subgroupBroadcast(mine[2], 7u) * x;
    (*acc)[3] += subgroupBroadcast(mine[3], 7u) * x;
}

// The weights of the 4 output groups from `first` (clamped to the last group) for the input
// channel i0 + lane % 8 (clamped to the last channel) at tap `tap`.
fn my_weights(first: u32, i0: u32, tap: u32, lane: u32) -> array<vec4<i32>, 4> {
    let last = (p.out_c + 3u) / 4u - 1u;
    let i = min(i0 + lane % 8u, p.in_c - 1u);
    let taps = p.ksize * p.ksize;
    return array<vec4<i32>, 4>(
        weights[(min(first, last) * p.in_c + i) * taps + tap],
        weights[(min(first + 1u, last) * p.in_c + i) * taps + tap],
        weights[(min(first + 2u, last) * p.in_c + i) * taps + tap],
        weights[(min(first + 3u, last) * p.in_c + i) * taps + tap]);
}

// Bias of the 4 output groups from `first` (clamped to the last group).
fn first_bias(first: u32) -> array<vec4<i32>, 4> {
    let last = (p.out_c + 3u) / 4u - 1u;
    return array<vec4<i32>, 4>(
        bias[min(first, last)], bias[min(first + 1u, last)],
        bias[min(first + 2u, last)], bias[min(first + 3u, last)]);
}

// finish() for the 4 groups from `first` (groups past the last are dropped).
fn finish4(ox: u32, oy: u32, first: u32, acc: array<vec4<i32>, 4>) {
    let groups = (p.out_c + 3u) / 4u;
    for (var g = 0u; g < 4u; g++) {
        if (first + g < groups) {
            finish(ox, oy, first + g, acc[g]);
        }
    }
}

// Transposed layers: output o takes input i where o = i * stride - pad + k. Each workgroup covers
// one residue class of x and of y modulo the stride, so a tap applies to all its invocations or
// to none (uniform control flow for the broadcasts).
@compute @workgroup_size(64, 1, 1)
fn int_conv_transpose(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let gx = wid.x * 8u + li % 8u;
    let gy = wid.y * 8u + li / 8u;
    let rx = gx / p.blocks_per_residue; // the same for the whole workgroup
    let ry = gy / p.rows_per_residue; // the same for the whole workgroup
    let ox = rx + p.stride * (gx % p.blocks_per_residue);
    let oy = ry + p.stride * (gy % p.rows_per_residue);
    let first = wid.z * 4u;
    let s = i32(p.stride);
    let k = p.ksize;
    var acc = first_bias(first);
    for (var ky = 0u; ky < k; ky++) {
        if ((i32(ry + p.pad) - i32(ky)) % s != 0) {
            continue;
        }
        let ty = i32(oy + p.pad) - i32(ky);
        let iy = ty / s;
        for (var kx = 0u; kx < k; kx++) {
            if ((i32(rx + p.pad) - i32(kx)) % s != 0) {
                continue;
            }
            let tx = i32(ox + p.pad) - i32(kx);
            let ix = tx / s;
            let ok = ty >= 0 && iy < i32(p.in_h) && tx >= 0 && ix < i32(p.in_w);
            let at = u32(clamp(iy, 0, i32(p.in_h) - 1)) * p.in_w + u32(clamp(ix, 0, i32(p.in_w) - 1));
            for (var i0 = 0u; i0 < p.in_c; i0 += 8u) {
                mac8(&acc, my_weights(first, i0, ky * k + kx, lane), i0, at, ok);
            }
        }
    }
    if (rx >= p.stride || ry >= p.stride) {
        return;
    }
    finish4(ox, oy, first, acc);
}
