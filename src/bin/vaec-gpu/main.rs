//! `vaec-gpu`: the command-line codec over the library. This file holds the options, the
//! dispatch and the wording a person at a terminal needs; `batch.rs` runs many inputs, `io.rs`
//! reads and writes files, `eval.rs` measures rate and distortion.

mod args;
mod batch;
mod embed;
mod eval;
mod files;
mod input_meta;
mod io;
mod picture;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use vaec_gpu::format::Limits;
use vaec_gpu::Target;
use vaec_gpu::{
    metrics, Backend, Codec, CodecOptions, Error, GpuContext, Image, Model, Picture, Result,
};

use args::{parse_bytes, parse_positive, parse_target_size};
use batch::{batch, exit_code, LazyCodec};
use files::{decode_one, encode_one, info, list_models, EncodeFlags, Rate};
use io::{output_format, output_target};
use picture::{read_image, write_picture};

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
    /// Weight file (safetensors) instead of a model compiled into this binary
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "model")]
    weights: Option<PathBuf>,
    /// Which compiled-in model encodes (see `vaec-gpu info --models`); default: the first.
    /// Decoding follows the model named in each file unless this or --weights is given
    #[arg(long, global = true, value_name = "NAME")]
    model: Option<String>,
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
        /// Instead of --quality: the best quality whose file is at most SIZE (bytes, or KiB,
        /// MiB), found by a search over the qualities on the real file (g_a runs once); the alpha
        /// plane and metadata count towards it
        #[arg(long, value_parser = parse_target_size, value_name = "SIZE", allow_hyphen_values = true,
              conflicts_with_all = ["quality", "target_bpp", "target_psnr"])]
        target_size: Option<u64>,
        /// Instead of --quality: the best quality whose file has at most BPP bits per pixel
        #[arg(long, value_name = "BPP", value_parser = parse_positive, allow_hyphen_values = true,
              conflicts_with_all = ["quality", "target_psnr"])]
        target_bpp: Option<f64>,
        /// Instead of --quality: the smallest file whose decoded picture has a PSNR of at least
        /// DB (each try decodes, so this is slower than a size target)
        #[arg(long, value_name = "DB", value_parser = parse_positive, allow_hyphen_values = true,
              conflicts_with = "quality")]
        target_psnr: Option<f64>,
        /// Overwrite existing outputs (regular files only: a directory, device or pipe is never
        /// replaced); an output that is a symbolic link is refused without this, and with it the
        /// file the link points to is written
        #[arg(short, long)]
        force: bool,
        /// Write to an output whose name does not end in .vaec (refused by default, so that a
        /// slip such as `-o photo.jpg` does not leave .vaec bytes under a picture's name)
        #[arg(long)]
        any_extension: bool,
        /// Also decode the result and print its PSNR
        #[arg(long)]
        psnr: bool,
        /// Leave out the ICC profile, EXIF and XMP (kept by default and written back on decode;
        /// alpha is always kept)
        #[arg(long)]
        strip: bool,
        /// Keep the colour under fully transparent pixels as it is; by default it is replaced
        /// by a smooth fill that costs next to nothing (nobody sees it)
        #[arg(long)]
        exact: bool,
        /// How hard the encoder searches, 0 (fast, the default) to 3: above 0 the latents are
        /// optimized for the picture on the GPU before coding (slower encodes, smaller files or
        /// better pictures; any decoder reads them)
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=vaec_gpu::codec::MAX_EFFORT as i64))]
        effort: u8,
    },
    /// Decode .vaec files to images (format from the output's extension; default PNG), with
    /// their alpha, grayscale, ICC profile, EXIF and XMP where the format holds them
    Decode {
        /// Input .vaec files, or - for standard input
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file (one input), directory (several), or - for standard output (PNG);
        /// default: the input's name with .png
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Overwrite existing outputs (regular files only: a directory, device or pipe is never
        /// replaced); an output that is a symbolic link is refused without this, and with it the
        /// file the link points to is written
        #[arg(short, long)]
        force: bool,
    },
    /// Print the header of .vaec files, or (--models) the models compiled into this binary
    Info {
        /// .vaec files
        #[arg(required_unless_present = "models")]
        inputs: Vec<PathBuf>,
        /// List the compiled-in models: name, widths, entropy model, decoder cost, identity
        #[arg(long)]
        models: bool,
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
        /// Encoder effort (0 to 3), as for encode
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=vaec_gpu::codec::MAX_EFFORT as i64))]
        effort: u8,
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
        /// Encoder effort to time (0 to 3): above 0 the report has the time of one step of the
        /// encoder's latent search
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=vaec_gpu::codec::MAX_EFFORT as i64))]
        effort: u8,
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
        #[arg(long, value_name = "N,M", value_delimiter = ',')]
        random: Option<Vec<usize>>,
        /// Overwrite an existing output (regular files only: a directory, device or pipe is never
        /// replaced); an output that is a symbolic link is refused without this, and with it the
        /// file the link points to is written
        #[arg(short, long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    // a reader that closes the pipe early (`| head`) ends the program quietly, as it does for
    // other command-line tools, instead of a panic on the next line printed
    #[cfg(unix)]
    // SAFETY: at the start of main, before any thread: sets the default action of one signal
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    quiet_runtime_dir();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vaec-gpu: {}", explain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Mesa's Vulkan and GL drivers print "XDG_RUNTIME_DIR is invalid or not set" (through
/// libwayland) when the variable is unset, as on servers and in containers: give them a private
/// one (made with mode 0700, as the spec asks) so that the program makes no noise of others.
fn quiet_runtime_dir() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        use std::os::unix::fs::DirBuilderExt;
        // SAFETY: getuid has no preconditions
        let uid = unsafe { libc::getuid() };
        let dir = std::env::temp_dir().join(format!("vaec-gpu-runtime-{uid}"));
        let made = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        let owned = std::fs::symlink_metadata(&dir).is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.is_dir() && m.uid() == uid && m.mode() & 0o777 == 0o700
        });
        if made.is_ok() || owned {
            // SAFETY: at the start of main, before any thread reads the environment
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
}

