// conv.wgsl's conv2d for adapters with subgroups of at least 8 invocations.
//
// The weights are the same for every invocation of a workgroup (the output channel groups are
// per workgroup), yet a plain load fetches them once per invocation: on a CPU adapter (lavapipe) each
// such load is a loop over the SIMD lanes. Here lane l of each subgroup loads only the l-th pair
// of the 16 floats of a weight matrix and the matrix is rebuilt with subgroupBroadcast, which costs
// a register shuffle. The same bytes as conv.wgsl's array<mat4x4<f32>>, viewed as vec2 pairs.
//
// Subgroup operations need uniform control flow: no invocation returns early or skips a loop
// iteration; out-of-range reads are clamped and masked, out-of-range writes skipped at the end.
// Layout and parameters as in conv.wgsl. gdn_subgroup.wgsl does the same for GDN's gamma.

//#include shared/conv_subgroup_common.wgsl

// conv.wgsl's conv2d. A workgroup is 8 x 8 invocations (x fastest), each computing PX pixels of a
// row for 4 output channel groups (16 channels): every input texel loaded serves 4 x 16 FMAs.
// Written out for the 4 groups: dynamically indexed arrays of accumulators or matrices end up in
// memory on lavapipe (measured 2x slower), plain variables stay in registers.
@compute @workgroup_size(64, 1, 1)
fn conv2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let ox0 = (wid.x * 8u + li % 8u) * PX;
    let oy = wid.y * 8u + li / 8u;
    let first = wid.z * GROUPS;
    let og = groups4(first);
    var acc0 = biased(og.x);
    var acc1 = biased(og.y);
    var acc2 = biased(og.z);
    var acc3 = biased(og.w);
    let taps = p.ksize * p.ksize;
    let s = i32(p.stride);
    for (var ig = 0u; ig < p.in_c4; ig++) {
        let wbase = (og * p.in_c4 + ig) * taps;
        for (var ky = 0u; ky < p.ksize; ky++) {
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            let y_ok = iy >= 0 && iy < i32(p.in_h);
            let row = (ig * p.in_h + u32(clamp(iy, 0, i32(p.in_h) - 1))) * p.in_w;
            for (var kx = 0u; kx < p.ksize; kx++) {
                // pixel k reads input x (ox0 + k) * stride + kx - pad
                let ix0 = i32(ox0 * p.stride + kx) - i32(p.pad);
                mac_groups(
                    &acc0, &acc1, &acc2, &acc3, wbase + ky * p.ksize + kx, lane,
                    input_texel(row, ix0, y_ok),
                    input_texel(row, ix0 + s, y_ok),
                    input_texel(row, ix0 + 2 * s, y_ok),
                    input_texel(row, ix0 + 3 * s, y_ok),
                );
            }
        }
    }
    if (oy >= p.out_h) {
        return;
    }
    for (var k = 0u; k < PX; k++) {
        if (ox0 + k < p.out_w) {
            store_groups(first, ox0 + k, oy, acc0[k], acc1[k], acc2[k], acc3[k]);
        }
    }
}

// conv2d for kernel 5, stride 2, pad 2 (every strided layer of the model). The PX pixels of an
// invocation read 11 distinct input texels of a row through the 5 taps (pixel k, tap kx: texel
// 2k + kx): they are loaded once per (ky, input group) instead of 20 times.
@compute @workgroup_size(64, 1, 1)
fn conv2d_k5s2(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let ox0 = (wid.x * 8u + li % 8u) * PX;
    let oy = wid.y * 8u + li / 8u;
    let first = wid.z * GROUPS;
    let og = groups4(first);
    var acc0 = biased(og.x);
    var acc1 = biased(og.y);
    var acc2 = biased(og.z);
    var acc3 = biased(og.w);
    let x_first = i32(ox0 * 2u) - 2;
    for (var ig = 0u; ig < p.in_c4; ig++) {
        let wbase = (og * p.in_c4 + ig) * 25u;
        for (var ky = 0u; ky < 5u; ky++) {
            let iy = i32(oy * 2u + ky) - 2;
            let y_ok = iy >= 0 && iy < i32(p.in_h);
            let row = (ig * p.in_h + u32(clamp(iy, 0, i32(p.in_h) - 1))) * p.in_w;
            var t: array<vec4<f32>, 11>;
            for (var j = 0; j < 11; j++) {
                t[j] = input_texel(row, x_first + j, y_ok);
            }
            let t0 = t[0];
            let t1 = t[1];
            let t2 = t[2];
            let t3 = t[3];
            let t4 = t[4];
            let t5 = t[5];
            let t6 = t[6];
            let t7 = t[7];
            let t8 = t[8];
            let t9 = t[9];
            let t10 = t[10];
            let w = wbase + ky * 5u;
            // kx = 0: pixel k reads t[2k + 0]
            mac_groups(&acc0, &acc1, &acc2, &acc3, w, lane, t0, t2, t4, t6);
            // kx = 1: pixel k reads t[2k + 1]
            mac_groups(&acc0, &acc1, &acc2, &acc3, w + 1u, lane, t1, t3, t5, t7);
            // kx = 2: pixel k reads t[2k + 2]
            mac_groups(&acc0, &acc1, &acc2, &acc3, w + 2u, lane, t2, t4, t6, t8);
            // kx = 3: pixel k reads t[2k + 3]
            mac_groups(&acc0, &acc1, &acc2, &acc3, w + 3u, lane, t3, t5, t7, t9);
            // kx = 4: pixel k reads t[2k + 4]
            mac_groups(&acc0, &acc1, &acc2, &acc3, w + 4u, lane, t4, t6, t8, t10);
        }
    }
    if (oy >= p.out_h) {
        return;
    }
    for (var k = 0u; k < PX; k++) {
        if (ox0 + k < p.out_w) {
            store_groups(first, ox0 + k, oy, acc0[k], acc1[k], acc2[k], acc3[k]);
        }
    }
}
