//! Reading inputs and writing outputs: standard input and output as `-`, reads capped by the
//! pixel limit, output formats by extension, and atomic writes that never replace anything but a
//! regular file, and that only when asked. Pictures themselves are `picture.rs`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use vaec_gpu::format::Limits;
use vaec_gpu::{Error, Result};

/// The most bytes an input may have for `limits`: a picture of the largest size at 16 bits per
/// sample with alpha, stored uncompressed, with room for headers and metadata.
pub fn max_input_bytes(limits: &Limits) -> u64 {
    limits.max_pixels.saturating_mul(8).saturating_add(16 << 20)
}

/// The bytes of `path`, or of standard input for `-`, refused beyond `max_bytes`.
pub fn read_input(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut buf = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(max_bytes + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(max_bytes + 1).read_to_end(&mut buf))
    };
    read.map_err(io)?;
    if buf.len() as u64 > max_bytes {
        return Err(Error::Limit {
            what: "input size (bytes)",
            value: buf.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(buf)
}

/// Where an output really goes: `path`, or for a symlink (with `force`) the file it points to.
/// Refuses an existing output without `force`, a symlink without `force`, and anything that
/// is not a regular file (a directory, device, FIFO or socket) even with it.
pub fn output_target(path: &Path, force: bool) -> Result<PathBuf> {
    if path == Path::new("-") {
        return Ok(path.into());
    }
    let refuse = |why: String| Err(Error::InvalidArgument(format!("{}: {why}", path.display())));
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(path.into()); // nothing there
    };
    let target = if meta.file_type().is_symlink() {
        if !force {
            return refuse(
                "is a symbolic link; pass --force to write the file it points to".into(),
            );
        }
        let target = std::fs::read_link(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let target = match target.is_absolute() {
            true => target,
            false => path.parent().unwrap_or(Path::new(".")).join(target),
        };
        match std::fs::metadata(&target) {
            Err(_) => return Ok(target), // a dangling link: the file it names is created
            Ok(m) if m.is_file() => return Ok(target),
            Ok(_) => {
                return refuse(format!(
                    "points to {}, which is not a regular file",
                    target.display()
                ))
            }
        }
    } else {
        path.to_path_buf()
    };
    if meta.is_dir() {
        return refuse(
            "is a directory, not a regular file (name a file, or give several inputs to write into a folder)"
                .into(),
        );
    }
    if !meta.is_file() {
        return refuse(
            "exists and is not a regular file (a device or pipe is never replaced)".into(),
        );
    }
    if !force {
        return refuse("exists; pass --force to overwrite it".into());
    }
    Ok(target)
}

/// Whether `a` and `b` are the same file, also through a symbolic or hard link: on Unix the same
/// device and inode, elsewhere the same canonical path. A path that does not exist is no file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Writes `data` to `path` through a temporary file renamed into place, so that a failure never
/// leaves a half-written output; see [`output_target`] for what may be replaced.
pub fn write_atomic(path: &Path, data: &[u8], force: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out.write_all(data).and_then(|_| out.flush()).map_err(io);
    }
    let target = output_target(path, force)?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// The picture formats `decode` writes, by extension.
pub const OUTPUT_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "ppm"];

/// The format of an output path: from its extension (`-` is PNG); an unknown one is an error.
pub fn output_format(path: &Path) -> Result<image::ImageFormat> {
    if path == Path::new("-") {
        return Ok(image::ImageFormat::Png);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !OUTPUT_EXTENSIONS.contains(&ext.as_str()) {
        return Err(Error::InvalidArgument(format!(
            "{}: unknown output extension {ext:?} (use {})",
            path.display(),
            OUTPUT_EXTENSIONS.join(", ")
        )));
    }
    image::ImageFormat::from_extension(&ext)
        .ok_or_else(|| Error::InvalidArgument(format!("{}: no encoder for .{ext}", path.display())))
}
