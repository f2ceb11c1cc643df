//! Hostile `.vaec` files on the command line: random bytes, an empty file, a PNG renamed `.vaec`
//! and headers claiming huge pictures are refused with one line, no output and a few MiB of
//! memory. Its own test binary: a child's peak resident memory (wait4) includes its parent's at
//! the fork, so the parent must stay small (no GPU, no other tests).

mod common;

use std::path::Path;
use std::process::Command;

use common::cli::{assert_fails, header_claiming, scratch, vaec};

#[test]
fn bad_vaec_files_fail_with_one_line() {
    let dir = scratch("bad");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "random.vaec",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "bad magic",
        ),
        ("empty.vaec", vec![], "bad magic"),
        (
            "png.vaec",
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png"))
                .unwrap(),
            "bad magic",
        ),
        (
            "huge.vaec",
            header_claiming(100_000, 100_000),
            "width is 100000",
        ),
        ("wide.vaec", header_claiming(30_000, 30_000), "pixel count"),
    ];
    for (name, bytes, needle) in cases {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let output = dir.join(format!("{name}.png"));
        let args = [
            "decode",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ];
        let out = vaec(&args);
        assert_fails(&out, needle);
        assert!(!output.exists(), "{name}: an output was written");
        #[cfg(target_os = "linux")]
        {
            // refused before the weights, a GPU or any buffer of the claimed size exists
            let (seconds, peak_kib) = peak_resident_kib(&args);
            eprintln!("{name}: refused in {seconds:.3} s, peak resident memory {peak_kib} KiB");
            assert!(peak_kib < 16 * 1024, "{name}: {peak_kib} KiB resident");
        }
    }
    a_png_claiming_a_huge_picture_is_refused_before_decoding();
}

/// Runs vaec-gpu and returns its wall time and its own peak resident memory (wait4's rusage).
#[cfg(target_os = "linux")]
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's wait() cannot replace here
fn peak_resident_kib(args: &[&str]) -> (f64, i64) {
    let start = std::time::Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_vaec-gpu"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: plain syscall on our own child; rusage is written by the kernel
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        usage
    };
    (start.elapsed().as_secs_f64(), usage.ru_maxrss)
}

/// A small PNG whose header declares a picture far above the pixel limit: signature, IHDR and one
/// IDAT chunk of zeros (the start of the pixel data), as a damaged or malicious file would be.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    // a zlib stream with one stored block of zeros, not the last
    let len: u16 = 60_000;
    let mut idat = vec![0x78, 0x01, 0x00];
    idat.extend_from_slice(&len.to_le_bytes());
    idat.extend_from_slice(&(!len).to_le_bytes());
    idat.resize(idat.len() + len as usize, 0);
    chunk(&mut out, b"IDAT", &idat);
    out
}

/// Run from the test above, so that no other test shares the parent process while it measures.
fn a_png_claiming_a_huge_picture_is_refused_before_decoding() {
    let dir = scratch("bigpng");
    let input = dir.join("huge.png");
    std::fs::write(&input, png_claiming(13370, 13370)).unwrap();
    let output = dir.join("huge.vaec");
    let args = [
        "encode",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    let out = vaec(&args);
    assert_fails(&out, "pixel count");
    assert!(!output.exists());
    #[cfg(target_os = "linux")]
    {
        let (seconds, peak_kib) = peak_resident_kib(&args);
        eprintln!("huge.png: refused in {seconds:.3} s, peak resident memory {peak_kib} KiB");
        assert!(peak_kib < 100 * 1024, "{peak_kib} KiB resident");
    }
}
