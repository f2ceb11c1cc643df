//! GPU memory accounting: every buffer the codec creates is counted while it lives, so that tiles
//! can be planned against a budget and benchmarks can report the peak.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes of GPU buffers the codec holds now, and the most it held at once.
#[derive(Debug, Default)]
pub struct MemoryCounter {
    current: AtomicU64,
    peak: AtomicU64,
}

impl MemoryCounter {
    pub(crate) fn add(&self, bytes: u64) {
        let now = self.current.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    pub(crate) fn sub(&self, bytes: u64) {
        self.current.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes held now.
    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }

    /// The most bytes held at once since the last [`MemoryCounter::reset_peak`].
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts peak measurement anew from what is held now.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::Relaxed);
    }
}

/// A GPU buffer whose size is counted in the context's memory statistics while it lives.
pub struct GpuBuffer {
    pub(crate) buffer: wgpu::Buffer,
    size: u64,
    memory: Arc<MemoryCounter>,
}

impl GpuBuffer {
    /// Counts `buffer` (of `size` bytes) in `memory` until it is dropped.
    pub(crate) fn counted(
        buffer: wgpu::Buffer,
        size: u64,
        memory: &Arc<MemoryCounter>,
    ) -> GpuBuffer {
        memory.add(size);
        GpuBuffer {
            buffer,
            size,
            memory: Arc::clone(memory),
        }
    }

    /// The wgpu buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        // No destroy(): work already recorded may still use the buffer; wgpu frees it after that.
        self.memory.sub(self.size);
    }
}
