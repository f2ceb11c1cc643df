//! The crate's error type: bad input, limits, caller misuse and GPU problems are separate variants,
//! so that callers (and tests) can tell them apart.

use std::path::PathBuf;

use crate::entropy::EntropyError;

/// Everything that can go wrong in vaec-gpu.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The weight file is not a usable vaec-gpu model.
    #[error("weight file: tensor `{tensor}`: {problem}")]
    Weights {
        /// The tensor at fault (or `*` for the whole file).
        tensor: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An image could not be decoded or is unusable.
    #[error("image: {0}")]
    Image(String),
    /// A `.vaec` file is malformed, corrupt or truncated.
    #[error("bad .vaec file: {0}")]
    Format(String),
    /// A substream of a `.vaec` file does not decode (or a value cannot be coded).
    #[error("bad .vaec file: substream {stream}: {source}")]
    Entropy {
        /// The substream (0 is z, then the y substreams in file order).
        stream: usize,
        /// What the entropy coder found.
        source: EntropyError,
    },
    /// The file was made with other weights than the decoder's.
    #[error("the file was encoded with model {file}, but the decoder has model {loaded}")]
    ModelMismatch {
        /// Model id in the file (hex).
        file: String,
        /// Model id of the loaded weights (hex).
        loaded: String,
    },
    /// A size or count exceeds a configured limit.
    #[error("{what} is {value}, above the limit of {limit}")]
    Limit {
        /// What was measured.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The limit in force.
        limit: u64,
    },
    /// No quality meets a rate-control target; says what the nearest quality gives.
    #[error("no quality reaches the target: {0}")]
    TargetOutOfReach(String),
    /// The caller passed arguments that cannot work together.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No GPU adapter could be found.
    #[error("no GPU adapter found ({0})")]
    NoAdapter(String),
    /// The GPU device could not be created, or reported an error.
    #[error("GPU: {0}")]
    Gpu(String),
    /// The GPU ran out of memory even with the smallest tiles; a lower memory budget or a
    /// smaller picture may help.
    #[error("GPU out of memory: {0}")]
    GpuOutOfMemory(String),
    /// The GPU device was lost (driver reset, device removed or destroyed); a new
    /// [`crate::GpuContext`] is needed.
    #[error("GPU device lost: {0}")]
    DeviceLost(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn weights(tensor: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Weights {
            tensor: tensor.into(),
            problem: problem.into(),
        }
    }
}
