// Included by int_conv.wgsl and int_conv_subgroup.wgsl (see `shader_source` in
// src/gpu/shaders.rs): the parameters of one integer layer or index lookup, mirrored by
// `IntParams` in src/gpu/kernels/int_conv.rs, the bindings of int_conv, and its output step.

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
    act_min: i32,      // 0 (a ReLU) or -act_max - 1 (signed outputs)
    act_max: i32,
    count: u32,        // scale_index: elements
    n_thresholds: u32, // scale_index: thresholds (buffers are padded, so arrayLength would lie)
    // int_conv_transpose: invocations along x and y per residue class modulo the stride, padded
    // to 8 so that every workgroup lies in one residue class (taps uniform across it)
    blocks_per_residue: u32,
    rows_per_residue: u32,
    row_pitch: u32,    // scale_index: invocations per dispatch row (workgroups along x * 64)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<i32>;
@group(0) @binding(2) var<storage, read> weights: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read> shift: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> dst: array<i32>;

// The accumulators of output group o4 as the layer's outputs: a rounding right shift per channel
// (half up), then the clamp to [act_min, act_max].
fn requantize(acc: vec4<i32>, o4: u32) -> vec4<i32> {
    let s = shift[o4];
    let rounded = (acc + vec4<i32>((vec4<u32>(1u) << s) >> vec4<u32>(1u))) >> s;
    return clamp(rounded, vec4<i32>(p.act_min), vec4<i32>(p.act_max));
}
