//! vaec-gpu for web pages: `VaecCodec` on the browser's WebGPU, compiled to wasm and bound with
//! wasm-bindgen. Where the browser has no WebGPU, decoding runs on the CPU decoder compiled into
//! the same wasm (and encoding is refused); `codec.path` and `codec.why` say which runs and why.
//! Errors are JavaScript `Error`s whose `name` is the kind of the Rust [`vaec_gpu::Error`].

use std::cell::RefCell;

use js_sys::{Object, Reflect, Uint8Array, Uint8ClampedArray};
use wasm_bindgen::prelude::*;
use web_sys::ImageData;

use vaec_gpu::codec::decode_picture_cpu;
use vaec_gpu::format::{self, Limits};
use vaec_gpu::model::hex;
use vaec_gpu::{wgpu, Codec, CodecOptions, Error, GpuContext, Model, Picture, Target};

/// The `name` of the JavaScript error for a Rust error: one per kind.
fn kind(e: &Error) -> &'static str {
    match e {
        Error::Format(_) | Error::Entropy { .. } => "FormatError",
        Error::ModelMismatch { .. } => "ModelMismatchError",
        Error::Limit { .. } => "LimitError",
        Error::TargetOutOfReach(_) => "TargetOutOfReachError",
        Error::InvalidArgument(_) | Error::Image(_) => "InvalidArgumentError",
        Error::Weights { .. } => "WeightsError",
        Error::NoAdapter(_) | Error::Gpu(_) | Error::GpuOutOfMemory(_) | Error::DeviceLost(_) => {
            "GpuError"
        }
        Error::Io { .. } => "IoError",
    }
}

fn js_error(e: Error) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name(kind(&e));
    error.into()
}

fn invalid(message: &str) -> JsValue {
    js_error(Error::InvalidArgument(message.into()))
}

/// Sets `key` on a plain object.
fn set(object: &Object, key: &str, value: impl Into<JsValue>) -> Result<(), JsValue> {
    Reflect::set(object, &key.into(), &value.into()).map(|_| ())
}

/// A number field of an options object, if present.
fn number(options: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let value = Reflect::get(options, &key.into())?;
    match value.is_undefined() || value.is_null() {
        true => Ok(None),
        false => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(&format!("{key} must be a number"))),
    }
}

/// Installs, for one call of `navigator.gpu.requestAdapter`, an adapter whose `requestDevice`
/// resolves to `device`: wgpu 30 can wrap a JS texture but not a JS device, and this is the one
/// door through which it takes a device it did not create. The shim removes itself when called.
const ADOPT_DEVICE: &str = r#"
const gpu = navigator.gpu;
if (!gpu) throw new Error("this browser has no WebGPU (navigator.gpu)");
if (typeof device.createComputePipeline !== "function" || !device.queue)
    throw new Error("options.device is not a GPUDevice");
const own = Object.getOwnPropertyDescriptor(gpu, "requestAdapter");
const original = gpu.requestAdapter;
gpu.requestAdapter = async function (options) {
    if (own) Object.defineProperty(gpu, "requestAdapter", own); else delete gpu.requestAdapter;
    const adapter = await original.call(gpu, options);
    if (adapter) adapter.requestDevice = async () => device;
    return adapter;
};
"#;

/// A context on an application's own `GPUDevice`: the codec's pipelines and textures live on
/// it, and its error handlers stay the application's.
async fn application_context(device: &JsValue) -> Result<vaec_gpu::Result<GpuContext>, JsValue> {
    let adopt = js_sys::Function::new_with_args("device", ADOPT_DEVICE);
    adopt.call1(&JsValue::NULL, device).map_err(|e| {
        invalid(
            &js_sys::Error::from(e)
                .message()
                .as_string()
                .unwrap_or_default(),
        )
    })?;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = match instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
    {
        Ok(adapter) => adapter,
        Err(e) => return Ok(Err(Error::NoAdapter(format!("no WebGPU adapter: {e}")))),
    };
    // what is asked here does not matter: the shim gives `device` as it was created
    let (device, queue) = match adapter.request_device(&Default::default()).await {
        Ok(pair) => pair,
        Err(e) => return Ok(Err(Error::Gpu(format!("the application's device: {e}")))),
    };
    Ok(GpuContext::from_device_async(device, queue).await)
}

