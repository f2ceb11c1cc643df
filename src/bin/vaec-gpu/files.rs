//! What the subcommands do to one file: encode (at a quality or to a target), decode, info; and
//! the list of compiled-in models.

use std::path::Path;
use std::time::Instant;

use vaec_gpu::format::{self, Limits, Metadata};
use vaec_gpu::model::hex;
use vaec_gpu::{metrics, Codec, Image, Model, Picture, Result, Target};

use crate::batch::LazyCodec;
use crate::io::{max_input_bytes, output_format, output_target, read_input, write_atomic};
use crate::picture::{read_picture, write_picture};

/// A fixed quality, or a target that rate control meets.
#[derive(Clone, Copy)]
pub(crate) enum Rate {
    Quality(f32),
    Target(Target),
}

/// How `encode` runs, besides the rate.
#[derive(Clone, Copy)]
pub(crate) struct EncodeFlags {
    /// Overwrite an existing output.
    pub force: bool,
    /// Allow an output name that does not end in `.vaec`.
    pub any_extension: bool,
    /// Decode the result and print its PSNR.
    pub psnr: bool,
    /// Print timings and memory.
    pub verbose: bool,
    /// Leave the ICC profile, EXIF and XMP out.
    pub strip: bool,
    /// Keep the colour under fully transparent pixels.
    pub exact: bool,
}

pub(crate) fn encode_one(
    codec: &LazyCodec,
    limits: &Limits,
    (input, output): (&Path, &Path),
    rate: Rate,
    flags: EncodeFlags,
) -> Result<()> {
    // refuse before doing the work, not only when writing
    let is_vaec = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("vaec"));
    if !is_vaec && output != Path::new("-") && !flags.any_extension {
        return Err(vaec_gpu::Error::InvalidArgument(format!(
            "{}: the output of encode is a .vaec file; name it .vaec (or pass --any-extension)",
            output.display()
        )));
    }
    output_target(output, flags.force)?;
    let (mut picture, notes) = read_picture(input, limits)?;
    for note in notes {
        eprintln!("vaec-gpu: note: {}: {note}", input.display());
    }
    if flags.strip {
        picture.metadata = Metadata::default();
    }
    if !flags.exact {
        picture.fill_hidden_colour();
    }
    codec.with(None, |codec| {
        encode_with(codec, &picture, (input, output), rate, flags)
    })
}

fn encode_with(
    codec: &Codec,
    picture: &Picture,
    (input, output): (&Path, &Path),
    rate: Rate,
    flags: EncodeFlags,
) -> Result<()> {
    let image = &picture.image;
    codec.context().reset_peak_memory();
    let t = Instant::now();
    // qualities are multiples of 1/256: f64 prints them exactly
    let (encoded, quality, tries) = match rate {
        Rate::Quality(q) => (
            codec.encode_picture(picture, q)?,
            f64::from(q),
            String::new(),
        ),
        Rate::Target(target) => {
            let t = codec.encode_picture_to_target(picture, target)?;
            let tries = format!(" ({} tries)", t.tries);
            (t.encoded, f64::from(t.quality), tries)
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let bytes = &encoded.bytes;
    write_atomic(output, bytes, flags.force)?;
    let pixels = (image.width * image.height) as f64;
    let mut line = format!(
        "{} -> {}: {}x{}, quality {quality}{tries}, {} bytes, {:.4} bpp",
        input.display(),
        output.display(),
        image.width,
        image.height,
        bytes.len(),
        bytes.len() as f64 * 8.0 / pixels
    );
    // what the file carries, read back from it rather than coded again
    let side = format::parse(bytes, &codec.options().limits)?.side;
    if !side.is_empty() {
        line += &format!(" ({} of them alpha and metadata)", side.encoded_len());
    }
    let (psnr, verbose) = (flags.psnr, flags.verbose);
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
    let parsed = format::parse(&bytes, limits)?;
    codec.with(Some(&parsed.header.model_id), |codec| {
        codec.context().reset_peak_memory();
        let t = Instant::now();
        let picture = codec.decode_picture(&bytes)?;
        let secs = t.elapsed().as_secs_f64();
        for note in write_picture(&picture, output, force)? {
            eprintln!("vaec-gpu: note: {}: {note}", output.display());
        }
        report_decode(codec, &picture.image, (input, output), secs, verbose)
    })
}

fn report_decode(
    codec: &Codec,
    image: &Image,
    (input, output): (&Path, &Path),
    secs: f64,
    verbose: bool,
) -> Result<()> {
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
    let colour = match h.colour {
        format::COLOUR_GRAY8 => "grayscale",
        _ => "RGB",
    };
    println!(
        "  size        {}x{}, {colour}, 8 bits coded (source {}-bit)",
        h.width,
        h.height,
        h.source_bits()
    );
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
    let side = &parsed.side;
    let carried: Vec<String> = [
        ("alpha", &side.alpha),
        ("ICC profile", &side.metadata.icc),
        ("EXIF", &side.metadata.exif),
        ("XMP", &side.metadata.xmp),
    ]
    .into_iter()
    .filter_map(|(what, item)| Some(format!("{what} {} bytes", item.as_ref()?.len())))
    .collect();
    let carried = match carried.is_empty() {
        true => "nothing besides the pixels".to_string(),
        false => carried.join(", "),
    };
    println!("  carries     {carried}");
    Ok(())
}
