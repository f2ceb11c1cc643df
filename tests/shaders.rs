//! Every WGSL entry-point file in shaders/ parses and validates with naga (with its includes from
//! shaders/shared/ expanded, as the engine compiles it), and every file is compiled in.

use vaec_gpu::gpu::{shader_source, SHADER_SOURCES};

#[test]
fn every_shader_parses_and_validates() {
    for (name, _) in SHADER_SOURCES
        .iter()
        .filter(|(n, _)| !n.starts_with("shared/"))
    {
        let source =
            &shader_source(name).unwrap_or_else(|| panic!("{name}: an include is missing"));
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        let (capabilities, stages, operations) = if source.contains("subgroupBroadcast") {
            (
                naga::valid::Capabilities::SUBGROUP,
                naga::valid::ShaderStages::COMPUTE,
                naga::valid::SubgroupOperationSet::all(),
            )
        } else {
            (
                naga::valid::Capabilities::empty(),
                naga::valid::ShaderStages::empty(),
                naga::valid::SubgroupOperationSet::empty(),
            )
        };
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
            .subgroup_stages(stages)
            .subgroup_operations(operations)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn every_file_in_shaders_dir_is_compiled_in() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut seen = 0;
    for dir in ["", "shared/"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let name = format!("{dir}{}", entry.unwrap().file_name().into_string().unwrap());
            if name.ends_with(".wgsl") {
                seen += 1;
                assert!(
                    SHADER_SOURCES.iter().any(|(n, _)| *n == name),
                    "{name} is not in SHADER_SOURCES"
                );
            }
        }
    }
    assert_eq!(
        seen,
        SHADER_SOURCES.len(),
        "SHADER_SOURCES names a file that is gone"
    );
}
