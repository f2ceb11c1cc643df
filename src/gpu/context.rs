//! The GPU context: adapter, device and queue, the compiled kernels, fault capture (lost device,
//! out-of-memory, validation errors as typed errors instead of panics), buffers and readback.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::kernels::Kernels;
use super::memory::{GpuBuffer, MemoryCounter};
use crate::error::{Error, Result};

/// Which wgpu backend to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Vulkan (Linux, Windows, Android; Mesa's lavapipe on a CPU).
    Vulkan,
    /// OpenGL / GLES (Mesa's llvmpipe on a CPU).
    Gl,
    /// Metal (macOS, iOS).
    Metal,
    /// Direct3D 12 (Windows).
    Dx12,
}

impl Backend {
    #[cfg(not(target_arch = "wasm32"))]
    fn backends(self) -> wgpu::Backends {
        match self {
            Backend::Vulkan => wgpu::Backends::VULKAN,
            Backend::Gl => wgpu::Backends::GL,
            Backend::Metal => wgpu::Backends::METAL,
            Backend::Dx12 => wgpu::Backends::DX12,
        }
    }
}

/// The GPU the codec runs on: device, queue, the limits it was granted and the compiled kernels.
///
/// Create one with [`GpuContext::new`] (a headless adapter of its own) or hand in an application's
/// device with [`GpuContext::from_device`].
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    kernels: Kernels,
    memory: Arc<MemoryCounter>,
    faults: Arc<Faults>,
}

/// GPU faults reported by wgpu's callbacks, turned into errors at the next [`GpuContext::guarded`].
#[derive(Default)]
struct Faults {
    /// Why the device was lost, once it is.
    lost: Mutex<Option<String>>,
    /// An error outside any error scope (only recorded on the codec's own device).
    uncaptured: Mutex<Option<Error>>,
    /// Test hook: how many more guarded calls report out-of-memory.
    inject_out_of_memory: AtomicUsize,
}

/// The adapter named by `WGPU_ADAPTER_NAME` (a case-insensitive part of its name) among those of
/// `backends`, else the default one; an error that lists the adapters found when none fits
/// (wgpu's own helper panics on a name that matches nothing).
#[cfg(not(target_arch = "wasm32"))]
async fn open_adapter(asked: Option<Backend>) -> Result<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if let Some(b) = asked {
        desc.backends = b.backends();
    }
    let backends = desc.backends;
    let instance = wgpu::Instance::new(desc);
    let wanted = asked.map_or_else(
        || std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "any backend".into()),
        |b| format!("{b:?}"),
    );
    let name = std::env::var("WGPU_ADAPTER_NAME").ok();
    let adapters = instance.enumerate_adapters(backends).await;
    let found = || {
        let names: Vec<String> = adapters
            .iter()
            .map(|a| format!("{} ({:?})", a.get_info().name, a.get_info().backend))
            .collect();
        match names.is_empty() {
            true => "none found".to_string(),
            false => format!("found: {}", names.join(", ")),
        }
    };
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        let lower = name.to_lowercase();
        return adapters
            .iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&lower))
            .cloned()
            .ok_or_else(|| {
                Error::NoAdapter(format!(
                    "WGPU_ADAPTER_NAME={name:?} matches no adapter of {wanted}; {}",
                    found()
                ))
            });
    }
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::from_env().unwrap_or_default(),
        ..Default::default()
    };
    instance
        .request_adapter(&options)
        .await
        .map_err(|e| Error::NoAdapter(format!("{wanted}: {e}; {}", found())))
}

/// The page's WebGPU adapter.
#[cfg(target_arch = "wasm32")]
async fn open_adapter(_: Option<Backend>) -> Result<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
        .map_err(|e| Error::NoAdapter(format!("this browser gives no WebGPU adapter: {e}")))
}

fn classify(e: wgpu::Error) -> Error {
    match e {
        wgpu::Error::OutOfMemory { .. } => Error::GpuOutOfMemory(e.to_string()),
        other => Error::Gpu(other.to_string()),
    }
}

