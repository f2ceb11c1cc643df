//! The latent codec: y and z to substreams and back, the one place that knows the entropy model
//! (factorized prior for z, Gaussian conditional for y with table indexes from the integer
//! hyper-synthesis), the grouping of y into substreams and the index hash. The encoder, the
//! decoder, the CPU decoder and the bench all go through it; the integer network runs wherever
//! the caller's [`EntropyParameters`] runs it.

#[allow(unused_imports)] // the iterator traits rayon needs and wasm32's serial twins do not
use crate::parallel::*;
use sha2::Digest;

use super::params::EntropyParameters;
use crate::entropy::{self, CdfTables};
use crate::error::{Error, Result};
use crate::format::{self, Header, Parsed};
use crate::gpu::{host_stage, HyperFeatures, Probe};
use crate::model::{hex, is_anchor, EntropyParams, IntContext, IntHyperSynthesis, Model};
use crate::tensor::Tensor;

/// y is coded in up to this many independent substreams (channel groups), decoded in parallel.
pub const Y_GROUPS: usize = 8;
/// Each y substream carries at least this many symbols: a substream costs 24 bytes (its table
/// entry and two 8-byte final states), 0.5% of a Kodak-sized picture at 0.1 bpp, so pictures
/// under a megapixel use one and only big ones, where decoding time matters, are split.
const MIN_GROUP_SYMBOLS: usize = 1 << 19;
/// y symbols are clamped to this magnitude before coding (only pathological inputs reach it).
const MAX_SYMBOL: f32 = (1 << 24) as f32;

/// Shapes of the latents of a picture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LatentShape {
    pub n: usize,
    pub m: usize,
    /// y: m x yh x yw
    pub yh: usize,
    pub yw: usize,
    /// z: n x zh x zw
    pub zh: usize,
    pub zw: usize,
}

impl LatentShape {
    pub(crate) fn new(model: &Model, width: usize, height: usize) -> LatentShape {
        let (pw, ph) = model.padded_size(width, height);
        let (s, f) = (model.y_stride(), model.downsampling_factor());
        LatentShape {
            n: model.n,
            m: model.m,
            yh: ph / s,
            yw: pw / s,
            zh: ph / f,
            zw: pw / f,
        }
    }

    fn y_plane(&self) -> usize {
        self.yh * self.yw
    }
}

/// The elements of y one pass codes: the same positions of every channel, in channel order.
struct Pass {
    /// Positions within a channel plane (row-major).
    positions: Vec<usize>,
    /// Substreams (channel groups).
    groups: usize,
}

impl Pass {
    /// The passes of a model: every position at once for the scale hyperprior; the anchors, then
    /// the others, for the checkerboard context.
    fn of(shape: &LatentShape, context: bool) -> Vec<Pass> {
        let all = 0..shape.y_plane();
        let parts: Vec<Vec<usize>> = match context {
            false => vec![all.collect()],
            true => [true, false]
                .iter()
                .map(|&anchors| {
                    all.clone()
                        .filter(|p| is_anchor(p / shape.yw, p % shape.yw) == anchors)
                        .collect()
                })
                .collect(),
        };
        parts
            .into_iter()
            .map(|positions| {
                let groups = (shape.m * positions.len())
                    .div_ceil(MIN_GROUP_SYMBOLS)
                    .clamp(1, Y_GROUPS.min(shape.m));
                Pass { positions, groups }
            })
            .collect()
    }

    /// The elements (CHW indexes of y) of group `g` of `groups`: a range of channels.
    fn group(&self, shape: &LatentShape, g: usize, groups: usize) -> Vec<usize> {
        let per = shape.m.div_ceil(groups);
        let plane = shape.y_plane();
        ((g * per).min(shape.m)..((g + 1) * per).min(shape.m))
            .flat_map(|c| self.positions.iter().map(move |p| c * plane + p))
            .collect()
    }
}

/// The coded latents of a picture.
pub(crate) struct CodedLatents {
    /// z first, then the y groups of each pass.
    pub streams: Vec<Vec<u8>>,
    /// The model's estimate of the payload in bits (sum of -log2 of the coded probabilities).
    pub estimated_bits: f64,
    /// First 8 bytes of the SHA-256 of the table indexes (and of the means, context model).
    pub index_hash: [u8; 8],
}

/// The symbols of z and y and the entropy parameters of y, ready to code.
pub(crate) struct Quantized {
    pub z_symbols: Vec<i32>,
    /// y symbols: y rounded, or y - mean rounded (context model).
    pub symbols: Vec<i32>,
    pub params: EntropyParams,
}

