//! The Python module `vaec_gpu._vaec_gpu`: the codec for numpy arrays, with the GIL released
//! while the GPU and the entropy coder work. `python/vaec_gpu/__init__.py` is the public face.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMemoryView};
use vaec_gpu::format::{self, Limits, Metadata};
use vaec_gpu::model::hex;
use vaec_gpu::{Backend, CodecOptions, Error, GpuContext, Model, Picture};

create_exception!(
    _vaec_gpu,
    VaecError,
    PyException,
    "Anything vaec-gpu refuses or fails at."
);
create_exception!(
    _vaec_gpu,
    FormatError,
    VaecError,
    "A .vaec file is malformed, corrupt, truncated or from another model."
);
create_exception!(_vaec_gpu, LimitError, VaecError, "A size exceeds a limit.");
create_exception!(
    _vaec_gpu,
    GpuError,
    VaecError,
    "No GPU adapter, or the GPU failed."
);

fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Format(_) | Error::Entropy { .. } | Error::ModelMismatch { .. } => {
            FormatError::new_err(msg)
        }
        Error::Limit { .. } => LimitError::new_err(msg),
        Error::NoAdapter(_) | Error::Gpu(_) | Error::GpuOutOfMemory(_) | Error::DeviceLost(_) => {
            GpuError::new_err(msg)
        }
        _ => VaecError::new_err(msg),
    }
}

/// The bytes of any bytes-like object (bytes, bytearray, memoryview, a uint8 array): bytes as
/// they are, anything else through the buffer protocol (a memoryview's copy). Objects without a
/// buffer are a TypeError, as in `memoryview(obj)`.
fn bytes_like<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    let copy = PyMemoryView::from(data)?.call_method0("tobytes")?;
    Ok(copy.cast_into::<PyBytes>()?)
}

fn backend(name: Option<&str>) -> PyResult<Option<Backend>> {
    Ok(match name.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("vulkan") => Some(Backend::Vulkan),
        Some("gl") => Some(Backend::Gl),
        Some("metal") => Some(Backend::Metal),
        Some("dx12") => Some(Backend::Dx12),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "backend {other:?}: use vulkan, gl, metal or dx12"
            )))
        }
    })
}

/// A model on a GPU: keeps the device and the weights between calls. Usable from several threads.
#[pyclass(frozen, module = "vaec_gpu._vaec_gpu")]
struct Codec {
    inner: vaec_gpu::Codec,
    name: Option<String>,
}

#[pymethods]
impl Codec {
    /// Codec(model=None, backend=None, weights=None, memory_budget=None, max_pixels=None, effort=0)
    #[new]
    #[pyo3(signature = (model=None, backend=None, weights=None, memory_budget=None, max_pixels=None, effort=0))]
    fn new(
        py: Python<'_>,
        model: Option<String>,
        backend: Option<&str>,
        weights: Option<std::path::PathBuf>,
        memory_budget: Option<u64>,
        max_pixels: Option<u64>,
        effort: u8,
    ) -> PyResult<Codec> {
        let backend = self::backend(backend)?;
        if effort > vaec_gpu::codec::MAX_EFFORT {
            return Err(PyValueError::new_err(format!(
                "effort {effort}: from 0 to {}",
                vaec_gpu::codec::MAX_EFFORT
            )));
        }
        let mut options = CodecOptions {
            effort,
            ..CodecOptions::default()
        };
        if let Some(bytes) = memory_budget {
            options.memory_budget = bytes;
        }
        if let Some(pixels) = max_pixels {
            options.limits.max_pixels = pixels;
        }
        let name = model.clone();
        let inner = py
            .detach(|| {
                let model = match (&weights, &model) {
                    (Some(path), _) => Model::load(path)?,
                    (None, Some(name)) => Model::builtin_named(name)?,
                    (None, None) => Model::builtin()?,
                };
                vaec_gpu::Codec::with_options(GpuContext::new(backend)?, model, options)
            })
            .map_err(py_err)?;
        Ok(Codec { inner, name })
    }

