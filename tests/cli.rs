//! The command line on bad input: a one-line error, a non-zero exit, no output file left behind,
//! and no existing file replaced without --force.

mod common;

use std::path::Path;

use common::cli::{assert_fails, assert_succeeds, scratch, vaec};

#[test]
fn missing_and_unreadable_inputs_fail_with_one_line() {
    let dir = scratch("missing");
    let out = vaec(&["encode", dir.join("nope.png").to_str().unwrap()]);
    assert_fails(&out, "nope.png");
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let out = vaec(&["encode", broken.to_str().unwrap()]);
    assert_fails(&out, "broken.png");
    assert!(!dir.join("broken.vaec").exists());
}

#[test]
fn a_wrong_weight_file_names_the_problem() {
    let dir = scratch("weights");
    let weights = dir.join("w.safetensors");
    std::fs::write(&weights, b"not a weight file").unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let output = dir.join("out.vaec");
    let out = vaec(&[
        "--weights",
        weights.to_str().unwrap(),
        "encode",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_fails(&out, "weight file");
    assert!(!output.exists());
}

#[test]
fn round_trip_refuses_to_overwrite_without_force() {
    let dir = scratch("roundtrip");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let coded = dir.join("crop.vaec");
    let out = vaec(&[
        "encode",
        input.to_str().unwrap(),
        "-o",
        coded.to_str().unwrap(),
        "--psnr",
    ]);
    assert_succeeds(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("bpp") && stdout.contains("PSNR"),
        "{stdout}"
    );
    let before = std::fs::read(&coded).unwrap();

    let out = vaec(&[
        "encode",
        input.to_str().unwrap(),
        "-o",
        coded.to_str().unwrap(),
        "--quality",
        "8",
    ]);
    assert_fails(&out, "--force");
    assert_eq!(
        std::fs::read(&coded).unwrap(),
        before,
        "the existing file changed"
    );

    let decoded = dir.join("crop.png");
    let out = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        decoded.to_str().unwrap(),
    ]);
    assert_succeeds(&out);
    let img = image::open(&decoded).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));

    let out = vaec(&["info", coded.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("64x64"));
    // no temporary files left behind
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn batch_mode_reports_bad_files_and_goes_on() {
    let dir = scratch("batch");
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let bad = dir.join("bad.png");
    std::fs::write(&bad, b"garbage").unwrap();
    let outdir = dir.join("out");
    let out = vaec(&[
        "encode",
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
        "-o",
        outdir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        outdir.join("data_crop.vaec").exists(),
        "the good file was not encoded"
    );
    assert!(!outdir.join("bad.vaec").exists());
}

/// A small `.vaec` file made by the command line, in `dir`.
fn coded_crop(dir: &Path) -> std::path::PathBuf {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let coded = dir.join("crop.vaec");
    let out = vaec(&[
        "encode",
        input.to_str().unwrap(),
        "-o",
        coded.to_str().unwrap(),
    ]);
    assert_succeeds(&out);
    coded
}

#[cfg(target_os = "linux")]
#[test]
fn only_regular_files_are_ever_replaced() {
    use std::ffi::CString;
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("special");
    let coded = coded_crop(&dir);
    let decode = |out: &Path, force: bool| {
        let mut args = vec![
            "decode",
            coded.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        vaec(&args)
    };
    // a FIFO: refused even with --force, and still a FIFO afterwards
    let fifo = dir.join("fifo.png");
    let c = CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: plain syscall on a path we own
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    assert_fails(&decode(&fifo, true), "not a regular file");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    // a device node (a copy of /dev/null) where the test may make one, else /dev/null by a link
    let device = dir.join("device.png");
    let c = CString::new(device.to_str().unwrap()).unwrap();
    // SAFETY: as above; makedev(1, 3) is /dev/null's number
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) } == 0;
    if !made {
        std::os::unix::fs::symlink("/dev/null", &device).unwrap();
    }
    assert_fails(&decode(&device, true), "not a regular file");
    let meta = std::fs::metadata(&device).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "the device node was replaced"
    );
    // a directory named like an output
    let folder = dir.join("folder.png");
    std::fs::create_dir(&folder).unwrap();
    assert_fails(&decode(&folder, true), "not a regular file");
}

