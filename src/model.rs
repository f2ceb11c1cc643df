//! The model: CompressAI's `ScaleHyperprior` layer graph (g_a, g_s, h_a, h_s) with per-quality gain
//! vectors on y, loaded from a safetensors weight file whose tensor names are CompressAI's
//! state_dict names. N and M are read from the weight shapes.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::hyper::{IntConv, IntHyperSynthesis};

/// A convolution or transposed convolution with bias, as PyTorch stores it.
#[derive(Clone, Debug)]
pub struct Conv {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding.
    pub pad: usize,
    /// Transposed convolution (PyTorch `ConvTranspose2d` with output_padding = stride - 1).
    pub transposed: bool,
    /// Weights in PyTorch's layout: `[out, in, k, k]` for a convolution, `[in, out, k, k]` transposed.
    pub weight: Vec<f32>,
    /// One bias per output channel.
    pub bias: Vec<f32>,
    /// ReLU after the bias.
    pub relu: bool,
    /// |x| on the input (h_a reads |y|).
    pub abs_input: bool,
}

/// Output length along one axis of a convolution, or of a transposed convolution with
/// output_padding = stride - 1 (as CompressAI's deconv): `(n - 1) s - 2p + k + s - 1`.
pub fn conv_output_len(
    kernel: usize,
    stride: usize,
    pad: usize,
    transposed: bool,
    n: usize,
) -> usize {
    if transposed {
        (n - 1) * stride + kernel + stride - 1 - 2 * pad
    } else {
        (n + 2 * pad - kernel) / stride + 1
    }
}

