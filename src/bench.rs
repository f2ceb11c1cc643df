//! `vaec-gpu bench`: where the time goes, stage by stage, for one picture.
//!
//! Each GPU layer is submitted alone and timed with timestamp queries written in the command
//! encoder before and after it, where the device has them (`TIMESTAMP_QUERY` and
//! `TIMESTAMP_QUERY_INSIDE_ENCODERS`); elsewhere on the host clock around submit and wait, which
//! adds the submission latency. Transfers and CPU stages are timed on the host. The report says
//! which.

use std::time::Instant;

use crate::codec::{padded_size, Codec, Image};
use crate::entropy::{self, CdfTables};
use crate::error::{Error, Result};
use crate::format;
use crate::gpu::{time_gpu, GpuIntHyper, GpuLayer, GpuTensor, GpuTimer, GpuTransform};
use crate::model::{Layer, Transform};
use crate::reference;
use crate::tensor::Tensor;

/// One measured stage.
#[derive(Clone, Debug)]
pub struct Stage {
    /// Name, e.g. `g_a.2 conv5x5/2 64->64`.
    pub name: String,
    /// Median seconds over the iterations.
    pub seconds: f64,
    /// Multiply-adds of the stage (0 where it does no arithmetic of that kind).
    pub macs: u64,
}

/// A bench result.
#[derive(Clone, Debug)]
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
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// Median end-to-end encode seconds (`Codec::encode`).
    pub encode_seconds: f64,
    /// Median end-to-end decode seconds (`Codec::decode`).
    pub decode_seconds: f64,
    /// File size in bytes.
    pub bytes: usize,
    /// Peak GPU memory of the end-to-end runs, bytes.
    pub peak_gpu_bytes: u64,
    /// The adapter's f32 peak, GFLOP/s, when the caller knows it (for a CPU adapter: cores x FMA
    /// lanes x 2 x clock); the table then shows each stage's share of it.
    pub peak_gflops: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn layer_label(t: &Transform, i: usize) -> (String, usize) {
    // CompressAI numbers the layers of its Sequential with ReLUs counted: keep its names
    let index = match t.name {
        "h_a" | "h_s" => 2 * i,
        _ => i,
    };
    let what = match &t.layers[i] {
        Layer::Conv(c) => format!(
            "{}{}x{}/{} {}->{}",
            if c.transposed { "deconv" } else { "conv" },
            c.kernel,
            c.kernel,
            c.stride,
            c.in_channels,
            c.out_channels
        ),
        Layer::Gdn(g) => format!("{} {}", if g.inverse { "igdn" } else { "gdn" }, g.channels),
    };
    (format!("{}.{index} {what}", t.name), index)
}

fn layer_macs(layer: &Layer, out: &GpuTensor) -> u64 {
    match layer {
        Layer::Conv(c) => c.macs(out.height, out.width),
        Layer::Gdn(g) => (g.channels * g.channels * out.height * out.width) as u64,
    }
}

/// Runs a transform layer by layer, timing each.
fn time_transform(
    codec: &Codec,
    t: &Transform,
    gt: &GpuTransform,
    input: &GpuTensor,
    timer: Option<&GpuTimer>,
    samples: &mut Vec<Vec<f64>>,
    stages: &mut Vec<Stage>,
    first: bool,
) -> Result<GpuTensor> {
    let ctx = codec.context();
    let mut current: Option<GpuTensor> = None;
    for (i, layer) in gt.layers.iter().enumerate() {
        let layer_input = current.as_ref().unwrap_or(input);
        let (out, secs) = time_gpu(ctx, timer, |enc| {
            GpuLayer::record(layer, ctx, enc, layer_input)
        })?;
        if first {
            stages.push(Stage {
                name: layer_label(t, i).0,
                seconds: 0.0,
                macs: layer_macs(&t.layers[i], &out),
            });
            samples.push(Vec::new());
        }
        let k = stages
            .iter()
            .position(|s| s.name == layer_label(t, i).0)
            .expect("stage");
        samples[k].push(secs);
        current = Some(out);
    }
    current.ok_or_else(|| Error::InvalidArgument("empty transform".into()))
}

