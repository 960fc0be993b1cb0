"""tools/bench qemu's deterministic boot figure: the blocks QEMU translated
from the kernel's entry up to the GPU's warm-up (bench_qemu
count_translated / translated_before_warmup)."""
import bench_qemu

# A `-d in_asm` log: firmware (not counted), the kernel's entry at 0x1000,
# a block of two instructions, then the warm-up at 0x2000.
LOG = """----------------
IN:
0x00000080:  d503201f  nop
0x00000084:  d503201f  nop

----------------
IN:
0x00001000:  d503201f  nop

----------------
IN: kernel_main
0x00001004:  d503201f  nop
0x00001008:  d65f03c0  ret

----------------
IN:
0x00002000:  d503201f  nop
""".splitlines(True)


def test_counts_from_entry_to_stop():
    assert bench_qemu.count_translated(LOG, 0x1000, (0x2000, 0x2010)) == {
        "blocks": 2, "instructions": 3}


def test_stop_inside_the_symbol():
    # A block starting past the symbol's first instruction ends it too.
    assert bench_qemu.count_translated(LOG, 0x1000, (0x1ffc, 0x2010)) == {
        "blocks": 2, "instructions": 3}


def test_nothing_before_the_entry_counts():
    # Entered at the second kernel block: the first is firmware's then.
    assert bench_qemu.count_translated(LOG, 0x1004, (0x2000, 0x2010)) == {
        "blocks": 1, "instructions": 2}


def test_never_reached_is_none():
    assert bench_qemu.count_translated(LOG, 0x1000, (0x3000, 0x3010)) is None
    assert bench_qemu.count_translated(LOG, 0x4000, (0x2000, 0x2010)) is None


def test_the_default_kernel_has_the_warmup(build):
    # Renaming gpu_warm_posted would silently drop the figure (None).
    out = build("qemu_virt_aarch64")
    assert bench_qemu.symbol_range(out + "/kernel.elf", bench_qemu.WARMUP_SYMBOL)


# lld's map file: code input sections at their virtual and load addresses.
MAP = """             VMA              LMA     Size Align Out     In      Symbol
ffffffc040200000         40200000      260     8         obj/arch/aarch64/aarch64.start.S.o:(.text.boot)
ffffffc040200260         40200260      15c    16         obj/kernel/kernel.boot.c.o:(.text.boot_read_memory)
ffffffc0402003c0         402003c0       40    16                 boot_read_memory
ffffffc040201000         40201000      100    16         obj/devicetree/devicetree.fdt.c.o:(.text.fdt_open)
ffffffc040202000         40202000      100    16         obj/lib/gfx/fb.fb.c.o:(.text.fb_fill)
ffffffc040203000         40203000       10     8         obj/lib/lib.fmt.c.o:(.rodata.digits)
""".splitlines(True)


def test_blocks_by_component():
    ranges = bench_qemu.text_ranges(MAP)
    starts = [0x40200010,          # the entry code, before the MMU: arch
              0xffffffc040200270,  # kernel
              0xffffffc040201000, 0xffffffc0402010fc,  # devicetree, twice
              0xffffffc040201100,  # just past fdt_open: no section
              0xffffffc040202010,  # lib/gfx: graphics, not lib
              0xffffffc040203000,  # rodata is not code
              0x80000000]          # firmware
    assert bench_qemu.blocks_by_component(starts, ranges) == {
        "other": 3, "devicetree": 2, "arch": 1, "graphics": 1, "kernel": 1}


def test_counted_blocks_are_the_starts():
    starts = []
    bench_qemu.count_translated(LOG, 0x1000, (0x2000, 0x2010), starts)
    assert starts == [0x1000, 0x1004]


def test_mmio_counted_up_to_the_warmup():
    """Device register accesses by region and direction, from reset until
    QEMU's first TRANSFER_TO_HOST_2D; guest RAM and other trace lines do
    not count."""
    log = [
        "memory_region_ops_write cpu 0 mr 0x1 addr 0x8000000 value 0x0 size 4 name 'gic_dist'\n",
        "IN: kernel_main\n",
        "memory_region_ops_read cpu 0 mr 0x2 addr 0xa003e00 value 0x74726976 size 4 name 'virtio-mmio'\n",
        "memory_region_ops_write cpu 0 mr 0x1 addr 0x8000180 value 0xffffffff size 4 name 'gic_dist'\n",
        "virtio_gpu_cmd_res_xfer_toh_2d res 0x1\n",
        "memory_region_ops_write cpu 0 mr 0x1 addr 0x8000000 value 0x1 size 4 name 'gic_dist'\n",
    ]
    assert bench_qemu.mmio_before_warmup(log) == {"gic_dist write": 2, "virtio-mmio read": 1}


def _run(warm, scanout, flush, touch):
    return {"flush_ms": flush, "touch_ms": touch,
            "device": {bench_qemu.WARM_LABEL: warm, "SET_SCANOUT": scanout}}


def test_warmup_floor_medians():
    """The copy is SET_SCANOUT less the warm-up, per boot, then the median;
    a boot without a warm-up does not count."""
    runs = [_run(9.0, 20.0, 20.5, 11.0), _run(10.0, 22.0, 22.3, 12.0),
            _run(8.0, 20.0, 20.4, 10.0),
            {"flush_ms": 5.0, "touch_ms": 1.0, "device": {"SET_SCANOUT": 4.0}}]
    f = bench_qemu.warmup_floor(runs)
    assert (f["warm_ms"], f["copy_ms"], f["touch_ms"], f["runs"]) == (9.0, 12.0, 11.0, 3)
    assert abs(f["tail_ms"] - 0.4) < 1e-9
    assert bench_qemu.warmup_floor(runs[3:]) is None


def test_floor_text_says_when_the_warmup_is_due():
    """20 ms less a 12 ms copy and a 0.5 ms tail: due by 7.5 ms."""
    text = bench_qemu.floor_text("aarch64", {"warm_ms": 9.6, "copy_ms": 12.0,
                                             "tail_ms": 0.5, "touch_ms": 11.4,
                                             "runs": 5})
    assert "**12.0 ms**" in text and "**11.4 ms**" in text
    assert "by **7.5 ms**" in text and "at **9.6 ms**" in text


def test_first_touch_is_timed():
    """Some time, and not absurd: one write per page of 4 MB."""
    ms = bench_qemu.host_first_touch_ms()
    assert 0.0 < ms < 5000.0
