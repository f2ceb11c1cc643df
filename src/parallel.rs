//! Data parallelism over independent chunks of work: rayon natively; in a browser (wasm32,
//! where a page has one thread) the same calls run in order on the calling thread.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use rayon::prelude::{
    IndexedParallelIterator, IntoParallelIterator, ParallelIterator, ParallelSliceMut,
};

/// How many threads the parallel calls use.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn threads() -> usize {
    rayon::current_num_threads()
}

/// How many threads the parallel calls use.
#[cfg(target_arch = "wasm32")]
pub(crate) fn threads() -> usize {
    1
}

#[cfg(target_arch = "wasm32")]
pub(crate) use serial::{IntoParallelIterator, ParallelSliceMut};

/// rayon's names for the standard library's sequential iterators.
#[cfg(target_arch = "wasm32")]
mod serial {
    pub(crate) trait ParallelSliceMut<T> {
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T>;
    }

    impl<T> ParallelSliceMut<T> for [T] {
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T> {
            self.chunks_mut(size)
        }
    }

    pub(crate) trait IntoParallelIterator: IntoIterator + Sized {
        fn into_par_iter(self) -> Self::IntoIter {
            self.into_iter()
        }
    }

    impl IntoParallelIterator for std::ops::Range<usize> {}
}
