//! Value parsers for the command line: sizes and targets, refused with a message when clap
//! reads them.

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
