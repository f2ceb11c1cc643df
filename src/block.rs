//! Running the one async pipeline. The GPU work awaits buffer maps, so that it can run on a
//! browser's event loop; native callers use the blocking wrappers, which wait with pollster.
//! Work that never waits for the GPU (the CPU decoder, transforms without a probe) finishes in
//! one poll anywhere.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};

/// Runs `work`, which must not wait for anything, to its end in one poll.
pub(crate) fn ready<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let mut work = std::pin::pin!(work);
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Error::Gpu(
            "internal: work that never waits for the GPU waited".into(),
        )),
    }
}

/// Blocks the calling thread until `work` is done (native only: a browser cannot block).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn wait<T>(work: impl Future<Output = T>) -> T {
    pollster::block_on(work)
}
