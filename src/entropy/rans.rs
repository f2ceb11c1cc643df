//! rANS with 64-bit states and 32-bit renormalization words (as ryg's rans64, which CompressAI
//! uses), 16-bit probabilities, and up to four interleaved states ("lanes") sharing one word
//! stream: symbol i uses state i % lanes, so the decoder works on that many independent dependency
//! chains at once. Each lane costs its 8-byte final state, so tiny streams use one. Symbols are
//! encoded in reverse, so the decoder reads forwards.

/// Bits of probability precision of the CDF tables.
pub const PRECISION: u32 = 16;
/// Bits per bypass chunk (raw bits of escaped values).
const BYPASS_BITS: u32 = 4;
const BYPASS_MAX: u32 = (1 << BYPASS_BITS) - 1;
/// Lower bound of the normalized state.
const RANS_L: u64 = 1 << 31;
/// Most interleaved states a stream may have.
pub const MAX_LANES: usize = 4;
/// An escaped value needs at most this many bypass chunks (32 bits); more means a corrupt stream.
const MAX_BYPASS_CHUNKS: u32 = 32 / BYPASS_BITS;

/// A power of two (symbol i's lane is `i & (lanes - 1)`, a mask in the hot loops) up to MAX_LANES.
fn valid_lanes(lanes: usize) -> bool {
    lanes.is_power_of_two() && lanes <= MAX_LANES
}

/// Bits of the decoder's slot -> symbol lookup (a coarse index into each CDF).
const LUT_BITS: u32 = 10;

/// A set of CDF tables, each `[0, ..., 65536]` strictly increasing, the last symbol the escape.
#[derive(Clone, Debug)]
pub struct CdfTables {
    cdfs: Vec<Vec<u32>>,
    offsets: Vec<i32>,
    /// Per table: for each of 2^LUT_BITS slot buckets, the symbol holding the bucket's first slot;
    /// the decoder starts there and steps forward (usually zero or one step) instead of searching.
    luts: Vec<Vec<u16>>,
}

/// A stream that cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntropyError {
    /// The stream ended before all symbols were read.
    #[error("entropy-coded stream is truncated")]
    Truncated,
    /// The stream decodes to an impossible value.
    #[error("entropy-coded stream is corrupt: {0}")]
    Corrupt(&'static str),
    /// A value is too far outside its table to be escaped (more than 2^31 away).
    #[error("value {0} is too large to code")]
    ValueTooLarge(i64),
    /// A symbol names a table that does not exist.
    #[error("table index {index} out of range (0..{count})")]
    BadIndex {
        /// The index.
        index: usize,
        /// The number of tables.
        count: usize,
    },
}

impl CdfTables {
    /// Tables from CDF rows and the value of each table's symbol 0. Rows must be valid CDFs
    /// (checked by the weight loader: 0 first, 65536 last, strictly increasing, length >= 2).
    pub fn new(cdfs: Vec<Vec<u32>>, offsets: Vec<i32>) -> CdfTables {
        assert_eq!(cdfs.len(), offsets.len(), "one offset per table");
        for c in &cdfs {
            assert!(
                c.len() >= 2 && c[0] == 0 && c[c.len() - 1] == 1 << PRECISION && c.len() <= 1 << 16,
                "invalid CDF"
            );
        }
        let luts = cdfs
            .iter()
            .map(|cdf| {
                let shift = PRECISION - LUT_BITS;
                let mut s = 0usize;
                (0..1u32 << LUT_BITS)
                    .map(|b| {
                        let slot = b << shift;
                        while cdf[s + 1] <= slot {
                            s += 1;
                        }
                        s as u16
                    })
                    .collect()
            })
            .collect();
        CdfTables {
            cdfs,
            offsets,
            luts,
        }
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.cdfs.len()
    }

    /// True if there are no tables.
    pub fn is_empty(&self) -> bool {
        self.cdfs.is_empty()
    }

    fn table(&self, index: usize) -> Result<(&[u32], i32), EntropyError> {
        self.cdfs
            .get(index)
            .map(|c| (c.as_slice(), self.offsets[index]))
            .ok_or(EntropyError::BadIndex {
                index,
                count: self.cdfs.len(),
            })
    }
}

/// Splits `symbol` into the table symbol and, for escapes, the raw value to bypass-code.
#[inline]
fn to_table_symbol(
    symbol: i32,
    offset: i32,
    cdf_len: usize,
) -> Result<(u32, Option<u32>), EntropyError> {
    let max_value = (cdf_len - 2) as i64;
    let v = symbol as i64 - offset as i64;
    let raw = if v < 0 {
        -2 * v - 1
    } else if v >= max_value {
        2 * (v - max_value)
    } else {
        return Ok((v as u32, None));
    };
    let raw = u32::try_from(raw).map_err(|_| EntropyError::ValueTooLarge(symbol as i64))?;
    Ok((max_value as u32, Some(raw)))
}

