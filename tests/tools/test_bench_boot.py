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
    # Renaming gpu_warm_start would silently drop the figure (None).
    out = build("qemu_virt_aarch64")
    assert bench_qemu.symbol_range(out + "/kernel.elf", bench_qemu.WARMUP_SYMBOL)