/// `path: ` and [`explain`]'s line, naming the path once even when the error names it already.
pub(crate) fn explain_for(path: &std::path::Path, e: &Error) -> String {
    let line = explain(e);
    let name = path.display().to_string();
    if line.starts_with(&name) {
        line
    } else {
        format!("{name}: {line}")
    }
}

/// The error, with what a person at the terminal can do about it (on the same line: scripts read
/// one line per failure).
pub(crate) fn explain(e: &Error) -> String {
    let hint = match e {
        Error::ModelMismatch { .. } => {
            "; decode with the weights it was encoded with (--weights FILE)"
        }
        Error::NoAdapter(why) if why.contains("none found") => {
            "; on Linux without a GPU, install Mesa's lavapipe: apt-get install mesa-vulkan-drivers"
        }
        Error::GpuOutOfMemory(_) => "; try a lower --memory-budget",
        Error::Limit { what, .. } if what.contains("GPU memory") => "; raise --memory-budget",
        Error::Limit { what, .. } if what.contains("pixel") => "; raise --max-pixels",
        _ => "",
    };
    format!("{e}{hint}")
}

/// The model: --weights, else --model, else the shipped model that made the file (`file_model`,
/// when decoding), else the default.
fn load_model(cli: &Cli, file_model: Option<&[u8; 16]>) -> Result<Model> {
    if let Some(p) = &cli.weights {
        return Model::load(p);
    }
    if let Some(name) = &cli.model {
        return Model::builtin_named(name);
    }
    match file_model.and_then(Model::builtin_with_id) {
        Some(model) => model,
        None => Model::builtin(),
    }
}

/// The codec, opened on first use with the model [`load_model`] picks.
fn lazy_codec(cli: &Cli, effort: u8) -> LazyCodec<'_> {
    let follow_files = cli.weights.is_none() && cli.model.is_none();
    LazyCodec::new(
        move |file_model| open_codec_with(cli, load_model(cli, file_model)?, false, effort),
        follow_files,
    )
}

fn open_codec(cli: &Cli, model: Model) -> Result<Codec> {
    open_codec_with(cli, model, false, 0)
}

fn open_codec_with(cli: &Cli, model: Model, portable_kernels: bool, effort: u8) -> Result<Codec> {
    let backend = cli.backend.map(|b| match b {
        BackendArg::Vulkan => Backend::Vulkan,
        BackendArg::Gl => Backend::Gl,
        BackendArg::Metal => Backend::Metal,
        BackendArg::Dx12 => Backend::Dx12,
    });
    let ctx = GpuContext::new(backend)?;
    if cli.verbose {
        eprintln!("adapter: {}", ctx.adapter_description());
    }
    let options = CodecOptions {
        limits: limits(cli),
        memory_budget: cli.memory_budget,
        portable_kernels,
        effort,
    };
    Codec::with_options(ctx, model, options)
}

