// 2-D convolution (cross-correlation, as PyTorch's Conv2d) with fused bias and optional ReLU on
// the output. General kernel size, stride and zero padding.
//
// Layout (see src/tensor.rs): a feature map of C channels is ceil(C/4) planes of vec4<f32>,
// plane-major then row-major: element (c4, y, x) at (c4 * h + y) * w + x; padded channels are 0.
// Weights: one mat4x4 per (out group, in group, ky, kx), column j = input channel 4*ig+j,
// row r = output channel 4*og+r, so `w * v` applies four inputs to four outputs at once.
//
// Each invocation computes one output channel group for PX horizontally adjacent pixels: the
// weight matrix is loaded once per tap and reused PX times from registers, and all invocations of
// a workgroup share the same output group, so weight loads are uniform across the workgroup.

//#include shared/conv_params.wgsl


@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<mat4x4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(8, 8, 1)
fn conv2d(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox0 = gid.x * PX;
    let oy = gid.y;
    let og = gid.z;
    if (ox0 >= p.out_w || oy >= p.out_h || og >= p.out_c4) {
        return;
    }
    let b = bias[og];
    var acc = array<vec4<f32>, PX>(b, b, b, b);
    let taps = p.ksize * p.ksize;
    for (var ig = 0u; ig < p.in_c4; ig++) {
        let wbase = (og * p.in_c4 + ig) * taps;
        for (var ky = 0u; ky < p.ksize; ky++) {
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            if (iy < 0 || iy >= i32(p.in_h)) {
                continue;
            }
            let row = (ig * p.in_h + u32(iy)) * p.in_w;
            for (var kx = 0u; kx < p.ksize; kx++) {
                let w = weights[wbase + ky * p.ksize + kx];
                for (var k = 0u; k < PX; k++) {
                    let ix = i32((ox0 + k) * p.stride + kx) - i32(p.pad);
                    if (ix >= 0 && ix < i32(p.in_w)) {
                        acc[k] += w * src[row + u32(ix)];
                    }
                }
            }
        }
    }
    let out_row = (og * p.out_h + oy) * p.out_w;
    for (var k = 0u; k < PX; k++) {
        if (ox0 + k < p.out_w) {
            var v = acc[k];
            if ((p.flags & FLAG_RELU) != 0u) {
                v = max(v, vec4<f32>(0.0));
            }
            dst[out_row + ox0 + k] = v;
        }
    }
}
