//! The layer types: one convolution geometry shared by the float layers, the integer layers and
//! tiling; float convolutions and GDN; transforms as chains of layers.

/// Where a convolution reads: square kernel, stride, zero padding, and whether it is transposed
/// (PyTorch's `ConvTranspose2d` with output_padding = stride - 1, as CompressAI's `deconv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub pad: usize,
    /// Transposed convolution.
    pub transposed: bool,
}

impl ConvGeometry {
    /// A convolution of `kernel` x `kernel` with padding `kernel / 2` (CompressAI's `conv`).
    pub const fn conv(kernel: usize, stride: usize) -> ConvGeometry {
        ConvGeometry {
            kernel,
            stride,
            pad: kernel / 2,
            transposed: false,
        }
    }

    /// A transposed convolution with padding `kernel / 2` (CompressAI's `deconv`).
    pub const fn deconv(kernel: usize, stride: usize) -> ConvGeometry {
        ConvGeometry {
            kernel,
            stride,
            pad: kernel / 2,
            transposed: true,
        }
    }

    /// Output length along one axis for an input of `n`: `(n + 2p - k) / s + 1`, or for a
    /// transposed convolution `(n - 1) s - 2p + k + s - 1`.
    pub fn output_len(&self, n: usize) -> usize {
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        if self.transposed {
            ((n - 1) * s + k + s - 1).saturating_sub(2 * p)
        } else {
            (n + 2 * p).saturating_sub(k) / s + 1
        }
    }

    /// Output height and width for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        (self.output_len(h), self.output_len(w))
    }

    /// The input coordinate that output coordinate `o` reads through tap `k` along one axis, if
    /// any (a transposed convolution writes output `i * s - p + k` from input `i`).
    #[inline]
    pub fn source_index(&self, o: usize, k: usize, size: usize) -> Option<usize> {
        let (s, p) = (self.stride as isize, self.pad as isize);
        let i = if self.transposed {
            let t = o as isize + p - k as isize;
            if t < 0 || t % s != 0 {
                return None;
            }
            t / s
        } else {
            o as isize * s + k as isize - p
        };
        (i >= 0 && (i as usize) < size).then_some(i as usize)
    }

    /// PyTorch's weight shape: `[out, in, k, k]`, or `[in, out, k, k]` transposed.
    pub fn weight_shape(&self, in_channels: usize, out_channels: usize) -> [usize; 4] {
        let k = self.kernel;
        if self.transposed {
            [in_channels, out_channels, k, k]
        } else {
            [out_channels, in_channels, k, k]
        }
    }

    /// Index in PyTorch's weight layout of input `i` to output `o` at tap `(ky, kx)`.
    #[inline]
    pub fn weight_index(
        &self,
        (in_channels, out_channels): (usize, usize),
        o: usize,
        i: usize,
        ky: usize,
        kx: usize,
    ) -> usize {
        let k = self.kernel;
        if self.transposed {
            ((i * out_channels + o) * k + ky) * k + kx
        } else {
            ((o * in_channels + i) * k + ky) * k + kx
        }
    }

    /// Taps that one output pixel receives on average (a transposed layer's output sees a
    /// 1/stride^2 share of the kernel).
    pub fn taps_per_output(&self) -> f64 {
        let taps = (self.kernel * self.kernel) as f64;
        if self.transposed {
            taps / (self.stride * self.stride) as f64
        } else {
            taps
        }
    }

    /// Multiply-adds for `in_channels` to `out_channels` over an output of `out_h` x `out_w`.
    pub fn macs(&self, in_channels: usize, out_channels: usize, out_h: usize, out_w: usize) -> u64 {
        let per_output = self.taps_per_output() * (in_channels * out_channels) as f64;
        (per_output * (out_h * out_w) as f64).round() as u64
    }
}

/// A float convolution or transposed convolution with bias, as PyTorch stores it.
#[derive(Clone, Debug)]
pub struct Conv {
    /// Kernel, stride, padding, transposed.
    pub geometry: ConvGeometry,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Weights in PyTorch's layout (see [`ConvGeometry::weight_shape`]).
    pub weight: Vec<f32>,
    /// One bias per output channel.
    pub bias: Vec<f32>,
    /// ReLU after the bias.
    pub relu: bool,
}

impl Conv {
    /// A convolution without ReLU; `weight` and `bias` must have the shapes the geometry implies.
    pub fn new(
        geometry: ConvGeometry,
        in_channels: usize,
        out_channels: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
    ) -> Conv {
        assert_eq!(
            weight.len(),
            geometry
                .weight_shape(in_channels, out_channels)
                .iter()
                .product::<usize>(),
            "conv weight length"
        );
        assert_eq!(bias.len(), out_channels, "conv bias length");
        Conv {
            geometry,
            in_channels,
            out_channels,
            weight,
            bias,
            relu: false,
        }
    }