impl GpuContext {
    /// Opens a headless adapter: `backend` if given, else the `WGPU_BACKEND` environment variable,
    /// else any; `WGPU_ADAPTER_NAME` picks an adapter by name. Requests the adapter's own limits.
    /// In a browser (wasm32) the adapter is the page's WebGPU adapter and `backend` is ignored.
    pub async fn new_async(backend: Option<Backend>) -> Result<GpuContext> {
        let adapter = open_adapter(backend).await?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("vaec-gpu"),
                // only what the codec can use: subgroup kernels, and timestamps for the bench
                required_features: adapter.features()
                    & (wgpu::Features::SUBGROUP | wgpu::Features::TIMESTAMP_QUERY),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("cannot open {}: {e}", adapter.get_info().name)))?;
        let ctx = GpuContext::from_device_async(device, queue).await?;
        // Our own device: record what wgpu would otherwise panic on (its default handler).
        let faults = Arc::clone(&ctx.faults);
        ctx.device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut lost) = faults.lost.lock() {
                *lost = Some(format!("{reason:?}: {message}"));
            }
        });
        let faults = Arc::clone(&ctx.faults);
        ctx.device
            .on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                if let Ok(mut slot) = faults.uncaptured.lock() {
                    slot.get_or_insert(classify(e));
                }
            }));
        Ok(ctx)
    }

    /// Uses an application's device and queue (the limits it was created with apply). The
    /// subgroup kernel variants are used when the device was created with `Features::SUBGROUP`
    /// and its subgroups have at least 8 invocations.
    pub async fn from_device_async(device: wgpu::Device, queue: wgpu::Queue) -> Result<GpuContext> {
        let info = device.adapter_info();
        let subgroups =
            device.features().contains(wgpu::Features::SUBGROUP) && info.subgroup_min_size >= 8;
        let kernels = Kernels::new(&device, subgroups).await?;
        Ok(GpuContext {
            device,
            queue,
            info,
            kernels,
            memory: Arc::default(),
            faults: Arc::default(),
        })
    }

    /// The same device with the portable kernels only (no subgroup variants): a baseline for
    /// benchmarks and tests.
    pub async fn without_subgroups_async(mut self) -> Result<GpuContext> {
        self.kernels = Kernels::new(&self.device, false).await?;
        Ok(self)
    }

    /// Runs GPU work `work` inside out-of-memory and validation error scopes and reports, in this
    /// order: a lost device ([`Error::DeviceLost`]), out-of-memory ([`Error::GpuOutOfMemory`]),
    /// another GPU error ([`Error::Gpu`]), else `work`'s own result. Error scopes are per thread:
    /// `work` must record its GPU work on the calling thread.
    pub async fn guarded_async<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        self.check_lost()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = work.await;
        let validation = validation.pop().await;
        let oom = oom.pop().await;
        self.check_lost()?;
        if let Some(e) = oom {
            return Err(classify(e));
        }
        if let Some(e) = validation {
            return Err(classify(e));
        }
        let uncaptured = self
            .faults
            .uncaptured
            .lock()
            .ok()
            .and_then(|mut u| u.take());
        if let Some(e) = uncaptured {
            return Err(e);
        }
        result
    }

    /// Test hook: the next `count` tiles the codec runs report out-of-memory.
    #[doc(hidden)]
    pub fn inject_out_of_memory(&self, count: usize) {
        self.faults
            .inject_out_of_memory
            .store(count, Ordering::Relaxed);
    }

    /// [`Error::GpuOutOfMemory`] while [`GpuContext::inject_out_of_memory`] has injections left.
    pub(crate) fn injected_out_of_memory(&self) -> Result<()> {
        let take = |n: usize| n.checked_sub(1);
        match self.faults.inject_out_of_memory.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            take,
        ) {
            Ok(_) => Err(Error::GpuOutOfMemory("injected by a test".into())),
            Err(_) => Ok(()),
        }
    }

    /// [`Error::DeviceLost`] once wgpu has reported the device lost.
    pub(crate) fn check_lost(&self) -> Result<()> {
        match self.faults.lost.lock().ok().and_then(|l| l.clone()) {
            Some(why) => Err(Error::DeviceLost(why)),
            None => Ok(()),
        }
    }

    /// Whether the convolution and GDN kernels use subgroup operations on this device.
    pub fn uses_subgroups(&self) -> bool {
        self.kernels.subgroups()
    }

    /// The adapter's name, backend and driver.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// One line naming the adapter, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Mesa 22.3.6)`.
    pub fn adapter_description(&self) -> String {
        format!(
            "{} ({:?}, {} {})",
            self.info.name, self.info.backend, self.info.driver, self.info.driver_info
        )
    }

    /// The device's limits.
    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// The largest buffer the codec may create and bind.
    pub(crate) fn max_buffer(&self) -> u64 {
        let limits = self.device.limits();
        limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Bytes of GPU buffers the codec holds now.
    pub fn memory_in_use(&self) -> u64 {
        self.memory.current()
    }

    /// The most bytes of GPU buffers the codec held at once since the last reset.
    pub fn peak_memory(&self) -> u64 {
        self.memory.peak()
    }

    /// Starts peak measurement anew from what is held now.
    pub fn reset_peak_memory(&self) {
        self.memory.reset_peak();
    }

    /// A storage buffer of `bytes` (rounded up to 16), counted in the memory statistics.
    pub(crate) fn storage_buffer(&self, label: &str, bytes: u64) -> Result<GpuBuffer> {
        let size = bytes.max(16).next_multiple_of(16);
        let max = self.max_buffer();
        if size > max {
            return Err(Error::Limit {
                what: "GPU buffer size",
                value: size,
                limit: max,
            });
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(GpuBuffer::counted(buffer, size, &self.memory))
    }

    /// A storage buffer holding `data`.
    pub(crate) fn upload<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> Result<GpuBuffer> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let buf = self.storage_buffer(label, bytes.len() as u64)?;
        self.queue.write_buffer(&buf.buffer, 0, bytes);
        Ok(buf)
    }

    /// Copies the first `bytes` of a buffer back to the host, once the GPU has written it.
    pub(crate) async fn read_buffer(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        self.read_buffer_at(buffer, 0, bytes).await
    }

    /// Copies `bytes` of a buffer from `offset` (a multiple of 4) back to the host.
    pub(crate) async fn read_buffer_at(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        bytes: u64,
    ) -> Result<Vec<u8>> {
        let size = bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // the staging buffer counts against the budget while it lives
        let _staging_guard = GpuBuffer::counted(staging.clone(), size, &self.memory);
        let mut encoder = self.encoder("readback");
        encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        let mapped = self.completion(rx).await?;
        mapped.map_err(|e| Error::Gpu(format!("mapping a readback buffer: {e}")))?;
        let data = staging
            .get_mapped_range(..)
            .map_err(|e| Error::Gpu(format!("reading a readback buffer: {e}")))?
            .to_vec();
        staging.unmap();
        Ok(data[..bytes as usize].to_vec())
    }

    /// Waits for a wgpu callback to send its result on `rx`. Natively this polls the device (the
    /// callback runs inside a poll); in a browser the event loop runs it.
    async fn completion<T>(&self, rx: futures_channel::oneshot::Receiver<T>) -> Result<T> {
        let dropped = || Error::Gpu("a GPU callback was dropped without an answer".into());
        #[cfg(not(target_arch = "wasm32"))]
        {
            let mut rx = rx;
            self.wait()?;
            // Another thread polling the same device may be the one that runs our callback, a
            // moment after our wait returned: wait for it, checking for a lost device meanwhile.
            loop {
                match rx.try_recv() {
                    Ok(Some(value)) => return Ok(value),
                    Ok(None) => {
                        self.check_lost()?;
                        let _ = self.device.poll(wgpu::PollType::Poll);
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(_) => {
                        self.check_lost()?;
                        return Err(dropped());
                    }
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            let value = rx.await.map_err(|_| dropped());
            self.check_lost()?;
            value
        }
    }

    /// Waits until the GPU has finished all submitted work.
    pub async fn finished(&self) -> Result<()> {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        self.completion(rx).await
    }

    /// Blocks until the GPU has finished all submitted work.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait(&self) -> Result<()> {
        self.check_lost()?;
        let polled = self.device.poll(wgpu::PollType::wait_indefinitely());
        self.check_lost()?;
        polled
            .map(|_| ())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))
    }

    /// Submits recorded work.
    pub(crate) fn submit(&self, encoder: wgpu::CommandEncoder) {
        self.queue.submit([encoder.finish()]);
    }

    pub(crate) fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }

    /// Records work with this context's kernels into `encoder` and submits it.
    pub(crate) fn run<T>(
        &self,
        label: &str,
        work: impl FnOnce(&mut super::kernels::Recorder<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut encoder = self.encoder(label);
        let out = work(&mut self.recorder(&mut encoder))?;
        self.submit(encoder);
        Ok(out)
    }

    /// A recorder of this context's kernels into `encoder`.
    pub(crate) fn recorder<'a>(
        &'a self,
        encoder: &'a mut wgpu::CommandEncoder,
    ) -> super::kernels::Recorder<'a> {
        super::kernels::Recorder {
            device: &self.device,
            queue: &self.queue,
            encoder,
            kernels: &self.kernels,
            timestamps: None,
            passes: 0,
        }
    }
}
