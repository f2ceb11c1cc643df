//! Whole transforms on the GPU against the CPU reference, on a real photo crop.

mod common;

use common::{assert_close, gpu};
use vaec_gpu::gpu::{GpuNetwork, GpuTransform};
use vaec_gpu::{cpu, Model, Tensor};

/// The 64x64 photo crop shipped with the tests, cut to `w` x `h`, as RGBA8.
fn photo_crop(w: usize, h: usize) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_crop.png");
    let img = image::open(path).unwrap().to_rgba8();
    let mut out = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            out.extend_from_slice(&img.get_pixel(x as u32, y as u32).0);
        }
    }
    out
}

#[test]
fn analysis_and_synthesis_chain_matches_reference_on_photo() {
    let ctx = gpu();
    // channel counts that are not multiples of 4
    let model = Model::random(10, 14, 3, 7);
    let net = GpuNetwork::new(ctx, &model).unwrap();
    let (w, h) = (50, 37);
    let rgba = photo_crop(w, h);
    let (pw, ph) = (64, 64);

    let x_cpu = cpu::rgba8_to_tensor(&rgba, w, h, pw, ph);
    let x_gpu = ctx.rgba8_to_tensor(&rgba, w, h, pw, ph).unwrap();

    let y_cpu = cpu::transform(&x_cpu, &model.g_a);
    let y_gpu = net.g_a.run(ctx, &x_gpu).unwrap();
    assert_close(
        "g_a on photo",
        &ctx.download_tensor(&y_gpu).unwrap(),
        &y_cpu,
        1e-4,
    );

    // Rounding may flip at exact .5 boundaries between devices: feed both syntheses the same y_hat.
    let (gain, inv_gain) = model.gains_for_quality(2.0).unwrap();
    let y_hat = y_cpu.scale_channels(&gain).round();
    let y_in = y_hat.scale_channels(&inv_gain);
    let x_hat_cpu = cpu::transform(&y_in, &model.g_s);
    let x_hat_gpu = net
        .g_s
        .run(ctx, &ctx.upload_tensor(&y_in).unwrap())
        .unwrap();
    assert_close(
        "g_s on photo latents",
        &ctx.download_tensor(&x_hat_gpu).unwrap(),
        &x_hat_cpu,
        1e-4,
    );
}

#[test]
fn hyper_transforms_match_reference() {
    let ctx = gpu();
    let model = Model::random(9, 11, 1, 3);
    let mut rng = common::Rng::new(5);
    for (h, w) in [(1, 1), (3, 5), (8, 12)] {
        let y = Tensor::from_data(11, h * 4, w * 4, rng.vec(11 * h * w * 16, -3.0, 3.0));
        for t in [&model.h_a, &model.h_s] {
            let input = if t.name == "h_s" {
                Tensor::from_data(9, h, w, rng.vec(9 * h * w, -2.0, 2.0))
            } else {
                y.clone()
            };
            let want = cpu::transform(&input, t);
            let got = GpuTransform::new(ctx, t)
                .unwrap()
                .run(ctx, &ctx.upload_tensor(&input).unwrap())
                .unwrap();
            assert_close(
                &format!("{} on {h}x{w}", t.name),
                &ctx.download_tensor(&got).unwrap(),
                &want,
                1e-4,
            );
        }
    }
}
