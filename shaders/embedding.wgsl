// Embedding gather: Y[t, :] = table[ids[t], :] * scale, for the ids that fall
// in this table part's rows [row_start, row_start + rows); a split table is
// gathered with one dispatch per part. Table f32/f16/bf16, Y f32.
// Backward twin (scatter-add into dTable) goes beside it.

struct EmbParams {
    tokens: u32,
    hidden: u32,
    row_start: u32,
    rows: u32,
    scale: f32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> P: EmbParams;
@group(0) @binding(1) var<storage, read> Ids: array<u32>;
@group(0) @binding(2) var<storage, read> Table: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn embedding_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let idx = flat_wg(wg, nwg) * 256u + lid.x;
    if (idx >= P.tokens * P.hidden) { return; }
    let t = idx / P.hidden;
    let j = idx % P.hidden;
    let id = Ids[t];
    if (id < P.row_start || id >= P.row_start + P.rows) { return; }
    let li = (id - P.row_start) * P.hidden + j;
    Y[idx] = wval(Table[widx(li)], li) * P.scale;
}