/// Measures every stage on `image` at `quality`, `iterations` times after one warm-up. The
/// picture must fit in one tile of the codec's memory budget (raise it for big pictures).
pub fn run(codec: &Codec, image: &Image, quality: f32, iterations: usize) -> Result<Report> {
    let ctx = codec.context();
    let model = codec.model();
    let net = codec.network();
    let (gain, inv_gain) = model.gains_for_quality(quality)?;
    let (pw, ph) = padded_size(image.width, image.height);
    let (ta, ts) = codec.tile_counts(image.width, image.height)?;
    if ta > 1 || ts > 1 {
        return Err(Error::InvalidArgument(format!(
            "{}x{} needs {ta}/{ts} tiles under the memory budget; bench measures untiled runs: raise --memory-budget",
            image.width, image.height
        )));
    }
    let int = model.int_h_s.as_ref().ok_or_else(|| {
        Error::weights(
            "h_s_int.thresholds",
            "missing: bench needs a complete model",
        )
    })?;
    let g = model
        .gaussian
        .as_ref()
        .ok_or_else(|| Error::weights("gaussian_conditional._quantized_cdf", "missing"))?;
    let y_tables = CdfTables::new(g.cdfs.clone(), g.offsets.clone());
    let gpu_int = GpuIntHyper::new(ctx, int)?;
    let timer = GpuTimer::new(ctx);

    let mut stages: Vec<Stage> = Vec::new();
    let mut samples: Vec<Vec<f64>> = Vec::new();
    let named =
        |stages: &mut Vec<Stage>, samples: &mut Vec<Vec<f64>>, name: &str, secs: f64, macs: u64| {
            match stages.iter().position(|s| s.name == name) {
                Some(k) => samples[k].push(secs),
                None => {
                    stages.push(Stage {
                        name: name.into(),
                        seconds: 0.0,
                        macs,
                    });
                    samples.push(vec![secs]);
                }
            }
        };
    let (mut enc_s, mut dec_s) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    let mut peak = 0;
    for it in 0..=iterations {
        let record = it > 0;
        let (mut st, mut sa) = (Vec::new(), Vec::new());
        let (stages_now, samples_now) = if record {
            (&mut stages, &mut samples)
        } else {
            (&mut st, &mut sa)
        };
        let first = stages_now.is_empty();

        let t0 = Instant::now();
        let x = ctx.rgba8_to_tensor(&image.rgba, image.width, image.height, pw, ph)?;
        ctx.wait()?;
        let up = t0.elapsed().as_secs_f64();
        named(stages_now, samples_now, "upload + rgba8_to_tensor", up, 0);
        let y_gpu = time_transform(
            codec,
            &model.g_a,
            &net.g_a,
            &x,
            timer.as_ref(),
            samples_now,
            stages_now,
            first,
        )?;
        let t0 = Instant::now();
        let y = ctx.download_tensor(&y_gpu)?;
        named(
            stages_now,
            samples_now,
            "readback y",
            t0.elapsed().as_secs_f64(),
            0,
        );
        let y_gained = reference::scale(&y, &gain);
        let y_up = ctx.upload_tensor(&y_gained)?;
        let z_gpu = time_transform(
            codec,
            &model.h_a,
            &net.h_a,
            &y_up,
            timer.as_ref(),
            samples_now,
            stages_now,
            first,
        )?;
        let t0 = Instant::now();
        let z = ctx.download_tensor(&z_gpu)?;
        named(
            stages_now,
            samples_now,
            "readback z",
            t0.elapsed().as_secs_f64(),
            0,
        );
        let medians = &model
            .factorized
            .as_ref()
            .ok_or_else(|| Error::weights("entropy_bottleneck._medians", "missing"))?
            .medians;
        let zplane = z.height * z.width;
        let z_sym: Vec<i32> = z
            .data
            .iter()
            .enumerate()
            .map(|(i, v)| (v - medians[i / zplane]).round_ties_even() as i32)
            .collect();
        let t0 = Instant::now();
        let (indexes, stage_secs) =
            gpu_int.run_timed(ctx, &z_sym, (z.height, z.width), timer.as_ref())?;
        let total = t0.elapsed().as_secs_f64();
        let (mut h, mut w) = (z.height, z.width);
        for (i, l) in int.layers.iter().enumerate() {
            let (oh, ow) = l.output_size(h, w);
            // a transposed layer's output pixel sees a 1/stride^2 share of the taps
            let taps = if l.transposed {
                (l.kernel * l.kernel).div_ceil(l.stride * l.stride)
            } else {
                l.kernel * l.kernel
            };
            let name = format!(
                "h_s.{} int {}{}x{}/{} {}->{}",
                2 * i,
                if l.transposed { "deconv" } else { "conv" },
                l.kernel,
                l.kernel,
                l.stride,
                l.in_channels,
                l.out_channels
            );
            let macs = (taps * l.in_channels * l.out_channels * oh * ow) as u64;
            named(stages_now, samples_now, &name, stage_secs[i], macs);
            (h, w) = (oh, ow);
        }
        let lookup = stage_secs[int.layers.len()];
        named(stages_now, samples_now, "h_s scale indexes", lookup, 0);
        named(
            stages_now,
            samples_now,
            "h_s upload z + readback indexes",
            (total - stage_secs.iter().sum::<f64>()).max(0.0),
            0,
        );
        let y_sym: Vec<i32> = y_gained
            .data
            .iter()
            .map(|v| v.round_ties_even() as i32)
            .collect();
        let t0 = Instant::now();
        let coded = entropy::encode_symbols(&y_sym, &indexes, &y_tables, format::Y_LANES)
            .map_err(|e| Error::Image(e.to_string()))?;
        named(
            stages_now,
            samples_now,
            "entropy encode y (1 thread)",
            t0.elapsed().as_secs_f64(),
            0,
        );
        let t0 = Instant::now();
        let decoded = entropy::decode_symbols(&coded, &indexes, &y_tables, format::Y_LANES)
            .map_err(|e| Error::Format(e.to_string()))?;
        named(
            stages_now,
            samples_now,
            "entropy decode y (1 thread)",
            t0.elapsed().as_secs_f64(),
            0,
        );
        debug_assert_eq!(decoded, y_sym);
        let y_hat = Tensor::from_data(
            y.channels,
            y.height,
            y.width,
            decoded.iter().map(|v| *v as f32).collect(),
        );
        let y_in = ctx.upload_tensor(&reference::scale(&y_hat, &inv_gain))?;
        let x_hat = time_transform(
            codec,
            &model.g_s,
            &net.g_s,
            &y_in,
            timer.as_ref(),
            samples_now,
            stages_now,
            first,
        )?;
        let t0 = Instant::now();
        let _rgba = ctx.tensor_to_rgba8(&x_hat, image.width, image.height)?;
        named(
            stages_now,
            samples_now,
            "tensor_to_rgba8 + readback",
            t0.elapsed().as_secs_f64(),
            0,
        );

        ctx.reset_peak_memory();
        let t0 = Instant::now();
        let file = codec.encode(image, quality)?;
        let e = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let _ = codec.decode(&file.bytes)?;
        let d = t0.elapsed().as_secs_f64();
        peak = peak.max(ctx.peak_memory());
        bytes = file.bytes.len();
        if record {
            enc_s.push(e);
            dec_s.push(d);
        }
    }
    for (s, v) in stages.iter_mut().zip(samples) {
        s.seconds = median(v);
    }
    Ok(Report {
        adapter: ctx.adapter_description(),
        timing: match timer {
            Some(_) => "GPU layers: timestamp queries around each (one submission per layer); transfers and CPU stages: host clock",
            None => "host clock around each stage, submitted alone and waited for (the device has no timestamp queries inside encoders)",
        }
        .into(),
        kernels: match ctx.uses_subgroups() {
            true => "conv, deconv and GDN: subgroup variants (weights broadcast across lanes)",
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
        peak_gflops: None,
    })
}

impl Report {
    /// A human-readable table.
    pub fn table(&self) -> String {
        let total: f64 = self.stages.iter().map(|s| s.seconds).sum();
        let mut out = format!(
            "adapter: {}\ntiming: {}\nkernels: {}\npicture: {}x{}, {} iterations (median)\n\n{:<52} {:>10} {:>10} {:>9} {:>7}\n",
            self.adapter, self.timing, self.kernels, self.width, self.height, self.iterations, "stage", "ms", "GMAC", "GFLOP/s", "share"
        );
        if let Some(peak) = self.peak_gflops {
            out = out.trim_end().to_string() + &format!(" {:>8}\n", format!("of {peak:.0}"));
        }
        for s in &self.stages {
            let rate = (s.macs > 0).then(|| 2.0 * s.macs as f64 / s.seconds / 1e9);
            let gflops = rate.map_or("-".into(), |r| format!("{r:.2}"));
            out += &format!(
                "{:<52} {:>10.2} {:>10.3} {:>9} {:>6.1}%",
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
        let mpx = (self.width * self.height) as f64 / 1e6;
        out += &format!(
            "\nend to end: encode {:.1} ms ({:.2} Mpx/s), decode {:.1} ms ({:.2} Mpx/s), {} bytes, peak GPU memory {:.1} MiB\n",
            self.encode_seconds * 1e3,
            mpx / self.encode_seconds,
            self.decode_seconds * 1e3,
            mpx / self.decode_seconds,
            self.bytes,
            self.peak_gpu_bytes as f64 / (1 << 20) as f64
        );
        out
    }

    /// JSON for scripts.
    pub fn json(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| {
                format!(
                    "{{\"name\":\"{}\",\"seconds\":{:.6},\"macs\":{}}}",
                    esc(&s.name),
                    s.seconds,
                    s.macs
                )
            })
            .collect();
        format!(
            "{{\"adapter\":\"{}\",\"timing\":\"{}\",\"kernels\":\"{}\",\"peak_gflops\":{},\"width\":{},\"height\":{},\"iterations\":{},\"encode_seconds\":{:.6},\"decode_seconds\":{:.6},\"bytes\":{},\"peak_gpu_bytes\":{},\"stages\":[{}]}}",
            esc(&self.adapter),
            esc(&self.timing),
            esc(&self.kernels),
            self.peak_gflops.map_or("null".into(), |p| p.to_string()),
            self.width,
            self.height,
            self.iterations,
            self.encode_seconds,
            self.decode_seconds,
            self.bytes,
            self.peak_gpu_bytes,
            stages.join(",")
        )
    }
}
