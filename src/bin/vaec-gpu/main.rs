//! `vaec-gpu`: the command-line codec over the library. This file holds the dispatch and the
//! wording a person at a terminal needs; `args.rs` the options, `batch.rs` runs many inputs, `io.rs`
//! reads and writes files, `eval.rs` measures rate and distortion.

mod args;
mod batch;
mod embed;
mod eval;
mod files;
mod input_meta;
mod io;
mod picture;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use vaec_gpu::format::Limits;
use vaec_gpu::Target;
use vaec_gpu::{
    metrics, Backend, Codec, CodecOptions, Error, GpuContext, Image, Model, Picture, Result,
};

use args::{BackendArg, Cli, Command};
use batch::{batch, exit_code, LazyCodec};
use files::{decode_one, encode_one, info, list_models, EncodeFlags, Rate};
use io::{output_format, output_target};
use picture::{read_image, write_picture};

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
