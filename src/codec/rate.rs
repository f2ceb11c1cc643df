//! Rate control: the fractional quality whose file is at most a size (or a number of bits per
//! pixel), or whose decoded picture reaches a PSNR. g_a runs once; each try runs the rest of the
//! encoder (h_a, the entropy model and the coder, all small next to g_a) and, for a PSNR target,
//! the decoder, so every try measures the real file, not an estimate.

use super::{Codec, Encoded};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::metrics;

/// What [`Codec::encode_to_target`] aims at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The largest file of at most this many bytes.
    Bytes(u64),
    /// The largest file of at most this many bits per pixel.
    BitsPerPixel(f64),
    /// The smallest file whose decoded picture has at least this PSNR (dB).
    Psnr(f64),
}

/// A file coded to a target.
#[derive(Clone, Debug)]
pub struct Targeted {
    /// The file.
    pub encoded: Encoded,
    /// The quality it was coded at (a multiple of 1/256).
    pub quality: f32,
    /// How many qualities were tried.
    pub tries: usize,
}

impl Target {
    /// Refuses a target no file can mean: a size of 0 bytes, or a bits-per-pixel or PSNR that is
    /// not a positive finite number.
    pub fn check(&self) -> Result<()> {
        let ok = match *self {
            Target::Bytes(bytes) => bytes > 0,
            Target::BitsPerPixel(v) | Target::Psnr(v) => v.is_finite() && v > 0.0,
        };
        match ok {
            true => Ok(()),
            false => Err(Error::InvalidArgument(format!(
                "target {self:?}: a size must be at least 1 byte, bits per pixel and PSNR \
                 positive finite numbers"
            ))),
        }
    }

    /// The measure that rate control steers, on a scale where it is roughly linear in the
    /// quality: the log of the file size, or the PSNR.
    fn scale(&self, measured: f64) -> f64 {
        match self {
            Target::Psnr(_) => measured,
            _ => measured.max(1.0).ln(),
        }
    }

    /// The target on that scale, for `pixels` pixels.
    fn goal(&self, pixels: f64) -> f64 {
        match *self {
            Target::Bytes(bytes) => (bytes as f64).max(1.0).ln(),
            Target::BitsPerPixel(bpp) => (bpp * pixels / 8.0).max(1.0).ln(),
            Target::Psnr(db) => db,
        }
    }

    /// Whether a file that meets the target is near enough to stop: within 1% of the size, or
    /// 0.02 dB of the PSNR.
    fn near(&self, measured: f64, pixels: f64) -> bool {
        (self.scale(measured) - self.goal(pixels)).abs()
            <= match self {
                Target::Psnr(_) => 0.02,
                _ => 0.01,
            }
    }
}

impl Codec {
    /// Encodes `image` at the quality that meets `target`, searched over the qualities the
    /// header can hold (steps of 1/256). The file size and the PSNR grow with the quality, so the
    /// result is a file under a size target (within 1% of it, or the best one), or over a PSNR
    /// target (within 0.02 dB, or the smallest). The search is regula falsi (Illinois variant)
    /// over the bracket of qualities that do and do not meet the target, on a scale where the
    /// measure is close to linear in the quality (log size, or PSNR). A target that no quality
    /// meets is
    /// [`Error::TargetOutOfReach`], naming the nearest.
    pub async fn encode_to_target_async(&self, image: &Image, target: Target) -> Result<Targeted> {
        self.search_quality(image, target, 0).await
    }

