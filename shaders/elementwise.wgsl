// Per-channel elementwise kernels on a feature map (layout as in conv.wgsl).
//   scale_round: y_hat = round(y * gain[c])  -- quantization of the gained latent (ties to even,
//                as torch.round)
//   scale:       y = y_hat * gain[c]         -- undoing the gain before synthesis

//#include linear_params.wgsl

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gain: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn scale_round(@builtin(global_invocation_id) gid: vec3<u32>) {
    let px = gid.y * p.row_pitch + gid.x;
    if (px >= p.plane || gid.z >= p.c4) {
        return;
    }
    let i = gid.z * p.plane + px;
    dst[i] = round(src[i] * gain[gid.z]);
}

@compute @workgroup_size(64, 1, 1)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
    let px = gid.y * p.row_pitch + gid.x;
    if (px >= p.plane || gid.z >= p.c4) {
        return;
    }
    let i = gid.z * p.plane + px;
    dst[i] = src[i] * gain[gid.z];
}