/// The codec of a page: the default model on the page's WebGPU device, or the CPU decoder.
#[wasm_bindgen]
pub struct VaecCodec {
    /// The GPU codec of the model that ran last (files name their model), if there is a GPU.
    gpu: RefCell<Option<Codec>>,
    /// Why there is no GPU codec, if there is none.
    why: String,
}

#[wasm_bindgen]
impl VaecCodec {
    /// Opens the page's WebGPU adapter with the default model, or runs on `options.device`, an
    /// application's own `GPUDevice` (then `decodeToTexture` gives textures on it, and the
    /// device's limits bound the codec's tiles). `options.effort` (0 to 3, default 0) is how hard
    /// `encode` searches the latents on the GPU (slower encodes, smaller or better files).
    /// `options.gpu = false` uses the CPU decoder even where WebGPU exists. Never fails for want of WebGPU: then decoding runs
    /// on the CPU, and `path` and `why` say so.
    pub async fn create(options: JsValue) -> Result<VaecCodec, JsValue> {
        let wanted =
            options.is_object() && Reflect::get(&options, &"gpu".into())?.as_bool() == Some(false);
        if wanted {
            return Ok(VaecCodec {
                gpu: RefCell::new(None),
                why: "options.gpu is false".into(),
            });
        }
        let effort = number(&options, "effort")?.unwrap_or(0.0);
        if !(0.0..=f64::from(vaec_gpu::codec::MAX_EFFORT)).contains(&effort)
            || effort.fract() != 0.0
        {
            let most = vaec_gpu::codec::MAX_EFFORT;
            return Err(invalid(&format!(
                "effort {effort}: a whole number from 0 to {most}"
            )));
        }
        let codec_options = CodecOptions {
            effort: effort as u8,
            ..CodecOptions::default()
        };
        let model = Model::builtin().map_err(js_error)?;
        let device = match options.is_object() {
            true => Reflect::get(&options, &"device".into())?,
            false => JsValue::UNDEFINED,
        };
        let context = match device.is_undefined() || device.is_null() {
            true => GpuContext::new_async(None).await,
            false => application_context(&device).await?,
        };
        let opened = match context {
            Ok(ctx) => Codec::with_options_async(ctx, model, codec_options).await,
            Err(e) => Err(e),
        };
        Ok(match opened {
            Ok(codec) => VaecCodec {
                gpu: RefCell::new(Some(codec)),
                why: String::new(),
            },
            Err(e) => VaecCodec {
                gpu: RefCell::new(None),
                why: e.to_string(),
            },
        })
    }

    /// Where the codec runs: `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter)]
    pub fn path(&self) -> String {
        match self.gpu.borrow().is_some() {
            true => "webgpu".into(),
            false => "cpu".into(),
        }
    }

    /// Why the codec runs on the CPU (empty on WebGPU).
    #[wasm_bindgen(getter)]
    pub fn why(&self) -> String {
        self.why.clone()
    }

