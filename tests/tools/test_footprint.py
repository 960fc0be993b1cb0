"""The minimal GPU configuration's footprint (issue 15's target, counted
as tools/bench size counts it: bench_size.target_bytes, text+rodata of
the virtio core, the split ring, the GPU driver and the graphics): a
count, not a timing, so a change that grows it past the target fails
here rather than in the next benchmark report."""
import os

import bench_size


def test_minimal_configuration_fits(build):
    out = build("qemu_virt_aarch64_min")
    fp = bench_size.footprint(os.path.join(out, "kernel.map"))
    total = bench_size.target_bytes(fp)
    parts = {c: fp.get(c, {}).get("text", 0) + fp.get(c, {}).get("rodata", 0)
             for c in bench_size.TARGET}
    assert 0 < total <= bench_size.MIN_TARGET_BYTES, parts
    # Every counted part is in the image (a renamed directory would
    # silently drop out of the count).
    assert all(n > 0 for n in parts.values()), parts
