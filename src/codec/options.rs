//! Everything a [`super::Codec`] can be configured with, given once at construction.

use crate::format::Limits;

/// GPU memory the codec plans to stay within by default.
pub const DEFAULT_MEMORY_BUDGET: u64 = 256 << 20;

/// How a [`super::Codec`] works: size limits, GPU memory budget, kernel variant, encoder effort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecOptions {
    /// The largest pictures encode and decode accept (checked before anything is allocated).
    pub limits: Limits,
    /// GPU memory to stay within, in bytes: pictures are processed in tiles small enough that
    /// the codec's GPU buffers (weights included) fit.
    pub memory_budget: u64,
    /// Use the portable kernels even where the adapter has subgroups (a baseline for benchmarks).
    pub portable_kernels: bool,
    /// How hard the encoder searches (0 = today's encoder, the same bytes; up to
    /// [`super::MAX_EFFORT`]): the latents are optimized for the picture on the GPU before they
    /// are coded ([`super::Schedule::of`] gives the steps). Decoders are the same at every effort.
    pub effort: u8,
}

impl Default for CodecOptions {
    fn default() -> Self {
        CodecOptions {
            limits: Limits::default(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
            portable_kernels: false,
            effort: 0,
        }
    }
}