    /// The same convolution followed by a ReLU.
    pub fn with_relu(self) -> Conv {
        Conv { relu: true, ..self }
    }

    /// The layer that maps an output gradient of this transposed convolution to its input
    /// gradient (its adjoint): the strided convolution of the same geometry with the same weight
    /// tensor (PyTorch's `[in, out, k, k]` of the transposed layer is the `[out, in, k, k]` of
    /// the strided one), no bias. None for a layer with a ReLU, whose gradient needs its output.
    pub fn input_gradient(&self) -> Option<Conv> {
        let g = self.geometry;
        (g.transposed && !self.relu).then(|| {
            Conv::new(
                ConvGeometry {
                    transposed: false,
                    ..g
                },
                self.out_channels,
                self.in_channels,
                self.weight.clone(),
                vec![0.0; self.in_channels],
            )
        })
    }

    /// Output height and width for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        self.geometry.output_size(h, w)
    }

    /// The weight connecting input channel `i` to output channel `o` at tap `(ky, kx)`.
    #[inline]
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> f32 {
        let at = self
            .geometry
            .weight_index((self.in_channels, self.out_channels), o, i, ky, kx);
        self.weight[at]
    }

    /// Multiply-adds for an output of `out_h` x `out_w`.
    pub fn macs(&self, out_h: usize, out_w: usize) -> u64 {
        self.geometry
            .macs(self.in_channels, self.out_channels, out_h, out_w)
    }
}

/// Generalized divisive normalization, or its inverse, with effective parameters.
#[derive(Clone, Debug)]
pub struct Gdn {
    /// Channels.
    pub channels: usize,
    /// beta_i, one per channel.
    pub beta: Vec<f32>,
    /// gamma_ij, `channels x channels`, row i = output channel.
    pub gamma: Vec<f32>,
    /// IGDN (multiply by the norm) instead of GDN (divide).
    pub inverse: bool,
}

impl Gdn {
    /// The same layer with gamma transposed (what IGDN's backward pass mixes with).
    pub fn transposed(&self) -> Gdn {
        let c = self.channels;
        Gdn {
            gamma: (0..c * c)
                .map(|e| self.gamma[(e % c) * c + e / c])
                .collect(),
            ..self.clone()
        }
    }
}

/// One layer of a transform.
#[derive(Clone, Debug)]
pub enum Layer {
    /// Convolution or transposed convolution (with bias and optional ReLU).
    Conv(Conv),
    /// GDN or IGDN.
    Gdn(Gdn),
}

impl Layer {
    /// The layer's output channels.
    pub fn out_channels(&self) -> usize {
        match self {
            Layer::Conv(c) => c.out_channels,
            Layer::Gdn(g) => g.channels,
        }
    }

    /// The convolution geometry; `None` for per-pixel layers.
    pub fn geometry(&self) -> Option<ConvGeometry> {
        match self {
            Layer::Conv(c) => Some(c.geometry),
            Layer::Gdn(_) => None,
        }
    }

    /// Output length along one axis for an input of `n`.
    pub fn output_len(&self, n: usize) -> usize {
        self.geometry().map_or(n, |g| g.output_len(n))
    }

    /// Output size for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        (self.output_len(h), self.output_len(w))
    }

    /// Multiply-adds for an output of `out_h` x `out_w`.
    pub fn macs(&self, out_h: usize, out_w: usize) -> u64 {
        match self {
            Layer::Conv(c) => c.macs(out_h, out_w),
            Layer::Gdn(g) => (g.channels * g.channels * out_h * out_w) as u64,
        }
    }
}

/// A chain of layers: one of g_a, g_s, h_a, h_s.
#[derive(Clone, Debug)]
pub struct Transform {
    /// Its name (`g_a`, ...), for messages and timings.
    pub name: &'static str,
    /// The layers in order.
    pub layers: Vec<Layer>,
}

impl Transform {
    /// How much the transform shrinks (above 1) or grows (below 1) each side: the product of the
    /// strides of its convolutions, transposed ones dividing.
    pub fn scale(&self) -> f64 {
        self.layers
            .iter()
            .filter_map(Layer::geometry)
            .map(|g| match g.transposed {
                false => g.stride as f64,
                true => 1.0 / g.stride as f64,
            })
            .product()
    }

    /// Input channels of the first layer.
    pub fn in_channels(&self) -> usize {
        match self.layers.first() {
            Some(Layer::Conv(c)) => c.in_channels,
            Some(Layer::Gdn(g)) => g.channels,
            None => 0,
        }
    }

    /// Output channels of the last layer.
    pub fn out_channels(&self) -> usize {
        self.layers.last().map_or(0, Layer::out_channels)
    }

    /// The output size for an input of `w` x `h` (width first, as tiling uses it).
    pub fn output_wh(&self, (w, h): (usize, usize)) -> (usize, usize) {
        self.layers
            .iter()
            .fold((w, h), |(w, h), l| (l.output_len(w), l.output_len(h)))
    }
}
