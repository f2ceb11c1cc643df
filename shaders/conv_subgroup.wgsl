// conv.wgsl's conv2d for adapters with subgroups of at least 8 invocations.
//
// The weights are the same for every invocation of a workgroup (one output channel group per
// workgroup), yet a plain load fetches them once per invocation: on a CPU adapter (lavapipe) each
// such load is a loop over the SIMD lanes. Here lane l of each subgroup loads only the l-th pair
// of the 16 floats of a weight matrix and the matrix is rebuilt with subgroupBroadcast, which costs
// a register shuffle. The same bytes as conv.wgsl's array<mat4x4<f32>>, viewed as vec2 pairs.
//
// Subgroup operations need uniform control flow: no invocation returns early or skips a loop
// iteration; out-of-range reads are clamped and masked, out-of-range writes skipped at the end.
// Layout and parameters as in conv.wgsl. gdn_subgroup.wgsl does the same for GDN's gamma.

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
    _pad0: u32,
    _pad1: u32,
}

const PX: u32 = 4u;
const FLAG_RELU: u32 = 1u;
const FLAG_ABS_INPUT: u32 = 2u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

// Matrix `index` of a weight array, from one vec2 load per lane (lanes 0..7 hold pairs 0..7).
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

// conv.wgsl's conv2d. A workgroup is 8 x 8 invocations (x fastest), each PX pixels of a row.
@compute @workgroup_size(64, 1, 1)
fn conv2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let ox0 = (wid.x * 8u + li % 8u) * PX;
    let oy = wid.y * 8u + li / 8u;
    let og = wid.z;
    let b = bias[og];
    var acc = array<vec4<f32>, PX>(b, b, b, b);
    let taps = p.ksize * p.ksize;
    let take_abs = (p.flags & FLAG_ABS_INPUT) != 0u;
    for (var ig = 0u; ig < p.in_c4; ig++) {
        let wbase = (og * p.in_c4 + ig) * taps;
        for (var ky = 0u; ky < p.ksize; ky++) {
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            let y_ok = iy >= 0 && iy < i32(p.in_h);
            let row = (ig * p.in_h + u32(clamp(iy, 0, i32(p.in_h) - 1))) * p.in_w;
            for (var kx = 0u; kx < p.ksize; kx++) {
                let w = broadcast_matrix(wbase + ky * p.ksize + kx, lane);
                for (var k = 0u; k < PX; k++) {
                    let ix = i32((ox0 + k) * p.stride + kx) - i32(p.pad);
                    var v = src[row + u32(clamp(ix, 0, i32(p.in_w) - 1))];
                    if (take_abs) {
                        v = abs(v);
                    }
                    let ok = y_ok && ix >= 0 && ix < i32(p.in_w);
                    acc[k] += w * select(vec4<f32>(0.0), v, ok);
                }
            }
        }
    }
    if (oy >= p.out_h) {
        return;
    }
    let out_row = (og * p.out_h + oy) * p.out_w;
    for (var k = 0u; k < PX; k++) {
        if (ox0 + k < p.out_w) {
            var v = acc[k];
            if ((p.flags & FLAG_RELU) != 0u) {
                v = max(v, vec4<f32>(0.0));
            }
            dst[out_row + ox0 + k] = v;
        }
    }
}
