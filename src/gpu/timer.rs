//! Where the time goes: a [`Probe`] handed to the codec records every stage it runs (each GPU
//! layer submitted alone and timed with its compute passes' timestamp writes where the device has
//! timestamp queries (browsers too: WebGPU has no timestamps between passes), else on the host
//! clock around submit and wait; CPU stages and transfers on the host clock). `vaec-gpu bench`
//! reads it; the codec's normal paths pass no probe and pay nothing.

use std::sync::Mutex;
use web_time::Instant;

use super::kernels::Recorder;
use super::GpuContext;
use crate::error::Result;

/// Times a stage's compute passes with two timestamp queries, where the device has them.
struct GpuTimer {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    nanoseconds_per_tick: f64,
}

impl GpuTimer {
    fn new(ctx: &GpuContext) -> Option<GpuTimer> {
        if !ctx
            .device()
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            return None;
        }
        Some(GpuTimer {
            queries: ctx.device().create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("bench timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolved: ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("bench timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            nanoseconds_per_tick: f64::from(ctx.queue().get_timestamp_period()),
        })
    }
}

/// One measured stage.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct StageTime {
    /// Name, e.g. `g_a.2 conv5x5/2 64->64`.
    pub name: String,
    /// Seconds (summed over the tiles of one run).
    pub seconds: f64,
    /// Multiply-adds of the stage (0 where it does no arithmetic of that kind).
    pub macs: u64,
}

/// Records the stages of the codec runs it is handed to.
pub struct Probe {
    timer: Option<GpuTimer>,
    stages: Mutex<Vec<StageTime>>,
}

impl Probe {
    /// A probe for work on `ctx`.
    pub fn new(ctx: &GpuContext) -> Probe {
        Probe {
            timer: GpuTimer::new(ctx),
            stages: Mutex::new(Vec::new()),
        }
    }

    /// How GPU stages are timed on this device.
    pub fn timing(&self) -> &'static str {
        match self.timer {
            Some(_) => "GPU layers: timestamp queries from the first pass's start to the last one's end (one submission per layer); transfers and CPU stages: host clock",
            None => "host clock around each stage, submitted alone and waited for (the device has no timestamp queries)",
        }
    }

    /// The stages recorded so far, in the order first seen; repeated names (tiles) are summed.
    pub fn stages(&self) -> Vec<StageTime> {
        self.stages.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn add(&self, name: &str, seconds: f64, macs: u64) {
        if let Ok(mut stages) = self.stages.lock() {
            match stages.iter_mut().find(|s| s.name == name) {
                Some(s) => {
                    s.seconds += seconds;
                    s.macs += macs;
                }
                None => stages.push(StageTime {
                    name: name.to_string(),
                    seconds,
                    macs,
                }),
            }
        }
    }

    /// Adds `seconds` to the stage `name` (work timed by its caller).
    pub(crate) fn add_seconds(&self, name: &str, seconds: f64) {
        self.add(name, seconds, 0);
    }

    /// Records GPU `work` into its own submission, waits for it and records its time.
    pub(crate) async fn gpu<T>(
        &self,
        ctx: &GpuContext,
        name: &str,
        macs: u64,
        work: impl FnOnce(&mut Recorder<'_>) -> Result<T>,
    ) -> Result<T> {
        let t0 = Instant::now();
        let mut enc = ctx.encoder(name);
        let mut recorder = ctx.recorder(&mut enc);
        recorder.timestamps = self.timer.as_ref().map(|t| &t.queries);
        let out = work(&mut recorder)?;
        // a stage without a compute pass has no timestamps: the host clock times it
        let timer = self.timer.as_ref().filter(|_| recorder.passes > 0);
        if let Some(t) = timer {
            enc.resolve_query_set(&t.queries, 0..2, &t.resolved, 0);
        }
        ctx.submit(enc);
        ctx.finished().await?;
        let mut seconds = t0.elapsed().as_secs_f64();
        if let Some(t) = timer {
            let ticks = ctx.read_buffer(&t.resolved, 16).await?;
            let at = |i: usize| u64::from_le_bytes(std::array::from_fn(|k| ticks[8 * i + k]));
            seconds = at(1).saturating_sub(at(0)) as f64 * t.nanoseconds_per_tick * 1e-9;
        }
        self.add(name, seconds, macs);
        Ok(out)
    }

    /// Runs host `work` and records its time.
    pub(crate) fn host<T>(&self, name: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let t0 = Instant::now();
        let out = work()?;
        self.add(name, t0.elapsed().as_secs_f64(), 0);
        Ok(out)
    }
}

/// Awaits `work` (host work that waits for the GPU: a readback), recording its time in `probe`
/// if there is one.
pub(crate) async fn host_stage_async<T>(
    probe: Option<&Probe>,
    name: &str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let t0 = Instant::now();
    let out = work.await?;
    if let Some(p) = probe {
        p.add(name, t0.elapsed().as_secs_f64(), 0);
    }
    Ok(out)
}

/// Runs host `work`, recording it in `probe` if there is one.
pub(crate) fn host_stage<T>(
    probe: Option<&Probe>,
    name: &str,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match probe {
        Some(p) => p.host(name, work),
        None => work(),
    }
}
