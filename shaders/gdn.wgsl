// Generalized divisive normalization (Balle et al.) and its inverse, per pixel:
//   GDN:  y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)
//   IGDN: y_i = x_i * sqrt(beta_i + sum_j gamma_ij x_j^2)
// beta and gamma are the effective (reparametrized) values from the weight file. Padded channels
// have beta = 1 and gamma = 0, so they stay 0.
// Layout as in conv.wgsl; gamma is one mat4x4 per (out group i, in group j), column = input channel.

//#include shared/linear_params.wgsl
//#include shared/gdn_norm.wgsl

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> beta: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gamma: array<mat4x4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn gdn(@builtin(global_invocation_id) gid: vec3<u32>) {
    let px = gid.y * p.row_pitch + gid.x;
    let og = gid.z;
    if (px >= p.plane || og >= p.c4) {
        return;
    }
    let x = src[og * p.plane + px];
    let n = sqrt(gdn_norm(og, px));
    if (p.inverse != 0u) {
        dst[og * p.plane + px] = x * n;
    } else {
        dst[og * p.plane + px] = x / n;
    }
}