    /// encode(array, quality=6.0, icc=None, exif=None, xmp=None, exact=False) -> bytes: a uint8
    /// array of HxW (gray), HxWx1, HxWx2 (gray, alpha), HxWx3 (RGB) or HxWx4 (RGBA) as a .vaec
    /// file, with an ICC profile, EXIF (TIFF-structured; a leading "Exif\0\0" is dropped) and
    /// XMP carried along, each at most 16 MiB.
    /// Alpha is kept losslessly (an opaque one costs nothing); the colour under fully
    /// transparent pixels is replaced by a cheap smooth fill unless `exact`.
    #[pyo3(signature = (array, quality=6.0, icc=None, exif=None, xmp=None, exact=false))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        array: PyReadonlyArrayDyn<'py, u8>,
        quality: f32,
        icc: Option<Vec<u8>>,
        exif: Option<Vec<u8>>,
        xmp: Option<Vec<u8>>,
        exact: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let shape = array.shape().to_vec();
        let (h, w, c) = match shape[..] {
            [h, w] => (h, w, 1),
            [h, w, c] if (1..=4).contains(&c) => (h, w, c),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "an array of shape {shape:?}: expected height x width (gray) or height x \
                     width x 1, 2 (gray, alpha), 3 (RGB) or 4 (RGBA)"
                )))
            }
        };
        let samples: Vec<u8> = match array.as_slice() {
            Ok(slice) => slice.to_vec(),
            Err(_) => array.as_array().iter().copied().collect(), // not contiguous
        };
        let bytes = py
            .detach(|| {
                let mut picture = Picture::from_samples(w, h, c, &samples)?;
                picture.metadata = Metadata { icc, exif, xmp };
                if !exact {
                    picture.fill_hidden_colour();
                }
                self.inner.encode_picture(&picture, quality)
            })
            .map_err(py_err)?
            .bytes;
        Ok(PyBytes::new(py, &bytes))
    }

    /// decode(data) -> numpy.ndarray: a .vaec file (bytes or any bytes-like object) as a uint8 array in the layout it was coded
    /// from: HxW (gray), HxWx2 (gray, alpha), HxWx3 (RGB) or HxWx4 (RGBA). `info(data)` has its
    /// ICC profile, EXIF and XMP.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = bytes_like(data)?;
        let data = data.as_bytes();
        let picture = py.detach(|| self.inner.decode_picture(data)).map_err(py_err)?;
        let (h, w, c) = (picture.image.height, picture.image.width, picture.channels());
        let flat = PyArray1::from_vec(py, picture.samples());
        Ok(match c {
            1 => flat.reshape([h, w])?.into_any(),
            _ => flat.reshape([h, w, c])?.into_any(),
        })
    }

    /// The compiled-in model's name ("default" when none was asked for), or the weight file's.
    #[getter]
    fn model(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| Model::builtin_names()[0].to_string())
    }

    /// The model's identity (hex), as files name it.
    #[getter]
    fn model_id(&self) -> String {
        hex(&self.inner.model().id)
    }

    /// The GPU adapter, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, ...)".
    #[getter]
    fn adapter(&self) -> String {
        self.inner.context().adapter_description()
    }

    /// The number of quality levels of the model (qualities go from 1 to this).
    #[getter]
    fn levels(&self) -> usize {
        self.inner.model().levels()
    }
}

/// info(data) -> dict: the header of a .vaec file (bytes or any bytes-like object), without
/// decoding the pixels (the alpha plane and the metadata are checked whole).
#[pyfunction]
fn info<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let data = bytes_like(data)?;
    let data = data.as_bytes();
    let parsed = format::parse(data, &Limits::default()).map_err(py_err)?;
    let h = &parsed.header;
    let d = PyDict::new(py);
    d.set_item("width", h.width)?;
    d.set_item("height", h.height)?;
    d.set_item("quality", h.quality())?;
    d.set_item("version", h.version)?;
    d.set_item("model_id", hex(&h.model_id))?;
    let name = Model::builtin_names()
        .into_iter()
        .find(|n| Model::builtin_named(n).is_ok_and(|m| m.id == h.model_id));
    d.set_item("model", name)?;
    d.set_item("bytes", data.len())?;
    d.set_item("header_bytes", parsed.header_bytes)?;
    d.set_item(
        "substreams",
        parsed.streams.iter().map(|s| s.len()).collect::<Vec<_>>(),
    )?;
    d.set_item("gray", h.colour == format::COLOUR_GRAY8)?;
    d.set_item("source_depth", h.source_bits())?;
    let side = &parsed.side;
    d.set_item("alpha", side.alpha.is_some())?;
    let bytes = |item: &Option<Vec<u8>>| item.as_deref().map(|b| PyBytes::new(py, b));
    d.set_item("icc", bytes(&side.metadata.icc))?;
    d.set_item("exif", bytes(&side.metadata.exif))?;
    d.set_item("xmp", bytes(&side.metadata.xmp))?;
    Ok(d)
}

/// The names of the compiled-in models, the default first.
#[pyfunction]
fn models() -> Vec<&'static str> {
    Model::builtin_names()
}

#[pymodule]
fn _vaec_gpu(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Codec>()?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    let py = m.py();
    m.add("VaecError", py.get_type::<VaecError>())?;
    m.add("FormatError", py.get_type::<FormatError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("GpuError", py.get_type::<GpuError>())?;
    m.add("MAGIC_BYTES", PyBytes::new(py, &format::MAGIC))?;
    Ok(())
}
