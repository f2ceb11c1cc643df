// Included by gdn.wgsl and gdn_subgroup.wgsl: the parameters of the per-pixel kernels, mirrored by
// `LinearParams` in src/gpu/kernels/gdn.rs (a unit test compares the layouts).

struct Params {
    plane: u32,     // pixels per channel plane (h * w)
    c4: u32,        // channel groups of 4
    inverse: u32,   // 1 for the inverse (IGDN)
    row_pitch: u32, // invocations per dispatch row (workgroups along x * 64)
}
