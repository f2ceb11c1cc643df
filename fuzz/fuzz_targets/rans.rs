#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vaec_gpu::fuzzing::rans(data));
