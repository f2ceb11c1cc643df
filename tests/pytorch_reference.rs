//! The GPU transforms reproduce PyTorch's forward pass of the weight file within 1e-3 (pixel scale
//! 0..1). The reference is written by `train/vaec_train.py export` (or `reference`) next to the
//! weight file; CI's smoke run points VAEC_REFERENCE_WEIGHTS / VAEC_REFERENCE_DIR at a freshly
//! trained one, and without them the shipped weights and weights/reference are used.

mod common;

use std::path::PathBuf;

use common::gpu;
use vaec_gpu::gpu::GpuNetwork;
use vaec_gpu::{Model, Tensor};

fn read_f32(path: &PathBuf) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn gpu_transforms_match_pytorch() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let weights = std::env::var_os("VAEC_REFERENCE_WEIGHTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("weights/vaec-hyperprior.safetensors"));
    let dir = std::env::var_os("VAEC_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("weights/reference"));
    eprintln!("weights {}, reference {}", weights.display(), dir.display());
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let (w, h) = (
        meta["width"].as_u64().unwrap() as usize,
        meta["height"].as_u64().unwrap() as usize,
    );
    let quality = meta["quality"].as_f64().unwrap() as f32;
    let model = Model::load(&weights).unwrap();
    let ctx = gpu();
    let net = GpuNetwork::new(ctx, &model).unwrap();

    let img = image::open(root.join(meta["image"].as_str().unwrap()))
        .unwrap()
        .to_rgba8();
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgba.extend_from_slice(&img.get_pixel(x as u32, y as u32).0);
        }
    }
    let (pw, ph) = (w.next_multiple_of(64), h.next_multiple_of(64));
    let x = ctx.rgba8_to_tensor(&rgba, w, h, pw, ph).unwrap();
    let y_gpu = ctx.download_tensor(&net.g_a.run(ctx, &x).unwrap()).unwrap();
    let y_torch = Tensor::from_data(model.m, ph / 16, pw / 16, read_f32(&dir.join("y.f32")));
    let (dy, sy) = y_gpu.max_abs_diff(&y_torch);
    eprintln!("g_a: max abs diff {dy:.3e} (max |y| {sy:.2})");
    assert!(dy <= 1e-3 * sy.max(1.0), "g_a differs from PyTorch by {dy}");

    // synthesis from PyTorch's own y_hat, so that a rounding flip cannot hide or cause a difference
    let (_, inv_gain) = model.gains_for_quality(quality).unwrap();
    let y_hat = Tensor::from_data(model.m, ph / 16, pw / 16, read_f32(&dir.join("y_hat.f32")));
    let y_in = y_hat.scale_channels(&inv_gain);
    let x_gpu = ctx
        .download_tensor(
            &net.g_s
                .run(ctx, &ctx.upload_tensor(&y_in).unwrap())
                .unwrap(),
        )
        .unwrap();
    let x_torch = Tensor::from_data(3, ph, pw, read_f32(&dir.join("x_hat.f32")));
    let (dx, _) = x_gpu.max_abs_diff(&x_torch);
    eprintln!("g_s: max abs diff {dx:.3e} (pixel scale 0..1)");
    assert!(dx <= 1e-3, "g_s differs from PyTorch by {dx}");
}