/// Decoded symbols, indexes and means of a file, for tests that compare devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedLatents {
    /// y symbols (m x yh x yw): y rounded, or y - mean rounded (context model).
    pub y: Vec<i32>,
    /// Scale indexes of y.
    pub indexes: Vec<u8>,
    /// Means of y with `mean_frac_bits` fractional bits; empty for the scale hyperprior.
    pub means: Vec<i32>,
    /// Fraction bits of the means.
    pub mean_frac_bits: u32,
}

impl DecodedLatents {
    /// y_hat in the gained domain: the symbols plus the means.
    pub fn y_hat(&self) -> Vec<f32> {
        if self.means.is_empty() {
            return self.y.iter().map(|v| *v as f32).collect();
        }
        let scale = (-(self.mean_frac_bits as f64)).exp2();
        self.y
            .iter()
            .zip(&self.means)
            .map(|(s, m)| (*s as f64 + *m as f64 * scale) as f32)
            .collect()
    }
}

/// The entropy model of a [`Model`]: tables and the integer networks.
pub(crate) struct LatentCodec {
    z_tables: CdfTables,
    y_tables: CdfTables,
    scale_table: Vec<f32>,
    medians: Vec<f32>,
    pub int_h_s: IntHyperSynthesis,
    pub context: Option<IntContext>,
}

/// What identifies the entropy parameters of a picture: the indexes, and the means if any.
fn index_hash(params: &EntropyParams) -> [u8; 8] {
    let mut hash = sha2::Sha256::new();
    hash.update(&params.indexes);
    for m in &params.means {
        hash.update(m.to_le_bytes());
    }
    hash.finalize()[..8].try_into().expect("8 bytes")
}

impl LatentCodec {
    /// The error for a weight file without the entropy model's tensor `tensor`.
    pub(crate) fn missing(tensor: &'static str) -> Error {
        Error::weights(
            tensor,
            "missing: this weight file has no entropy model and cannot code files",
        )
    }

