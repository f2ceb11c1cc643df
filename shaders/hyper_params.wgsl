// Included by hyper_int.wgsl and hyper_int_subgroup.wgsl (see `shader_source` in
// src/gpu/kernels.rs): the parameters of one integer layer or index lookup, mirrored by
// `IntParams` on the host, and the bindings of int_conv.

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
    // int_conv_transpose: invocations along x and y per residue class modulo the stride, padded
    // to 8 so that every workgroup lies in one residue class (taps uniform across it)
    blocks_per_residue: u32,
    rows_per_residue: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<i32>;
@group(0) @binding(2) var<storage, read> weights: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read> shift: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> dst: array<i32>;
