//! `vaec-gpu`: the command-line codec.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use vaec_gpu::format::{self, Limits};
use vaec_gpu::model::hex;
use vaec_gpu::{metrics, Backend, Codec, Error, GpuContext, Image, Model, Result};

#[derive(Parser)]
#[command(
    name = "vaec-gpu",
    version,
    about = "A learned image codec (scale-hyperprior VAE) running on the GPU through wgpu",
    long_about = "A learned image codec: a variational autoencoder with a scale hyperprior whose network \
runs as WGSL compute shaders on any Vulkan, Metal, DX12 or GL GPU, with a CPU rANS entropy coder.\n\n\
Examples:\n  vaec-gpu encode photo.png -o photo.vaec --quality 4\n  vaec-gpu decode photo.vaec -o photo.png\n  \
vaec-gpu info photo.vaec\n  vaec-gpu eval ../shared/data/kodak --quality 2,4,6\n\n\
Without a GPU, install Mesa's lavapipe (apt-get install mesa-vulkan-drivers)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Weight file (safetensors); default: the model compiled into this binary
    #[arg(long, global = true, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// GPU backend; default: WGPU_BACKEND, else the first adapter found
    #[arg(long, global = true, value_enum)]
    backend: Option<BackendArg>,
    /// Print the adapter, timings and GPU memory
    #[arg(long, short, global = true)]
    verbose: bool,
    /// GPU memory to stay within: pictures are processed in tiles that fit (e.g. 256MiB, 1GiB)
    #[arg(long, global = true, default_value = "256MiB", value_parser = parse_bytes, value_name = "SIZE")]
    memory_budget: u64,
    /// Largest image width x height accepted (raise for huge photos)
    #[arg(long, global = true, default_value_t = Limits::default().max_pixels, value_name = "PIXELS")]
    max_pixels: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Vulkan,
    Gl,
    Metal,
    Dx12,
}

