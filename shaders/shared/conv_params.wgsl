// Included by conv.wgsl, deconv.wgsl and their _subgroup variants (see `shader_source` in
// src/gpu/shaders.rs): the parameters of one (transposed) convolution, mirrored by `ConvParams`
// on the host.

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
    // transposed: invocations along x per residue class of x, ceil(ceil(out_w / stride) / PX)
    // (padded to 8 for deconv_subgroup.wgsl)
    blocks_per_residue: u32,
    // deconv_subgroup.wgsl: invocations along y per residue class of y, padded to 8
    rows_per_residue: u32,
}

// Output pixels per invocation along x.
const PX: u32 = 4u;
const FLAG_RELU: u32 = 1u;
