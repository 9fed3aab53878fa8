// Embedding gather: Y[t, :] = table[ids[t], :] * scale, for the ids that fall
// in this table part's rows [row_start, row_start + rows); a split table is
// gathered with one dispatch per part. Table f32/f16/bf16, Y f32.
// Backward: `embedding_bwd` (deterministic scatter-add into dTable, grouped
// by id on the host) and `scatter_rows` (Y[Ids[r], :] = SRC[r, :]).

struct EmbParams {
    tokens: u32,
    hidden: u32,
    row_start: u32,
    rows: u32,
    scale: f32,
    seg_first: u32, // embedding_bwd: first segment of this dispatch
    segs: u32,      // embedding_bwd: number of segments
    _p2: u32,
}

@group(0) @binding(0) var<uniform> P: EmbParams;
@group(0) @binding(1) var<storage, read> Ids: array<u32>;
@group(0) @binding(2) var<storage, read> Table: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
// embedding_bwd: dY [tokens, hidden], token order sorted by (id, index),
// segments [unique, 3] = (id, start, end) into ORDER, dTable part [rows, hidden].
@group(0) @binding(4) var<storage, read> DY: array<f32>;
@group(0) @binding(5) var<storage, read> ORDER: array<u32>;
@group(0) @binding(6) var<storage, read> SEGS: array<u32>;
@group(0) @binding(7) var<storage, read_write> DTABLE: array<f32>;
// scatter_rows: source rows [tokens, hidden] (Ids = their destination rows).
@group(0) @binding(8) var<storage, read> SRC: array<f32>;

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

// dTable[id - row_start, :] += scale * sum of dY[t, :] over the tokens t of one
// segment (all tokens with that id, in token order): one workgroup per segment,
// threads over hidden. Each row has one writer, so no atomics and the result
// is deterministic. Segments P.seg_first .. + P.segs are those whose id lies
// in this part (the host picks them).
@compute @workgroup_size(256, 1, 1)
fn embedding_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let s = flat_wg(wg, nwg);
    if (s >= P.segs) { return; }
    let seg = (P.seg_first + s) * 3u;
    let id = SEGS[seg];
    let start = SEGS[seg + 1u];
    let end = SEGS[seg + 2u];
    let row = (id - P.row_start) * P.hidden;
    for (var j = lid.x; j < P.hidden; j += 256u) {
        var acc = 0.0;
        for (var i = start; i < end; i++) {
            acc += DY[ORDER[i] * P.hidden + j];
        }
        DTABLE[row + j] += P.scale * acc;
    }
}

// Y[Ids[r], :] = SRC[r, :] for r < P.tokens (rows of length P.hidden); rows
// with Ids[r] >= P.rows (outside Y) are skipped.
@compute @workgroup_size(256, 1, 1)
fn scatter_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let idx = flat_wg(wg, nwg) * 256u + lid.x;
    if (idx >= P.tokens * P.hidden) { return; }
    let dst = Ids[idx / P.hidden];
    if (dst >= P.rows) { return; }
    Y[dst * P.hidden + idx % P.hidden] = SRC[idx];
}
