//! The latent codec: y and z to substreams and back, the one place that knows the entropy model
//! (factorized prior for z, Gaussian conditional for y with table indexes from the integer
//! hyper-synthesis), the grouping of y into substreams and the index hash. The encoder, the
//! decoder, the CPU decoder and the bench all go through it; the integer network runs wherever
//! the caller's [`EntropyParameters`] runs it.

use rayon::prelude::*;
use sha2::Digest;

use crate::entropy::{self, CdfTables};
use crate::error::{Error, Result};
use crate::format::{self, Header, Limits};
use crate::gpu::{host_stage, GpuContext, GpuIntHyperSynthesis, Probe};
use crate::model::{hex, IntHyperSynthesis, Model};
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

    /// How many y substreams the encoder writes.
    fn groups(&self) -> usize {
        (self.m * self.y_plane())
            .div_ceil(MIN_GROUP_SYMBOLS)
            .clamp(1, Y_GROUPS.min(self.m))
    }

    /// Element range of y group `g` of `groups` (channels in order).
    fn group(&self, g: usize, groups: usize) -> std::ops::Range<usize> {
        let per = self.m.div_ceil(groups);
        let channels = (g * per).min(self.m)..((g + 1) * per).min(self.m);
        channels.start * self.y_plane()..channels.end * self.y_plane()
    }
}

/// Where the integer networks run: they turn z symbols into one table index per element of y.
pub(crate) trait EntropyParameters {
    /// Scale-table indexes of y (m x 4 zh x 4 zw) from the z symbols (n x zh x zw).
    fn scale_indexes(
        &self,
        z: &[i32],
        zh: usize,
        zw: usize,
        probe: Option<&Probe>,
    ) -> Result<Vec<u8>>;
}

/// The integer networks on the GPU.
pub(crate) struct OnGpu<'a> {
    pub ctx: &'a GpuContext,
    pub net: &'a GpuIntHyperSynthesis,
}

impl EntropyParameters for OnGpu<'_> {
    fn scale_indexes(
        &self,
        z: &[i32],
        zh: usize,
        zw: usize,
        probe: Option<&Probe>,
    ) -> Result<Vec<u8>> {
        self.ctx
            .guarded(|| self.net.run_probed(self.ctx, z, (zh, zw), probe))
    }
}

/// The integer networks on the CPU (their twins).
pub(crate) struct OnCpu<'a>(pub &'a IntHyperSynthesis);

impl EntropyParameters for OnCpu<'_> {
    fn scale_indexes(
        &self,
        z: &[i32],
        zh: usize,
        zw: usize,
        probe: Option<&Probe>,
    ) -> Result<Vec<u8>> {
        host_stage(probe, "h_s int (CPU)", || {
            Ok(crate::cpu::int_hyper_synthesis(self.0, z, zh, zw))
        })
    }
}

/// The coded latents of a picture.
pub(crate) struct CodedLatents {
    /// z first, then the y groups.
    pub streams: Vec<Vec<u8>>,
    /// The model's estimate of the payload in bits (sum of -log2 of the coded probabilities).
    pub estimated_bits: f64,
    /// First 8 bytes of the SHA-256 of the table indexes.
    pub index_hash: [u8; 8],
}

/// Decoded symbols and indexes of a file, for tests that compare devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedLatents {
    /// y symbols (m x yh x yw).
    pub y: Vec<i32>,
    /// Scale indexes of y.
    pub indexes: Vec<u8>,
}

/// The entropy model of a [`Model`]: tables and the integer hyper-synthesis.
pub(crate) struct LatentCodec {
    z_tables: CdfTables,
    y_tables: CdfTables,
    medians: Vec<f32>,
    pub int_h_s: IntHyperSynthesis,
}

fn index_hash(indexes: &[u8]) -> [u8; 8] {
    sha2::Sha256::digest(indexes)[..8]
        .try_into()
        .expect("8 bytes")
}

