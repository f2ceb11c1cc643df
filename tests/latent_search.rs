//! The encoder's latent search: its CPU twins against finite differences and the adjoint
//! identity (so the gradients are right), and every search kernel against its twin on random
//! inputs at odd sizes.

mod common;

use common::{assert_close, gpus, random_conv, random_gdn, random_tensor, Rng};
use vaec_gpu::cpu::{self, SearchStep};
use vaec_gpu::gpu::{GpuGdn, LatentSearch};
use vaec_gpu::model::ConvGeometry;
use vaec_gpu::Tensor;

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// <deconv(a), b> = <a, adjoint(b)>: the strided convolution with the same weights is the
/// transposed convolution's input gradient.
#[test]
fn the_input_gradient_of_a_transposed_convolution_is_its_adjoint() {
    let mut rng = Rng::new(31);
    for (cin, cout, h, w) in [(3, 5, 3, 4), (7, 3, 5, 2), (8, 8, 1, 1), (5, 9, 6, 7)] {
        let deconv = random_conv(&mut rng, cin, cout, ConvGeometry::deconv(5, 2), false);
        let adjoint = deconv.input_gradient().expect("a transposed convolution");
        let a = random_tensor(&mut rng, cin, h, w);
        let mut out = cpu::conv2d(&a, &deconv);
        // the bias is not part of the linear map
        for (c, chunk) in out.data.chunks_mut(2 * h * 2 * w).enumerate() {
            chunk.iter_mut().for_each(|v| *v -= deconv.bias[c]);
        }
        let b = random_tensor(&mut rng, cout, 2 * h, 2 * w);
        let back = cpu::conv2d(&b, &adjoint);
        assert_eq!((back.channels, back.height, back.width), (cin, h, w));
        let (left, right) = (dot(&out, &b), dot(&a, &back));
        assert!(
            (left - right).abs() <= 1e-4 * left.abs().max(1.0),
            "{cin}->{cout} {h}x{w}: {left} vs {right}"
        );
    }
}

#[test]
fn igdn_backward_matches_finite_differences() {
    let mut rng = Rng::new(32);
    let (c, h, w) = (6, 3, 2);
    let igdn = random_gdn(&mut rng, c, true);
    let x = random_tensor(&mut rng, c, h, w);
    let g = random_tensor(&mut rng, c, h, w);
    let analytic = cpu::igdn_backward(&x, &g, &igdn);
    let loss = |x: &Tensor| dot(&cpu::gdn(x, &igdn), &g);
    let eps = 1e-2;
    for e in 0..x.data.len() {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus.data[e] += eps;
        minus.data[e] -= eps;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * f64::from(eps));
        let got = f64::from(analytic.data[e]);
        assert!(
            (numeric - got).abs() < 2e-3 * numeric.abs().max(1.0),
            "element {e}: {got} vs {numeric}"
        );
    }
}

/// bits of a symbol u (relative to its mean) under a Gaussian of `scale`, in f64
fn bits(u: f64, scale: f64) -> f64 {
    let cdf = |t: f64| 0.5 * libm_erfc(-t / std::f64::consts::SQRT_2);
    let v = u.abs();
    let p = (cdf((0.5 - v) / scale) - cdf((-0.5 - v) / scale)).max(1e-9);
    -p.log2()
}

