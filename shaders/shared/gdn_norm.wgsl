// Included by gdn.wgsl and gdn_backward.wgsl: beta_i + sum_j gamma_ij src_j^2 for the four
// channels i of group og at pixel px (the module declares p, src, beta and gamma).

fn gdn_norm(og: u32, px: u32) -> vec4<f32> {
    var norm = beta[og];
    for (var ig = 0u; ig < p.c4; ig++) {
        let v = src[ig * p.plane + px];
        norm += gamma[og * p.c4 + ig] * (v * v);
    }
    return norm;
}