impl LatentCodec {
    /// The model's entropy model; `Err(tensor)` names what the weight file lacks for coding.
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
            medians: f.medians.clone(),
            int_h_s,
        })
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

    /// Codes y (after the gain) and z into substreams.
    pub(crate) fn encode(
        &self,
        shape: &LatentShape,
        y_gained: &Tensor,
        z: &Tensor,
        params: &dyn EntropyParameters,
        probe: Option<&Probe>,
    ) -> Result<CodedLatents> {
        let z_symbols = self.z_symbols(z);
        let z_indexes = Self::z_indexes(shape);
        let indexes = params.scale_indexes(&z_symbols, shape.zh, shape.zw, probe)?;
        let y_symbols: Vec<i32> = y_gained
            .data
            .iter()
            .map(|v| v.round_ties_even().clamp(-MAX_SYMBOL, MAX_SYMBOL) as i32)
            .collect();
        let groups = shape.groups();
        let threads = rayon::current_num_threads().min(groups + 1);
        let coded = host_stage(
            probe,
            &format!("entropy encode (threads: {threads})"),
            || {
                (0..=groups)
                    .into_par_iter()
                    .map(|g| {
                        let (syms, idx, tables) = if g == 0 {
                            (&z_symbols[..], &z_indexes[..], &self.z_tables)
                        } else {
                            let span = shape.group(g - 1, groups);
                            (&y_symbols[span.clone()], &indexes[span], &self.y_tables)
                        };
                        let entropy = |source| Error::Entropy { stream: g, source };
                        let bytes =
                            entropy::encode_symbols(syms, idx, tables, format::substream_lanes(g))
                                .map_err(entropy)?;
                        let bits = entropy::estimate_bits(syms, idx, tables).map_err(entropy)?;
                        Ok((bytes, bits))
                    })
                    .collect::<Result<Vec<_>>>()
            },
        )?;
        let estimated_bits = coded.iter().map(|(_, bits)| bits).sum();
        Ok(CodedLatents {
            streams: coded.into_iter().map(|(bytes, _)| bytes).collect(),
            estimated_bits,
            index_hash: index_hash(&indexes),
        })
    }

    /// Parses a file, checks that it belongs to `model`, decodes z, asks `params` for the table
    /// indexes, checks their hash and decodes y.
    pub(crate) fn decode(
        &self,
        model: &Model,
        bytes: &[u8],
        limits: &Limits,
        params: &dyn EntropyParameters,
        probe: Option<&Probe>,
    ) -> Result<(Header, LatentShape, DecodedLatents)> {
        let parsed = format::parse(bytes, limits)?;
        let header = parsed.header.clone();
        if header.model_id != model.id {
            return Err(Error::ModelMismatch {
                file: hex(&header.model_id),
                loaded: hex(&model.id),
            });
        }
        model.check_quality(header.quality()).map_err(|_| {
            Error::Format(format!(
                "quality {} is outside this model's 1..={}",
                header.quality(),
                model.levels()
            ))
        })?;
        let shape = LatentShape::new(model, header.width as usize, header.height as usize);
        let groups = parsed.streams.len() - 1;
        if groups > shape.m {
            return Err(Error::Format(format!(
                "{groups} y substreams for {} channels",
                shape.m
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
        let indexes = params.scale_indexes(&z, shape.zh, shape.zw, probe)?;
        if index_hash(&indexes) != header.index_hash {
            return Err(Error::Format(
                "scale-index hash mismatch: this decoder's integer hyper-synthesis disagrees with the encoder's, or the file is corrupt".into(),
            ));
        }
        let threads = rayon::current_num_threads().min(groups);
        let parts = host_stage(
            probe,
            &format!("entropy decode y (threads: {threads})"),
            || {
                (0..groups)
                    .into_par_iter()
                    .map(|g| {
                        entropy::decode_symbols(
                            parsed.streams[1 + g],
                            &indexes[shape.group(g, groups)],
                            &self.y_tables,
                            format::substream_lanes(1 + g),
                        )
                        .map_err(|source| Error::Entropy {
                            stream: 1 + g,
                            source,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            },
        )?;
        let y = parts.concat();
        Ok((header, shape, DecodedLatents { y, indexes }))
    }
}
