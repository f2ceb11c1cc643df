//! `vaec-gpu eval`: rate and distortion on a folder of pictures with real file sizes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{json, Value};
use vaec_gpu::format::Limits;
use vaec_gpu::model::hex;
use vaec_gpu::{metrics, Codec, Error, Image, Result};

use crate::picture::read_image;

/// Encodes and decodes every picture of `dir` at every quality; prints a table or JSON (and with
/// `verbose` a line per picture on standard error). A picture that cannot be read is reported
/// and left out; the exit status then says so.
pub fn eval(
    codec: &Codec,
    dir: &Path,
    qualities: &[f32],
    json: bool,
    limits: &Limits,
    verbose: bool,
) -> Result<ExitCode> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| image::ImageFormat::from_path(p).is_ok())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "no images in {}",
            dir.display()
        )));
    }
    let levels = codec.model().levels();
    let qualities: Vec<f32> = if qualities.is_empty() {
        (1..=levels).map(|q| q as f32).collect()
    } else {
        qualities.to_vec()
    };
    let mut images: Vec<(PathBuf, Image)> = Vec::new();
    let mut failed = 0;
    for f in &files {
        match read_image(f, limits) {
            Ok(image) => images.push((f.clone(), image)),
            Err(e) => {
                eprintln!("vaec-gpu: {} (left out)", crate::explain_for(f, &e));
                failed += 1;
            }
        }
    }
    if images.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "no readable images in {}",
            dir.display()
        )));
    }
    let mut rows = Vec::new();
    if !json {
        println!("adapter: {}", codec.context().adapter_description());
        println!(
            "{:>8} {:>8} {:>9} {:>9} {:>10} {:>9} {:>9}",
            "quality", "images", "bpp", "PSNR dB", "MS-SSIM", "enc s", "dec s"
        );
    }
    for &q in &qualities {
        let (mut bpp, mut psnr, mut msssim, mut n_ms, mut enc_s, mut dec_s) =
            (0.0, 0.0, 0.0, 0, 0.0, 0.0);
        let mut per_image = Vec::new();
        for (path, img) in &images {
            let t = Instant::now();
            let encoded = codec.encode(img, q)?;
            let seconds = t.elapsed().as_secs_f64();
            enc_s += seconds;
            let t = Instant::now();
            let decoded = codec.decode(&encoded.bytes)?;
            dec_s += t.elapsed().as_secs_f64();
            let b = encoded.bytes.len() as f64 * 8.0 / (img.width * img.height) as f64;
            let p = metrics::psnr(img, &decoded);
            let m = metrics::ms_ssim(img, &decoded);
            bpp += b;
            psnr += p;
            if let Some(m) = m {
                msssim += m;
                n_ms += 1;
            }
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            if verbose {
                let bytes = encoded.bytes.len();
                eprintln!(
                    "quality {q}: {file}: {bytes} bytes, {p:.3} dB, encoded in {seconds:.1} s"
                );
            }
            per_image.push(json!({
                "file": file,
                "encode_s": seconds,
                "bytes": encoded.bytes.len(),
                "estimated_bytes": encoded.estimated_bits / 8.0,
                "bpp": b,
                "psnr": p,
                "ms_ssim": m,
            }));
        }
        let n = images.len() as f64;
        let ms = (n_ms > 0).then(|| msssim / n_ms as f64);
        if !json {
            println!(
                "{q:>8} {:>8} {:>9.4} {:>9.3} {:>10} {:>9.3} {:>9.3}",
                images.len(),
                bpp / n,
                psnr / n,
                ms.map_or("-".into(), |m| format!("{m:.5}")),
                enc_s / n,
                dec_s / n
            );
        }
        rows.push(json!({
            "quality": q,
            "bpp": bpp / n,
            "psnr": psnr / n,
            "ms_ssim": ms,
            "encode_s": enc_s / n,
            "decode_s": dec_s / n,
            "images": Value::Array(per_image),
        }));
    }
    if json {
        let out = json!({
            "adapter": codec.context().adapter_description(),
            "model": hex(&codec.model().id),
            "effort": codec.options().effort,
            "rows": rows,
        });
        println!("{out}");
    }
    Ok(crate::batch::exit_code(failed))
}