    /// The adapter that runs the codec, in words: the browser's `GPUAdapterInfo` (vendor,
    /// architecture, description; wgpu sees only the description, which Chromium leaves empty).
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        let gpu = self.gpu.borrow();
        let Some(codec) = &*gpu else {
            return "CPU decoder (no WebGPU)".into();
        };
        let info = codec.context().device().as_webgpu().and_then(|device| {
            let info = Reflect::get(device, &"adapterInfo".into()).ok()?;
            let field = |key: &str| {
                let value = Reflect::get(&info, &key.into()).ok()?.as_string()?;
                (!value.is_empty()).then_some(value)
            };
            let words: Vec<String> = ["vendor", "architecture", "device", "description"]
                .into_iter()
                .filter_map(field)
                .collect();
            let fallback = Reflect::get(&info, &"isFallbackAdapter".into())
                .ok()?
                .as_bool();
            let fallback = if fallback == Some(true) {
                ", fallback adapter"
            } else {
                ""
            };
            Some(format!("WebGPU: {}{fallback}", words.join(" ")))
        });
        info.unwrap_or_else(|| codec.context().adapter_description())
    }

    /// The GPU codec (taken out of its slot while it works, so that no borrow lives across an
    /// await) for the model `id`: opened on the same device when the last one had another.
    async fn take_codec_for(&self, id: &[u8; 16]) -> Result<Option<Codec>, JsValue> {
        let Some(current) = self.gpu.borrow_mut().take() else {
            return Ok(None);
        };
        let model = match Model::builtin_with_id(id) {
            Some(model) if current.model().id != *id => model.map_err(js_error)?,
            // the same model, or none: the decoder reports a mismatch naming both identities
            _ => return Ok(Some(current)),
        };
        let ctx = current.context();
        let ctx = GpuContext::from_device_async(ctx.device().clone(), ctx.queue().clone()).await;
        let opened = match ctx {
            Ok(ctx) => Codec::with_options_async(ctx, model, *current.options()).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(codec) => Ok(Some(codec)),
            Err(e) => {
                *self.gpu.borrow_mut() = Some(current);
                Err(js_error(e))
            }
        }
    }

    /// Decodes a `.vaec` file to `ImageData` (alpha kept; gray files as gray RGB).
    pub async fn decode(&self, bytes: &[u8]) -> Result<ImageData, JsValue> {
        let limits = Limits::default();
        let header = format::parse(bytes, &limits).map_err(js_error)?.header;
        let gpu = self.take_codec_for(&header.model_id).await?;
        let picture = match &gpu {
            Some(codec) => codec.decode_picture_async(bytes).await,
            None => Model::builtin_with_id(&header.model_id)
                .unwrap_or_else(Model::builtin)
                .and_then(|model| decode_picture_cpu(&model, bytes, &limits)),
        };
        *self.gpu.borrow_mut() = gpu;
        image_data(&picture.map_err(js_error)?)
    }

    /// Encodes `ImageData` to a `.vaec` file: `options.quality` (1 to 10, fractions allowed;
    /// default 6) or `options.targetSize` (bytes). Needs WebGPU.
    pub async fn encode(&self, image: ImageData, options: JsValue) -> Result<Uint8Array, JsValue> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let mut picture =
            Picture::from_samples(width, height, 4, &image.data()).map_err(js_error)?;
        if picture.alpha.is_some() {
            picture.fill_hidden_colour();
        }
        let asked = (
            number(&options, "targetSize")?,
            number(&options, "quality")?,
        );
        let gpu = self.gpu.borrow_mut().take();
        let Some(codec) = &gpu else {
            let why = format!("encoding needs WebGPU ({})", self.why);
            return Err(js_error(Error::NoAdapter(why)));
        };
        let encoded = match asked {
            (Some(bytes), None) if bytes >= 1.0 && bytes.is_finite() => {
                let target = Target::Bytes(bytes as u64);
                let targeted = codec.encode_picture_to_target_async(&picture, target).await;
                targeted.map(|t| t.encoded)
            }
            (Some(_), None) => Err(Error::InvalidArgument(
                "targetSize must be a positive number of bytes".into(),
            )),
            (None, quality) => {
                let quality = quality.unwrap_or(6.0) as f32;
                codec.encode_picture_async(&picture, quality).await
            }
            (Some(_), Some(_)) => Err(Error::InvalidArgument(
                "give quality or targetSize, not both".into(),
            )),
        };
        *self.gpu.borrow_mut() = gpu;
        Ok(Uint8Array::from(&encoded.map_err(js_error)?.bytes[..]))
    }

    /// The codec's `GPUDevice` (null on the CPU path): an application that renders what
    /// [`VaecCodec::decode_to_texture`] gives creates its pipelines on this device.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> JsValue {
        let gpu = self.gpu.borrow();
        let device = gpu
            .as_ref()
            .and_then(|codec| codec.context().device().as_webgpu());
        device.map_or(JsValue::NULL, |d| d.clone().into())
    }

    /// Decodes a `.vaec` file straight into a new `rgba8unorm` `GPUTexture` on the codec's device
    /// (`TEXTURE_BINDING | COPY_SRC | COPY_DST`): the pixels never leave the GPU. Alpha goes into
    /// the texture's alpha. Needs WebGPU.
    #[wasm_bindgen(js_name = decodeToTexture)]
    pub async fn decode_to_texture(&self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let header = format::parse(bytes, &Limits::default())
            .map_err(js_error)?
            .header;
        let gpu = self.take_codec_for(&header.model_id).await?;
        let Some(codec) = &gpu else {
            let why = format!("decoding into a texture needs WebGPU ({})", self.why);
            return Err(js_error(Error::NoAdapter(why)));
        };
        let texture = codec.decode_to_texture_async(bytes).await;
        *self.gpu.borrow_mut() = gpu;
        let texture = texture.map_err(js_error)?;
        // wgpu does not destroy a texture it drops on the web: the page's handle keeps it
        let handle = texture.as_webgpu().map(|t| JsValue::from(t.clone()));
        handle.ok_or_else(|| js_error(Error::Gpu("the texture is not a WebGPU one".into())))
    }

    /// Benchmarks this page's GPU on the bench's built-in picture of `width` x `height` at
    /// `quality`, `iterations` times after a warm-up: the JSON report of `vaec-gpu bench --json`
    /// (the same stages and names), so that phones and laptops compare with native runs.
    pub async fn bench(
        &self,
        width: u32,
        height: u32,
        quality: f32,
        iterations: u32,
    ) -> Result<String, JsValue> {
        let picture = vaec_gpu::bench::synthetic_picture(width as usize, height as usize)
            .map_err(js_error)?;
        let gpu = self.gpu.borrow_mut().take();
        let Some(codec) = &gpu else {
            let why = format!("the bench needs WebGPU ({})", self.why);
            return Err(js_error(Error::NoAdapter(why)));
        };
        let iterations = (iterations as usize).max(1);
        let report = vaec_gpu::bench::run_async(codec, &picture, quality, iterations).await;
        *self.gpu.borrow_mut() = gpu;
        let mut report = report.map_err(js_error)?;
        report.adapter = self.adapter();
        serde_json::to_string(&report).map_err(|e| invalid(&format!("bench report: {e}")))
    }
}

