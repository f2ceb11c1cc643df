// gdn.wgsl's gdn for adapters with subgroups of at least 8 invocations: gamma, the same for every
// invocation of a workgroup (one output channel group per workgroup along z), is loaded as one
// vec2 per lane and rebuilt with subgroupBroadcast (see conv_subgroup.wgsl for why). No early
// return before the loop: subgroup operations need uniform control flow.

struct Params {
    plane: u32,
    c4: u32,
    inverse: u32,
    row_pitch: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> beta: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gamma: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

// Matrix `index` of a weight array, from one vec2 load per lane (lanes 0..7 hold pairs 0..7).
fn broadcast_matrix(index: u32, lane: u32) -> mat4x4<f32> {
    let q = gamma[index * 8u + lane % 8u];
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
fn gdn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let px = gid.y * p.row_pitch + gid.x;
    let at = min(px, p.plane - 1u);
    let og = gid.z;
    var norm = beta[og];
    for (var ig = 0u; ig < p.c4; ig++) {
        let v = src[ig * p.plane + at];
        norm += broadcast_matrix(og * p.c4 + ig, lane) * (v * v);
    }
    if (px >= p.plane) {
        return;
    }
    let x = src[og * p.plane + px];
    let n = sqrt(norm);
    if (p.inverse != 0u) {
        dst[og * p.plane + px] = x * n;
    } else {
        dst[og * p.plane + px] = x / n;
    }
}
