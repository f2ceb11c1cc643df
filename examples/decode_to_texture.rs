//! Embedding vaec-gpu in a wgpu application, headless.
//!
//! The "application" opens its own adapter and device, hands them to the codec
//! (`GpuContext::from_device`), decodes a `.vaec` file straight into a texture, draws that texture
//! with its own render pipeline into an offscreen target, saves the target as a PNG, and checks it
//! against the codec's ordinary CPU-side decode: the pixels must be identical.
//!
//!     cargo run --release --example decode_to_texture [-- INPUT.png [OUTPUT.png]]

use std::path::PathBuf;
use std::process::ExitCode;

use vaec_gpu::{Codec, GpuContext, Image, Model};

const BLIT: &str = r#"
@group(0) @binding(0) var picture: texture_2d<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    // one triangle that covers the viewport
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    // exact texel fetch: no filtering, so the drawn pixels equal the decoded ones
    return textureLoad(picture, vec2<i32>(pos.xy), 0);
}
"#;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("decode_to_texture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("examples/data/seeding.png"));
    let output = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("vaec_decode_to_texture.png"));

    // --- the application's own device
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
        &instance, None,
    ))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("host application"),
        // vaec-gpu's faster kernels need subgroups; everything works without them
        required_features: adapter.features() & wgpu::Features::SUBGROUP,
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    println!(
        "host device on {} ({:?})",
        adapter.get_info().name,
        adapter.get_info().backend
    );

    // --- the codec on the host's device
    let codec = Codec::new(
        GpuContext::from_device(device.clone(), queue.clone())?,
        Model::builtin()?,
    )?;
    println!(
        "codec kernels: {}",
        match codec.context().uses_subgroups() {
            true => "subgroup variants",
            false => "portable",
        }
    );
    let rgb = image::open(&input)?.to_rgb8();
    let picture = Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw())?;
    let file = codec.encode(&picture, 4.0)?.bytes;
    let texture = codec.decode_to_texture(&file)?;
    let (w, h) = (texture.width(), texture.height());
    println!(
        "decoded {} bytes into a {w}x{h} {:?} texture",
        file.len(),
        texture.format()
    );

    // --- the application draws the texture into its own target
    let target = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("offscreen target"),
        size: texture.size(),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("blit"),
        source: wgpu::ShaderSource::Wgsl(BLIT.into()),
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("blit"),
        layout: None,
        vertex: wgpu::VertexState {
            module: &module,
            entry_point: Some("vs"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: Default::default(),
        depth_stencil: None,
        multisample: Default::default(),
        fragment: Some(wgpu::FragmentState {
            module: &module,
            entry_point: Some("fs"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::TextureFormat::Rgba8Unorm.into())],
        }),
        multiview_mask: None,
        cache: None,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::TextureView(&texture.create_view(&Default::default())),
        }],
    });
    let pitch = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (pitch * h) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let view = target.create_view(&Default::default());
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("draw the decoded picture"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(pitch),
                rows_per_image: Some(h),
            },
        },
        target.size(),
    );
    queue.submit([encoder.finish()]);
    readback.map_async(wgpu::MapMode::Read, .., |r| r.expect("map readback"));
    device.poll(wgpu::PollType::wait_indefinitely())?;
    let mut drawn = Vec::with_capacity((w * h * 4) as usize);
    for row in readback.get_mapped_range(..)?.chunks_exact(pitch as usize) {
        drawn.extend_from_slice(&row[..(w * 4) as usize]);
    }
    image::RgbaImage::from_raw(w, h, drawn.clone())
        .ok_or("readback size")?
        .save(&output)?;
    println!("drew the texture into {}", output.display());

    // --- check against the CPU-side decode
    let cpu_side = codec.decode(&file)?;
    let same = cpu_side.rgba == drawn;
    println!(
        "drawn texture {} the CPU-side decode ({} pixels)",
        if same { "matches" } else { "DIFFERS FROM" },
        w * h
    );
    Ok(same)
}
