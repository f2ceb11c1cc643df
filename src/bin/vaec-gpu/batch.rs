//! Many inputs in one run: folders expanded, one output per input, a progress bar on a terminal,
//! and one bad input reported while the rest go on.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use vaec_gpu::{Codec, Error, Model, Result};

/// Opens a codec, for a file made by the model with this identity if given.
type Opener<'a> = dyn Fn(Option<&[u8; 16]>) -> Result<Codec> + 'a;

/// The codec, opened on first use: a batch whose inputs are all bad (unreadable pictures, corrupt
/// or hostile `.vaec` headers) fails fast and small, without loading the weights or a GPU. When
/// the model follows the files (no --weights or --model), a file made by another shipped model
/// reopens the codec with that one.
pub struct LazyCodec<'a> {
    open: Box<Opener<'a>>,
    follow_files: bool,
    codec: RefCell<Option<Codec>>,
}

impl<'a> LazyCodec<'a> {
    pub fn new(open: impl Fn(Option<&[u8; 16]>) -> Result<Codec> + 'a, follow_files: bool) -> Self {
        LazyCodec {
            open: Box::new(open),
            follow_files,
            codec: RefCell::new(None),
        }
    }

    /// Runs `f` with the codec for a file made by model `file_model` (None: for encoding).
    pub fn with<T>(
        &self,
        file_model: Option<&[u8; 16]>,
        f: impl FnOnce(&Codec) -> Result<T>,
    ) -> Result<T> {
        let mut slot = self.codec.borrow_mut();
        let stale = match (slot.as_ref(), file_model) {
            (None, _) => true,
            (Some(codec), Some(id)) => {
                self.follow_files && codec.model().id != *id && Model::builtin_with_id(id).is_some()
            }
            (Some(_), None) => false,
        };
        if stale {
            *slot = None; // its GPU memory goes before the next codec's comes
            *slot = Some((self.open)(file_model)?);
        }
        f(slot.as_ref().expect("opened above"))
    }
}

pub fn exit_code(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `job` on every input with its output path; a failure is reported and the rest go on.
/// All output paths are worked out first: two inputs that would write the same file, or an output
/// that is one of the inputs, are refused before anything is written.
pub fn batch(
    inputs: &[PathBuf],
    output: Option<&Path>,
    input_ext: &[&str],
    ext: &str,
    mut job: impl FnMut(&Path, &Path) -> Result<()>,
) -> Result<ExitCode> {
    let had_folder = inputs.iter().any(|p| p.is_dir());
    let inputs = expand_folders(inputs, input_ext)?;
    let stdin = inputs.iter().filter(|p| *p == Path::new("-")).count();
    if stdin > 0 && inputs.len() > 1 {
        return Err(Error::InvalidArgument(
            "standard input (-) can only be the one input".into(),
        ));
    }
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
    let jobs: Vec<(PathBuf, PathBuf)> = inputs
        .iter()
        .map(|input| {
            let out = match output {
                Some(o) if several => {
                    o.join(default_output(input, ext).file_name().unwrap_or_default())
                }
                Some(o) => o.to_path_buf(),
                None if input == Path::new("-") => PathBuf::from("-"),
                None => default_output(input, ext),
            };
            (input.clone(), out)
        })
        .collect();
    let mut seen = std::collections::HashMap::new();
    for (input, out) in &jobs {
        if let Some(first) = seen.insert(out, input) {
            return Err(Error::InvalidArgument(format!(
                "{} and {} would both be written to {}",
                first.display(),
                input.display(),
                out.display()
            )));
        }
    }
    // an input is never written over, --force or not: by its own name or through a link
    for (_, out) in &jobs {
        let stdio = |p: &Path| p == Path::new("-");
        let victim = inputs
            .iter()
            .find(|i| !stdio(i) && !stdio(out) && crate::io::same_file(i, out));
        if let Some(victim) = victim {
            return Err(Error::InvalidArgument(format!(
                "{} would be written over the input {}; name another output",
                out.display(),
                victim.display()
            )));
        }
    }
    let bar = (several && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .expect("valid template"),
        );
        bar
    });
    let mut failed = 0;
    for (input, out) in &jobs {
        if let Some(bar) = &bar {
            bar.set_message(input.display().to_string());
        }
        if let Err(e) = job(input, out) {
            if matches!(e, Error::Weights { .. } | Error::NoAdapter(_)) {
                // about the weights or the machine, not this input: every other input would fail too
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                return Err(e);
            }
            let line = format!("vaec-gpu: {}", crate::explain_for(input, &e));
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
        eprintln!("vaec-gpu: {failed} of {} inputs failed", jobs.len());
    }
    Ok(exit_code(failed))
}

/// Inputs with every folder replaced by its files whose extension is one of `exts`, sorted.
pub fn expand_folders(inputs: &[PathBuf], exts: &[&str]) -> Result<Vec<PathBuf>> {
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
