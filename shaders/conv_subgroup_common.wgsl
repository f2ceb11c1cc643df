// Included by conv_subgroup.wgsl and deconv_subgroup.wgsl (see `shader_source` in
// src/gpu/kernels.rs): their parameters, bindings and shared helpers.

//#include conv_params.wgsl

// Output channel groups per invocation: 4, or 1 for layers with fewer than 4 (set by the host).
override GROUPS: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

//#include subgroup_matrix.wgsl

// Matrix `index` of the weights, from one vec2 load per lane.
fn weight_matrix(index: u32, lane: u32) -> mat4x4<f32> {
    return broadcast_matrix(weights[index * 8u + lane % 8u]);
}

// Output group first + g, clamped to the last: groups past it compute on a copy of the last
// (uniform control flow) and are dropped by `store`.
fn group(first: u32, g: u32) -> u32 {
    return min(first + g, p.out_c4 - 1u);
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

// acc[k] += w * x_k for the PX pixels of an invocation.
fn mac(acc: ptr<function, array<vec4<f32>, PX>>, w: mat4x4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) {
    (*acc)[0] += w * x0;
    (*acc)[1] += w * x1;
    (*acc)[2] += w * x2;
    (*acc)[3] += w * x3;
}