#[cfg(unix)]
#[test]
fn symlinks_are_written_through_only_with_force() {
    let dir = scratch("symlink");
    let coded = coded_crop(&dir);
    let target = dir.join("target.png");
    std::fs::write(&target, b"keep").unwrap();
    let link = dir.join("link.png");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let decode = |force: bool| {
        let mut args = vec![
            "decode",
            coded.to_str().unwrap(),
            "-o",
            link.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        vaec(&args)
    };
    assert_fails(&decode(false), "symbolic link");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    let out = decode(true);
    assert_succeeds(&out);
    // the link is still a link, and the file it points to holds the picture
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(image::open(&target).unwrap().width(), 64);
    // a dangling link is not replaced without --force either
    let dangling = dir.join("dangling.png");
    std::os::unix::fs::symlink(dir.join("nowhere.png"), &dangling).unwrap();
    let out = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        dangling.to_str().unwrap(),
    ]);
    assert_fails(&out, "symbolic link");
    assert!(!dir.join("nowhere.png").exists());
}

#[test]
fn outputs_are_named_and_formatted_as_asked() {
    let dir = scratch("formats");
    let coded = coded_crop(&dir);
    let out = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        dir.join("x.xyz").to_str().unwrap(),
    ]);
    assert_fails(&out, "unknown output extension");
    let ppm = dir.join("x.ppm");
    let out = vaec(&[
        "decode",
        coded.to_str().unwrap(),
        "-o",
        ppm.to_str().unwrap(),
    ]);
    assert_succeeds(&out);
    assert_eq!(&std::fs::read(&ppm).unwrap()[..2], b"P6");
    // an existing folder as the output of one input: a clear error, with or without --force
    let folder = dir.join("pictures");
    std::fs::create_dir(&folder).unwrap();
    for force in [false, true] {
        let mut args = vec![
            "decode",
            coded.to_str().unwrap(),
            "-o",
            folder.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        assert_fails(&vaec(&args), "is a directory");
    }
}

#[test]
fn batch_outputs_that_collide_are_refused_before_anything_is_written() {
    let dir = scratch("collide");
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let img = image::open(&crop).unwrap();
    img.save(dir.join("a.bmp")).unwrap();
    img.save(dir.join("a.tiff")).unwrap();
    let outdir = dir.join("out");
    let out = vaec(&[
        "encode",
        dir.join("a.bmp").to_str().unwrap(),
        dir.join("a.tiff").to_str().unwrap(),
        "-o",
        outdir.to_str().unwrap(),
        "--force",
    ]);
    assert_fails(&out, "would both be written to");
    assert!(!outdir.join("a.vaec").exists());
    let out = vaec(&["encode", "-", "-"]);
    assert_fails(&out, "standard input");
}

#[test]
fn a_truncated_jpeg_is_an_error_that_names_the_file() {
    let dir = scratch("truncated");
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let jpeg = dir.join("half.jpg");
    image::open(&crop).unwrap().to_rgb8().save(&jpeg).unwrap();
    let bytes = std::fs::read(&jpeg).unwrap();
    std::fs::write(&jpeg, &bytes[..bytes.len() / 2]).unwrap();
    let out = vaec(&["encode", jpeg.to_str().unwrap()]);
    assert_fails(&out, "half.jpg");
    assert!(!dir.join("half.vaec").exists());
}

#[test]
fn an_adapter_name_that_matches_nothing_is_one_line_not_a_panic() {
    let dir = scratch("adapter");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaec-gpu"))
        .args([
            "encode",
            input.to_str().unwrap(),
            "-o",
            dir.join("x.vaec").to_str().unwrap(),
        ])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("WGPU_ADAPTER_NAME", "nomatch")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_fails(&out, "WGPU_ADAPTER_NAME");
}

#[test]
fn reconstruct_with_random_weights_takes_n_comma_m_and_refuses_huge_ones() {
    let dir = scratch("random");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let output = dir.join("r.png");
    let run = |nm: &str| {
        vaec(&[
            "reconstruct",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--random",
            nm,
            "--force",
        ])
    };
    let out = run("12,16");
    assert_succeeds(&out);
    assert_fails(&run("100000,100000"), "expected N,M");
}

