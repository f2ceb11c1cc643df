//! The model: CompressAI's scale-hyperprior layer graph (g_a, g_s, h_a, h_s) with per-quality gain
//! vectors on y, the entropy tables and the integer hyper-synthesis, loaded from a safetensors
//! weight file whose tensor names are CompressAI's state_dict names. N and M are read from the
//! weight shapes.
//!
//! - [`layers`]: the convolution geometry, float layers and transforms;
//! - [`int_net`]: the integer networks that decide the entropy tables;
//! - `arch`: the graph, written once; `weights`: the weight file and random initialisation.

mod arch;
pub mod int_net;
pub mod layers;
mod weights;

use std::collections::HashMap;
use std::path::Path;

use safetensors::SafeTensors;

pub use int_net::{is_anchor, EntropyParams, IntContext, IntConv, IntHyperSynthesis};
pub use layers::{Conv, ConvGeometry, Gdn, Layer, Transform};

use crate::error::{Error, Result};
use crate::rng::Rng;
use weights::{RandomWeights, WeightFile};

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
    /// Hyper-synthesis z_hat -> scales (floating point; the codec uses [`Model::int_h_s`]).
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
    /// The integer checkerboard context and entropy-parameter network (the mean-scale context
    /// model), if the file has it; without it the model is the scale hyperprior.
    pub int_context: Option<IntContext>,
    /// The file's metadata (model name, lambdas, training steps).
    pub metadata: HashMap<String, String>,
    /// The model identity in `.vaec` headers: the first 16 bytes of the SHA-256 of the weight
    /// file, or of the full-precision file a packed one states it was made from (`vaec.id`).
    pub id: [u8; 16],
}

/// The weight files shipped in `weights/` and compiled into the library, by name; the first is
/// the default. "context": the mean-scale checkerboard context model (version 3 files);
/// "hyperprior": the same transforms with the scale hyperprior alone (version 2 files, which it
/// still decodes).
pub const BUILTIN: &[(&str, &[u8])] = &[
    (
        "context",
        include_bytes!("../../weights/vaec-context.safetensors"),
    ),
    (
        "hyperprior",
        include_bytes!("../../weights/vaec-hyperprior.safetensors"),
    ),
];

impl Model {
    /// The default shipped model (the first of [`BUILTIN`]).
    pub fn builtin() -> Result<Model> {
        Model::from_bytes(BUILTIN[0].1)
    }