    /// The model's entropy model; `Err(tensor)` names what the weight file lacks for coding
    /// ([`LatentCodec::missing`] says it).
    pub(crate) fn new(model: &Model) -> std::result::Result<LatentCodec, &'static str> {
        let f = model
            .factorized
            .as_ref()
            .ok_or("entropy_bottleneck._quantized_cdf")?;
        let g = model
            .gaussian
            .as_ref()
            .ok_or("gaussian_conditional._quantized_cdf")?;
        let int_h_s = model.int_h_s.clone().ok_or("h_s_int.thresholds")?;
        Ok(LatentCodec {
            z_tables: CdfTables::new(f.cdfs.clone(), f.offsets.clone()),
            y_tables: CdfTables::new(g.cdfs.clone(), g.offsets.clone()),
            scale_table: g.scale_table.clone(),
            medians: f.medians.clone(),
            int_h_s,
            context: model.int_context.clone(),
        })
    }

    /// The container version of this model's files.
    pub(crate) fn version(&self) -> u8 {
        match self.context {
            None => format::VERSION_SCALE,
            Some(_) => format::VERSION_CONTEXT,
        }
    }

    /// The table index of every z element: its channel (z has one table per channel).
    fn z_indexes(shape: &LatentShape) -> Vec<u8> {
        let plane = shape.zh * shape.zw;
        (0..shape.n * plane).map(|i| (i / plane) as u8).collect()
    }

    /// The z symbols `round(z - median)`.
    fn z_symbols(&self, z: &Tensor) -> Vec<i32> {
        let plane = z.height * z.width;
        z.data
            .iter()
            .enumerate()
            .map(|(i, v)| (v - self.medians[i / plane]).round_ties_even() as i32)
            .collect()
    }

    /// The parameters of pass `k`: from h_s alone, or with the context of the decoded anchors.
    async fn pass_parameters(
        &self,
        shape: &LatentShape,
        params: &impl EntropyParameters,
        hyper: &HyperFeatures,
        k: usize,
        decoded: (&[i32], &[i32]),
        probe: Option<&Probe>,
    ) -> Result<EntropyParams> {
        match (&self.context, k) {
            (Some(c), 1) => {
                let input = host_stage(probe, "pass 2: context input (CPU)", || {
                    Ok(c.context_input(decoded.0, decoded.1, shape.yh, shape.yw))
                })?;
                params.parameters(hyper, Some(&input), probe, 2).await
            }
            _ => params.parameters(hyper, None, probe, 1).await,
        }
    }

    /// What the codec codes for y (after the gain) and z: the symbols of z and y and the
    /// entropy parameters of every element of y (the context model's from the anchors as coded).
    pub(crate) async fn quantize(
        &self,
        shape: &LatentShape,
        y_gained: &Tensor,
        z: &Tensor,
        params: &impl EntropyParameters,
        probe: Option<&Probe>,
    ) -> Result<Quantized> {
        let z_symbols = self.z_symbols(z);
        let hyper = params.hyper(&z_symbols, shape.zh, shape.zw, probe).await?;
        let total = shape.m * shape.y_plane();
        let mut all = EntropyParams {
            indexes: vec![0; total],
            means: vec![0; if self.context.is_some() { total } else { 0 }],
        };
        let mut symbols = vec![0i32; total];
        let mean_scale = self.mean_scale();
        for (k, pass) in Pass::of(shape, self.context.is_some()).iter().enumerate() {
            let decoded = (&symbols[..], &all.means[..]);
            let p = self
                .pass_parameters(shape, params, &hyper, k, decoded, probe)
                .await?;
            for c in 0..shape.m {
                for &q in &pass.positions {
                    let e = c * shape.y_plane() + q;
                    all.indexes[e] = p.indexes[e];
                    let mean = p.means.get(e).copied().unwrap_or(0);
                    if !all.means.is_empty() {
                        all.means[e] = mean;
                    }
                    let v = y_gained.data[e] - mean as f32 * mean_scale;
                    symbols[e] = v.round_ties_even().clamp(-MAX_SYMBOL, MAX_SYMBOL) as i32;
                }
            }
        }
        Ok(Quantized {
            z_symbols,
            symbols,
            params: all,
        })
    }

    /// The value of one unit of a mean (`2^-mean_frac_bits`; 0 for the scale hyperprior).
    pub(crate) fn mean_scale(&self) -> f32 {
        self.context
            .as_ref()
            .map_or(0.0, |c| (-(c.mean_frac_bits as f32)).exp2())
    }

    /// The scale of each table index.
    pub(crate) fn scale_table(&self) -> &[f32] {
        &self.scale_table
    }

    /// Codes y (after the gain) and z into substreams: z, then the y groups of each pass.
    pub(crate) async fn encode(
        &self,
        shape: &LatentShape,
        y_gained: &Tensor,
        z: &Tensor,
        params: &impl EntropyParameters,
        probe: Option<&Probe>,
    ) -> Result<CodedLatents> {
        let quantized = self.quantize(shape, y_gained, z, params, probe).await?;
        self.code(shape, &quantized, probe)
    }

    /// Codes quantized latents into substreams: z, then the y groups of each pass.
    pub(crate) fn code(
        &self,
        shape: &LatentShape,
        quantized: &Quantized,
        probe: Option<&Probe>,
    ) -> Result<CodedLatents> {
        let Quantized {
            z_symbols,
            symbols,
            params: all,
        } = quantized;
        let z_indexes = Self::z_indexes(shape);
        let z_stream = host_stage(probe, "entropy encode z", || {
            let entropy = |source| Error::Entropy { stream: 0, source };
            let bytes = entropy::encode_symbols(
                z_symbols,
                &z_indexes,
                &self.z_tables,
                format::substream_lanes(0),
            )
            .map_err(entropy)?;
            let bits =
                entropy::estimate_bits(z_symbols, &z_indexes, &self.z_tables).map_err(entropy)?;
            Ok((bytes, bits))
        })?;
        let mut coded = vec![z_stream];
        for (k, pass) in Pass::of(shape, self.context.is_some()).iter().enumerate() {
            let first = coded.len();
            let threads = crate::parallel::threads().min(pass.groups);
            let name = format!("entropy encode y, pass {} (threads: {threads})", k + 1);
            coded.extend(host_stage(probe, &name, || {
                (0..pass.groups)
                    .into_par_iter()
                    .map(|g| {
                        let stream = first + g;
                        let elements = pass.group(shape, g, pass.groups);
                        let syms: Vec<i32> = elements.iter().map(|&e| symbols[e]).collect();
                        let idx: Vec<u8> = elements.iter().map(|&e| all.indexes[e]).collect();
                        let entropy = |source| Error::Entropy { stream, source };
                        let lanes = format::substream_lanes(stream);
                        let bytes = entropy::encode_symbols(&syms, &idx, &self.y_tables, lanes)
                            .map_err(entropy)?;
                        let bits =
                            entropy::estimate_bits(&syms, &idx, &self.y_tables).map_err(entropy)?;
                        Ok((bytes, bits))
                    })
                    .collect::<Result<Vec<_>>>()
            })?);
        }
        let estimated_bits = coded.iter().map(|(_, bits)| bits).sum();
        Ok(CodedLatents {
            streams: coded.into_iter().map(|(bytes, _)| bytes).collect(),
            estimated_bits,
            index_hash: index_hash(all),
        })
    }

    /// Parses a file, checks that it belongs to `model`, decodes z, then each pass of y with the
    /// parameters `params` computes for it, and checks the hash of the parameters.
    pub(crate) async fn decode(
        &self,
        model: &Model,
        parsed: &Parsed<'_>,
        params: &impl EntropyParameters,
        probe: Option<&Probe>,
    ) -> Result<(Header, LatentShape, DecodedLatents)> {
        let header = parsed.header.clone();
        if header.model_id != model.id {
            return Err(Error::ModelMismatch {
                file: hex(&header.model_id),
                loaded: hex(&model.id),
            });
        }
        if header.version != self.version() {
            return Err(Error::Format(format!(
                "a version {} file for a model whose files are version {}",
                header.version,
                self.version()
            )));
        }
        model.check_quality(header.quality()).map_err(|_| {
            Error::Format(format!(
                "quality {} is outside this model's 1..={}",
                header.quality(),
                model.levels()
            ))
        })?;
        let shape = LatentShape::new(model, header.width as usize, header.height as usize);
        let passes = Pass::of(&shape, self.context.is_some());
        let expected = 1 + passes.iter().map(|p| p.groups).sum::<usize>();
        if parsed.streams.len() != expected {
            return Err(Error::Format(format!(
                "{} substreams, expected {expected} for a {}x{} picture",
                parsed.streams.len(),
                header.width,
                header.height
            )));
        }
        let z = host_stage(probe, "entropy decode z", || {
            entropy::decode_symbols(
                parsed.streams[0],
                &Self::z_indexes(&shape),
                &self.z_tables,
                format::substream_lanes(0),
            )
            .map_err(|source| Error::Entropy { stream: 0, source })
        })?;
        let hyper = params.hyper(&z, shape.zh, shape.zw, probe).await?;
        let total = shape.m * shape.y_plane();
        let mut all = EntropyParams {
            indexes: vec![0; total],
            means: vec![0; if self.context.is_some() { total } else { 0 }],
        };
        let mut symbols = vec![0i32; total];
        let mut first = 1;
        for (k, pass) in passes.iter().enumerate() {
            let decoded = (&symbols[..], &all.means[..]);
            let p = self
                .pass_parameters(&shape, params, &hyper, k, decoded, probe)
                .await?;
            for c in 0..shape.m {
                for &q in &pass.positions {
                    let e = c * shape.y_plane() + q;
                    all.indexes[e] = p.indexes[e];
                    if !all.means.is_empty() {
                        all.means[e] = p.means[e];
                    }
                }
            }
            // all parameters are known before the last pass is decoded: a device that disagrees
            // is caught before its indexes drive the rANS decoder
            if k + 1 == passes.len() && index_hash(&all) != header.index_hash {
                return Err(Error::Format(
                    "scale-index hash mismatch: this decoder's integer networks disagree with the encoder's, or the file is corrupt".into(),
                ));
            }
            let threads = crate::parallel::threads().min(pass.groups);
            let name = format!("entropy decode y, pass {} (threads: {threads})", k + 1);
            let parts = host_stage(probe, &name, || {
                (0..pass.groups)
                    .into_par_iter()
                    .map(|g| {
                        let stream = first + g;
                        let elements = pass.group(&shape, g, pass.groups);
                        let idx: Vec<u8> = elements.iter().map(|&e| p.indexes[e]).collect();
                        let lanes = format::substream_lanes(stream);
                        let syms = entropy::decode_symbols(
                            parsed.streams[stream],
                            &idx,
                            &self.y_tables,
                            lanes,
                        )
                        .map_err(|source| Error::Entropy { stream, source })?;
                        Ok((elements, syms))
                    })
                    .collect::<Result<Vec<_>>>()
            })?;
            for (elements, syms) in parts {
                for (e, s) in elements.into_iter().zip(syms) {
                    symbols[e] = s;
                }
            }
            first += pass.groups;
        }
        let decoded = DecodedLatents {
            y: symbols,
            indexes: all.indexes,
            means: all.means,
            mean_frac_bits: self.context.as_ref().map_or(0, |c| c.mean_frac_bits),
        };
        Ok((header, shape, decoded))
    }
}