/// erfc in f64 by its continued fraction / series, enough for a test oracle.
fn libm_erfc(x: f64) -> f64 {
    // Abramowitz-Stegun 7.1.26 is too coarse for derivatives; integrate the density instead
    if x < 0.0 {
        return 2.0 - libm_erfc(-x);
    }
    let n = 20000;
    let upper = x + 12.0;
    let h = (upper - x) / n as f64;
    let f = |t: f64| (-t * t).exp();
    let mut sum = f(x) + f(upper);
    for i in 1..n {
        sum += f(x + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    sum * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn erfc_is_accurate() {
    for x in [-3.0f32, -1.2, -0.3, 0.0, 0.4, 1.0, 2.5, 4.0] {
        let want = libm_erfc(f64::from(x));
        let got = f64::from(vaec_gpu::cpu::erfc(x));
        assert!(
            (got - want).abs() <= 2e-7 * want.max(1e-3) + 1e-9,
            "erfc({x}): {got} vs {want}"
        );
    }
}

#[test]
fn soft_rounding_and_rate_gradients_match_finite_differences() {
    let mut rng = Rng::new(33);
    for _ in 0..200 {
        let u = rng.uniform(-6.0, 6.0);
        let scale = rng.uniform(0.11, 20.0);
        let noise = rng.uniform(0.05, 0.95);
        let tau = rng.uniform(0.05, 0.5);
        let (rounded, d_round, rate_grad) = cpu::soft_round_element(u, scale, noise, tau);
        let frac = u - u.floor();
        if !(0.01..=0.99).contains(&frac) {
            continue;
        }
        assert!(
            rounded >= u.floor() && rounded <= u.floor() + 1.0,
            "{u} -> {rounded}"
        );
        let eps = 1e-3f32;
        let numeric_round = (cpu::soft_round_element(u + eps, scale, noise, tau).0
            - cpu::soft_round_element(u - eps, scale, noise, tau).0)
            / (2.0 * eps);
        assert!(
            (numeric_round - d_round).abs() <= 2e-2 * numeric_round.abs().max(1.0),
            "d_round at u {u} tau {tau}: {d_round} vs {numeric_round}"
        );
        let r = f64::from(rounded);
        if r.abs() < 1e-3 {
            continue; // |v| is not differentiable at 0
        }
        let h = 1e-4;
        let numeric_rate =
            (bits(r + h, f64::from(scale)) - bits(r - h, f64::from(scale))) / (2.0 * h);
        assert!(
            (numeric_rate - f64::from(rate_grad)).abs() <= 1e-3 * numeric_rate.abs().max(1.0),
            "rate gradient at {r} scale {scale}: {rate_grad} vs {numeric_rate}"
        );
    }
}

#[test]
fn igdn_backward_kernel_matches_its_twin() {
    for ctx in gpus() {
        let mut rng = Rng::new(34);
        // up to 128 channels: one pass per pixel; 130: the two passes
        for (c, h, w) in [
            (3, 1, 1),
            (6, 5, 3),
            (13, 17, 9),
            (16, 24, 31),
            (128, 3, 5),
            (130, 4, 3),
        ] {
            let igdn = random_gdn(&mut rng, c, true);
            let x = random_tensor(&mut rng, c, h, w);
            let g = random_tensor(&mut rng, c, h, w);
            let want = cpu::igdn_backward(&x, &g, &igdn);
            let layer = GpuGdn::new(ctx, &igdn).unwrap();
            let (x, g) = (
                ctx.upload_tensor(&x).unwrap(),
                ctx.upload_tensor(&g).unwrap(),
            );
            let got = ctx
                .download_tensor(&layer.input_gradient(ctx, &x, &g).unwrap())
                .unwrap();
            assert_close(&format!("igdn_backward {c} on {h}x{w}"), &got, &want, 1e-5);
        }
    }
}

fn step(step: u32, non_anchors_only: bool, free: [usize; 4]) -> SearchStep {
    SearchStep {
        step,
        seed: 7,
        tau: 0.3,
        lr: 5e-3,
        rate_weight: 1.0 / 4096.0,
        non_anchors_only,
        free,
    }
}

#[test]
fn search_kernels_match_their_twins() {
    for ctx in gpus() {
        let mut rng = Rng::new(35);
        for (c, h, w) in [(1, 1, 1), (5, 3, 7), (8, 9, 4), (13, 11, 13)] {
            let y = Tensor::from_data(c, h, w, rng.vec(c * h * w, -8.0, 8.0));
            let mean = Tensor::from_data(c, h, w, rng.vec(c * h * w, -2.0, 2.0));
            let scale = Tensor::from_data(c, h, w, rng.vec(c * h * w, 0.11, 30.0));
            let inv_gain = rng.vec(c, 0.2, 3.0);
            let search = LatentSearch::new(ctx, &y, &mean, &scale, &inv_gain).unwrap();
            let mut want_y = y.clone();
            let mut adam = cpu::AdamState {
                m: Tensor::zeros(c, h, w),
                v: Tensor::zeros(c, h, w),
            };
            // three steps: all of y, then the non-anchors only, then a window of y (a tile's
            // core; the moments carry over)
            let window = [w / 3, h / 2, w - w / 3 - w / 4, h - h / 2];
            for (k, non_anchors_only, free) in [
                (1, false, [0, 0, w, h]),
                (2, true, [0, 0, w, h]),
                (3, false, window),
            ] {
                let s = step(k, non_anchors_only, free);
                let grad = random_tensor(&mut rng, c, h, w);
                let want = cpu::soft_round(&want_y, &mean, &scale, &inv_gain, &s);
                cpu::adam_step(&mut want_y, &mut adam, &grad, &want, &inv_gain, &s);
                search.soft_round(ctx, &s).unwrap();
                let what = format!("{c}x{h}x{w} step {k}");
                let down = |t| ctx.download_tensor(t).unwrap();
                assert_close(
                    &format!("soft_round synthesis input {what}"),
                    &down(search.synthesis_input()),
                    &want.synthesis_input,
                    1e-5,
                );
                assert_close(
                    &format!("soft_round d_round {what}"),
                    &down(search.d_round()),
                    &want.d_round,
                    1e-4,
                );
                assert_close(
                    &format!("soft_round rate_grad {what}"),
                    &down(search.rate_grad()),
                    &want.rate_grad,
                    1e-4,
                );
                search
                    .adam_step(ctx, &ctx.upload_tensor(&grad).unwrap(), &s)
                    .unwrap();
                assert_close(
                    &format!("adam_step y {what}"),
                    &down(search.y()),
                    &want_y,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn distortion_gradient_kernel_matches_its_twin() {
    for ctx in gpus() {
        let mut rng = Rng::new(36);
        for (h, w, crop) in [
            (16, 16, [0, 0, 16, 16]),
            (32, 48, [0, 0, 45, 29]),
            (64, 16, [0, 0, 1, 3]),
            (40, 24, [5, 7, 13, 30]),
        ] {
            let output = random_tensor(&mut rng, 3, h, w);
            let picture = random_tensor(&mut rng, 3, h, w);
            let want = cpu::distortion_grad(&output, &picture, crop, 0.37);
            let got = vaec_gpu::gpu::distortion_grad(
                ctx,
                &ctx.upload_tensor(&output).unwrap(),
                &ctx.upload_tensor(&picture).unwrap(),
                crop,
                0.37,
            )
            .unwrap();
            assert_close(
                &format!("distortion_grad {h}x{w} crop {crop:?}"),
                &ctx.download_tensor(&got).unwrap(),
                &want,
                1e-6,
            );
        }
    }
}