fn bypass_chunks(raw: u32) -> u32 {
    (32 - raw.leading_zeros()).div_ceil(BYPASS_BITS)
}

/// One coding operation: `start` and `freq` in `2^bits`, on state `lane`.
#[derive(Clone, Copy)]
struct Op {
    start: u32,
    freq: u32,
    bits: u32,
    lane: usize,
}

/// Encodes `symbols[i]` with table `indexes[i]` on `lanes` (1, 2 or 4: [`MAX_LANES`])
/// interleaved states. Values outside a table's range are escaped.
pub fn encode_symbols(
    symbols: &[i32],
    indexes: &[u8],
    tables: &CdfTables,
    lanes: usize,
) -> Result<Vec<u8>, EntropyError> {
    assert_eq!(symbols.len(), indexes.len(), "one table index per symbol");
    assert!(valid_lanes(lanes), "1, 2 or 4 lanes");
    let mut ops = Vec::with_capacity(symbols.len() + symbols.len() / 8);
    for (i, (&s, &idx)) in symbols.iter().zip(indexes).enumerate() {
        let lane = i & (lanes - 1);
        let (cdf, offset) = tables.table(idx as usize)?;
        let (v, raw) = to_table_symbol(s, offset, cdf.len())?;
        ops.push(Op {
            start: cdf[v as usize],
            freq: cdf[v as usize + 1] - cdf[v as usize],
            bits: PRECISION,
            lane,
        });
        if let Some(raw) = raw {
            let n = bypass_chunks(raw);
            let mut count = n;
            while count >= BYPASS_MAX {
                ops.push(Op {
                    start: BYPASS_MAX,
                    freq: 1,
                    bits: BYPASS_BITS,
                    lane,
                });
                count -= BYPASS_MAX;
            }
            ops.push(Op {
                start: count,
                freq: 1,
                bits: BYPASS_BITS,
                lane,
            });
            for j in 0..n {
                let chunk = (raw >> (BYPASS_BITS * j)) & BYPASS_MAX;
                ops.push(Op {
                    start: chunk,
                    freq: 1,
                    bits: BYPASS_BITS,
                    lane,
                });
            }
        }
    }
    // rANS is last-in first-out: encode backwards so that the decoder reads in order.
    let mut words: Vec<u32> = Vec::with_capacity(ops.len() / 2 + 2 * lanes);
    let mut states = [RANS_L; MAX_LANES];
    for op in ops.iter().rev() {
        let x = &mut states[op.lane];
        let x_max = ((RANS_L >> op.bits) << 32) * op.freq as u64;
        if *x >= x_max {
            words.push(*x as u32);
            *x >>= 32;
        }
        *x = ((*x / op.freq as u64) << op.bits) + (*x % op.freq as u64) + op.start as u64;
    }
    // the decoder reads state 0 first, high word first
    for x in states[..lanes].iter().rev() {
        words.push(*x as u32);
        words.push((*x >> 32) as u32);
    }
    let mut out = Vec::with_capacity(words.len() * 4);
    for w in words.iter().rev() {
        out.extend_from_slice(&w.to_le_bytes());
    }
    Ok(out)
}

struct Decoder<'a> {
    x: [u64; MAX_LANES],
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8], lanes: usize) -> Result<Self, EntropyError> {
        let mut d = Decoder {
            x: [0; MAX_LANES],
            data,
            pos: 0,
        };
        for lane in 0..lanes {
            let hi = d.word()? as u64;
            let lo = d.word()? as u64;
            d.x[lane] = (hi << 32) | lo;
            if d.x[lane] < RANS_L {
                return Err(EntropyError::Corrupt(
                    "initial state below the normalization bound",
                ));
            }
        }
        Ok(d)
    }

    #[inline]
    fn word(&mut self) -> Result<u32, EntropyError> {
        let b = self
            .data
            .get(self.pos..self.pos + 4)
            .ok_or(EntropyError::Truncated)?;
        self.pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    fn advance(
        &mut self,
        lane: usize,
        start: u32,
        freq: u32,
        bits: u32,
    ) -> Result<(), EntropyError> {
        let mask = (1u64 << bits) - 1;
        let x = self.x[lane];
        let mut x = freq as u64 * (x >> bits) + (x & mask) - start as u64;
        if x < RANS_L {
            x = (x << 32) | self.word()? as u64;
        }
        self.x[lane] = x;
        Ok(())
    }

    #[inline]
    fn get_bypass(&mut self, lane: usize) -> Result<u32, EntropyError> {
        let v = (self.x[lane] & BYPASS_MAX as u64) as u32;
        self.advance(lane, v, 1, BYPASS_BITS)?;
        Ok(v)
    }
}

