// Included by the _subgroup kernels (see `shader_source` in src/gpu/shaders.rs).
//
// A 4x4 weight matrix from one vec2 per lane: lane l (l < 8) has loaded floats 2l and 2l+1 of the
// column-major matrix, and subgroupBroadcast hands each float to every lane. Must be called in
// uniform control flow with at least 8 lanes per subgroup.
fn broadcast_matrix(q: vec2<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(
        subgroupBroadcast(q.x, 0u), subgroupBroadcast(q.y, 0u),
        subgroupBroadcast(q.x, 1u), subgroupBroadcast(q.y, 1u),
        subgroupBroadcast(q.x, 2u), subgroupBroadcast(q.y, 2u),
        subgroupBroadcast(q.x, 3u), subgroupBroadcast(q.y, 3u),
        subgroupBroadcast(q.x, 4u), subgroupBroadcast(q.y, 4u),
        subgroupBroadcast(q.x, 5u), subgroupBroadcast(q.y, 5u),
        subgroupBroadcast(q.x, 6u), subgroupBroadcast(q.y, 6u),
        subgroupBroadcast(q.x, 7u), subgroupBroadcast(q.y, 7u));
}
