// deconv.wgsl's conv_transpose2d for adapters with subgroups of at least 8 invocations: the
// weights are loaded as one vec2 per lane and rebuilt with subgroupBroadcast (see
// conv_subgroup.wgsl for why).
//
// Subgroup operations need uniform control flow, so which taps apply must be the same for a whole
// workgroup: every workgroup covers 8 x 8 invocations of one residue class of x and one of y
// modulo the stride. blocks_per_residue and rows_per_residue are padded to multiples of 8 for
// that; out-of-range reads are clamped and masked, out-of-range writes skipped at the end.

struct Params {
    in_w: u32,
    in_h: u32,
    in_c4: u32,
    out_w: u32,
    out_h: u32,
    out_c4: u32,
    ksize: u32,
    stride: u32,
    pad: u32,
    flags: u32,
    // invocations along x per residue class of x: ceil(ceil(out_w / stride) / PX), padded to 8
    blocks_per_residue: u32,
    // invocations along y per residue class of y: ceil(out_h / stride), padded to 8
    rows_per_residue: u32,
}

const PX: u32 = 4u;
const FLAG_RELU: u32 = 1u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

// Matrix `index` of the weights, from one vec2 load per lane (lanes 0..7 hold pairs 0..7).
fn broadcast_matrix(index: u32, lane: u32) -> mat4x4<f32> {
    let q = weights[index * 8u + lane % 8u];
    return mat4x4<f32>(
        subgroupBroadcast(q.x, 0u), subgroupBroadcast(q.y, 0u),
        subgroupBroadcast(q.x, 1u), subgroupBroadcast(q.y, 1u),
        subgroupBroadcast(q.x, 2u), subgroupBroadcast(q.y, 2u),
        subgroupBroadcast(q.x, 3u), subgroupBroadcast(q.y, 3u),
        subgroupBroadcast(q.x, 4u), subgroupBroadcast(q.y, 4u),
        subgroupBroadcast(q.x, 5u), subgroupBroadcast(q.y, 5u),
        subgroupBroadcast(q.x, 6u), subgroupBroadcast(q.y, 6u),
        subgroupBroadcast(q.x, 7u), subgroupBroadcast(q.y, 7u));
}

@compute @workgroup_size(64, 1, 1)
fn conv_transpose2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let gx = wid.x * 8u + li % 8u;
    let gy = wid.y * 8u + li / 8u;
    let residue = gx / p.blocks_per_residue; // the same for the whole workgroup
    let block = gx % p.blocks_per_residue;
    let ry = gy / p.rows_per_residue; // the same for the whole workgroup
    let oy = ry + p.stride * (gy % p.rows_per_residue);
    let og = wid.z;
    let s = i32(p.stride);
    let ox0 = residue + p.stride * block * PX;
    let b = bias[og];
    var acc = array<vec4<f32>, PX>(b, b, b, b);
    let taps = p.ksize * p.ksize;
    for (var ky = 0u; ky < p.ksize; ky++) {
        // (oy + pad - ky) mod s depends only on ry: uniform
        let ty = i32(oy + p.pad) - i32(ky);
        if ((i32(ry + p.pad) - i32(ky)) % s != 0) {
            continue;
        }
        let iy = ty / s;
        let y_ok = ty >= 0 && iy < i32(p.in_h);
        let row_y = u32(clamp(iy, 0, i32(p.in_h) - 1));
        for (var kx = 0u; kx < p.ksize; kx++) {
            if ((i32(residue + p.pad) - i32(kx)) % s != 0) {
                continue;
            }
            // input x of the first pixel; pixel k reads ix0 + k
            let ix0 = (i32(ox0 + p.pad) - i32(kx)) / s;
            for (var ig = 0u; ig < p.in_c4; ig++) {
                let w = broadcast_matrix(((og * p.in_c4 + ig) * taps) + ky * p.ksize + kx, lane);
                let row = (ig * p.in_h + row_y) * p.in_w;
                for (var k = 0u; k < PX; k++) {
                    let ix = ix0 + i32(k);
                    let v = src[row + u32(clamp(ix, 0, i32(p.in_w) - 1))];
                    let ok = y_ok && ix >= 0 && ix < i32(p.in_w);
                    acc[k] += w * select(vec4<f32>(0.0), v, ok);
                }
            }
        }
    }
    if (residue >= p.stride || ry >= p.stride || oy >= p.out_h) {
        return;
    }
    let out_row = (og * p.out_h + oy) * p.out_w;
    for (var k = 0u; k < PX; k++) {
        let ox = ox0 + p.stride * k;
        if (ox < p.out_w) {
            var v = acc[k];
            if ((p.flags & FLAG_RELU) != 0u) {
                v = max(v, vec4<f32>(0.0));
            }
            dst[out_row + ox] = v;
        }
    }
}
