//! The WGSL sources, compiled into the binary, and the `//#include` expansion that lets shaders
//! share structs and helpers from `shaders/shared/` (WGSL has no includes).

/// Every WGSL file of `shaders/` (entry points) and `shaders/shared/` (included pieces), by path
/// relative to `shaders/`; tests/shaders.rs checks that the list is complete and that each entry
/// point validates with naga.
pub const SHADER_SOURCES: &[(&str, &str)] = &[
    ("conv.wgsl", include_str!("../../shaders/conv.wgsl")),
    (
        "conv_subgroup.wgsl",
        include_str!("../../shaders/conv_subgroup.wgsl"),
    ),
    ("deconv.wgsl", include_str!("../../shaders/deconv.wgsl")),
    (
        "deconv_subgroup.wgsl",
        include_str!("../../shaders/deconv_subgroup.wgsl"),
    ),
    ("gdn.wgsl", include_str!("../../shaders/gdn.wgsl")),
    (
        "gdn_subgroup.wgsl",
        include_str!("../../shaders/gdn_subgroup.wgsl"),
    ),
    (
        "gdn_backward.wgsl",
        include_str!("../../shaders/gdn_backward.wgsl"),
    ),
    ("image.wgsl", include_str!("../../shaders/image.wgsl")),
    (
        "int_context.wgsl",
        include_str!("../../shaders/int_context.wgsl"),
    ),
    ("int_conv.wgsl", include_str!("../../shaders/int_conv.wgsl")),
    (
        "latent_search.wgsl",
        include_str!("../../shaders/latent_search.wgsl"),
    ),
    (
        "int_conv_subgroup.wgsl",
        include_str!("../../shaders/int_conv_subgroup.wgsl"),
    ),
    (
        "shared/conv_params.wgsl",
        include_str!("../../shaders/shared/conv_params.wgsl"),
    ),
    (
        "shared/conv_subgroup_common.wgsl",
        include_str!("../../shaders/shared/conv_subgroup_common.wgsl"),
    ),
    (
        "shared/gdn_norm.wgsl",
        include_str!("../../shaders/shared/gdn_norm.wgsl"),
    ),
    (
        "shared/int_conv_params.wgsl",
        include_str!("../../shaders/shared/int_conv_params.wgsl"),
    ),
    (
        "shared/linear_params.wgsl",
        include_str!("../../shaders/shared/linear_params.wgsl"),
    ),
    (
        "shared/subgroup_matrix.wgsl",
        include_str!("../../shaders/shared/subgroup_matrix.wgsl"),
    ),
];

/// A line `//#include FILE` in a shader is replaced by FILE from [`SHADER_SOURCES`].
const INCLUDE: &str = "//#include ";

/// The WGSL source of `file` from [`SHADER_SOURCES`] with its `//#include` lines expanded
/// (included files may include others, each expanded where it is named); `None` for an unknown
/// file or an include nested deeper than 4 (a cycle).
pub fn shader_source(file: &str) -> Option<String> {
    fn expand(file: &str, depth: usize, out: &mut String) -> Option<()> {
        let raw = SHADER_SOURCES.iter().find(|(n, _)| *n == file)?.1;
        for line in raw.lines() {
            match line.strip_prefix(INCLUDE) {
                Some(included) if depth < 4 => expand(included.trim(), depth + 1, out)?,
                Some(_) => return None,
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        Some(())
    }
    let mut out = String::new();
    expand(file, 0, &mut out)?;
    Some(out)
}

/// The expanded source of a file that is known to be in [`SHADER_SOURCES`].
pub(crate) fn source(file: &str) -> String {
    shader_source(file).expect("shader and its includes listed in SHADER_SOURCES")
}