fn limits(cli: &Cli) -> Limits {
    Limits {
        max_pixels: cli.max_pixels,
        ..Limits::default()
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Info { inputs, models } => {
            if *models {
                list_models()?;
            }
            let mut failed = 0;
            for path in inputs {
                if let Err(e) = info(path, &limits(&cli)) {
                    eprintln!("vaec-gpu: {}", explain_for(path, &e));
                    failed += 1;
                }
            }
            Ok(exit_code(failed))
        }
        Command::Encode {
            inputs,
            output,
            quality,
            target_size,
            target_bpp,
            target_psnr,
            force,
            any_extension,
            psnr,
            strip,
            exact,
            effort,
        } => {
            let rate = match (target_size, target_bpp, target_psnr) {
                (Some(bytes), _, _) => Rate::Target(Target::Bytes(*bytes)),
                (_, Some(bpp), _) => Rate::Target(Target::BitsPerPixel(*bpp)),
                (_, _, Some(db)) => Rate::Target(Target::Psnr(*db)),
                _ => Rate::Quality(*quality),
            };
            let codec = lazy_codec(&cli, *effort);
            let images = [
                "png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "ppm", "pgm", "pnm",
            ];
            let limits = limits(&cli);
            batch(inputs, output.as_deref(), &images, "vaec", |input, out| {
                let flags = EncodeFlags {
                    force: *force,
                    any_extension: *any_extension,
                    psnr: *psnr,
                    verbose: cli.verbose,
                    strip: *strip,
                    exact: *exact,
                };
                encode_one(&codec, &limits, (input, out), rate, flags)
            })
        }
        Command::Decode {
            inputs,
            output,
            force,
        } => {
            let codec = lazy_codec(&cli, 0);
            let limits = limits(&cli);
            batch(inputs, output.as_deref(), &["vaec"], "png", |input, out| {
                decode_one(&codec, &limits, input, out, *force, cli.verbose)
            })
        }
        Command::Eval {
            dir,
            quality,
            json,
            effort,
        } => {
            let codec = open_codec_with(&cli, load_model(&cli, None)?, false, *effort)?;
            eval::eval(&codec, dir, quality, *json, &limits(&cli), cli.verbose)
        }
        Command::Bench {
            image,
            size,
            quality,
            iterations,
            json,
            portable_kernels,
            peak_gflops,
            effort,
        } => {
            let codec = open_codec_with(&cli, load_model(&cli, None)?, *portable_kernels, *effort)?;
            let picture = match image {
                Some(p) => read_image(p, &limits(&cli))?,
                None => synthetic_picture(size)?,
            };
            let mut report =
                vaec_gpu::bench::run(&codec, &picture, *quality, (*iterations).max(1))?;
            report.peak_gflops = *peak_gflops;
            if *json {
                let json = serde_json::to_string(&report)
                    .map_err(|e| Error::InvalidArgument(format!("bench report: {e}")))?;
                println!("{json}");
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
                Some(nm) => random_model(nm)?,
                None => load_model(&cli, None)?,
            };
            let codec = open_codec(&cli, model)?;
            output_target(output, *force)?;
            output_format(output)?;
            let image = read_image(input, &limits(&cli))?;
            let t = Instant::now();
            let out = codec.reconstruct(&image, *quality)?;
            let secs = t.elapsed().as_secs_f64();
            let out = Picture::from(out);
            write_picture(&out, output, *force)?;
            let out = out.image;
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

/// The largest N or M of a random model: wider layers only make `reconstruct --random` allocate
/// gigabytes of weights.
const MAX_RANDOM_CHANNELS: usize = 512;

/// A random model of `N,M` channels (`reconstruct --random`).
fn random_model(nm: &[usize]) -> Result<Model> {
    match nm {
        &[n, m]
            if (1..=MAX_RANDOM_CHANNELS).contains(&n) && (1..=MAX_RANDOM_CHANNELS).contains(&m) =>
        {
            Ok(Model::random(n, m, 8, 1))
        }
        _ => Err(Error::InvalidArgument(format!(
            "--random {nm:?}: expected N,M with each in 1..={MAX_RANDOM_CHANNELS}"
        ))),
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
    vaec_gpu::bench::synthetic_picture(w, h)
}

fn limits_default_check(w: usize, h: usize) -> Result<()> {
    Limits::default().check(w as u64, h as u64)
}