    /// [`Codec::encode_to_target`] for a file that will carry `extra_bytes` more than the coded
    /// pixels (a side section): every size it measures includes them.
    pub(crate) async fn search_quality(
        &self,
        image: &Image,
        target: Target,
        extra_bytes: u64,
    ) -> Result<Targeted> {
        target.check()?;
        self.check_encodable(image)?;
        let y = self.analysis_async(image, None).await?;
        let pixels = (image.width * image.height) as f64;
        let mut tries = 0;
        let mut attempt = async |q8: u16| -> Result<(bool, Encoded, f64)> {
            tries += 1;
            self.measure(image, &y, q8, 0, target, extra_bytes).await
        };
        let (lowest, highest) = (256u16, (self.model().levels() * 256) as u16);
        // a size target is met by low qualities, a PSNR target by high ones
        let (first, last) = match target {
            Target::Psnr(_) => (highest, lowest),
            _ => (lowest, highest),
        };
        let (met, at_first, measured) = attempt(first).await?;
        if !met {
            return Err(Error::TargetOutOfReach(match target {
                Target::Psnr(_) => format!("the best quality gives {measured:.2} dB"),
                _ => format!("the lowest quality gives {measured} bytes"),
            }));
        }
        // `good` meets the target, `bad` does not, each with what it measured
        let mut good = (first, measured, at_first);
        let (met, at_last, measured) = attempt(last).await?;
        if met {
            return self
                .with_effort(image, &y, target, extra_bytes, last, at_last, tries)
                .await;
        }
        let mut bad = (last, measured);
        // regula falsi on the target's scale, Illinois style: the next quality is where the line
        // through the bracket's ends meets the goal; an end that stays put twice in a row has its
        // distance to the goal halved, so that the guesses cannot creep along one side
        let goal = target.goal(pixels);
        let (mut good_off, mut bad_off) = (target.scale(good.1) - goal, target.scale(bad.1) - goal);
        let mut last_met = None;
        while good.0.abs_diff(bad.0) > 1 && !target.near(good.1, pixels) {
            let (lo, hi) = (good.0.min(bad.0) + 1, good.0.max(bad.0) - 1);
            let (qg, qb) = (good.0 as f64, bad.0 as f64);
            let guess = qg - good_off * (qb - qg) / (bad_off - good_off);
            let q8 = match guess.is_finite() {
                true => guess.round().clamp(lo as f64, hi as f64) as u16,
                false => (good.0 + bad.0) / 2,
            };
            let (met, encoded, measured) = attempt(q8).await?;
            let offset = target.scale(measured) - goal;
            if met {
                good = (q8, measured, encoded);
                good_off = offset;
                if last_met == Some(true) {
                    bad_off /= 2.0;
                }
            } else {
                bad = (q8, measured);
                bad_off = offset;
                if last_met == Some(false) {
                    good_off /= 2.0;
                }
            }
            last_met = Some(met);
        }
        self.with_effort(image, &y, target, extra_bytes, good.0, good.2, tries)
            .await
    }

    /// Encodes at `q8` and `effort`: whether the file meets `target`, the file, and what was
    /// measured (bytes with `extra_bytes`, or PSNR).
    async fn measure(
        &self,
        image: &Image,
        y: &crate::tensor::Tensor,
        q8: u16,
        effort: u8,
        target: Target,
        extra_bytes: u64,
    ) -> Result<(bool, Encoded, f64)> {
        let pixels = (image.width * image.height) as f64;
        let encoded = self.encode_analysed(image, y, q8, effort, None).await?;
        let bytes = (encoded.bytes.len() as u64 + extra_bytes) as f64;
        Ok(match target {
            Target::Bytes(limit) => (bytes <= limit as f64, encoded, bytes),
            Target::BitsPerPixel(bpp) => (bytes * 8.0 <= bpp * pixels, encoded, bytes),
            Target::Psnr(db) => {
                let decoded = self.decode_async(&encoded.bytes, None).await?;
                let psnr = metrics::psnr(image, &decoded);
                (psnr >= db, encoded, psnr)
            }
        })
    }

    /// The quality search runs at effort 0 (a search per try would multiply its time); at the
    /// quality it found, the codec's effort encodes once more, and its file is kept where it
    /// still meets the target (else the effort-0 file, which does).
    #[allow(clippy::too_many_arguments)]
    async fn with_effort(
        &self,
        image: &Image,
        y: &crate::tensor::Tensor,
        target: Target,
        extra_bytes: u64,
        q8: u16,
        found: Encoded,
        tries: usize,
    ) -> Result<Targeted> {
        let quality = q8 as f32 / 256.0;
        let effort = self.options.effort;
        if effort == 0 {
            return Ok(Targeted {
                encoded: found,
                quality,
                tries,
            });
        }
        let (met, searched, _) = self
            .measure(image, y, q8, effort, target, extra_bytes)
            .await?;
        Ok(Targeted {
            encoded: if met { searched } else { found },
            quality,
            tries: tries + 1,
        })
    }
}
