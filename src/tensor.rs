//! A CPU-side feature map (one image, channels x height x width, f32), and its conversion to the
//! GPU layout: channels packed by four into `vec4<f32>` planes, `(c / 4, y, x)` row-major, with the
//! padded channels of the last group zero.

/// A feature map of `channels` planes of `height` x `width` f32 values, channel-major (CHW).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Number of channels.
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// `channels * height * width` values, index `(c * height + y) * width + x`.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Tensor {
            channels,
            height,
            width,
            data: vec![0.0; channels * height * width],
        }
    }

    /// Wraps CHW data; `data.len()` must be `channels * height * width`.
    pub fn from_data(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), channels * height * width, "tensor data length");
        Tensor {
            channels,
            height,
            width,
            data,
        }
    }

    /// The value at channel `c`, row `y`, column `x`.
    #[inline]
    pub fn at(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    /// Each channel `c` times `gain[c]` (the gain of y, and its inverse before synthesis).
    pub fn scale_channels(&self, gain: &[f32]) -> Tensor {
        assert_eq!(self.channels, gain.len(), "one gain per channel");
        let plane = self.height * self.width;
        let mut out = self.clone();
        for (c, chunk) in out.data.chunks_mut(plane.max(1)).enumerate() {
            chunk.iter_mut().for_each(|v| *v *= gain[c]);
        }
        out
    }

    /// Every value rounded to an integer, ties to even (as torch.round).
    pub fn round(&self) -> Tensor {
        let mut out = self.clone();
        out.data.iter_mut().for_each(|v| *v = v.round_ties_even());
        out
    }

    /// |x| of every value.
    pub fn abs(&self) -> Tensor {
        let mut out = self.clone();
        out.data.iter_mut().for_each(|v| *v = v.abs());
        out
    }

    /// Bytes a tensor of this shape takes in the GPU layout (`ceil(c / 4)` planes of 16-byte texels).
    pub fn gpu_bytes(channels: usize, height: usize, width: usize) -> u64 {
        (channels.div_ceil(4) * height * width * 16) as u64
    }

    /// The channel plane `c`.
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.data[c * n..(c + 1) * n]
    }

    /// Repacks into the GPU layout: `ceil(channels / 4)` planes of 4-channel texels.
    pub fn to_vec4_planes(&self) -> Vec<[f32; 4]> {
        let plane = self.height * self.width;
        let groups = self.channels.div_ceil(4);
        let mut out = vec![[0.0f32; 4]; groups * plane];
        for c in 0..self.channels {
            let (g, lane) = (c / 4, c % 4);
            for (i, v) in self.plane(c).iter().enumerate() {
                out[g * plane + i][lane] = *v;
            }
        }
        out
    }

    /// The inverse of [`Tensor::to_vec4_planes`].
    pub fn from_vec4_planes(
        channels: usize,
        height: usize,
        width: usize,
        packed: &[[f32; 4]],
    ) -> Self {
        let plane = height * width;
        let mut t = Tensor::zeros(channels, height, width);
        for c in 0..channels {
            let (g, lane) = (c / 4, c % 4);
            for i in 0..plane {
                t.data[c * plane + i] = packed[g * plane + i][lane];
            }
        }
        t
    }

    /// The `w` x `h` window at column `x0`, row `y0` (all channels).
    pub fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Tensor {
        assert!(
            x0 + w <= self.width && y0 + h <= self.height,
            "crop outside the tensor"
        );
        let mut data = Vec::with_capacity(self.channels * w * h);
        for c in 0..self.channels {
            for y in y0..y0 + h {
                let row = (c * self.height + y) * self.width;
                data.extend_from_slice(&self.data[row + x0..row + x0 + w]);
            }
        }
        Tensor::from_data(self.channels, h, w, data)
    }

    /// Copies the `w` x `h` window at `src_origin` of `src` to `dst_origin` of `self`.
    pub fn paste(
        &mut self,
        src: &Tensor,
        src_origin: (usize, usize),
        dst_origin: (usize, usize),
        w: usize,
        h: usize,
    ) {
        assert_eq!(self.channels, src.channels, "paste: channel counts differ");
        for c in 0..self.channels {
            for y in 0..h {
                let s = (c * src.height + src_origin.1 + y) * src.width + src_origin.0;
                let d = (c * self.height + dst_origin.1 + y) * self.width + dst_origin.0;
                self.data[d..d + w].copy_from_slice(&src.data[s..s + w]);
            }
        }
    }

    /// Largest absolute difference to `other` (same shape), and the largest absolute value of `other`.
    pub fn max_abs_diff(&self, other: &Tensor) -> (f32, f32) {
        assert_eq!(
            (self.channels, self.height, self.width),
            (other.channels, other.height, other.width),
            "tensor shapes differ"
        );
        let mut diff = 0.0f32;
        let mut scale = 0.0f32;
        for (a, b) in self.data.iter().zip(&other.data) {
            diff = diff.max((a - b).abs());
            scale = scale.max(b.abs());
        }
        (diff, scale)
    }
}
