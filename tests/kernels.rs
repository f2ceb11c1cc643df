//! Every float GPU kernel against its CPU twin (src/cpu/), on random weights and inputs at odd
//! sizes; the integer kernels are in tests/int_conv.rs.

mod common;

use common::{assert_close, gpu, gpus, random_conv, random_gdn, random_tensor, Rng};
use vaec_gpu::cpu;
use vaec_gpu::gpu::GpuLayer;
use vaec_gpu::model::{ConvGeometry, Layer};

const SIZES: &[(usize, usize)] = &[(1, 1), (3, 5), (17, 13), (64, 64), (100, 75)];
const TOL: f32 = 1e-4;

fn check_conv(
    seed: u64,
    cin: usize,
    cout: usize,
    k: usize,
    s: usize,
    transposed: bool,
    relu: bool,
) {
    for ctx in gpus() {
        let mut rng = Rng::new(seed);
        let geometry = match transposed {
            true => ConvGeometry::deconv(k, s),
            false => ConvGeometry::conv(k, s),
        };
        let conv = random_conv(&mut rng, cin, cout, geometry, relu);
        let layer = GpuLayer::new(ctx, &Layer::Conv(conv.clone())).unwrap();
        for &(h, w) in SIZES {
            let x = random_tensor(&mut rng, cin, h, w);
            let want = cpu::conv2d(&x, &conv);
            let input = ctx.upload_tensor(&x).unwrap();
            let out = layer.run(ctx, &input).unwrap();
            let got = ctx.download_tensor(&out).unwrap();
            let name = if transposed {
                "conv_transpose2d"
            } else {
                "conv2d"
            };
            assert_close(
                &format!(
                    "{name} {cin}->{cout} k{k} s{s} relu={relu} on {h}x{w}, subgroups={}",
                    ctx.uses_subgroups()
                ),
                &got,
                &want,
                TOL,
            );
        }
    }
}

#[test]
fn conv2d_5x5_stride2_matches_reference() {
    check_conv(1, 3, 5, 5, 2, false, false);
    check_conv(2, 7, 6, 5, 2, false, true);
    check_conv(3, 16, 13, 5, 2, false, false);
    // 6 output groups: the subgroup kernels' 4-group blocks with a partial last block
    check_conv(10, 9, 24, 5, 2, false, true);
}

#[test]
fn conv2d_3x3_and_1x1_stride1_match_reference() {
    check_conv(4, 5, 3, 3, 1, false, true);
    check_conv(5, 12, 9, 3, 1, false, false);
    check_conv(12, 9, 17, 1, 1, false, true);
}

#[test]
fn conv_transpose2d_5x5_stride2_matches_reference() {
    check_conv(6, 5, 3, 5, 2, true, false);
    check_conv(7, 6, 7, 5, 2, true, true);
    check_conv(8, 13, 16, 5, 2, true, false);
    check_conv(11, 9, 21, 5, 2, true, true);
}

#[test]
fn gdn_and_igdn_match_reference() {
    for ctx in gpus() {
        let mut rng = Rng::new(9);
        for (c, inverse) in [
            (1, false),
            (5, false),
            (6, true),
            (13, true),
            (16, false),
            (24, true),
        ] {
            let g = random_gdn(&mut rng, c, inverse);
            let layer = GpuLayer::new(ctx, &Layer::Gdn(g.clone())).unwrap();
            for &(h, w) in SIZES {
                let x = random_tensor(&mut rng, c, h, w);
                let want = cpu::gdn(&x, &g);
                let input = ctx.upload_tensor(&x).unwrap();
                let out = layer.run(ctx, &input).unwrap();
                let got = ctx.download_tensor(&out).unwrap();
                assert_close(
                    &format!(
                        "gdn c{c} inverse={inverse} on {h}x{w}, subgroups={}",
                        ctx.uses_subgroups()
                    ),
                    &got,
                    &want,
                    TOL,
                );
            }
        }
    }
}

#[test]
fn subgroup_variants_run_where_the_adapter_has_subgroups() {
    let ctx = gpu();
    let has = ctx.device().features().contains(wgpu::Features::SUBGROUP)
        && ctx.adapter_info().subgroup_min_size >= 8;
    assert_eq!(ctx.uses_subgroups(), has, "{}", ctx.adapter_description());
}

#[test]
fn image_conversions_match_reference_exactly() {
    let ctx = gpu();
    let mut rng = Rng::new(11);
    for &(h, w) in SIZES {
        let rgba: Vec<u8> = (0..h * w * 4).map(|_| rng.below(256) as u8).collect();
        let (ph, pw) = (h.next_multiple_of(64), w.next_multiple_of(64));
        let want = cpu::rgba8_to_tensor(&rgba, w, h, pw, ph);
        let t = ctx.rgba8_to_tensor(&rgba, w, h, pw, ph).unwrap();
        let got = ctx.download_tensor(&t).unwrap();
        assert_close(&format!("rgba8_to_tensor {w}x{h}"), &got, &want, 1e-6);

        let mut y = random_tensor(&mut rng, 3, ph, pw);
        y.data.iter_mut().for_each(|v| *v = *v * 0.7 + 0.5); // some values outside [0, 1]
        let gpu_pixels = ctx
            .tensor_to_rgba8(&ctx.upload_tensor(&y).unwrap(), w, h)
            .unwrap();
        let cpu_pixels = cpu::tensor_to_rgba8(&y, w, h);
        assert_eq!(gpu_pixels, cpu_pixels, "tensor_to_rgba8 {w}x{h}");

        // into a buffer whose rows are longer than the picture, as a texture's are
        let pitch = w + 5;
        let mut want: Vec<u8> = (0..pitch * h * 4).map(|_| rng.below(256) as u8).collect();
        let alpha: Vec<u8> = (0..w * h).map(|_| rng.below(256) as u8).collect();
        let got = ctx.merge_alpha(&want, &alpha, (w, h), pitch).unwrap();
        cpu::merge_alpha(&mut want, &alpha, w, h, pitch);
        assert_eq!(got, want, "merge_alpha {w}x{h}");
    }
}
