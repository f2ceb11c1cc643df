//! Where the integer networks run for the latent codec: on the GPU within the memory budget, or
//! on the CPU (their twins, for the GPU-less decoder). Both give the same indexes and means.

use super::latent::LatentCodec;
use crate::error::Result;
use crate::gpu::{host_stage, GpuContext, GpuIntNetworks, HyperFeatures, Probe};
use crate::model::EntropyParams;

/// Where the integer networks run: z symbols to h_s's output, then the table indexes (and means)
/// of every element of y, once for the scale model and once per checkerboard pass.
pub(crate) trait EntropyParameters {
    /// Runs h_s on the z symbols (n x zh x zw).
    async fn hyper(
        &self,
        z: &[i32],
        zh: usize,
        zw: usize,
        probe: Option<&Probe>,
    ) -> Result<HyperFeatures>;
    /// The parameters of every element of y, with the context's input in the second pass
    /// (`pass`, 1 or 2, names the stages in the probe).
    async fn parameters(
        &self,
        hyper: &HyperFeatures,
        context_input: Option<&[i32]>,
        probe: Option<&Probe>,
        pass: usize,
    ) -> Result<EntropyParams>;
}

/// The integer networks on the GPU, within a memory budget.
pub(crate) struct OnGpu<'a> {
    pub ctx: &'a GpuContext,
    pub net: &'a GpuIntNetworks,
    pub budget: u64,
}

impl OnGpu<'_> {
    /// What the budget leaves for the networks' working buffers.
    fn memory_left(&self) -> u64 {
        self.budget.saturating_sub(self.ctx.memory_in_use())
    }
}

impl EntropyParameters for OnGpu<'_> {
    async fn hyper(
        &self,
        z: &[i32],
        zh: usize,
        zw: usize,
        probe: Option<&Probe>,
    ) -> Result<HyperFeatures> {
        let memory = self.memory_left();
        let work = self.net.hyper(self.ctx, z, (zh, zw), probe, memory);
        self.ctx.guarded_async(work).await
    }

    async fn parameters(
        &self,
        hyper: &HyperFeatures,
        context_input: Option<&[i32]>,
        probe: Option<&Probe>,
        pass: usize,
    ) -> Result<EntropyParams> {
        let memory = self.memory_left();
        let work = self
            .net
            .parameters(self.ctx, hyper, context_input, (probe, pass), memory);
        self.ctx.guarded_async(work).await
    }
}

/// The integer networks on the CPU (their twins).
pub(crate) struct OnCpu<'a>(pub &'a LatentCodec);

impl EntropyParameters for OnCpu<'_> {
    async fn hyper(
        &self,
        z: &[i32],
        zh: usize,
        zw: usize,
        probe: Option<&Probe>,
    ) -> Result<HyperFeatures> {
        host_stage(probe, "h_s int (CPU)", || {
            Ok(crate::cpu::int_hyper_features(&self.0.int_h_s, z, zh, zw))
        })
    }

    async fn parameters(
        &self,
        hyper: &HyperFeatures,
        context_input: Option<&[i32]>,
        probe: Option<&Probe>,
        pass: usize,
    ) -> Result<EntropyParams> {
        let (x, size) = hyper;
        let thresholds = &self.0.int_h_s.thresholds;
        host_stage(
            probe,
            &format!("pass {pass}: entropy parameters (CPU)"),
            || {
                Ok(match &self.0.context {
                    None => EntropyParams {
                        indexes: crate::cpu::scale_index(x, thresholds),
                        means: Vec::new(),
                    },
                    Some(c) => {
                        crate::cpu::checkerboard_parameters(c, thresholds, x, context_input, *size)
                    }
                })
            },
        )
    }
}