/// The PSNR of two pictures of the same size over their RGB samples, in dB, as the command line
/// reports it (`vaec-gpu encode --psnr`).
#[wasm_bindgen]
pub fn psnr(a: ImageData, b: ImageData) -> Result<f64, JsValue> {
    let image = |d: &ImageData| vaec_gpu::Image {
        width: d.width() as usize,
        height: d.height() as usize,
        rgba: d.data().0,
    };
    let (a, b) = (image(&a), image(&b));
    if (a.width, a.height) != (b.width, b.height) {
        return Err(invalid("psnr: the pictures differ in size"));
    }
    Ok(vaec_gpu::metrics::psnr(&a, &b))
}

/// The picture as `ImageData` on its own JavaScript buffer: an `ImageData` made on a view of the
/// wasm memory would keep that view, whose bytes the next allocation overwrites.
fn image_data(picture: &Picture) -> Result<ImageData, JsValue> {
    let (width, height) = (picture.image.width as u32, picture.image.height as u32);
    let rgba = picture.rgba();
    let pixels = Uint8ClampedArray::new_with_length(rgba.len() as u32);
    pixels.copy_from(&rgba);
    ImageData::new_with_js_u8_clamped_array_and_sh(&pixels, width, height)
}

/// The header of a `.vaec` file, checked whole (no GPU work): width, height, quality, version,
/// model identity and name, sizes, and what it carries besides the pixels.
#[wasm_bindgen]
pub fn info(bytes: &[u8]) -> Result<Object, JsValue> {
    let parsed = format::parse(bytes, &Limits::default()).map_err(js_error)?;
    let h = &parsed.header;
    let o = Object::new();
    set(&o, "width", h.width)?;
    set(&o, "height", h.height)?;
    set(&o, "quality", h.quality())?;
    set(&o, "version", h.version)?;
    set(&o, "modelId", hex(&h.model_id))?;
    let name = Model::builtin_names()
        .into_iter()
        .find(|n| Model::builtin_named(n).is_ok_and(|m| m.id == h.model_id));
    set(&o, "model", name.map_or(JsValue::NULL, JsValue::from))?;
    set(&o, "bytes", bytes.len() as u32)?;
    set(&o, "gray", h.colour == format::COLOUR_GRAY8)?;
    set(&o, "alpha", parsed.side.alpha.is_some())?;
    let meta = &parsed.side.metadata;
    let size = |item: &Option<Vec<u8>>| item.as_ref().map_or(0, |b| b.len() as u32);
    set(&o, "iccBytes", size(&meta.icc))?;
    set(&o, "exifBytes", size(&meta.exif))?;
    set(&o, "xmpBytes", size(&meta.xmp))?;
    Ok(o)
}