#[derive(Subcommand)]
enum Command {
    /// Encode images (PNG, JPEG, WebP, BMP, TIFF, PNM) to .vaec
    Encode {
        /// Input images, or - for standard input
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file (one input), directory (several), or - for standard output;
        /// default: the input's name with .vaec
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Quality from 1 (smallest, about 0.1 bpp) to the model's number of levels (10 for the
        /// bundled model: best); fractions allowed
        #[arg(short, long, default_value_t = 6.0)]
        quality: f32,
        /// Overwrite existing outputs
        #[arg(short, long)]
        force: bool,
        /// Also decode the result and print its PSNR
        #[arg(long)]
        psnr: bool,
    },
    /// Decode .vaec files to images (format from the output's extension; default PNG)
    Decode {
        /// Input .vaec files, or - for standard input
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file (one input), directory (several), or - for standard output (PNG);
        /// default: the input's name with .png
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Overwrite existing outputs
        #[arg(short, long)]
        force: bool,
    },
    /// Print the header of .vaec files
    Info {
        /// .vaec files
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Rate and distortion on a folder of images: real file sizes, PSNR, MS-SSIM
    Eval {
        /// Folder of images (e.g. ../shared/data/kodak)
        dir: PathBuf,
        /// Comma-separated qualities; default: every trained level
        #[arg(short, long, value_delimiter = ',')]
        quality: Vec<f32>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Time every stage (each layer, entropy coding, transfers) on one picture
    Bench {
        /// Picture to use; default: a synthetic picture of --size
        image: Option<PathBuf>,
        /// Size of the synthetic picture, WxH
        #[arg(long, default_value = "768x512")]
        size: String,
        /// Quality level (1 ..= the model's levels)
        #[arg(short, long, default_value_t = 6.0)]
        quality: f32,
        /// Measured iterations after one warm-up (the median is reported)
        #[arg(short, long, default_value_t = 3)]
        iterations: usize,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Use the portable kernels even where the adapter has subgroups (a baseline)
        #[arg(long)]
        portable_kernels: bool,
        /// The adapter's f32 peak in GFLOP/s, to show each stage's share of it (for lavapipe:
        /// cores x 8 lanes x 2 FMA units x 2 FLOP x GHz on an AVX2 CPU)
        #[arg(long)]
        peak_gflops: Option<f64>,
    },
    /// Run g_a, rounding and g_s on an image without entropy coding (checks the engine)
    Reconstruct {
        /// Input image
        input: PathBuf,
        /// Output image
        #[arg(short, long)]
        output: PathBuf,
        /// Quality level (1 ..= the model's levels)
        #[arg(short, long, default_value_t = 6.0)]
        quality: f32,
        /// Use random weights with N,M channels instead of a weight file
        #[arg(long, value_name = "N,M", value_delimiter = ',', num_args = 2)]
        random: Option<Vec<usize>>,
        /// Overwrite an existing output
        #[arg(short, long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vaec-gpu: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_model(cli: &Cli) -> Result<Model> {
    match &cli.weights {
        Some(p) => Model::load(p),
        None => Model::builtin(),
    }
}

fn open_codec(cli: &Cli, model: Model) -> Result<Codec> {
    open_codec_with(cli, model, false)
}

fn open_codec_with(cli: &Cli, model: Model, portable_kernels: bool) -> Result<Codec> {
    let backend = cli.backend.map(|b| match b {
        BackendArg::Vulkan => Backend::Vulkan,
        BackendArg::Gl => Backend::Gl,
        BackendArg::Metal => Backend::Metal,
        BackendArg::Dx12 => Backend::Dx12,
    });
    let mut ctx = GpuContext::new(backend)?;
    if portable_kernels {
        ctx = ctx.without_subgroups()?;
    }
    if cli.verbose {
        eprintln!("adapter: {}", ctx.adapter_description());
    }
    let mut codec = Codec::new(ctx, model)?;
    codec.set_limits(limits(cli));
    codec.set_memory_budget(cli.memory_budget);
    Ok(codec)
}

/// The codec, opened on first use: a batch whose inputs are all bad (unreadable pictures, corrupt
/// or hostile `.vaec` headers) fails fast and small, without loading the weights or a GPU.
struct LazyCodec<'a> {
    cli: &'a Cli,
    codec: std::cell::OnceCell<Codec>,
}

impl<'a> LazyCodec<'a> {
    fn new(cli: &'a Cli) -> Self {
        LazyCodec {
            cli,
            codec: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> Result<&Codec> {
        if let Some(codec) = self.codec.get() {
            return Ok(codec);
        }
        let codec = open_codec(self.cli, load_model(self.cli)?)?;
        Ok(self.codec.get_or_init(|| codec))
    }
}

/// `256MiB`, `1GiB`, `512KiB` or a plain number of bytes.
fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len()));
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => return Err(format!("unknown unit {unit:?} (use KiB, MiB or GiB)")),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 256MiB"))?;
    if !(n.is_finite() && n >= 0.0) {
        return Err(format!("{s:?} is not a size"));
    }
    Ok((n * scale as f64) as u64)
}

fn limits(cli: &Cli) -> Limits {
    Limits {
        max_pixels: cli.max_pixels,
        ..Limits::default()
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Info { inputs } => {
            let mut failed = 0;
            for path in inputs {
                if let Err(e) = info(path, &limits(&cli)) {
                    eprintln!("vaec-gpu: {}: {e}", path.display());
                    failed += 1;
                }
            }
            Ok(exit_code(failed))
        }
        Command::Encode {
            inputs,
            output,
            quality,
            force,
            psnr,
        } => {
            let codec = LazyCodec::new(&cli);
            let images = [
                "png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "ppm", "pgm", "pnm",
            ];
            batch(inputs, output.as_deref(), &images, "vaec", |input, out| {
                encode_one(&codec, input, out, *quality, *force, *psnr, cli.verbose)
            })
        }
        Command::Decode {
            inputs,
            output,
            force,
        } => {
            let codec = LazyCodec::new(&cli);
            batch(inputs, output.as_deref(), &["vaec"], "png", |input, out| {
                decode_one(&codec, input, out, *force, cli.verbose)
            })
        }
        Command::Eval { dir, quality, json } => {
            let codec = open_codec(&cli, load_model(&cli)?)?;
            eval(&codec, dir, quality, *json)
        }
        Command::Bench {
            image,
            size,
            quality,
            iterations,
            json,
            portable_kernels,
            peak_gflops,
        } => {
            let codec = open_codec_with(&cli, load_model(&cli)?, *portable_kernels)?;
            let picture = match image {
                Some(p) => read_image(p)?,
                None => synthetic_picture(size)?,
            };
            let mut report =
                vaec_gpu::bench::run(&codec, &picture, *quality, (*iterations).max(1))?;
            report.peak_gflops = *peak_gflops;
            if *json {
                println!("{}", report.json());
            } else {
                print!("{}", report.table());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconstruct {
            input,
            output,
            quality,
            random,
            force,
        } => {
            let model = match random {
                Some(nm) => Model::random(nm[0], nm[1], 8, 1),
                None => load_model(&cli)?,
            };
            let codec = open_codec(&cli, model)?;
            let image = read_image(input)?;
            let t = Instant::now();
            let out = codec.reconstruct(&image, *quality)?;
            let secs = t.elapsed().as_secs_f64();
            write_image(&out, output, *force)?;
            println!(
                "{} -> {}: {}x{}, PSNR {:.2} dB (g_a + g_s in {:.3} s, no entropy coding)",
                input.display(),
                output.display(),
                out.width,
                out.height,
                metrics::psnr(&image, &out),
                secs
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A smooth synthetic picture of `WxH` with some texture (for benchmarks without an input).
fn synthetic_picture(size: &str) -> Result<Image> {
    let bad = || Error::InvalidArgument(format!("--size {size:?}: expected WxH, e.g. 768x512"));
    let (w, h) = size.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (usize, usize) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    limits_default_check(w, h)?;
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

fn limits_default_check(w: usize, h: usize) -> Result<()> {
    Limits::default().check(w as u64, h as u64)
}

fn exit_code(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `job` on every input with its output path; a failure is reported and the rest go on.
fn batch(
    inputs: &[PathBuf],
    output: Option<&Path>,
    input_ext: &[&str],
    ext: &str,
    mut job: impl FnMut(&Path, &Path) -> Result<()>,
) -> Result<ExitCode> {
    let had_folder = inputs.iter().any(|p| p.is_dir());
    let inputs = expand_folders(inputs, input_ext)?;
    let several = inputs.len() > 1 || had_folder;
    if several && output.is_some_and(|o| o == Path::new("-")) {
        return Err(Error::InvalidArgument(
            "several inputs cannot all go to standard output".into(),
        ));
    }
    if several {
        if let Some(dir) = output {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.into(),
                source,
            })?;
        }
    }
    let bar = (several && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(inputs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .expect("valid template"),
        );
        bar
    });
    let mut failed = 0;
    for input in &inputs {
        let out = match output {
            Some(o) if several => {
                o.join(default_output(input, ext).file_name().unwrap_or_default())
            }
            Some(o) => o.to_path_buf(),
            None if input == Path::new("-") => PathBuf::from("-"),
            None => default_output(input, ext),
        };
        if let Some(bar) = &bar {
            bar.set_message(input.display().to_string());
        }
        if let Err(e) = job(input, &out) {
            if matches!(e, Error::Weights { .. } | Error::NoAdapter(_)) {
                // about the weights or the machine, not this input: every other input would fail too
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                return Err(e);
            }
            let line = format!("vaec-gpu: {}: {e}", input.display());
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
            failed += 1;
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if failed > 0 && several {
        eprintln!("vaec-gpu: {failed} of {} inputs failed", inputs.len());
    }
    Ok(exit_code(failed))
}

/// Inputs with every folder replaced by its files whose extension is one of `exts`, sorted.
fn expand_folders(inputs: &[PathBuf], exts: &[&str]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|source| Error::Io {
                    path: input.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
                })
                .collect();
            if files.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "no {} files in {}",
                    exts.join("/"),
                    input.display()
                )));
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

fn default_output(input: &Path, ext: &str) -> PathBuf {
    input.with_extension(ext)
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|source| Error::Io {
                path: path.into(),
                source,
            })?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

fn read_image(path: &Path) -> Result<Image> {
    let bytes = read_input(path)?;
    let img = image::load_from_memory(&bytes)
        .map_err(|e| Error::Image(format!("{}: {e}", path.display())))?;
    let rgb = img.to_rgb8();
    Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw())
}

/// An error if `path` is an existing file and `force` is not given (standard output is never one).
fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if !force && path != Path::new("-") && path.exists() {
        return Err(Error::InvalidArgument(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        )));
    }
    Ok(())
}

/// Writes `data` to `path` through a temporary file renamed into place, so that a failure never
/// leaves a half-written output; refuses to replace an existing file unless `force`.
fn write_atomic(path: &Path, data: &[u8], force: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out.write_all(data).and_then(|_| out.flush()).map_err(io);
    }
    refuse_overwrite(path, force)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn write_image(image: &Image, path: &Path, force: bool) -> Result<()> {
    let format = if path == Path::new("-") {
        image::ImageFormat::Png
    } else {
        image::ImageFormat::from_path(path).unwrap_or(image::ImageFormat::Png)
    };
    let buf = image::RgbImage::from_raw(image.width as u32, image.height as u32, image.to_rgb8())
        .ok_or_else(|| Error::Image("decoded buffer has the wrong size".into()))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    buf.write_to(&mut bytes, format)
        .map_err(|e| Error::Image(format!("{}: {e}", path.display())))?;
    write_atomic(path, &bytes.into_inner(), force)
}

fn encode_one(
    codec: &LazyCodec,
    input: &Path,
    output: &Path,
    quality: f32,
    force: bool,
    psnr: bool,
    verbose: bool,
) -> Result<()> {
    // refuse before doing the work, not only when writing
    refuse_overwrite(output, force)?;
    let image = read_image(input)?;
    let codec = codec.get()?;
    codec.context().reset_peak_memory();
    let t = Instant::now();
    let encoded = codec.encode(&image, quality)?;
    let secs = t.elapsed().as_secs_f64();
    write_atomic(output, &encoded.bytes, force)?;
    let pixels = (image.width * image.height) as f64;
    let mut line = format!(
        "{} -> {}: {}x{}, quality {quality}, {} bytes, {:.4} bpp",
        input.display(),
        output.display(),
        image.width,
        image.height,
        encoded.bytes.len(),
        encoded.bytes.len() as f64 * 8.0 / pixels
    );
    if psnr {
        let decoded = codec.decode(&encoded.bytes)?;
        line += &format!(", PSNR {:.2} dB", metrics::psnr(&image, &decoded));
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

fn decode_one(
    codec: &LazyCodec,
    input: &Path,
    output: &Path,
    force: bool,
    verbose: bool,
) -> Result<()> {
    // refuse before doing the work, not only when writing
    refuse_overwrite(output, force)?;
    let bytes = read_input(input)?;
    // a bad file is refused before the weights or the GPU are touched
    format::parse(&bytes, &limits(codec.cli))?;
    let codec = codec.get()?;
    codec.context().reset_peak_memory();
    let t = Instant::now();
    let image = codec.decode(&bytes)?;
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

fn info(path: &Path, limits: &Limits) -> Result<()> {
    let bytes = read_input(path)?;
    let parsed = format::parse(&bytes, limits)?;
    let h = &parsed.header;
    println!("{}:", path.display());
    println!("  format      vaec version {}", format::VERSION);
    println!("  size        {}x{} (8-bit sRGB)", h.width, h.height);
    println!("  quality     {}", h.quality());
    println!("  model       {}", hex(&h.model_id));
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

fn eval(codec: &Codec, dir: &Path, qualities: &[f32], json: bool) -> Result<ExitCode> {
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
    let images: Vec<(PathBuf, Image)> = files
        .iter()
        .map(|f| Ok((f.clone(), read_image(f)?)))
        .collect::<Result<_>>()?;
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
            enc_s += t.elapsed().as_secs_f64();
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
            per_image.push(format!(
                "{{\"file\":\"{}\",\"bytes\":{},\"estimated_bytes\":{:.1},\"bpp\":{b:.5},\"psnr\":{p:.4},\"ms_ssim\":{}}}",
                path.file_name().unwrap_or_default().to_string_lossy(),
                encoded.bytes.len(),
                encoded.estimated_bits / 8.0,
                m.map_or("null".into(), |m| format!("{m:.6}"))
            ));
        }
        let n = images.len() as f64;
        let ms = if n_ms > 0 {
            format!("{:.5}", msssim / n_ms as f64)
        } else {
            "null".into()
        };
        if !json {
            println!(
                "{q:>8} {:>8} {:>9.4} {:>9.3} {:>10} {:>9.3} {:>9.3}",
                images.len(),
                bpp / n,
                psnr / n,
                ms,
                enc_s / n,
                dec_s / n
            );
        }
        rows.push(format!(
            "{{\"quality\":{q},\"bpp\":{:.5},\"psnr\":{:.4},\"ms_ssim\":{ms},\"encode_s\":{:.4},\"decode_s\":{:.4},\"images\":[{}]}}",
            bpp / n,
            psnr / n,
            enc_s / n,
            dec_s / n,
            per_image.join(",")
        ));
    }
    if json {
        println!(
            "{{\"adapter\":\"{}\",\"model\":\"{}\",\"rows\":[{}]}}",
            codec.context().adapter_description().replace('"', "'"),
            hex(&codec.model().id),
            rows.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}
