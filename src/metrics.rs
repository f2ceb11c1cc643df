//! Quality metrics of a decoded picture: PSNR and MS-SSIM on RGB8, as CompressAI reports them
//! (MS-SSIM follows pytorch-msssim: 11-tap Gaussian window, sigma 1.5, five scales).

use crate::image::Image;

/// PSNR in dB between two RGB pictures of equal size (alpha ignored); infinite if identical.
pub fn psnr(a: &Image, b: &Image) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "psnr: sizes differ"
    );
    let mut sum = 0.0f64;
    for (pa, pb) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
        for c in 0..3 {
            let d = pa[c] as f64 - pb[c] as f64;
            sum += d * d;
        }
    }
    let mse = sum / (a.width * a.height * 3) as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

const WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
const WIN: usize = 11;

fn gaussian_window() -> [f64; WIN] {
    let sigma = 1.5f64;
    let mut g = [0.0; WIN];
    for (i, v) in g.iter_mut().enumerate() {
        let x = i as f64 - (WIN / 2) as f64;
        *v = (-x * x / (2.0 * sigma * sigma)).exp();
    }
    let s: f64 = g.iter().sum();
    g.iter_mut().for_each(|v| *v /= s);
    g
}

/// Separable 'valid' Gaussian filter of a w x h plane.
fn blur(x: &[f64], w: usize, h: usize, g: &[f64; WIN]) -> (Vec<f64>, usize, usize) {
    let (ow, oh) = (w - WIN + 1, h - WIN + 1);
    let mut tmp = vec![0.0; ow * h];
    for y in 0..h {
        for xo in 0..ow {
            tmp[y * ow + xo] = (0..WIN).map(|k| g[k] * x[y * w + xo + k]).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for yo in 0..oh {
        for xo in 0..ow {
            out[yo * ow + xo] = (0..WIN).map(|k| g[k] * tmp[(yo + k) * ow + xo]).sum();
        }
    }
    (out, ow, oh)
}

/// (SSIM, contrast-structure) means of one scale, data range 255.
fn ssim_cs(a: &[f64], b: &[f64], w: usize, h: usize, g: &[f64; WIN]) -> (f64, f64) {
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mul = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(x, y)| x * y).collect::<Vec<_>>();
    let (mu_a, ow, oh) = blur(a, w, h, g);
    let (mu_b, _, _) = blur(b, w, h, g);
    let (saa, _, _) = blur(&mul(a, a), w, h, g);
    let (sbb, _, _) = blur(&mul(b, b), w, h, g);
    let (sab, _, _) = blur(&mul(a, b), w, h, g);
    let n = (ow * oh) as f64;
    let (mut ssim, mut cs) = (0.0, 0.0);
    for i in 0..ow * oh {
        let (ma, mb) = (mu_a[i], mu_b[i]);
        let va = saa[i] - ma * ma;
        let vb = sbb[i] - mb * mb;
        let cov = sab[i] - ma * mb;
        let csi = (2.0 * cov + c2) / (va + vb + c2);
        cs += csi;
        ssim += (2.0 * ma * mb + c1) / (ma * ma + mb * mb + c1) * csi;
    }
    (ssim / n, cs / n)
}

fn downsample(x: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    // 2x2 average pooling (pytorch-msssim pads odd sizes; this crops them, a negligible difference)
    let (ow, oh) = (w / 2, h / 2);
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for xo in 0..ow {
            let i = 2 * y * w + 2 * xo;
            out[y * ow + xo] = (x[i] + x[i + 1] + x[i + w] + x[i + w + 1]) / 4.0;
        }
    }
    (out, ow, oh)
}

/// MS-SSIM (mean over R, G, B), or `None` if a side is under 161 pixels (five scales need it).
pub fn ms_ssim(a: &Image, b: &Image) -> Option<f64> {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "ms_ssim: sizes differ"
    );
    if a.width.min(a.height) <= (WIN - 1) * 16 {
        return None;
    }
    let g = gaussian_window();
    let mut total = 0.0;
    for c in 0..3 {
        let plane =
            |img: &Image| -> Vec<f64> { img.rgba.chunks_exact(4).map(|p| p[c] as f64).collect() };
        let (mut pa, mut pb) = (plane(a), plane(b));
        let (mut w, mut h) = (a.width, a.height);
        let mut value = 1.0;
        for (s, weight) in WEIGHTS.iter().enumerate() {
            let (ssim, cs) = ssim_cs(&pa, &pb, w, h, &g);
            if s == WEIGHTS.len() - 1 {
                value *= ssim.max(0.0).powf(*weight);
            } else {
                value *= cs.max(0.0).powf(*weight);
                let (na, nw, nh) = downsample(&pa, w, h);
                pb = downsample(&pb, w, h).0;
                pa = na;
                (w, h) = (nw, nh);
            }
        }
        total += value;
    }
    Some(total / 3.0)
}
