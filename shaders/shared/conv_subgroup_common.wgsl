// Included by conv_subgroup.wgsl and deconv_subgroup.wgsl (see `shader_source` in
// src/gpu/shaders.rs): their parameters, bindings and shared helpers.

//#include shared/conv_params.wgsl

// Output channel groups per invocation: 4, or 1 for layers with fewer than 4 (set by the host).
override GROUPS: u32 = 4u;

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

//#include shared/subgroup_matrix.wgsl

// Matrix `index` of the weights, from one vec2 load per lane.
fn weight_matrix(index: u32, lane: u32) -> mat4x4<f32> {
    return broadcast_matrix(weights[index * 8u + lane % 8u]);
}

// Output group first + g, clamped to the last: groups past it compute on a copy of the last
// (uniform control flow) and are dropped by `store`.
fn group(first: u32, g: u32) -> u32 {
    return min(first + g, p.out_c4 - 1u);
}

// The GROUPS output groups of an invocation from `first`, as (og0, og1, og2, og3); with GROUPS 1
// only .x is used.
fn groups4(first: u32) -> vec4<u32> {
    return vec4<u32>(group(first, 0u), group(first, 1u), group(first, 2u), group(first, 3u));
}

// PX accumulators starting at the bias of output group `og`.
fn biased(og: u32) -> array<vec4<f32>, PX> {
    let b = bias[og];
    return array<vec4<f32>, PX>(b, b, b, b);
}

// Output group `g`, pixel (x, y): bias-added sum, ReLU if asked; groups past the last are dropped.
fn store(g: u32, x: u32, y: u32, acc: vec4<f32>) {
    if (g < p.out_c4) {
        var v = acc;
        if ((p.flags & FLAG_RELU) != 0u) {
            v = max(v, vec4<f32>(0.0));
        }
        dst[(g * p.out_h + y) * p.out_w + x] = v;
    }
}

// Pixel (x, y) of output groups first .. first + 3 (only first with GROUPS 1).
fn store_groups(first: u32, x: u32, y: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
    store(first, x, y, v0);
    if (GROUPS == 4u) {
        store(first + 1u, x, y, v1);
        store(first + 2u, x, y, v2);
        store(first + 3u, x, y, v3);
    }
}

// Texel ix of the input row starting at `row`: 0 outside the input (rows outside: y_ok false).
// The load itself is clamped so that it stays in bounds.
fn input_texel(row: u32, ix: i32, y_ok: bool) -> vec4<f32> {
    let v = src[row + u32(clamp(ix, 0, i32(p.in_w) - 1))];
    return select(vec4<f32>(0.0), v, y_ok && ix >= 0 && ix < i32(p.in_w));
}

// acc[k] += w * x_k for the PX pixels of an invocation.
fn mac(acc: ptr<function, array<vec4<f32>, PX>>, w: mat4x4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) {
    (*acc)[0] += w * x0;
    (*acc)[1] += w * x1;
    (*acc)[2] += w * x2;
    (*acc)[3] += w * x3;
}

// mac for the GROUPS output groups of an invocation: accumulators a0 .. a3 with weight matrices
// index.x .. index.w (only a0 and index.x with GROUPS 1). Four plain pointers, not an array of
// accumulators: see conv_subgroup.wgsl.
fn mac_groups(
    a0: ptr<function, array<vec4<f32>, PX>>,
    a1: ptr<function, array<vec4<f32>, PX>>,
    a2: ptr<function, array<vec4<f32>, PX>>,
    a3: ptr<function, array<vec4<f32>, PX>>,
    index: vec4<u32>,
    lane: u32,
    x0: vec4<f32>,
    x1: vec4<f32>,
    x2: vec4<f32>,
    x3: vec4<f32>,
) {
    mac(a0, weight_matrix(index.x, lane), x0, x1, x2, x3);
    if (GROUPS == 4u) {
        mac(a1, weight_matrix(index.y, lane), x0, x1, x2, x3);
        mac(a2, weight_matrix(index.z, lane), x0, x1, x2, x3);
        mac(a3, weight_matrix(index.w, lane), x0, x1, x2, x3);
    }
}
