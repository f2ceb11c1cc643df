// deconv.wgsl's conv_transpose2d for adapters with subgroups of at least 8 invocations: the
// weights are loaded as one vec2 per lane and rebuilt with subgroupBroadcast, and each invocation
// computes 4 output channel groups (see conv_subgroup.wgsl for why).
//
// Subgroup operations need uniform control flow, so which taps apply must be the same for a whole
// workgroup: every workgroup covers 8 x 8 invocations of one residue class of x and one of y
// modulo the stride. blocks_per_residue and rows_per_residue are padded to multiples of 8 for
// that; out-of-range reads are clamped and masked, out-of-range writes skipped at the end.

//#include shared/conv_subgroup_common.wgsl

// Each invocation: PX pixels of a row (x = ox0, ox0 + stride, ...) for 4 output channel groups,
// written out as plain variables (see conv_subgroup.wgsl).
@compute @workgroup_size(64, 1, 1)
fn conv_transpose2d(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let gx = wid.x * 8u + li % 8u;
    let gy = wid.y * 8u + li / 8u;
    let residue = gx / p.blocks_per_residue; // the same for the whole workgroup
    let block = gx % p.blocks_per_residue;
    let ry = gy / p.rows_per_residue; // the same for the whole workgroup
    let oy = ry + p.stride * (gy % p.rows_per_residue);
    let s = i32(p.stride);
    let ox0 = residue + p.stride * block * PX;
    let first = wid.z * GROUPS;
    let og = groups4(first);
    var acc0 = biased(og.x);
    var acc1 = biased(og.y);
    var acc2 = biased(og.z);
    var acc3 = biased(og.w);
    let taps = p.ksize * p.ksize;
    for (var ky = 0u; ky < p.ksize; ky++) {
        // (oy + pad - ky) mod s depends only on ry: uniform
        if ((i32(ry + p.pad) - i32(ky)) % s != 0) {
            continue;
        }
        let ty = i32(oy + p.pad) - i32(ky);
        let iy = ty / s;
        let y_ok = ty >= 0 && iy < i32(p.in_h);
        let row_y = u32(clamp(iy, 0, i32(p.in_h) - 1));
        for (var kx = 0u; kx < p.ksize; kx++) {
            if ((i32(residue + p.pad) - i32(kx)) % s != 0) {
                continue;
            }
            // input x of the first pixel; pixel k reads ix0 + k
            let ix0 = (i32(ox0 + p.pad) - i32(kx)) / s;
            let tap = ky * p.ksize + kx;
            for (var ig = 0u; ig < p.in_c4; ig++) {
                let row = (ig * p.in_h + row_y) * p.in_w;
                mac_groups(
                    &acc0, &acc1, &acc2, &acc3, (og * p.in_c4 + ig) * taps + tap, lane,
                    input_texel(row, ix0, y_ok),
                    input_texel(row, ix0 + 1, y_ok),
                    input_texel(row, ix0 + 2, y_ok),
                    input_texel(row, ix0 + 3, y_ok),
                );
            }
        }
    }
    if (residue >= p.stride || ry >= p.stride || oy >= p.out_h) {
        return;
    }
    for (var k = 0u; k < PX; k++) {
        let ox = ox0 + p.stride * k;
        if (ox < p.out_w) {
            store_groups(first, ox, oy, acc0[k], acc1[k], acc2[k], acc3[k]);
        }
    }
}

// conv_transpose2d for kernel 5, stride 2, pad 2 (every transposed layer of the model). The PX
// pixels x = ox0 + 2k of an invocation read, through the 2 or 3 taps of their residue, only the 6
// input texels from ox0 / 2 - 1 on: they are loaded once per (ky, input group) and reused, where
// the general kernel loads 4 per tap.
@compute @workgroup_size(64, 1, 1)
fn conv_transpose2d_k5s2(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let gx = wid.x * 8u + li % 8u;
    let gy = wid.y * 8u + li / 8u;
    let residue = gx / p.blocks_per_residue; // the same for the whole workgroup
    let block = gx % p.blocks_per_residue;
    let ry = gy / p.rows_per_residue; // the same for the whole workgroup
    let oy = ry + 2u * (gy % p.rows_per_residue);
    let ox0 = residue + 2u * block * PX;
    let first = wid.z * GROUPS;
    let og = groups4(first);
    var acc0 = biased(og.x);
    var acc1 = biased(og.y);
    var acc2 = biased(og.z);
    var acc3 = biased(og.w);
    // tap m of this residue is kx = residue + 2m; pixel k reads texel t[k + 2 - m]
    let x_first = i32(ox0 / 2u) - 1;
    for (var ky = ry % 2u; ky < 5u; ky += 2u) {
        let iy = (i32(oy) + 2 - i32(ky)) / 2;
        let y_ok = i32(oy) + 2 - i32(ky) >= 0 && iy < i32(p.in_h);
        let row_y = u32(clamp(iy, 0, i32(p.in_h) - 1));
        for (var ig = 0u; ig < p.in_c4; ig++) {
            let row = (ig * p.in_h + row_y) * p.in_w;
            var t: array<vec4<f32>, 6>;
            for (var j = 0; j < 6; j++) {
                t[j] = input_texel(row, x_first + j, y_ok);
            }
            let t0 = t[0];
            let t1 = t[1];
            let t2 = t[2];
            let t3 = t[3];
            let t4 = t[4];
            let t5 = t[5];
            let w = (og * p.in_c4 + ig) * 25u + ky * 5u + residue;
            // m = 0: kx = residue
            mac_groups(&acc0, &acc1, &acc2, &acc3, w, lane, t2, t3, t4, t5);
            // m = 1: kx = residue + 2
            mac_groups(&acc0, &acc1, &acc2, &acc3, w + 2u, lane, t1, t2, t3, t4);
            // m = 2: kx = 4, only for residue 0
            if (residue == 0u) {
                mac_groups(&acc0, &acc1, &acc2, &acc3, w + 4u, lane, t0, t1, t2, t3);
            }
        }
    }
    if (residue >= 2u || ry >= 2u || oy >= p.out_h) {
        return;
    }
    for (var k = 0u; k < PX; k++) {
        let ox = ox0 + 2u * k;
        if (ox < p.out_w) {
            store_groups(first, ox, oy, acc0[k], acc1[k], acc2[k], acc3[k]);
        }
    }
}