    /// The shipped model called `name` (see [`BUILTIN`]).
    pub fn builtin_named(name: &str) -> Result<Model> {
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((_, bytes)) => Model::from_bytes(bytes),
            None => Err(Error::InvalidArgument(format!(
                "no built-in model {name:?}; there are {}",
                Model::builtin_names().join(", ")
            ))),
        }
    }

    /// The names of the shipped models, the default first.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// The shipped model whose identity is `id` (a file's header names the model that made it),
    /// if there is one.
    pub fn builtin_with_id(id: &[u8; 16]) -> Option<Result<Model>> {
        static IDS: std::sync::OnceLock<Vec<[u8; 16]>> = std::sync::OnceLock::new();
        let ids = IDS.get_or_init(|| {
            BUILTIN
                .iter()
                .map(|(_, bytes)| {
                    SafeTensors::read_metadata(bytes)
                        .ok()
                        .and_then(|(_, meta)| stated_id(meta.metadata().as_ref()?))
                        .unwrap_or_else(|| model_id(bytes))
                })
                .collect()
        });
        let at = ids.iter().position(|known| known == id)?;
        Some(Model::from_bytes(BUILTIN[at].1))
    }

    /// Loads a weight file.
    pub fn load(path: &Path) -> Result<Model> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Model::from_bytes(&bytes)
    }

    /// Parses a weight file held in memory. A file whose metadata names a base (`vaec.base`: a
    /// compiled-in model's name) takes the tensors it lacks from that model's file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::weights("*", format!("not a safetensors file: {e}")))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let base = match metadata.get("vaec.base") {
            None => None,
            Some(name) => match BUILTIN.iter().find(|(n, _)| n == name) {
                Some((_, base)) if *base != bytes => Some(*base),
                _ => {
                    return Err(Error::weights(
                        "vaec.base",
                        format!("names {name:?}, which is not another compiled-in model"),
                    ))
                }
            },
        };
        let id = match metadata.get("vaec.id") {
            None => model_id(bytes),
            Some(_) => stated_id(&metadata)
                .ok_or_else(|| Error::weights("vaec.id", "is not 32 hexadecimal digits"))?,
        };
        let mut file = WeightFile::parse(bytes, base)?;
        let n = file.shape("g_a.0.weight")?[0];
        let m = file.shape("g_a.6.weight")?[0];
        if n == 0 || m == 0 {
            return Err(Error::weights("g_a.0.weight", "zero channels"));
        }
        let context = file.has("context_prediction_int.weight");
        let t = arch::scale_hyperprior(n, m, &mut file)?;
        let (gains, inv_gains) = if file.has("y_gain") {
            let g = file.matrix("y_gain", m)?;
            let ig = file.matrix("y_inv_gain", m)?;
            if g.len() != ig.len() {
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
        let factorized = match file.has("entropy_bottleneck._quantized_cdf") {
            true => Some(file.factorized(n)?),
            false => None,
        };
        let gaussian = match file.has("gaussian_conditional._quantized_cdf") {
            true => Some(file.gaussian()?),
            false => None,
        };
        let int_h_s = if file.has("h_s_int.thresholds") {
            let tables = gaussian.as_ref().map_or(0, |g| g.cdfs.len());
            let int = file.int_hyper(n, &t.h_s)?;
            int.validate(n, tables)?;
            Some(int)
        } else {
            None
        };
        let int_context = match (context, &int_h_s) {
            (false, _) => None,
            (true, None) => return Err(Error::weights("h_s_int.thresholds", "missing")),
            (true, Some(h_s)) => {
                let ctx = file.int_context(m)?;
                let hyper_max = h_s.layers.last().map_or(0, |l| l.act_max);
                ctx.validate(m, hyper_max)?;
                Some(ctx)
            }
        };
        Ok(Model {
            n,
            m,
            g_a: t.g_a,
            g_s: t.g_s,
            h_a: t.h_a,
            h_s: t.h_s,
            gains,
            inv_gains,
            factorized,
            gaussian,
            int_h_s,
            int_context,
            metadata,
            id,
        })
    }

    /// A model with random weights (deterministic for a seed) and no entropy tables: for tests and
    /// for checking the plumbing without a trained weight file.
    pub fn random(n: usize, m: usize, levels: usize, seed: u64) -> Model {
        let t = arch::scale_hyperprior(n, m, &mut RandomWeights(Rng::new(seed)))
            .expect("random weights always have the right shapes");
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
            g_a: t.g_a,
            g_s: t.g_s,
            h_a: t.h_a,
            h_s: t.h_s,
            gains,
            inv_gains,
            factorized: None,
            gaussian: None,
            int_h_s: None,
            int_context: None,
            metadata: HashMap::from([("model".to_string(), "random".to_string())]),
            id: model_id(format!("random {n} {m} {levels} {seed}").as_bytes()),
        }
    }

    /// Number of quality levels (gain vectors).
    pub fn levels(&self) -> usize {
        self.gains.len()
    }

    /// Checks that `q` is a quality of this model: within `[1, levels]`.
    pub fn check_quality(&self, q: f32) -> Result<()> {
        let levels = self.levels();
        if !(q >= 1.0 && q <= levels as f32) {
            return Err(Error::InvalidArgument(format!(
                "quality {q} is outside 1..={levels}"
            )));
        }
        Ok(())
    }

    /// Gain and inverse gain for quality `q` in `[1, levels]`, fractions interpolated geometrically
    /// between neighbouring levels.
    pub fn gains_for_quality(&self, q: f32) -> Result<(Vec<f32>, Vec<f32>)> {
        self.check_quality(q)?;
        let levels = self.levels();
        let pos = q - 1.0;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(levels - 1);
        let t = pos - lo as f32;
        if t == 0.0 {
            return Ok((self.gains[lo].clone(), self.inv_gains[lo].clone()));
        }
        let mix = |v: &Vec<Vec<f32>>| -> Vec<f32> {
            v[lo]
                .iter()
                .zip(&v[hi])
                .map(|(a, b)| ((1.0 - t) * a.ln() + t * b.ln()).exp())
                .collect()
        };
        Ok((mix(&self.gains), mix(&self.inv_gains)))
    }

    /// How much g_a shrinks each side of a picture (16 for CompressAI's four stride-2 layers).
    pub fn y_stride(&self) -> usize {
        self.g_a.scale().round() as usize
    }

    /// The multiple of which pictures are padded: g_a's and h_a's strides together (64).
    pub fn downsampling_factor(&self) -> usize {
        (self.g_a.scale() * self.h_a.scale()).round() as usize
    }

    /// The size the transforms work on for a `width` x `height` picture: padded to
    /// [`Model::downsampling_factor`].
    pub fn padded_size(&self, width: usize, height: usize) -> (usize, usize) {
        let f = self.downsampling_factor();
        (width.next_multiple_of(f), height.next_multiple_of(f))
    }

    /// The decoder's multiply-adds for a `width` x `height` picture: g_s and the integer networks.
    pub fn decoder_macs(&self, width: usize, height: usize) -> u64 {
        let (pw, ph) = self.padded_size(width, height);
        let s = self.y_stride();
        let mut total = 0;
        let (mut h, mut w) = (ph / s, pw / s);
        for l in &self.g_s.layers {
            (h, w) = l.output_size(h, w);
            total += l.macs(h, w);
        }
        if let Some(int) = &self.int_h_s {
            let f = self.downsampling_factor();
            let (mut h, mut w) = (ph / f, pw / f);
            for l in &int.layers {
                (h, w) = l.output_size(h, w);
                total += l.macs(h, w);
            }
        }
        if let Some(c) = &self.int_context {
            let (h, w) = (ph / s, pw / s);
            // the context once, the entropy parameters once per pass (over every position)
            total += c.context.macs(h, w) + c.magnitude.macs(h, w);
            total += 2 * c.fusion.iter().map(|l| l.macs(h, w)).sum::<u64>();
        }
        total
    }
}

