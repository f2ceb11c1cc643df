// Included by gdn.wgsl, gdn_subgroup.wgsl and elementwise.wgsl: the parameters of the per-pixel
// kernels, mirrored by `LinearParams` in src/gpu/kernels.rs (a unit test there compares the layouts).

struct Params {
    plane: u32,     // pixels per channel plane (h * w)
    c4: u32,        // channel groups of 4
    inverse: u32,   // gdn: 1 for the inverse (IGDN); unused by elementwise
    row_pitch: u32, // invocations per dispatch row (workgroups along x * 64)
}