/// Decodes `indexes.len()` symbols coded on `lanes` states, symbol i with table `indexes[i]`.
pub fn decode_symbols(
    data: &[u8],
    indexes: &[u8],
    tables: &CdfTables,
    lanes: usize,
) -> Result<Vec<i32>, EntropyError> {
    assert!(valid_lanes(lanes), "1, 2 or 4 lanes");
    let mut out = Vec::with_capacity(indexes.len());
    let mut d = Decoder::new(data, lanes)?;
    let mask = (1u64 << PRECISION) - 1;
    // one bounds check per symbol for the table, its lookup and its offset
    let tabs: Vec<(&[u32], &[u16], i32)> = (0..tables.len())
        .map(|t| (&tables.cdfs[t][..], &tables.luts[t][..], tables.offsets[t]))
        .collect();
    for (i, &idx) in indexes.iter().enumerate() {
        out.push(decode_one(&mut d, &tabs, i & (lanes - 1), idx, mask)?);
    }
    // rANS retraces the encoder exactly: a whole stream ends with every state back at the
    // encoder's initial value and every byte read; anything else is damage or appended data
    if d.pos != data.len() {
        return Err(EntropyError::Corrupt("bytes after the end of the stream"));
    }
    if d.x[..lanes].iter().any(|&x| x != RANS_L) {
        return Err(EntropyError::Corrupt(
            "the stream does not end in the encoder's initial state",
        ));
    }
    Ok(out)
}

/// Decodes the symbol of table `idx` from `lane`.
#[inline(always)]
fn decode_one(
    d: &mut Decoder<'_>,
    tabs: &[(&[u32], &[u16], i32)],
    lane: usize,
    idx: u8,
    mask: u64,
) -> Result<i32, EntropyError> {
    let &(cdf, lut, offset) = tabs.get(idx as usize).ok_or(EntropyError::BadIndex {
        index: idx as usize,
        count: tabs.len(),
    })?;
    let slot = (d.x[lane] & mask) as u32;
    // the symbol s with cdf[s] <= slot < cdf[s + 1]: start from the coarse lookup
    let mut s = lut[(slot >> (PRECISION - LUT_BITS)) as usize] as usize;
    // one branch-free step covers almost every case; the loop is for runs of rare symbols
    s += usize::from(cdf[s + 1] <= slot);
    while cdf[s + 1] <= slot {
        s += 1;
    }
    d.advance(lane, cdf[s], cdf[s + 1] - cdf[s], PRECISION)?;
    let max_value = cdf.len() - 2;
    let value = if s == max_value {
        let mut n = d.get_bypass(lane)?;
        let mut chunk = n;
        while chunk == BYPASS_MAX {
            chunk = d.get_bypass(lane)?;
            n += chunk;
            if n > MAX_BYPASS_CHUNKS {
                return Err(EntropyError::Corrupt("escaped value longer than 32 bits"));
            }
        }
        if n > MAX_BYPASS_CHUNKS {
            return Err(EntropyError::Corrupt("escaped value longer than 32 bits"));
        }
        let mut raw: u32 = 0;
        for j in 0..n {
            raw |= d.get_bypass(lane)? << (BYPASS_BITS * j);
        }
        let raw = raw as i64;
        if raw & 1 == 1 {
            -(raw + 1) / 2
        } else {
            raw / 2 + max_value as i64
        }
    } else {
        s as i64
    };
    let symbol = value + offset as i64;
    i32::try_from(symbol).map_err(|_| EntropyError::Corrupt("symbol out of range"))
}

/// The ideal code length in bits of `symbols` under the tables (escapes counted with their bypass
/// bits): what the coder will spend, up to the final state and rounding.
pub fn estimate_bits(
    symbols: &[i32],
    indexes: &[u8],
    tables: &CdfTables,
) -> Result<f64, EntropyError> {
    let mut bits = 0.0;
    for (&s, &idx) in symbols.iter().zip(indexes) {
        let (cdf, offset) = tables.table(idx as usize)?;
        let (v, raw) = to_table_symbol(s, offset, cdf.len())?;
        let freq = cdf[v as usize + 1] - cdf[v as usize];
        bits += PRECISION as f64 - (freq as f64).log2();
        if let Some(raw) = raw {
            let n = bypass_chunks(raw);
            bits += ((n / BYPASS_MAX + 1 + n) * BYPASS_BITS) as f64;
        }
    }
    Ok(bits)
}
