// Transposed 2-D convolution (PyTorch's ConvTranspose2d with output_padding) with fused bias and
// optional ReLU, written as a gather: output pixel o takes input i where o = i * stride - pad + k.
//
// Layout as in conv.wgsl. The host repacks PyTorch's [in, out, ky, kx] weights into the same
// mat4x4-per-(out group, in group, ky, kx) order as the convolution.
//
// Each invocation computes PX output pixels of one row that share a residue modulo the stride
// (x = r, r + s, r + 2s, ...), so every tap either applies to all of them or to none, and the input
// pixels it reads are adjacent.

//#include shared/conv_params.wgsl


@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<mat4x4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(8, 8, 1)
fn conv_transpose2d(@builtin(global_invocation_id) gid: vec3<u32>) {
    let residue = gid.x / p.blocks_per_residue;
    let block = gid.x % p.blocks_per_residue;
    let oy = gid.y;
    let og = gid.z;
    let s = i32(p.stride);
    let ox0 = residue + p.stride * block * PX;
    if (residue >= p.stride || ox0 >= p.out_w || oy >= p.out_h || og >= p.out_c4) {
        return;
    }
    let b = bias[og];
    var acc = array<vec4<f32>, PX>(b, b, b, b);
    let taps = p.ksize * p.ksize;
    for (var ky = 0u; ky < p.ksize; ky++) {
        let ty = i32(oy + p.pad) - i32(ky);
        if (ty < 0 || ty % s != 0 || ty / s >= i32(p.in_h)) {
            continue;
        }
        let iy = u32(ty / s);
        for (var kx = 0u; kx < p.ksize; kx++) {
            let tx = i32(ox0 + p.pad) - i32(kx);
            if (tx % s != 0) {
                continue;
            }
            // input x of the first pixel; pixel k reads ix0 + k
            let ix0 = tx / s;
            for (var ig = 0u; ig < p.in_c4; ig++) {
                let w = weights[((og * p.in_c4 + ig) * taps) + ky * p.ksize + kx];
                let row = (ig * p.in_h + iy) * p.in_w;
                for (var k = 0u; k < PX; k++) {
                    let ix = ix0 + i32(k);
                    if (ix >= 0 && ix < i32(p.in_w)) {
                        acc[k] += w * src[row + u32(ix)];
                    }
                }
            }
        }
    }
    let out_row = (og * p.out_h + oy) * p.out_w;
    for (var k = 0u; k < PX; k++) {
        let ox = ox0 + p.stride * k;
        if (ox < p.out_w) {
            var v = acc[k];
            if ((p.flags & FLAG_RELU) != 0u) {
                v = max(v, vec4<f32>(0.0));
            }
            dst[out_row + ox] = v;
        }
    }
}
