//! What Rust and WGSL share by hand, checked against naga's reading of the shaders: the `Params`
//! structs' layouts, constants, workgroup sizes and binding numbers.

use super::conv::{self, ConvParams};
use super::gdn::{self, LinearParams};
use super::image::{self, ImageParams};
use super::int_context::{self, ContextParams};
use super::int_conv::{self, IntParams};
use super::latent_search::{self, SearchParams};
use super::{LINEAR_WORKGROUP, SUBGROUP_OUTPUT_GROUPS, TILE};
use crate::gpu::shaders::source;

fn module(file: &str) -> naga::Module {
    naga::front::wgsl::parse_str(&source(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// (field, byte offset) of a params struct, padding fields left out: the struct is filled
/// with word i = i and read back through its Debug output ("T { a: 0, b: 1, _pad: [2, 3] }"),
/// so no field list is written a third time here.
fn rust_layout<T: bytemuck::Pod + std::fmt::Debug>() -> Vec<(String, u32)> {
    let words: Vec<u32> = (0..(size_of::<T>() / 4) as u32).collect();
    let value: T = bytemuck::pod_read_unaligned(bytemuck::cast_slice(&words));
    let text = format!("{value:?}");
    let body = text.split_once('{').unwrap().1.trim_end_matches('}');
    body.split(", ")
        .filter_map(|field| field.trim().split_once(": "))
        .filter(|(name, _)| !name.starts_with('_'))
        .map(|(name, word)| {
            // an f32 field prints word i as the float of those bits (shortest round trip)
            let word = word.trim();
            let i =
                (word.parse::<u32>()).unwrap_or_else(|_| word.parse::<f32>().unwrap().to_bits());
            (name.to_string(), 4 * i)
        })
        .collect()
}

/// (member, byte offset) of the struct `Params` of a shader as naga lays it out, padding
/// members left out, and its size.
fn wgsl_layout(file: &str) -> (Vec<(String, u32)>, u32) {
    let module = module(file);
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
            (Some(name), naga::TypeInner::Struct { members, span }) if name == "Params" => {
                Some((members.clone(), *span))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{file}: no struct Params"));
    let named = members
        .iter()
        .filter_map(|m| Some((m.name.clone()?, m.offset)))
        .filter(|(name, _)| !name.starts_with('_'))
        .collect();
    (named, span)
}

fn assert_same_layout<T: bytemuck::Pod + std::fmt::Debug>(files: &[&str]) {
    for file in files {
        let (members, span) = wgsl_layout(file);
        assert_eq!(
            members,
            rust_layout::<T>(),
            "{file} vs {}",
            std::any::type_name::<T>()
        );
        assert_eq!(span as usize, size_of::<T>(), "{file}: size");
    }
}

#[test]
fn params_structs_match_their_shaders() {
    assert_same_layout::<ConvParams>(&[
        "conv.wgsl",
        "deconv.wgsl",
        "conv_subgroup.wgsl",
        "deconv_subgroup.wgsl",
    ]);
    assert_same_layout::<LinearParams>(&["gdn.wgsl", "gdn_subgroup.wgsl", "gdn_backward.wgsl"]);
    assert_same_layout::<SearchParams>(&["latent_search.wgsl"]);
    assert_same_layout::<ImageParams>(&["image.wgsl"]);
    assert_same_layout::<IntParams>(&["int_conv.wgsl", "int_conv_subgroup.wgsl"]);
    assert_same_layout::<ContextParams>(&["int_context.wgsl"]);
}

/// The u32 value of the module-scope constant or the default of the override `name`.
fn constant(file: &str, name: &str) -> u32 {
    let m = module(file);
    let init = m
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .map(|(_, c)| c.init)
        .or_else(|| {
            m.overrides
                .iter()
                .find(|(_, o)| o.name.as_deref() == Some(name))
                .and_then(|(_, o)| o.init)
        })
        .unwrap_or_else(|| panic!("{file}: no constant {name}"));
    match m.global_expressions[init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => v,
        ref other => panic!("{file}: {name} is {other:?}"),
    }
}

/// The f32 value of the module-scope constant `name`.
fn constant_f32(file: &str, name: &str) -> f32 {
    let m = module(file);
    let (_, c) = m
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{file}: no constant {name}"));
    match m.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::F32(v)) => v,
        ref other => panic!("{file}: {name} is {other:?}"),
    }
}

#[test]
fn search_constants_match_the_cpu_twin() {
    use crate::cpu::latent_search as twin;
    for (name, value) in [
        ("ADAM_BETA1", twin::ADAM_BETA1),
        ("ADAM_BETA2", twin::ADAM_BETA2),
        ("ADAM_EPSILON", twin::ADAM_EPSILON),
        ("R_MIN", twin::R_MIN),
        ("LIKELIHOOD_MIN", twin::LIKELIHOOD_MIN),
    ] {
        assert_eq!(constant_f32("latent_search.wgsl", name), value, "{name}");
    }
}

#[test]
fn constants_match_their_shaders() {
    assert_eq!(
        constant("gdn_backward.wgsl", "MAX_PIXEL_GROUPS") as usize,
        latent_search::MAX_PIXEL_GROUPS
    );
    for file in [
        "conv.wgsl",
        "deconv.wgsl",
        "conv_subgroup.wgsl",
        "deconv_subgroup.wgsl",
    ] {
        assert_eq!(constant(file, "PX") as usize, conv::PX, "{file}: PX");
        assert_eq!(
            constant(file, "FLAG_RELU"),
            conv::FLAG_RELU,
            "{file}: FLAG_RELU"
        );
    }
    for file in [
        "conv_subgroup.wgsl",
        "deconv_subgroup.wgsl",
        "gdn_subgroup.wgsl",
    ] {
        assert_eq!(
            constant(file, "GROUPS") as usize,
            SUBGROUP_OUTPUT_GROUPS,
            "{file}: GROUPS"
        );
    }
    assert_eq!(
        constant("gdn_subgroup.wgsl", "PX") as usize,
        gdn::SUBGROUP_GDN_PIXELS
    );
    assert_eq!(
        constant("int_context.wgsl", "MAX_HIDDEN") as usize,
        crate::model::int_net::MAX_HIDDEN
    );
}

#[test]
fn workgroup_sizes_match_the_dispatches() {
    let square = [TILE as u32, TILE as u32, 1];
    let linear = [LINEAR_WORKGROUP as u32, 1, 1];
    for (file, entry, size) in [
        ("conv.wgsl", "conv2d", square),
        ("deconv.wgsl", "conv_transpose2d", square),
        ("image.wgsl", "rgba8_to_tensor", square),
        ("image.wgsl", "tensor_to_rgba8", square),
        ("image.wgsl", "merge_alpha", square),
        ("int_conv.wgsl", "int_conv", square),
        ("int_conv.wgsl", "scale_index", linear),
        ("int_context.wgsl", "checkerboard_parameters", linear),
        ("gdn.wgsl", "gdn", linear),
        ("gdn_subgroup.wgsl", "gdn", linear),
        ("gdn_backward.wgsl", "igdn_backward_t", linear),
        ("gdn_backward.wgsl", "igdn_backward_mix", linear),
        ("gdn_backward.wgsl", "igdn_backward_pixel", linear),
        ("latent_search.wgsl", "soft_round", linear),
        ("latent_search.wgsl", "adam_step", linear),
        ("latent_search.wgsl", "distortion_grad", linear),
        // the subgroup kernels: 64 invocations laid out as TILE x TILE pixels
        ("conv_subgroup.wgsl", "conv2d", linear),
        ("conv_subgroup.wgsl", "conv2d_k5s2", linear),
        ("deconv_subgroup.wgsl", "conv_transpose2d", linear),
        ("deconv_subgroup.wgsl", "conv_transpose2d_k5s2", linear),
        ("int_conv_subgroup.wgsl", "int_conv", linear),
        ("int_conv_subgroup.wgsl", "int_conv_transpose", linear),
    ] {
        let m = module(file);
        let ep = m
            .entry_points
            .iter()
            .find(|e| e.name == entry)
            .unwrap_or_else(|| panic!("{file}: no entry point {entry}"));
        assert_eq!(ep.workgroup_size, size, "{file} {entry}");
    }
    assert_eq!(LINEAR_WORKGROUP, TILE * TILE);
}

#[test]
fn binding_numbers_match_their_shaders() {
    let files: &[(&str, &[(&str, u32)])] = &[
        (
            "conv.wgsl",
            &[
                ("src", conv::binding::SRC),
                ("weights", conv::binding::WEIGHTS),
                ("bias", conv::binding::BIAS),
                ("dst", conv::binding::DST),
            ],
        ),
        (
            "gdn.wgsl",
            &[
                ("src", gdn::binding::SRC),
                ("beta", gdn::binding::BETA),
                ("gamma", gdn::binding::GAMMA),
                ("dst", gdn::binding::DST),
            ],
        ),
        (
            "gdn_backward.wgsl",
            &[
                ("src", gdn::binding::SRC),
                ("beta", gdn::binding::BETA),
                ("gamma", gdn::binding::GAMMA),
                ("grad", latent_search::binding::GRAD),
                ("t", latent_search::binding::T),
                ("dst", latent_search::binding::DST),
                ("gamma_t", latent_search::binding::GAMMA_T),
            ],
        ),
        (
            "latent_search.wgsl",
            &[
                ("y", latent_search::binding::Y),
                ("mean", latent_search::binding::MEAN),
                ("scale", latent_search::binding::SCALE),
                ("inv_gain", latent_search::binding::INV_GAIN),
                ("synthesis_input", latent_search::binding::SYNTHESIS_INPUT),
                ("d_round", latent_search::binding::D_ROUND),
                ("rate_grad", latent_search::binding::RATE_GRAD),
                ("synthesis_grad", latent_search::binding::SYNTHESIS_GRAD),
                ("moment1", latent_search::binding::MOMENT1),
                ("moment2", latent_search::binding::MOMENT2),
                ("output", latent_search::binding::OUTPUT),
                ("picture", latent_search::binding::PICTURE),
                ("output_grad", latent_search::binding::OUTPUT_GRAD),
            ],
        ),
        (
            "image.wgsl",
            &[
                ("rgba_in", image::binding::RGBA_IN),
                ("tensor_out", image::binding::TENSOR_OUT),
                ("tensor_in", image::binding::TENSOR_IN),
                ("rgba_out", image::binding::RGBA_OUT),
                ("alpha_in", image::binding::ALPHA_IN),
                ("rgba_inout", image::binding::RGBA_INOUT),
            ],
        ),
        (
            "int_conv.wgsl",
            &[
                ("src", int_conv::binding::SRC),
                ("weights", int_conv::binding::WEIGHTS),
                ("bias", int_conv::binding::BIAS),
                ("shift", int_conv::binding::SHIFT),
                ("dst", int_conv::binding::DST),
                ("thresholds", int_conv::binding::THRESHOLDS),
                ("indexes", int_conv::binding::INDEXES),
            ],
        ),
        (
            "int_context.wgsl",
            &[
                ("hyper", int_context::binding::HYPER),
                ("context_in", int_context::binding::CONTEXT_IN),
                ("net", int_context::binding::NET),
                ("thresholds", int_context::binding::THRESHOLDS),
                ("indexes", int_context::binding::INDEXES),
                ("means", int_context::binding::MEANS),
            ],
        ),
    ];
    let variants = [
        ("conv.wgsl", "deconv.wgsl"),
        ("conv.wgsl", "conv_subgroup.wgsl"),
        ("conv.wgsl", "deconv_subgroup.wgsl"),
        ("gdn.wgsl", "gdn_subgroup.wgsl"),
        ("int_conv.wgsl", "int_conv_subgroup.wgsl"),
    ];
    let check = |file: &str, expected: &[(&str, u32)]| {
        let m = module(file);
        for (name, number) in expected {
            let Some((_, var)) = m
                .global_variables
                .iter()
                .find(|(_, v)| v.name.as_deref() == Some(name))
            else {
                // int_conv_subgroup.wgsl has no index lookup
                assert!(file.contains("subgroup"), "{file}: no variable {name}");
                continue;
            };
            let binding = var.binding.as_ref().expect("a resource").binding;
            assert_eq!(binding, *number, "{file}: binding of {name}");
        }
        let p = m
            .global_variables
            .iter()
            .find(|(_, v)| v.name.as_deref() == Some("p"))
            .expect("params");
        assert_eq!(p.1.binding.as_ref().unwrap().binding, 0, "{file}: p");
    };
    for (file, expected) in files {
        check(file, expected);
        for (base, variant) in variants {
            if base == *file {
                check(variant, expected);
            }
        }
    }
}