/// The identity a packed file states (`vaec.id`, 32 hex digits): that of the full-precision file
/// it was packed from (`scripts/pack_weights.py`), so that the files it wrote still find it.
fn stated_id(metadata: &HashMap<String, String>) -> Option<[u8; 16]> {
    let hex = metadata.get("vaec.id")?;
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut id = [0; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}

/// A weight file's own identity: the first 16 bytes of its SHA-256.
fn model_id(bytes: &[u8]) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest[..16].try_into().expect("16 bytes")
}

/// Lower-case hex of a byte string (model ids in messages).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::{serialize, TensorView};
    use safetensors::Dtype;

    /// A weight file of one tensor (g_a.0.weight of 2 channels) with the given metadata.
    fn tiny_file(metadata: &[(&str, &str)]) -> Vec<u8> {
        let data = [0u8; 4 * 2 * 3 * 5 * 5];
        let view = TensorView::new(Dtype::F32, vec![2, 3, 5, 5], &data).unwrap();
        let meta = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        serialize([("g_a.0.weight", view)], Some(meta)).unwrap()
    }

    #[test]
    fn the_packed_models_keep_the_identities_that_files_name() {
        // the identities of the full-precision files that release 0.1.0 compiled in and wrote
        // into every file's header: changing them would orphan those files
        for (name, id) in [
            ("context", "ef21ef1b8c6a9e6ce8128c53b222c34d"),
            ("hyperprior", "facd80344590f372f138241e9ef8c026"),
        ] {
            let model = Model::builtin_named(name).unwrap();
            assert_eq!(hex(&model.id), id, "{name}");
            let found = Model::builtin_with_id(&model.id).unwrap().unwrap();
            assert_eq!(found.id, model.id);
        }
    }

    #[test]
    fn the_context_model_shares_the_scale_models_transforms_and_keeps_its_own_tables() {
        let context = Model::builtin_named("context").unwrap();
        let scale = Model::builtin_named("hyperprior").unwrap();
        assert!(context.int_context.is_some() && scale.int_context.is_none());
        let (Layer::Conv(a), Layer::Conv(b)) = (&context.g_s.layers[0], &scale.g_s.layers[0])
        else {
            panic!("g_s starts with a convolution")
        };
        assert_eq!(a.weight, b.weight);
        let last = |m: &Model| m.int_h_s.as_ref().unwrap().layers[2].shift.clone();
        assert_ne!(
            last(&context),
            last(&scale),
            "the context model's own h_s output"
        );
    }

    #[test]
    fn a_base_or_identity_that_cannot_be_used_is_refused() {
        for (meta, expect) in [
            (vec![("vaec.base", "nonexistent")], "vaec.base"),
            (vec![("vaec.id", "not hex")], "vaec.id"),
            (
                vec![("vaec.id", "zz21ef1b8c6a9e6ce8128c53b222c34d")],
                "vaec.id",
            ),
        ] {
            let err = Model::from_bytes(&tiny_file(&meta))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expect), "{meta:?}: {err}");
        }
    }
}
