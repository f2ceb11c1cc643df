//! Feature maps in GPU memory, in the vec4-plane layout of [`Tensor::to_vec4_planes`], and their
//! transfers: tensors up and down, pictures in and out.

use super::kernels::PixelTarget;
use super::memory::GpuBuffer;
use super::GpuContext;
use crate::error::Result;
use crate::tensor::Tensor;

/// A feature map in GPU memory.
pub struct GpuTensor {
    pub(crate) buffer: GpuBuffer,
    /// Channels.
    pub channels: usize,
    /// Height.
    pub height: usize,
    /// Width.
    pub width: usize,
}

impl GpuTensor {
    /// Channel groups of four.
    pub fn groups(&self) -> usize {
        self.channels.div_ceil(4)
    }

    /// Bytes in the GPU layout.
    pub fn bytes(&self) -> u64 {
        Tensor::gpu_bytes(self.channels, self.height, self.width)
    }
}

impl GpuContext {
    /// A new (uninitialised) tensor in GPU memory.
    pub fn new_tensor(&self, channels: usize, height: usize, width: usize) -> Result<GpuTensor> {
        let buffer = self.storage_buffer("tensor", Tensor::gpu_bytes(channels, height, width))?;
        Ok(GpuTensor {
            buffer,
            channels,
            height,
            width,
        })
    }

    /// A copy of a tensor.
    pub fn copy_tensor(&self, t: &GpuTensor) -> Result<GpuTensor> {
        let out = self.new_tensor(t.channels, t.height, t.width)?;
        let mut encoder = self.encoder("copy");
        encoder.copy_buffer_to_buffer(&t.buffer.buffer, 0, &out.buffer.buffer, 0, t.bytes());
        self.submit(encoder);
        Ok(out)
    }

    /// Uploads a CPU tensor into the GPU layout.
    pub fn upload_tensor(&self, t: &Tensor) -> Result<GpuTensor> {
        let buffer = self.upload("tensor", &t.to_vec4_planes())?;
        Ok(GpuTensor {
            buffer,
            channels: t.channels,
            height: t.height,
            width: t.width,
        })
    }

    /// Reads a GPU tensor back into a CPU tensor.
    pub async fn download_tensor_async(&self, t: &GpuTensor) -> Result<Tensor> {
        let bytes = self.read_buffer(&t.buffer.buffer, t.bytes()).await?;
        let packed: Vec<[f32; 4]> = bytes
            .chunks_exact(16)
            .map(|b| {
                std::array::from_fn(|i| {
                    f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
                })
            })
            .collect();
        Ok(Tensor::from_vec4_planes(
            t.channels, t.height, t.width, &packed,
        ))
    }

    /// Uploads RGBA8 pixels and converts them to a 3-channel tensor replicate-padded to
    /// `width` x `height`.
    pub fn rgba8_to_tensor(
        &self,
        rgba: &[u8],
        img_w: usize,
        img_h: usize,
        width: usize,
        height: usize,
    ) -> Result<GpuTensor> {
        let pixels = self.upload("rgba8", rgba)?;
        let output = self.new_tensor(3, height, width)?;
        self.run("rgba8_to_tensor", |rec| {
            rec.rgba8_to_tensor(&pixels.buffer, (img_w, img_h), &output)
        })?;
        Ok(output)
    }

    /// Converts the `img_w` x `img_h` region at `origin` of a 3-channel tensor to RGBA8 and reads
    /// it back.
    pub async fn tensor_region_to_rgba8_async(
        &self,
        input: &GpuTensor,
        origin: (usize, usize),
        img_w: usize,
        img_h: usize,
    ) -> Result<Vec<u8>> {
        let bytes = (img_w * img_h * 4) as u64;
        let pixels = self.storage_buffer("rgba8", bytes)?;
        let target = PixelTarget {
            x: 0,
            y: 0,
            pitch: img_w,
        };
        self.run("tensor_to_rgba8", |rec| {
            rec.tensor_to_rgba8(input, origin, (img_w, img_h), &pixels.buffer, target)
        })?;
        self.read_buffer(&pixels.buffer, bytes).await
    }

    /// Writes an alpha plane (`img_w` x `img_h`) into the alpha bytes of RGBA8 pixels whose rows
    /// are `pitch` pixels apart, and reads them back.
    pub async fn merge_alpha_async(
        &self,
        rgba: &[u8],
        alpha: &[u8],
        (img_w, img_h): (usize, usize),
        pitch: usize,
    ) -> Result<Vec<u8>> {
        let pixels = self.upload("rgba8", rgba)?;
        let alpha = self.upload_alpha(alpha)?;
        self.run("merge_alpha", |rec| {
            rec.merge_alpha(&alpha.buffer, (img_w, img_h), &pixels.buffer, pitch)
        })?;
        self.read_buffer(&pixels.buffer, rgba.len() as u64).await
    }

    /// Uploads an alpha plane, padded to whole u32s for the kernels that read it.
    pub(crate) fn upload_alpha(&self, alpha: &[u8]) -> Result<GpuBuffer> {
        let mut padded = alpha.to_vec();
        padded.resize(alpha.len().next_multiple_of(4).max(4), 0);
        self.upload("alpha", &padded)
    }
}
