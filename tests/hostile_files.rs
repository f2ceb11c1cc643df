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
