//! The command line: its commands and options, and the value parsers that refuse a bad size,
//! target or effort with a message when clap reads them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use vaec_gpu::format::Limits;

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Weight file (safetensors) instead of a model compiled into this binary
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "model")]
    pub weights: Option<PathBuf>,
    /// Which compiled-in model encodes (see `vaec-gpu info --models`); default: the first.
    /// Decoding follows the model named in each file unless this or --weights is given
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// GPU backend; default: WGPU_BACKEND, else the first adapter found
    #[arg(long, global = true, value_enum)]
    pub backend: Option<BackendArg>,
    /// Print the adapter, timings and GPU memory
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// GPU memory to stay within: pictures are processed in tiles that fit (e.g. 256MiB, 1GiB)
    #[arg(long, global = true, default_value = "256MiB", value_parser = parse_bytes, value_name = "SIZE")]
    pub memory_budget: u64,
    /// Largest image width x height accepted (raise for huge photos)
    #[arg(long, global = true, default_value_t = Limits::default().max_pixels, value_name = "PIXELS")]
    pub max_pixels: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Vulkan,
    Gl,
    Metal,
    Dx12,
}

#[derive(Subcommand)]
pub enum Command {
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
        #[arg(long, default_value_t = 0, value_parser = parse_effort)]
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
        #[arg(long, default_value_t = 0, value_parser = parse_effort)]
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
        #[arg(long, default_value_t = 0, value_parser = parse_effort)]
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

/// `256MiB`, `1GiB`, `512KiB` or a plain number of bytes.
pub fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
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

/// A size target: a size (see [`parse_bytes`]) of at least one byte.
pub fn parse_target_size(s: &str) -> std::result::Result<u64, String> {
    match parse_bytes(s)? {
        0 => Err(format!("{s:?}: a target size must be at least 1 byte")),
        n => Ok(n),
    }
}

/// A positive finite number (a bits-per-pixel or PSNR target).
pub fn parse_positive(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// An encoder effort, 0 to [`vaec_gpu::codec::MAX_EFFORT`].
pub fn parse_effort(s: &str) -> std::result::Result<u8, String> {
    let max = vaec_gpu::codec::MAX_EFFORT;
    match s.trim().parse::<u8>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(format!("{s:?} is not an effort from 0 to {max}")),
    }
}
