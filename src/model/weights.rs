//! Where a model's parameters come from: a safetensors weight file with CompressAI's state_dict
//! names (floats, CDF tables, the integer networks), or a seeded random generator.

use safetensors::{Dtype, SafeTensors};

use super::arch::WeightSource;
use super::int_net::{IntContext, IntConv, IntHyperSynthesis};
use super::layers::{Conv, ConvGeometry, Gdn, Layer, Transform};
use super::{FactorizedTables, GaussianTables};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// The most quality levels (gain vectors) a weight file may have.
const MAX_LEVELS: usize = 64;
/// The most tables a CDF tensor may have (indexes are one byte).
const MAX_TABLES: usize = 256;

/// A safetensors weight file, read tensor by tensor with shapes and values checked. A file may
/// name a base (`vaec.base` in its metadata: the context model names the scale model whose
/// transforms it shares); a tensor it does not have is then read from the base.
pub(crate) struct WeightFile<'a> {
    st: SafeTensors<'a>,
    base: Option<SafeTensors<'a>>,
}

fn deserialize(bytes: &[u8]) -> Result<SafeTensors<'_>> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| Error::weights("*", format!("not a safetensors file: {e}")))
}

impl<'a> WeightFile<'a> {
    /// `base`: the bytes of the file this one names as its base, if it names one.
    pub(crate) fn parse(bytes: &'a [u8], base: Option<&'a [u8]>) -> Result<WeightFile<'a>> {
        Ok(WeightFile {
            st: deserialize(bytes)?,
            base: base.map(deserialize).transpose()?,
        })
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.view(name).is_ok()
    }

    fn view(&self, name: &str) -> Result<safetensors::tensor::TensorView<'_>> {
        self.st
            .tensor(name)
            .or_else(|e| self.base.as_ref().map_or(Err(e), |b| b.tensor(name)))
            .map_err(|_| Error::weights(name, "missing"))
    }

    pub(crate) fn shape(&self, name: &str) -> Result<Vec<usize>> {
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

    fn scalar(&self, name: &str) -> Result<i32> {
        Ok(self.i32s(name, &[1])?[0])
    }

    /// Gain vectors: `[levels, cols]`.
    pub(crate) fn matrix(&self, name: &str, cols: usize) -> Result<Vec<Vec<f32>>> {
        let shape = self.shape(name)?;
        if shape.len() != 2 || shape[1] != cols || shape[0] == 0 || shape[0] > MAX_LEVELS {
            return Err(Error::weights(
                name,
                format!("shape {shape:?}, expected [levels (1..{MAX_LEVELS}), {cols}]"),
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

    /// z's factorized prior of `n` channels.
    pub(crate) fn factorized(&self, n: usize) -> Result<FactorizedTables> {
        if n > MAX_TABLES {
            return Err(Error::weights(
                "entropy_bottleneck._quantized_cdf",
                format!("{n} channels; at most {MAX_TABLES} (indexes are one byte)"),
            ));
        }
        let (cdfs, offsets) = self.cdf_table("entropy_bottleneck", n)?;
        let medians = self.floats("entropy_bottleneck._medians", &[n])?;
        Ok(FactorizedTables {
            cdfs,
            offsets,
            medians,
        })
    }

    /// y's Gaussian tables, one per scale.
    pub(crate) fn gaussian(&self) -> Result<GaussianTables> {
        let shape = self.shape("gaussian_conditional.scale_table")?;
        if shape.len() != 1 || shape[0] == 0 || shape[0] > MAX_TABLES {
            return Err(Error::weights(
                "gaussian_conditional.scale_table",
                format!("shape {shape:?}, expected [1..={MAX_TABLES}]"),
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

    /// One integer layer under `prefix` of `cin` -> `cout` channels. Its geometry and ReLU come
    /// from `prefix.geometry` (`[kernel, stride, pad, transposed, relu]`) where the file has it,
    /// else from `fallback` (older files: the h_s layers, each ending in a ReLU).
    fn int_conv(
        &self,
        prefix: &str,
        (cin, cout): (usize, usize),
        fallback: Option<ConvGeometry>,
    ) -> Result<IntConv> {
        let (geometry, relu, groups) = match (self.has(&format!("{prefix}.geometry")), fallback) {
            (false, Some(g)) => (g, true, 1),
            (false, None) => return Err(Error::weights(format!("{prefix}.geometry"), "missing")),
            (true, _) => {
                let name = format!("{prefix}.geometry");
                let (shape, _) = self.ints(&name)?;
                if shape != [5] && shape != [6] {
                    return Err(Error::weights(
                        name,
                        format!("shape {shape:?}, expected [5] or [6]"),
                    ));
                }
                let g = self.i32s(&name, &shape)?;
                if g[0] < 1 || g[0] > 7 || g[1] < 1 || g[1] > 4 || g[2] < 0 || g[2] >= g[0] {
                    return Err(Error::weights(
                        name,
                        format!("{g:?} is not a usable geometry"),
                    ));
                }
                let geometry = ConvGeometry {
                    kernel: g[0] as usize,
                    stride: g[1] as usize,
                    pad: g[2] as usize,
                    transposed: g[3] != 0,
                };
                let groups = g.get(5).copied().unwrap_or(1);
                let groups = usize::try_from(groups)
                    .ok()
                    .filter(|&n| n >= 1 && cin.is_multiple_of(n) && cout.is_multiple_of(n))
                    .ok_or_else(|| {
                        Error::weights(
                            &name,
                            format!("{groups} groups for {cin} -> {cout} channels"),
                        )
                    })?;
                (geometry, g[4] != 0, groups)
            }
        };
        let shape = geometry.weight_shape(cin / groups, cout);
        let shift_name = format!("{prefix}.shift");
        let shift = self
            .i32s(&shift_name, &[cout])?
            .iter()
            .map(|s| u32::try_from(*s).map_err(|_| Error::weights(&shift_name, "negative shift")))
            .collect::<Result<_>>()?;
        Ok(IntConv {
            geometry,
            in_channels: cin,
            out_channels: cout,
            weight: self.i32s(&format!("{prefix}.weight"), &shape)?,
            bias: self.i32s(&format!("{prefix}.bias"), &[cout])?,
            shift,
            act_max: self.scalar(&format!("{prefix}.act_max"))?,
            relu,
            groups,
        })
    }

    /// The integer h_s, quantized from the float `h_s` (whose layers give the channel counts).
    pub(crate) fn int_hyper(&self, n: usize, h_s: &Transform) -> Result<IntHyperSynthesis> {
        let frac = self.scalar("h_s_int.input_frac_bits")?;
        let input_frac_bits = u32::try_from(frac)
            .map_err(|_| Error::weights("h_s_int.input_frac_bits", "negative"))?;
        let medians = self.i32s("h_s_int.medians", &[n])?;
        let mut layers = Vec::new();
        for (i, layer) in h_s.layers.iter().enumerate() {
            let Layer::Conv(c) = layer else {
                return Err(Error::weights("h_s", "expected convolutions only"));
            };
            let channels = (c.in_channels, c.out_channels);
            layers.push(self.int_conv(
                &format!("h_s_int.{}", 2 * i),
                channels,
                Some(c.geometry),
            )?);
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

    /// The integer context and entropy-parameter network of a checkerboard model of `m` channels.
    pub(crate) fn int_context(&self, m: usize) -> Result<IntContext> {
        // PyTorch's weight is [out, in / groups, k, k]; the groups come with the geometry
        let channels = |name: &str| -> Result<(usize, usize)> {
            let shape = self.shape(&format!("{name}.weight"))?;
            let g = self.i32s(&format!("{name}.geometry"), &[6])?;
            match (&shape[..], usize::try_from(g[5])) {
                ([cout, per_group, _, _], Ok(groups)) if groups >= 1 => {
                    Ok((per_group * groups, *cout))
                }
                _ => Err(Error::weights(
                    format!("{name}.weight"),
                    format!("shape {shape:?}"),
                )),
            }
        };
        let frac = |name: &str| -> Result<u32> {
            u32::try_from(self.scalar(name)?).map_err(|_| Error::weights(name, "negative"))
        };
        let layer = |name: &str| self.int_conv(name, channels(name)?, None);
        let context = layer("context_prediction_int")?;
        if context.in_channels != m {
            return Err(Error::weights(
                "context_prediction_int.weight",
                format!("{} input channels, expected {m}", context.in_channels),
            ));
        }
        Ok(IntContext {
            context,
            magnitude: layer("context_magnitude_int")?,
            input_frac_bits: frac("context_prediction_int.input_frac_bits")?,
            fusion: vec![
                layer("entropy_parameters_int.0")?,
                layer("entropy_parameters_int.2")?,
            ],
            anchor_fusion: vec![
                layer("anchor_parameters_int.0")?,
                layer("anchor_parameters_int.2")?,
            ],
            mean_frac_bits: frac("entropy_parameters_int.output_frac_bits")?,
        })
    }
}

impl WeightSource for WeightFile<'_> {
    fn conv(
        &mut self,
        name: &str,
        geometry: ConvGeometry,
        cin: usize,
        cout: usize,
    ) -> Result<Conv> {
        let weight = self.floats(&format!("{name}.weight"), &geometry.weight_shape(cin, cout))?;
        let bias = self.floats(&format!("{name}.bias"), &[cout])?;
        Ok(Conv::new(geometry, cin, cout, weight, bias))
    }

    fn gdn(&mut self, name: &str, channels: usize, inverse: bool) -> Result<Gdn> {
        let beta = self.floats(&format!("{name}.beta"), &[channels])?;
        let gname = format!("{name}.gamma");
        // CompressAI stores gamma as [C, C]; accept [C, C, 1, 1] too (a 1x1 conv).
        let gamma = match self.shape(&gname)?.len() {
            4 => self.floats(&gname, &[channels, channels, 1, 1])?,
            _ => self.floats(&gname, &[channels, channels])?,
        };
        if beta.iter().any(|b| *b <= 0.0) {
            return Err(Error::weights(
                format!("{name}.beta"),
                "must be positive (store the effective GDN parameters)",
            ));
        }
        if gamma.iter().any(|g| *g < 0.0) {
            return Err(Error::weights(
                gname,
                "must be non-negative (store the effective GDN parameters)",
            ));
        }
        Ok(Gdn {
            channels,
            beta,
            gamma,
            inverse,
        })
    }
}

/// Random weights (deterministic for a seed): uniform in +-sqrt(3 / fan-in), biases in +-0.05,
/// GDN with beta 1 and a dominant diagonal.
pub(crate) struct RandomWeights(pub Rng);

impl WeightSource for RandomWeights {
    fn conv(&mut self, _: &str, geometry: ConvGeometry, cin: usize, cout: usize) -> Result<Conv> {
        let k = geometry.kernel;
        let a = (3.0 / (cin * k * k) as f32).sqrt();
        let weight = self.0.vec(cin * cout * k * k, -a, a);
        let bias = self.0.vec(cout, -0.05, 0.05);
        Ok(Conv::new(geometry, cin, cout, weight, bias))
    }

    fn gdn(&mut self, _: &str, c: usize, inverse: bool) -> Result<Gdn> {
        let gamma = (0..c * c)
            .map(|i| {
                if i % (c + 1) == 0 {
                    0.1
                } else {
                    0.01 / c as f32
                }
            })
            .collect();
        Ok(Gdn {
            channels: c,
            beta: vec![1.0; c],
            gamma,
            inverse,
        })
    }
}
