//! `vaec-gpu bench`: where the time goes, stage by stage, for one picture. The stages are those
//! the codec itself runs ([`Codec::encode_async`], [`Codec::decode_async`] with a [`Probe`]):
//! each GPU layer submitted alone and timed with timestamp queries where the device has them,
//! transfers and CPU stages on the host clock. The end-to-end times come from separate runs
//! without a probe.

use web_time::Instant;

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::gpu::{Probe, StageTime};
use crate::image::Image;

/// A bench result.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Report {
    /// The adapter that ran it.
    pub adapter: String,
    /// How GPU stages were timed.
    pub timing: String,
    /// Which kernel variants ran.
    pub kernels: String,
    /// Picture size.
    pub width: usize,
    /// Picture size.
    pub height: usize,
    /// Iterations measured (after one warm-up).
    pub iterations: usize,
    /// Stages in order, `encode: ...` then `decode: ...`, each the median over the iterations.
    pub stages: Vec<StageTime>,
    /// Median end-to-end encode seconds (`Codec::encode`, without a probe).
    pub encode_seconds: f64,
    /// Median end-to-end decode seconds (`Codec::decode`).
    pub decode_seconds: f64,
    /// File size in bytes.
    pub bytes: usize,
    /// Peak GPU memory of the end-to-end runs, bytes.
    pub peak_gpu_bytes: u64,
    /// The decoder's multiply-adds per picture pixel (g_s and the integer networks).
    pub decoder_macs_per_pixel: f64,
    /// The adapter's f32 peak, GFLOP/s, when the caller knows it (for a CPU adapter: cores x FMA
    /// lanes x 2 x clock); the table then shows each stage's share of it.
    pub peak_gflops: Option<f64>,
}

/// The bench's built-in picture of `width` x `height`: smooth ramps, a wave and a little texture
/// (the same everywhere the bench runs: the command line and the web bench page).
pub fn synthetic_picture(width: usize, height: usize) -> Result<Image> {
    let (w, h) = (width, height);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let t = ((x * 7 + y * 13) % 17) as f32;
            rgb.push((255.0 * fx) as u8);
            rgb.push((255.0 * fy) as u8);
            rgb.push((128.0 + 100.0 * (fx * 20.0).sin() * (fy * 15.0).cos() + t) as u8);
        }
    }
    Image::from_rgb8(w, h, &rgb)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures every stage on `image` at `quality`, `iterations` times after one warm-up. The
/// picture must fit in one tile of the codec's memory budget (stage times of tiled runs would
/// add up tiles and halos).
#[cfg(not(target_arch = "wasm32"))]
pub fn run(codec: &Codec, image: &Image, quality: f32, iterations: usize) -> Result<Report> {
    crate::block::wait(run_async(codec, image, quality, iterations))
}

