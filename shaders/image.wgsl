// Conversions between RGBA8 pixels (one u32 per pixel, as wgpu's Rgba8Unorm) and the 3-channel
// f32 tensor the transforms use (one vec4 plane, lane 3 zero).
//   rgba8_to_tensor: values / 255, replicate-padded from img_w x img_h to the tensor's w x h
//   tensor_to_rgba8: clamp to [0, 1], round(v * 255) (exactly what pack4x8unorm does), alpha 255,
//                    the img_w x img_h region starting at (src_x, src_y) of the tensor, written
//                    at (dst_x, dst_y) of an output whose rows are dst_pitch pixels apart
//   merge_alpha:     the img_w x img_h alpha plane (bytes, four to a u32) into the alpha byte of
//                    RGBA8 pixels whose rows are dst_pitch pixels apart; the colour is untouched
// Each entry point uses its own bindings, so the automatic layouts do not clash.

struct Params {
    img_w: u32,
    img_h: u32,
    tensor_w: u32,
    tensor_h: u32,
    // tensor_to_rgba8: where the copied region starts in the tensor (tiles keep a halo) ...
    src_x: u32,
    src_y: u32,
    // ... and where it goes in the output: pixel (x, y) of the region is written at
    // (dst_y + y) * dst_pitch + dst_x + x, so tiles can land in one picture or texture buffer
    dst_x: u32,
    dst_y: u32,
    dst_pitch: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> rgba_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> tensor_out: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> tensor_in: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> rgba_out: array<u32>;
@group(0) @binding(5) var<storage, read> alpha_in: array<u32>;
@group(0) @binding(6) var<storage, read_write> rgba_inout: array<u32>;

@compute @workgroup_size(8, 8, 1)
fn rgba8_to_tensor(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.tensor_w || gid.y >= p.tensor_h) {
        return;
    }
    let sx = min(gid.x, p.img_w - 1u);
    let sy = min(gid.y, p.img_h - 1u);
    let v = unpack4x8unorm(rgba_in[sy * p.img_w + sx]);
    tensor_out[gid.y * p.tensor_w + gid.x] = vec4<f32>(v.xyz, 0.0);
}

@compute @workgroup_size(8, 8, 1)
fn tensor_to_rgba8(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.img_w || gid.y >= p.img_h) {
        return;
    }
    let v = tensor_in[(gid.y + p.src_y) * p.tensor_w + gid.x + p.src_x];
    rgba_out[(gid.y + p.dst_y) * p.dst_pitch + gid.x + p.dst_x] = pack4x8unorm(vec4<f32>(v.xyz, 1.0));
}

@compute @workgroup_size(8, 8, 1)
fn merge_alpha(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.img_w || gid.y >= p.img_h) {
        return;
    }
    let i = gid.y * p.img_w + gid.x;
    let a = (alpha_in[i / 4u] >> (8u * (i % 4u))) & 0xffu;
    let o = gid.y * p.dst_pitch + gid.x;
    rgba_inout[o] = (rgba_inout[o] & 0x00ffffffu) | (a << 24u);
}
