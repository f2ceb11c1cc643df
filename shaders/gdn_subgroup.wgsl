// gdn.wgsl's gdn for adapters with subgroups of at least 8 invocations: gamma, the same for every
// invocation of a workgroup (the output channel groups are per workgroup along z), is loaded as
// one vec2 per lane and rebuilt with subgroupBroadcast (see conv_subgroup.wgsl for why). No early
// return before the loop: subgroup operations need uniform control flow.

//#include shared/linear_params.wgsl

// Output channel groups per invocation: 4, or 1 for layers with fewer than 4 (set by the host).
override GROUPS: u32 = 4u;
// Consecutive pixels per invocation.
const PX: u32 = 4u;

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> beta: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gamma: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

//#include shared/subgroup_matrix.wgsl

// Matrix `index` of the weights, from one vec2 load per lane.
fn weight_matrix(index: u32, lane: u32) -> mat4x4<f32> {
    return broadcast_matrix(gamma[index * 8u + lane % 8u]);
}

// Output group `g` of pixel `px` from its normalizer.
fn store(g: u32, px: u32, norm: vec4<f32>) {
    if (g < p.c4) {
        let x = src[g * p.plane + px];
        let n = sqrt(norm);
        if (p.inverse != 0u) {
            dst[g * p.plane + px] = x * n;
        } else {
            dst[g * p.plane + px] = x / n;
        }
    }
}

// Each invocation: PX consecutive pixels x 4 output channel groups (each weight matrix serves PX
// pixels, each input load 4 matrices), written out as plain variables (see conv_subgroup.wgsl);
// GROUPS = 1 for layers with fewer than 4 groups.
@compute @workgroup_size(64, 1, 1)
fn gdn(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let px0 = (gid.y * p.row_pitch + gid.x) * PX;
    // groups past the last compute on a copy of the last one (uniform control flow) and are dropped
    let first = wid.z * GROUPS;
    let og0 = min(first, p.c4 - 1u);
    let og1 = min(first + 1u, p.c4 - 1u);
    let og2 = min(first + 2u, p.c4 - 1u);
    let og3 = min(first + 3u, p.c4 - 1u);
    var norm0: array<vec4<f32>, PX>;
    var norm1: array<vec4<f32>, PX>;
    var norm2: array<vec4<f32>, PX>;
    var norm3: array<vec4<f32>, PX>;
    for (var k = 0u; k < PX; k++) {
        norm0[k] = beta[og0];
        norm1[k] = beta[og1];
        norm2[k] = beta[og2];
        norm3[k] = beta[og3];
    }
    for (var ig = 0u; ig < p.c4; ig++) {
        let g0 = weight_matrix(og0 * p.c4 + ig, lane);
        var g1 = g0;
        var g2 = g0;
        var g3 = g0;
        if (GROUPS == 4u) {
            g1 = weight_matrix(og1 * p.c4 + ig, lane);
            g2 = weight_matrix(og2 * p.c4 + ig, lane);
            g3 = weight_matrix(og3 * p.c4 + ig, lane);
        }
        for (var k = 0u; k < PX; k++) {
            let v = src[ig * p.plane + min(px0 + k, p.plane - 1u)];
            let v2 = v * v;
            norm0[k] += g0 * v2;
            if (GROUPS == 4u) {
                norm1[k] += g1 * v2;
                norm2[k] += g2 * v2;
                norm3[k] += g3 * v2;
            }
        }
    }
    for (var k = 0u; k < PX; k++) {
        if (px0 + k < p.plane) {
            store(first, px0 + k, norm0[k]);
            if (GROUPS == 4u) {
                store(first + 1u, px0 + k, norm1[k]);
                store(first + 2u, px0 + k, norm2[k]);
                store(first + 3u, px0 + k, norm3[k]);
            }
        }
    }
}