#[test]
fn eval_reports_a_bad_picture_and_goes_on() {
    let dir = scratch("eval");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png"),
        dir.join("a.png"),
    )
    .unwrap();
    std::fs::write(dir.join("b.png"), b"not a picture").unwrap();
    let out = vaec(&["eval", dir.to_str().unwrap(), "--quality", "3", "--json"]);
    assert!(
        !out.status.success(),
        "a bad picture must show in the exit status"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rows"][0]["images"].as_array().unwrap().len(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("b.png"));
}

#[test]
fn an_input_is_never_written_over_even_with_force() {
    let dir = scratch("over-input");
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let input = dir.join("s.png");
    std::fs::copy(&crop, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let encode = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "encode",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--force",
        ];
        args.extend_from_slice(extra);
        vaec(&args)
    };
    // by its own name (asked to allow any extension, so that only the overwrite guard refuses)
    assert_fails(
        &encode(&input, &["--any-extension"]),
        "written over the input",
    );
    // through a symbolic link and through a hard link named .vaec
    #[cfg(unix)]
    {
        let link = dir.join("link.vaec");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        assert_fails(&encode(&link, &[]), "written over the input");
        let hard = dir.join("hard.vaec");
        std::fs::hard_link(&input, &hard).unwrap();
        assert_fails(&encode(&hard, &[]), "written over the input");
    }
    assert_eq!(std::fs::read(&input).unwrap(), before, "the input changed");
    // decode's input is protected the same way
    let coded = coded_crop(&dir);
    let coded_before = std::fs::read(&coded).unwrap();
    #[cfg(unix)]
    {
        let link = dir.join("coded.png");
        std::os::unix::fs::symlink(&coded, &link).unwrap();
        let out = vaec(&[
            "decode",
            coded.to_str().unwrap(),
            "-o",
            link.to_str().unwrap(),
            "--force",
        ]);
        assert_fails(&out, "written over the input");
    }
    assert_eq!(std::fs::read(&coded).unwrap(), coded_before);
}

#[test]
fn encode_refuses_an_output_not_named_vaec_unless_asked() {
    let dir = scratch("encode-ext");
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let jpg = dir.join("photo.jpg");
    let out = vaec(&[
        "encode",
        crop.to_str().unwrap(),
        "-o",
        jpg.to_str().unwrap(),
    ]);
    assert_fails(&out, "--any-extension");
    assert!(!jpg.exists());
    let out = vaec(&[
        "encode",
        crop.to_str().unwrap(),
        "-o",
        jpg.to_str().unwrap(),
        "--any-extension",
    ]);
    assert_succeeds(&out);
    assert_eq!(&std::fs::read(&jpg).unwrap()[..4], b"VAEC");
    // upper case is a .vaec name too
    let upper = dir.join("PHOTO.VAEC");
    assert_succeeds(&vaec(&[
        "encode",
        crop.to_str().unwrap(),
        "-o",
        upper.to_str().unwrap(),
    ]));
}

#[test]
fn targets_and_effort_are_checked_when_the_command_line_is_read() {
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let dir = scratch("targets");
    let out = dir.join("t.vaec");
    for (flag, value, why) in [
        ("--target-size", "0", "at least 1 byte"),
        ("--target-size", "-5", "is not a size"),
        ("--target-bpp", "NaN", "not a positive number"),
        ("--target-bpp", "-1", "not a positive number"),
        ("--target-psnr", "inf", "not a positive number"),
        ("--effort", "4", "not an effort from 0 to 3"),
        ("--effort", "one", "not an effort from 0 to 3"),
    ] {
        let o = vaec(&[
            "encode",
            crop.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            flag,
            value,
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(why),
            "{flag} {value}: {err}"
        );
        assert!(!out.exists());
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = scratch("pipe");
    let coded = coded_crop(&dir);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vaec-gpu"))
        .args(["info", coded.to_str().unwrap(), coded.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the first line
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && err.is_empty(), "{err}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}

#[cfg(target_os = "linux")]
#[test]
fn no_noise_from_the_drivers_without_a_runtime_dir() {
    let dir = scratch("quiet");
    let crop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data_crop.png");
    let coded = dir.join("q.vaec");
    for backend in ["vulkan", "gl"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vaec-gpu"))
            .args(["--backend", backend, "encode", crop.to_str().unwrap()])
            .args(["-o", coded.to_str().unwrap(), "--force"])
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .unwrap();
        assert_succeeds(&out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.is_empty(), "{backend}: {err}");
    }
}
