//! Shared test helpers: one GPU context per test binary, a small seeded RNG, random layers.
#![allow(dead_code)]

pub mod cli;

use std::sync::OnceLock;

use vaec_gpu::model::{Conv, ConvGeometry, Gdn};
use vaec_gpu::{GpuContext, Tensor};

/// The GPU context of this test binary. Fails (never skips) when no adapter exists: CI installs
/// Mesa's lavapipe so that these tests always run.
pub fn gpu() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let ctx = GpuContext::new(None).expect("a GPU adapter (install mesa-vulkan-drivers)");
        eprintln!("GPU tests run on: {}", ctx.adapter_description());
        ctx
    })
}

/// The same adapter with the portable kernels only (no subgroup variants).
pub fn gpu_without_subgroups() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        GpuContext::new(None)
            .and_then(GpuContext::without_subgroups)
            .expect("a GPU adapter (install mesa-vulkan-drivers)")
    })
}

/// Every kernel variant this machine can run: the default context (subgroup variants where the
/// adapter has subgroups) and the portable kernels.
pub fn gpus() -> Vec<&'static GpuContext> {
    if gpu().uses_subgroups() {
        vec![gpu(), gpu_without_subgroups()]
    } else {
        vec![gpu()]
    }
}

pub use vaec_gpu::rng::Rng;

pub fn random_tensor(rng: &mut Rng, c: usize, h: usize, w: usize) -> Tensor {
    Tensor::from_data(c, h, w, rng.vec(c * h * w, -1.0, 1.0))
}

pub fn random_conv(
    rng: &mut Rng,
    cin: usize,
    cout: usize,
    geometry: ConvGeometry,
    relu: bool,
) -> Conv {
    let k = geometry.kernel;
    let scale = 1.0 / ((cin * k * k) as f32).sqrt();
    let weight = rng.vec(cin * cout * k * k, -scale, scale);
    let conv = Conv::new(geometry, cin, cout, weight, rng.vec(cout, -0.1, 0.1));
    if relu {
        conv.with_relu()
    } else {
        conv
    }
}

pub fn random_gdn(rng: &mut Rng, c: usize, inverse: bool) -> Gdn {
    Gdn {
        channels: c,
        beta: rng.vec(c, 0.5, 1.5),
        gamma: rng.vec(c * c, 0.0, 0.2),
        inverse,
    }
}

/// Asserts max |gpu - cpu| <= tol * max(1, max |cpu|) and returns the relative error.
pub fn assert_close(what: &str, gpu: &Tensor, cpu: &Tensor, tol: f32) -> f32 {
    let (diff, scale) = gpu.max_abs_diff(cpu);
    let rel = diff / scale.max(1.0);
    eprintln!("{what}: max abs diff {diff:.3e}, relative {rel:.3e}");
    assert!(rel <= tol, "{what}: relative error {rel:e} above {tol:e}");
    rel
}