/// The input coordinate that output coordinate `o` reads through tap `k` along one axis, if any
/// (a transposed convolution writes output `i * s - p + k` from input `i`).
#[inline]
pub fn conv_source_index(
    stride: usize,
    pad: usize,
    transposed: bool,
    o: usize,
    k: usize,
    size: usize,
) -> Option<usize> {
    let (s, p) = (stride as isize, pad as isize);
    let i = if transposed {
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

impl Conv {
    /// Output height and width for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        let f = |n| conv_output_len(self.kernel, self.stride, self.pad, self.transposed, n);
        (f(h), f(w))
    }

    /// The weight connecting input channel `i` to output channel `o` at tap `(ky, kx)`.
    #[inline]
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> f32 {
        let k = self.kernel;
        if self.transposed {
            self.weight[((i * self.out_channels + o) * k + ky) * k + kx]
        } else {
            self.weight[((o * self.in_channels + i) * k + ky) * k + kx]
        }
    }

    /// Multiply-adds for an output of `h` x `w`.
    pub fn macs(&self, out_h: usize, out_w: usize) -> u64 {
        let taps = (self.kernel * self.kernel) as u64;
        let per_pixel = taps * self.in_channels as u64 * self.out_channels as u64;
        if self.transposed {
            // each output pixel receives about taps / stride^2 taps
            per_pixel * (out_h * out_w) as u64 / (self.stride * self.stride) as u64
        } else {
            per_pixel * (out_h * out_w) as u64
        }
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

    /// Output size for an input of `h` x `w`.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        match self {
            Layer::Conv(c) => c.output_size(h, w),
            Layer::Gdn(_) => (h, w),
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

/// The factorized prior of z (CompressAI `EntropyBottleneck` after `update()`).
#[derive(Clone, Debug)]
pub struct FactorizedTables {
    /// Per channel: 16-bit CDF (`cdf_length[c]` entries used), with the escape symbol last.
    pub cdfs: Vec<Vec<u32>>,
    /// Per channel: value of symbol 0 relative to the median (negative).
    pub offsets: Vec<i32>,
    /// Per channel median (the symbol is `round(z - median) - offset`).
    pub medians: Vec<f32>,
}

/// The Gaussian conditional of y: one CDF per scale of `scale_table`.
#[derive(Clone, Debug)]
pub struct GaussianTables {
    /// The scale of each table.
    pub scale_table: Vec<f32>,
    /// Per scale: 16-bit CDF, escape symbol last.
    pub cdfs: Vec<Vec<u32>>,
    /// Per scale: value of symbol 0 (negative).
    pub offsets: Vec<i32>,
}

/// A loaded model: the four transforms, the gains and the entropy tables.
#[derive(Clone, Debug)]
pub struct Model {
    /// Channels of the hidden layers and of z.
    pub n: usize,
    /// Channels of y.
    pub m: usize,
    /// Analysis transform image -> y.
    pub g_a: Transform,
    /// Synthesis transform y_hat -> image.
    pub g_s: Transform,
    /// Hyper-analysis |y| -> z.
    pub h_a: Transform,
    /// Hyper-synthesis z_hat -> scales (floating point).
    pub h_s: Transform,
    /// Per quality level, the gain applied to y before rounding (`levels x m`).
    pub gains: Vec<Vec<f32>>,
    /// Per quality level, the gain applied to y_hat before synthesis.
    pub inv_gains: Vec<Vec<f32>>,
    /// Tables of z's factorized prior, if the file has them.
    pub factorized: Option<FactorizedTables>,
    /// Tables of y's Gaussian conditional, if the file has them.
    pub gaussian: Option<GaussianTables>,
    /// The integer hyper-synthesis that the codec uses, if the file has it.
    pub int_h_s: Option<IntHyperSynthesis>,
    /// The file's metadata (model name, lambdas, training steps).
    pub metadata: HashMap<String, String>,
    /// First 16 bytes of the SHA-256 of the weight file: the model identity in `.vaec` headers.
    pub id: [u8; 16],
}

/// The weight file shipped in `weights/` and compiled into the library.
pub const BUILTIN_WEIGHTS: &[u8] = include_bytes!("../weights/vaec-hyperprior.safetensors");

impl Model {
    /// The shipped model (`weights/vaec-hyperprior.safetensors`, compiled in).
    pub fn builtin() -> Result<Model> {
        Model::from_bytes(BUILTIN_WEIGHTS)
    }

    /// Number of quality levels (gain vectors).
    pub fn levels(&self) -> usize {
        self.gains.len()
    }

    /// Gain and inverse gain for quality `q` in `[1, levels]`, fractions interpolated geometrically
    /// between neighbouring levels.
    pub fn gains_for_quality(&self, q: f32) -> Result<(Vec<f32>, Vec<f32>)> {
        let levels = self.levels();
        if !(q >= 1.0 && q <= levels as f32) {
            return Err(Error::InvalidArgument(format!(
                "quality {q} is outside 1..={levels}"
            )));
        }
        let pos = q - 1.0;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(levels - 1);
        let t = pos - lo as f32;
        let mix = |v: &Vec<Vec<f32>>| -> Vec<f32> {
            v[lo]
                .iter()
                .zip(&v[hi])
                .map(|(a, b)| ((1.0 - t) * a.ln() + t * b.ln()).exp())
                .collect()
        };
        if t == 0.0 {
            return Ok((self.gains[lo].clone(), self.inv_gains[lo].clone()));
        }
        Ok((mix(&self.gains), mix(&self.inv_gains)))
    }

    /// Loads a weight file.
    pub fn load(path: &Path) -> Result<Model> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Model::from_bytes(&bytes)
    }

    /// Parses a weight file held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::weights("*", format!("not a safetensors file: {e}")))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::weights("*", format!("not a safetensors file: {e}")))?;
        let file = WeightFile { st };
        let n = file.shape("g_a.0.weight")?[0];
        let m = file.shape("g_a.6.weight")?[0];
        if n == 0 || m == 0 {
            return Err(Error::weights("g_a.0.weight", "zero channels"));
        }
        let conv = |name: &str, cin, cout, k, s, transposed, relu, abs_input| {
            file.conv(name, cin, cout, k, s, transposed, relu, abs_input)
        };
        let gdn = |name: &str, inverse| file.gdn(name, n, inverse);
        let g_a = Transform {
            name: "g_a",
            layers: vec![
                conv("g_a.0", 3, n, 5, 2, false, false, false)?,
                gdn("g_a.1", false)?,
                conv("g_a.2", n, n, 5, 2, false, false, false)?,
                gdn("g_a.3", false)?,
                conv("g_a.4", n, n, 5, 2, false, false, false)?,
                gdn("g_a.5", false)?,
                conv("g_a.6", n, m, 5, 2, false, false, false)?,
            ],
        };
        let g_s = Transform {
            name: "g_s",
            layers: vec![
                conv("g_s.0", m, n, 5, 2, true, false, false)?,
                gdn("g_s.1", true)?,
                conv("g_s.2", n, n, 5, 2, true, false, false)?,
                gdn("g_s.3", true)?,
                conv("g_s.4", n, n, 5, 2, true, false, false)?,
                gdn("g_s.5", true)?,
                conv("g_s.6", n, 3, 5, 2, true, false, false)?,
            ],
        };
        let h_a = Transform {
            name: "h_a",
            layers: vec![
                conv("h_a.0", m, n, 3, 1, false, true, true)?,
                conv("h_a.2", n, n, 5, 2, false, true, false)?,
                conv("h_a.4", n, n, 5, 2, false, false, false)?,
            ],
        };
        let h_s = Transform {
            name: "h_s",
            layers: vec![
                conv("h_s.0", n, n, 5, 2, true, true, false)?,
                conv("h_s.2", n, n, 5, 2, true, true, false)?,
                conv("h_s.4", n, m, 3, 1, false, true, false)?,
            ],
        };
        let (gains, inv_gains) = if file.has("y_gain") {
            let g = file.matrix("y_gain", m)?;
            let ig = file.matrix("y_inv_gain", m)?;
            if g.len() != ig.len() || g.is_empty() {
                return Err(Error::weights("y_inv_gain", "needs as many rows as y_gain"));
            }
            for (name, rows) in [("y_gain", &g), ("y_inv_gain", &ig)] {
                if rows.iter().flatten().any(|v| !(v.is_finite() && *v > 0.0)) {
                    return Err(Error::weights(name, "gains must be finite and positive"));
                }
            }
            (g, ig)
        } else {
            (vec![vec![1.0; m]], vec![vec![1.0; m]])
        };
        let factorized = if file.has("entropy_bottleneck._quantized_cdf") {
            Some(file.factorized(n)?)
        } else {
            None
        };
        let gaussian = if file.has("gaussian_conditional._quantized_cdf") {
            Some(file.gaussian()?)
        } else {
            None
        };
        let int_h_s = if file.has("h_s_int.thresholds") {
            let tables = gaussian.as_ref().map_or(0, |g| g.cdfs.len());
            let int = file.int_hyper(n, &h_s)?;
            int.validate(n, tables)?;
            Some(int)
        } else {
            None
        };
        Ok(Model {
            n,
            m,
            g_a,
            g_s,
            h_a,
            h_s,
            gains,
            inv_gains,
            factorized,
            gaussian,
            int_h_s,
            metadata,
            id: model_id(bytes),
        })
    }
}

fn model_id(bytes: &[u8]) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest[..16].try_into().expect("16 bytes")
}