/// [`run`], for callers that cannot block (a browser's event loop).
pub async fn run_async(
    codec: &Codec,
    image: &Image,
    quality: f32,
    iterations: usize,
) -> Result<Report> {
    let ctx = codec.context();
    let (ta, ts) = codec.tile_counts(image.width, image.height)?;
    if ta > 1 || ts > 1 {
        return Err(Error::InvalidArgument(format!(
            "{}x{} needs {ta}/{ts} tiles under the memory budget; bench measures untiled runs",
            image.width, image.height
        )));
    }
    let mut stages: Vec<StageTime> = Vec::new();
    let mut samples: Vec<Vec<f64>> = Vec::new();
    let (mut enc_s, mut dec_s) = (Vec::new(), Vec::new());
    let (mut bytes, mut peak) = (0, 0);
    let mut timing = String::new();
    for it in 0..=iterations {
        let (encode, decode) = (Probe::new(ctx), Probe::new(ctx));
        let file = codec.encode_async(image, quality, Some(&encode)).await?;
        codec.decode_async(&file.bytes, Some(&decode)).await?;
        timing = encode.timing().to_string();

        ctx.reset_peak_memory();
        let t0 = Instant::now();
        let file = codec.encode_async(image, quality, None).await?;
        let e = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        codec.decode_async(&file.bytes, None).await?;
        let d = t0.elapsed().as_secs_f64();
        peak = peak.max(ctx.peak_memory());
        bytes = file.bytes.len();
        if it == 0 {
            continue; // warm-up
        }
        enc_s.push(e);
        dec_s.push(d);
        let runs = [("encode", encode.stages()), ("decode", decode.stages())];
        for (which, run) in runs {
            for s in run {
                let name = format!("{which}: {}", s.name);
                match stages.iter().position(|t| t.name == name) {
                    Some(k) => samples[k].push(s.seconds),
                    None => {
                        samples.push(vec![s.seconds]);
                        stages.push(StageTime { name, ..s });
                    }
                }
            }
        }
    }
    for (s, v) in stages.iter_mut().zip(samples) {
        s.seconds = median(v);
    }
    let model = codec.model();
    let pixels = (image.width * image.height) as f64;
    Ok(Report {
        adapter: ctx.adapter_description(),
        timing,
        kernels: match ctx.uses_subgroups() {
            true => "conv, deconv, GDN and integer layers: subgroup variants (weights broadcast across lanes)",
            false => "portable (no subgroup operations)",
        }
        .into(),
        width: image.width,
        height: image.height,
        iterations,
        stages,
        encode_seconds: median(enc_s),
        decode_seconds: median(dec_s),
        bytes,
        peak_gpu_bytes: peak,
        decoder_macs_per_pixel: model.decoder_macs(image.width, image.height) as f64 / pixels,
        peak_gflops: None,
    })
}

impl Report {
    /// A human-readable table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "adapter: {}\ntiming: {}\nkernels: {}\npicture: {}x{}, {} iterations (median)\n\n{:<56} {:>10} {:>10} {:>9} {:>7}",
            self.adapter, self.timing, self.kernels, self.width, self.height, self.iterations, "stage", "ms", "GMAC", "GFLOP/s", "share"
        );
        if let Some(peak) = self.peak_gflops {
            out += &format!(" {:>8}", format!("of {peak:.0}"));
        }
        out += "\n";
        for which in ["encode", "decode"] {
            let run: Vec<&StageTime> = self
                .stages
                .iter()
                .filter(|s| s.name.starts_with(which))
                .collect();
            let total: f64 = run.iter().map(|s| s.seconds).sum();
            for s in run {
                let rate = (s.macs > 0).then(|| 2.0 * s.macs as f64 / s.seconds / 1e9);
                let gflops = rate.map_or("-".into(), |r| format!("{r:.2}"));
                out += &format!(
                    "{:<56} {:>10.2} {:>10.3} {:>9} {:>6.1}%",
                    s.name,
                    s.seconds * 1e3,
                    s.macs as f64 / 1e9,
                    gflops,
                    100.0 * s.seconds / total
                );
                if let Some(peak) = self.peak_gflops {
                    let share = rate.map_or("-".into(), |r| format!("{:.1}%", 100.0 * r / peak));
                    out += &format!(" {share:>8}");
                }
                out += "\n";
            }
            out += &format!(
                "{:<56} {:>10.2}\n",
                format!("{which}: sum of stages"),
                total * 1e3
            );
        }
        let mpx = (self.width * self.height) as f64 / 1e6;
        out += &format!(
            "\nend to end: encode {:.1} ms ({:.2} Mpx/s), decode {:.1} ms ({:.2} Mpx/s), {} bytes, peak GPU memory {:.1} MiB\ndecoder: {:.1} thousand multiply-adds per pixel (g_s and the integer networks)\n",
            self.encode_seconds * 1e3,
            mpx / self.encode_seconds,
            self.decode_seconds * 1e3,
            mpx / self.decode_seconds,
            self.bytes,
            self.peak_gpu_bytes as f64 / (1 << 20) as f64,
            self.decoder_macs_per_pixel / 1e3,
        );
        out
    }
}
