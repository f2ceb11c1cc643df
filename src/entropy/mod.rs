//! Entropy coding on the CPU: a 64-bit-state rANS coder with 16-bit CDF tables, escape symbols
//! with 4-bit bypass chunks for values outside a table (the scheme of CompressAI's rANS coder),
//! and the model's tables for z (factorized) and y (Gaussian, one table per scale index).

mod rans;

pub use rans::{decode_symbols, encode_symbols, estimate_bits, CdfTables, EntropyError, MAX_LANES};
