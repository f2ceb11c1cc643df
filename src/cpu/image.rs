//! Twin of `image.wgsl`: RGBA8 pixels to and from the 3-channel tensor, and an alpha plane into
//! them.

use crate::tensor::Tensor;

/// `rgba8_to_tensor`: RGBA8 pixels (`img_w` x `img_h`) to a 3-channel tensor of `width` x
/// `height`, values / 255, replicate-padded beyond the image.
pub fn rgba8_to_tensor(
    rgba: &[u8],
    img_w: usize,
    img_h: usize,
    width: usize,
    height: usize,
) -> Tensor {
    let mut t = Tensor::zeros(3, height, width);
    for y in 0..height {
        for x in 0..width {
            let s = (y.min(img_h - 1) * img_w + x.min(img_w - 1)) * 4;
            for c in 0..3 {
                t.data[(c * height + y) * width + x] = rgba[s + c] as f32 / 255.0;
            }
        }
    }
    t
}

/// `tensor_to_rgba8`: the top-left `img_w` x `img_h` of a 3-channel tensor as RGBA8, clamped to
/// [0, 1] and rounded, alpha 255.
pub fn tensor_to_rgba8(t: &Tensor, img_w: usize, img_h: usize) -> Vec<u8> {
    let mut out = vec![255u8; img_w * img_h * 4];
    for y in 0..img_h {
        for x in 0..img_w {
            for c in 0..3 {
                let v = t.at(c, y, x).clamp(0.0, 1.0) * 255.0;
                out[(y * img_w + x) * 4 + c] = v.round() as u8;
            }
        }
    }
    out
}

/// `merge_alpha`: the `img_w` x `img_h` alpha plane into the alpha bytes of RGBA8 pixels whose
/// rows are `pitch` pixels apart.
pub fn merge_alpha(rgba: &mut [u8], alpha: &[u8], img_w: usize, img_h: usize, pitch: usize) {
    for y in 0..img_h {
        for x in 0..img_w {
            rgba[(y * pitch + x) * 4 + 3] = alpha[y * img_w + x];
        }
    }
}
