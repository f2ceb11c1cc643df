//! Textures for graphics applications: a decoded picture straight into an `Rgba8Unorm` texture,
//! and an application's texture read for encoding.

use super::GpuContext;
use crate::error::{Error, Result};

/// Rows of a buffer copied to or from a texture are this many bytes apart (wgpu's alignment).
pub(crate) fn texture_row_pitch(width: usize) -> usize {
    (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize)
}

impl GpuContext {
    /// A new `Rgba8Unorm` texture (`TEXTURE_BINDING`, `COPY_SRC`, `COPY_DST`) filled from RGBA8
    /// pixels in `buffer` whose rows are [`texture_row_pitch`] bytes apart.
    pub(crate) fn texture_from_buffer(
        &self,
        buffer: &wgpu::Buffer,
        width: usize,
        height: usize,
    ) -> Result<wgpu::Texture> {
        let size = wgpu::Extent3d {
            width: width as u32,
            height: height as u32,
            depth_or_array_layers: 1,
        };
        let limit = self.limits().max_texture_dimension_2d;
        if size.width > limit || size.height > limit {
            return Err(Error::Limit {
                what: "texture side",
                value: size.width.max(size.height) as u64,
                limit: limit as u64,
            });
        }
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("vaec decoded picture"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let mut encoder = self.encoder("buffer to texture");
        encoder.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(texture_row_pitch(width) as u32),
                    rows_per_image: Some(height as u32),
                },
            },
            texture.as_image_copy(),
            size,
        );
        self.submit(encoder);
        Ok(texture)
    }

    /// The pixels of an `Rgba8Unorm` (or `Rgba8UnormSrgb`) texture with `COPY_SRC` usage, as
    /// tightly packed RGBA8 rows.
    pub async fn read_texture_async(&self, texture: &wgpu::Texture) -> Result<Vec<u8>> {
        let format = texture.format();
        if !matches!(
            format,
            wgpu::TextureFormat::Rgba8Unorm | wgpu::TextureFormat::Rgba8UnormSrgb
        ) {
            return Err(Error::InvalidArgument(format!(
                "texture format {format:?}; encode_texture reads Rgba8Unorm"
            )));
        }
        if !texture.usage().contains(wgpu::TextureUsages::COPY_SRC) {
            return Err(Error::InvalidArgument(
                "the texture needs COPY_SRC usage".into(),
            ));
        }
        let (width, height) = (texture.width() as usize, texture.height() as usize);
        let pitch = texture_row_pitch(width);
        let staging = self.storage_buffer("texture readback", (pitch * height) as u64)?;
        let mut encoder = self.encoder("texture to buffer");
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &staging.buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(pitch as u32),
                    rows_per_image: Some(height as u32),
                },
            },
            texture.size(),
        );
        self.submit(encoder);
        let bytes = self
            .read_buffer(&staging.buffer, (pitch * height) as u64)
            .await?;
        let mut rgba = Vec::with_capacity(width * height * 4);
        for row in bytes.chunks_exact(pitch) {
            rgba.extend_from_slice(&row[..width * 4]);
        }
        Ok(rgba)
    }
}
