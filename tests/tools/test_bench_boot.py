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


def test_blocks_by_function():
    ranges = bench_qemu.text_ranges(MAP)
    starts = [0x40200010, 0xffffffc040200270, 0xffffffc040201000,
              0xffffffc0402010fc, 0xffffffc040201100]
    assert bench_qemu.blocks_by_function(starts, ranges) == {
        "fdt_open": 2, ".text.boot": 1, "boot_read_memory": 1, "other": 1}


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


def test_thread_roles():
    """QEMU's named vCPU threads, its main loop (the process's own id) and
    the threads that kept the process's name (call_rcu)."""
    assert bench_qemu.thread_role("qemu-system-aar", True, "qemu-system-aar") == "main"
    assert bench_qemu.thread_role("CPU 0/TCG", False, "qemu-system-aar") == "vcpu"
    assert bench_qemu.thread_role("qemu-system-aar", False, "qemu-system-aar") == "rcu"
    assert bench_qemu.thread_role("IO mon_iothread", False, "qemu-system-aar") == "other"


def test_cpu_ms_between():
    before = {"vcpu": 1_000_000, "main": 0, "rcu": 500_000, "other": 0}
    after = {"vcpu": 21_000_000, "main": 3_000_000, "rcu": 7_500_000, "other": 0}
    assert bench_qemu.cpu_ms_between(before, after) == {
        "vcpu": 20.0, "main": 3.0, "rcu": 7.0, "other": 0.0}


def _boot(rcu):
    return {"threads_ms": {"vcpu": 25.0, "main": 12.0, "rcu": rcu, "other": 0.3}}


def test_undisturbed_median_leaves_out_the_trimmed_boots():
    times = [19.5, 24.8, 19.9, 22.8, 20.3]
    details = [_boot(0.0), _boot(3.9), _boot(0.1), _boot(5.7), _boot(0.9)]
    assert bench_qemu.undisturbed(times, details) == (19.9, 3)
    assert bench_qemu.undisturbed([24.8], [_boot(3.9)]) == (None, 0)


def _table_line(**row):
    """bench_qemu.table's line for one aarch64 split row: `row` over fixed
    guest-clock and throughput fields."""
    full = {"arch": "aarch64", "ring": "split", "first_frame_ms": 18.0,
            "entry_to_frame_ms": 17.0, "full_per_s": 4000, "small_per_s": 15000,
            "notifications_per_update": 1.0, "interrupts_per_update": 1.0,
            "max_interrupts_per_update": 1}
    full.update(row)
    return bench_qemu.table([full]).splitlines()[2]


def test_table_marks_the_disturbed_runs():
    line = _table_line(resume_to_flush_ms=20.3, resume_runs_ms=[19.5, 24.8, 20.3],
                       rcu_runs_ms=[0.0, 3.9, 0.1], undisturbed=(19.9, 2))
    assert "| 19.5 24.8* 20.3 | 0.0 3.9 0.1 | 19.9 ms (2) |" in line
    assert "(missed)" in line


def test_qemu_threads_of_a_paused_machine(build, tmp_path):
    """Against QEMU itself: under THREAD_NAMES a paused aarch64 machine has
    one vCPU thread, its main loop and one call_rcu thread."""
    import qemu
    kernel = build("qemu_virt_aarch64") + "/kernel.elf"
    vm = qemu.Qemu("aarch64", kernel, workdir=str(tmp_path), gpu=False,
                   extra=["-S"] + bench_qemu.THREAD_NAMES)
    with vm:
        vm.connect()
        roles = [role for _, _, role, _ in bench_qemu.qemu_threads(vm.proc.pid)]
    assert roles.count("vcpu") == 1 and roles.count("main") == 1
    assert roles.count("rcu") == 1


def _fake_rcu(monkeypatch, values):
    reads = []

    def fake(pid):
        reads.append(pid)
        i = min(len(reads) - 1, len(values) - 1)
        return {"vcpu": 0, "main": 0, "rcu": values[i], "other": 0}
    monkeypatch.setattr(bench_qemu, "qemu_thread_cpu_ns", fake)
    return reads


def test_wait_settled_waits_out_the_rcu_work(monkeypatch):
    """It reads on while call_rcu still runs, then returns after a quiet
    period, well before the timeout."""
    reads = _fake_rcu(monkeypatch, [0, 0, 5, 9, 12] + [12] * 1000)
    waited = bench_qemu.wait_settled(1, quiet=0.02, poll=0.001, timeout=5.0)
    assert len(reads) > 6 and waited < 5.0


def test_wait_settled_gives_up_at_the_timeout(monkeypatch):
    _fake_rcu(monkeypatch, list(range(100000)))
    waited = bench_qemu.wait_settled(1, quiet=0.02, poll=0.001, timeout=0.1)
    assert 0.1 <= waited < 2.0


def test_least_translated_keeps_the_fewest(monkeypatch):
    """Of the runs, the one with the fewest blocks, every count kept."""
    results = iter([([("entry", 1.0)], {"blocks": 1855, "instructions": 9}),
                    ([("entry", 2.0)], {"blocks": 1814, "instructions": 8})])
    monkeypatch.setattr(bench_qemu, "emulated_instructions",
                        lambda arch, workdir: next(results))
    stamps, tr = bench_qemu.least_translated("riscv64", "/tmp", tries=2)
    assert stamps == [("entry", 2.0)]
    assert tr["blocks"] == 1814 and tr["runs"] == [1855, 1814]


def test_table_gives_the_stock_environment_beside():
    stock = bench_qemu.stock_summary([{"flush_ms": 24.0, "copy_ms": 11.0},
                                      {"flush_ms": 23.0, "copy_ms": None}])
    line = _table_line(resume_to_flush_ms=18.2, resume_runs_ms=[18.2],
                       rcu_runs_ms=[0.0], undisturbed=(18.2, 1),
                       warmup_floor={"copy_ms": 5.1}, stock=stock)
    assert "| 23.5 ms (24.0 23.0) | 5.1 ms / 11.0 ms |" in line
    assert "(met)" in line
    assert bench_qemu.stock_summary([]) is None