/// Lower-case hex of a byte string (model ids in messages).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct WeightFile<'a> {
    st: SafeTensors<'a>,
}

impl WeightFile<'_> {
    fn has(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok()
    }

    fn view(&self, name: &str) -> Result<safetensors::tensor::TensorView<'_>> {
        self.st
            .tensor(name)
            .map_err(|_| Error::weights(name, "missing"))
    }

    fn shape(&self, name: &str) -> Result<Vec<usize>> {
        Ok(self.view(name)?.shape().to_vec())
    }

    /// A float tensor (f32 or f16) with the given shape, as f32.
    fn floats(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let v = self.view(name)?;
        if v.shape() != shape {
            return Err(Error::weights(
                name,
                format!("shape {:?}, expected {:?}", v.shape(), shape),
            ));
        }
        let data = v.data();
        let values: Vec<f32> = match v.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::weights(
                    name,
                    format!("dtype {other:?}, expected F32 or F16"),
                ))
            }
        };
        if values.iter().any(|x| !x.is_finite()) {
            return Err(Error::weights(name, "contains NaN or infinity"));
        }
        Ok(values)
    }

    /// An integer tensor (I32 or I64) of any shape, flattened.
    fn ints(&self, name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
        let v = self.view(name)?;
        let data = v.data();
        let values = match v.dtype() {
            Dtype::I32 => data
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
                .collect(),
            Dtype::I64 => data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
            other => {
                return Err(Error::weights(
                    name,
                    format!("dtype {other:?}, expected I32 or I64"),
                ))
            }
        };
        Ok((v.shape().to_vec(), values))
    }

    #[allow(clippy::too_many_arguments)]
    fn conv(
        &self,
        prefix: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        transposed: bool,
        relu: bool,
        abs_input: bool,
    ) -> Result<Layer> {
        let wname = format!("{prefix}.weight");
        let shape = if transposed {
            [cin, cout, k, k]
        } else {
            [cout, cin, k, k]
        };
        let weight = self.floats(&wname, &shape)?;
        let bias = self.floats(&format!("{prefix}.bias"), &[cout])?;
        Ok(Layer::Conv(Conv {
            in_channels: cin,
            out_channels: cout,
            kernel: k,
            stride,
            pad: k / 2,
            transposed,
            weight,
            bias,
            relu,
            abs_input,
        }))
    }

    fn gdn(&self, prefix: &str, channels: usize, inverse: bool) -> Result<Layer> {
        let beta = self.floats(&format!("{prefix}.beta"), &[channels])?;
        let gname = format!("{prefix}.gamma");
        // CompressAI stores gamma as [C, C]; accept [C, C, 1, 1] too (a 1x1 conv).
        let gamma = match self.shape(&gname)?.len() {
            4 => self.floats(&gname, &[channels, channels, 1, 1])?,
            _ => self.floats(&gname, &[channels, channels])?,
        };
        if beta.iter().any(|b| *b <= 0.0) {
            return Err(Error::weights(
                format!("{prefix}.beta"),
                "must be positive (store the effective GDN parameters)",
            ));
        }
        if gamma.iter().any(|g| *g < 0.0) {
            return Err(Error::weights(
                gname,
                "must be non-negative (store the effective GDN parameters)",
            ));
        }
        Ok(Layer::Gdn(Gdn {
            channels,
            beta,
            gamma,
            inverse,
        }))
    }

    fn matrix(&self, name: &str, cols: usize) -> Result<Vec<Vec<f32>>> {
        let shape = self.shape(name)?;
        if shape.len() != 2 || shape[1] != cols || shape[0] == 0 || shape[0] > 64 {
            return Err(Error::weights(
                name,
                format!("shape {shape:?}, expected [levels (1..64), {cols}]"),
            ));
        }
        let flat = self.floats(name, &shape)?;
        Ok(flat.chunks(cols).map(<[f32]>::to_vec).collect())
    }

    /// CDF rows `[rows, max_len]` with per-row lengths, checked to be valid 16-bit CDFs.
    fn cdf_table(&self, prefix: &str, rows: usize) -> Result<(Vec<Vec<u32>>, Vec<i32>)> {
        let cdf_name = format!("{prefix}._quantized_cdf");
        let (shape, cdf) = self.ints(&cdf_name)?;
        if shape.len() != 2 || shape[0] != rows || shape[1] < 2 {
            return Err(Error::weights(
                &cdf_name,
                format!("shape {shape:?}, expected [{rows}, >= 2]"),
            ));
        }
        let (lshape, lengths) = self.ints(&format!("{prefix}._cdf_length"))?;
        let (oshape, offsets) = self.ints(&format!("{prefix}._offset"))?;
        if lshape.iter().product::<usize>() != rows || oshape.iter().product::<usize>() != rows {
            return Err(Error::weights(
                format!("{prefix}._cdf_length"),
                format!("needs {rows} entries, as _offset does"),
            ));
        }
        let width = shape[1];
        let mut cdfs = Vec::with_capacity(rows);
        for r in 0..rows {
            let len = lengths[r];
            if len < 2 || len as usize > width {
                return Err(Error::weights(
                    format!("{prefix}._cdf_length"),
                    format!("row {r}: length {len} outside 2..={width}"),
                ));
            }
            let row: Vec<u32> = cdf[r * width..r * width + len as usize]
                .iter()
                .map(|v| *v as u32)
                .collect();
            let valid = row[0] == 0
                && *row.last().expect("len >= 2") == 1 << 16
                && row.windows(2).all(|w| w[0] < w[1]);
            if !valid {
                return Err(Error::weights(
                    &cdf_name,
                    format!("row {r} is not a strictly increasing CDF from 0 to 65536"),
                ));
            }
            cdfs.push(row);
        }
        let offsets = offsets
            .iter()
            .map(|o| {
                i32::try_from(*o)
                    .map_err(|_| Error::weights(format!("{prefix}._offset"), "out of range"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((cdfs, offsets))
    }

    /// An integer tensor of exactly `shape`, as i32.
    fn i32s(&self, name: &str, shape: &[usize]) -> Result<Vec<i32>> {
        let (got, values) = self.ints(name)?;
        if got != shape {
            return Err(Error::weights(
                name,
                format!("shape {got:?}, expected {shape:?}"),
            ));
        }
        values
            .into_iter()
            .map(|v| {
                i32::try_from(v)
                    .map_err(|_| Error::weights(name, format!("{v} does not fit an i32")))
            })
            .collect()
    }

    fn int_hyper(&self, n: usize, h_s: &Transform) -> Result<IntHyperSynthesis> {
        let scalar = |name: &str| -> Result<i32> { Ok(self.i32s(name, &[1])?[0]) };
        let frac = scalar("h_s_int.input_frac_bits")?;
        let input_frac_bits = u32::try_from(frac)
            .map_err(|_| Error::weights("h_s_int.input_frac_bits", "negative"))?;
        let medians = self.i32s("h_s_int.medians", &[n])?;
        let mut layers = Vec::new();
        for (layer, name) in h_s.layers.iter().zip(["0", "2", "4"]) {
            let Layer::Conv(c) = layer else {
                return Err(Error::weights("h_s", "expected convolutions only"));
            };
            let shape = if c.transposed {
                [c.in_channels, c.out_channels, c.kernel, c.kernel]
            } else {
                [c.out_channels, c.in_channels, c.kernel, c.kernel]
            };
            let shifts = self.i32s(&format!("h_s_int.{name}.shift"), &[c.out_channels])?;
            layers.push(IntConv {
                in_channels: c.in_channels,
                out_channels: c.out_channels,
                kernel: c.kernel,
                stride: c.stride,
                pad: c.pad,
                transposed: c.transposed,
                weight: self.i32s(&format!("h_s_int.{name}.weight"), &shape)?,
                bias: self.i32s(&format!("h_s_int.{name}.bias"), &[c.out_channels])?,
                shift: shifts
                    .iter()
                    .map(|s| {
                        u32::try_from(*s).map_err(|_| {
                            Error::weights(format!("h_s_int.{name}.shift"), "negative shift")
                        })
                    })
                    .collect::<Result<_>>()?,
                act_max: scalar(&format!("h_s_int.{name}.act_max"))?,
            });
        }
        let (tshape, _) = self.ints("h_s_int.thresholds")?;
        let thresholds = self.i32s("h_s_int.thresholds", &tshape)?;
        if tshape.len() != 1 || !thresholds.windows(2).all(|w| w[0] <= w[1]) {
            return Err(Error::weights(
                "h_s_int.thresholds",
                "must be one increasing row",
            ));
        }
        Ok(IntHyperSynthesis {
            input_frac_bits,
            medians,
            layers,
            thresholds,
        })
    }

    fn factorized(&self, n: usize) -> Result<FactorizedTables> {
        let (cdfs, offsets) = self.cdf_table("entropy_bottleneck", n)?;
        let medians = self.floats("entropy_bottleneck._medians", &[n])?;
        Ok(FactorizedTables {
            cdfs,
            offsets,
            medians,
        })
    }

    fn gaussian(&self) -> Result<GaussianTables> {
        let shape = self.shape("gaussian_conditional.scale_table")?;
        if shape.len() != 1 || shape[0] == 0 || shape[0] > 256 {
            return Err(Error::weights(
                "gaussian_conditional.scale_table",
                format!("shape {shape:?}, expected [1..=256]"),
            ));
        }
        let scale_table = self.floats("gaussian_conditional.scale_table", &shape)?;
        let (cdfs, offsets) = self.cdf_table("gaussian_conditional", shape[0])?;
        Ok(GaussianTables {
            scale_table,
            cdfs,
            offsets,
        })
    }
}

impl Model {
    /// A model with random weights (deterministic for a seed) and no entropy tables: for tests and
    /// for checking the plumbing without a trained weight file.
    pub fn random(n: usize, m: usize, levels: usize, seed: u64) -> Model {
        let mut rng = crate::rng::Rng::new(seed);
        let mut uniform = move |lo: f32, hi: f32| rng.uniform(lo, hi);
        let mut conv =
            |cin: usize, cout: usize, k: usize, s: usize, transposed, relu, abs_input| {
                let a = (3.0 / (cin * k * k) as f32).sqrt();
                Layer::Conv(Conv {
                    in_channels: cin,
                    out_channels: cout,
                    kernel: k,
                    stride: s,
                    pad: k / 2,
                    transposed,
                    weight: (0..cin * cout * k * k).map(|_| uniform(-a, a)).collect(),
                    bias: (0..cout).map(|_| uniform(-0.05, 0.05)).collect(),
                    relu,
                    abs_input,
                })
            };
        let gdn = |c: usize, inverse| {
            Layer::Gdn(Gdn {
                channels: c,
                beta: vec![1.0; c],
                gamma: (0..c * c)
                    .map(|i| {
                        if i % (c + 1) == 0 {
                            0.1
                        } else {
                            0.01 / c as f32
                        }
                    })
                    .collect(),
                inverse,
            })
        };
        let g_a = vec![
            conv(3, n, 5, 2, false, false, false),
            gdn(n, false),
            conv(n, n, 5, 2, false, false, false),
            gdn(n, false),
            conv(n, n, 5, 2, false, false, false),
            gdn(n, false),
            conv(n, m, 5, 2, false, false, false),
        ];
        let g_s = vec![
            conv(m, n, 5, 2, true, false, false),
            gdn(n, true),
            conv(n, n, 5, 2, true, false, false),
            gdn(n, true),
            conv(n, n, 5, 2, true, false, false),
            gdn(n, true),
            conv(n, 3, 5, 2, true, false, false),
        ];
        let h_a = vec![
            conv(m, n, 3, 1, false, true, true),
            conv(n, n, 5, 2, false, true, false),
            conv(n, n, 5, 2, false, false, false),
        ];
        let h_s = vec![
            conv(n, n, 5, 2, true, true, false),
            conv(n, n, 5, 2, true, true, false),
            conv(n, m, 3, 1, false, true, false),
        ];
        let gains: Vec<Vec<f32>> = (0..levels)
            .map(|l| vec![(0.35 * (l as f32 - (levels as f32 - 1.0) / 2.0)).exp(); m])
            .collect();
        let inv_gains = gains
            .iter()
            .map(|g| g.iter().map(|v| 1.0 / v).collect())
            .collect();
        Model {
            n,
            m,
            g_a: Transform {
                name: "g_a",
                layers: g_a,
            },
            g_s: Transform {
                name: "g_s",
                layers: g_s,
            },
            h_a: Transform {
                name: "h_a",
                layers: h_a,
            },
            h_s: Transform {
                name: "h_s",
                layers: h_s,
            },
            gains,
            inv_gains,
            factorized: None,
            gaussian: None,
            int_h_s: None,
            metadata: HashMap::from([("model".to_string(), "random".to_string())]),
            id: model_id(format!("random {n} {m} {levels} {seed}").as_bytes()),
        }
    }
}
