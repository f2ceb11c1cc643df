//! What the subcommands do to one file: encode (at a quality or to a target), decode, info; and
//! the list of compiled-in models.

use std::path::Path;
use std::time::Instant;

use vaec_gpu::format::{self, Limits};
use vaec_gpu::model::hex;
use vaec_gpu::{metrics, Codec, Image, Model, Result, Target};

use crate::batch::LazyCodec;
use crate::io::{
    max_input_bytes, output_format, output_target, read_input, read_picture, write_atomic,
    write_image,
};

/// A fixed quality, or a target that rate control meets.
#[derive(Clone, Copy)]
pub(crate) enum Rate {
    Quality(f32),
    Target(Target),
}

pub(crate) fn encode_one(
    codec: &LazyCodec,
    limits: &Limits,
    (input, output): (&Path, &Path),
    rate: Rate,
    (force, psnr, verbose): (bool, bool, bool),
) -> Result<()> {
    // refuse before doing the work, not only when writing
    output_target(output, force)?;
    let (image, notes) = read_picture(input, limits)?;
    for note in notes {
        eprintln!("vaec-gpu: note: {}: {note}", input.display());
    }
    codec.with(None, |codec| {
        encode_with(codec, &image, (input, output), rate, (force, psnr, verbose))
    })
}

fn encode_with(
    codec: &Codec,
    image: &Image,
    (input, output): (&Path, &Path),
    rate: Rate,
    (force, psnr, verbose): (bool, bool, bool),
) -> Result<()> {
    codec.context().reset_peak_memory();
    let t = Instant::now();
    // qualities are multiples of 1/256: f64 prints them exactly
    let (encoded, quality, tries) = match rate {
        Rate::Quality(q) => (codec.encode(image, q)?, f64::from(q), String::new()),
        Rate::Target(target) => {
            let t = codec.encode_to_target(image, target)?;
            let tries = format!(" ({} tries)", t.tries);
            (t.encoded, f64::from(t.quality), tries)
        }
    };
    let secs = t.elapsed().as_secs_f64();
    write_atomic(output, &encoded.bytes, force)?;
    let pixels = (image.width * image.height) as f64;
    let mut line = format!(
        "{} -> {}: {}x{}, quality {quality}{tries}, {} bytes, {:.4} bpp",
        input.display(),
        output.display(),
        image.width,
        image.height,
        encoded.bytes.len(),
        encoded.bytes.len() as f64 * 8.0 / pixels
    );
    if psnr {
        let decoded = codec.decode(&encoded.bytes)?;
        line += &format!(", PSNR {:.2} dB", metrics::psnr(image, &decoded));
    }
    if verbose {
        let (tiles, _) = codec.tile_counts(image.width, image.height)?;
        line += &format!(
            " (encode {:.3} s, estimate {:.0} bytes, {tiles} tiles, peak GPU memory {:.1} MiB)",
            secs,
            encoded.estimated_bits / 8.0,
            codec.context().peak_memory() as f64 / (1 << 20) as f64
        );
    }
    if output == Path::new("-") {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(())
}

pub(crate) fn decode_one(
    codec: &LazyCodec,
    limits: &Limits,
    input: &Path,
    output: &Path,
    force: bool,
    verbose: bool,
) -> Result<()> {
    // refuse before doing the work, not only when writing
    output_target(output, force)?;
    output_format(output)?;
    let bytes = read_input(input, max_input_bytes(limits))?;
    // a bad file is refused before the weights or the GPU are touched
    let model_id = format::parse(&bytes, limits)?.header.model_id;
    codec.with(Some(&model_id), |codec| {
        decode_with(codec, &bytes, (input, output), force, verbose)
    })
}

fn decode_with(
    codec: &Codec,
    bytes: &[u8],
    (input, output): (&Path, &Path),
    force: bool,
    verbose: bool,
) -> Result<()> {
    codec.context().reset_peak_memory();
    let t = Instant::now();
    let image = codec.decode(bytes)?;
    let secs = t.elapsed().as_secs_f64();
    write_image(&image, output, force)?;
    if verbose {
        let (_, tiles) = codec.tile_counts(image.width, image.height)?;
        eprintln!(
            "{} -> {}: {}x{} (decode {:.3} s, {tiles} tiles, peak GPU memory {:.1} MiB)",
            input.display(),
            output.display(),
            image.width,
            image.height,
            secs,
            codec.context().peak_memory() as f64 / (1 << 20) as f64
        );
    }
    Ok(())
}

/// One line per compiled-in model.
pub(crate) fn list_models() -> Result<()> {
    for (i, name) in Model::builtin_names().into_iter().enumerate() {
        let m = Model::builtin_named(name)?;
        let kind = match m.int_context {
            Some(_) => "mean-scale hyperprior with checkerboard context (files: version 3)",
            None => "scale hyperprior (files: version 2)",
        };
        let kmacs = m.decoder_macs(768, 512) as f64 / (768.0 * 512.0) / 1e3;
        println!(
            "{name}{}: N={} M={}, {kind}, {} quality levels, decoder {kmacs:.1}k multiply-adds per pixel, id {}",
            if i == 0 { " (default)" } else { "" },
            m.n,
            m.m,
            m.levels(),
            hex(&m.id)
        );
    }
    Ok(())
}

pub(crate) fn info(path: &Path, limits: &Limits) -> Result<()> {
    let bytes = read_input(path, max_input_bytes(limits))?;
    let parsed = format::parse(&bytes, limits)?;
    let h = &parsed.header;
    println!("{}:", path.display());
    println!("  format      vaec version {}", h.version);
    println!("  size        {}x{} (8-bit sRGB)", h.width, h.height);
    println!("  quality     {}", h.quality());
    let known = Model::builtin_names()
        .into_iter()
        .find(|n| Model::builtin_named(n).is_ok_and(|m| m.id == h.model_id));
    let made_by = known.map_or(" (not a compiled-in model)".to_string(), |n| {
        format!(" ({n})")
    });
    println!("  model       {}{made_by}", hex(&h.model_id));
    println!("  index hash  {}", hex(&h.index_hash));
    println!(
        "  bytes       {} ({:.4} bpp), header {}",
        bytes.len(),
        bytes.len() as f64 * 8.0 / (h.width as f64 * h.height as f64),
        parsed.header_bytes
    );
    let sizes: Vec<String> = parsed.streams.iter().map(|s| s.len().to_string()).collect();
    println!("  substreams  z {} | y {}", sizes[0], sizes[1..].join(" "));
    Ok(())
}
