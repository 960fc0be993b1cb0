"""QEMU benchmarks: the kernel's benchmark mode (CONFIG_BENCH) measures the
display path with the guest's clock and prints BENCH lines; the host
times QEMU resume to the first full-scanout flush from QEMU's own
timestamped trace, with the guest's boot-phase stamps beside it, and one
screendump proves the boot picture."""
import bisect
import mmap
import os
import re
import statistics
import subprocess
import sys
import time

import bench_size
import qemu
import rltools

ROOT = rltools.ROOT
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
from display import (TOP_SLOT, PictureMismatch, boot_header,  # noqa: E402
                     check_boot_picture, qemu_edid)

MODERN = ["-global", "virtio-mmio.force-legacy=false"]
RINGS = {"split": "", "packed": ",packed=on"}
BENCH_LINE = re.compile(r"^BENCH (\w+) (.*)$", re.M)


def parse_bench(log):
    out = {}
    for what, rest in BENCH_LINE.findall(log):
        out[what] = {k: (int(v) if v.isdigit() else v)
                     for k, v in (kv.split("=", 1) for kv in rest.split())}
    return out


def guest_run(arch, ring, workdir):
    name = "bench_" + arch
    rltools.configure(name, base="qemu_virt_" + arch, settings=["CONFIG_BENCH=y"])
    out = rltools.build(name, quiet=True, targets=["kernel.elf"])
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=workdir,
                   gpu=False, extra=MODERN + ["-device", "virtio-gpu-device" + RINGS[ring]])
    with vm:
        status = vm.wait_exit(120)
        log = vm.serial()
    if status != 0 or "BENCH done" not in log:
        raise RuntimeError("benchmark run failed (%s), log in %s" % (status, vm.serial_path))
    if not re.search(r"controlq\): \d+ entries, %s ring" % ring, log):
        raise RuntimeError("the control queue did not use the %s ring" % ring)
    return parse_bench(log)


# `-msg timestamp=on` prefixes each trace line with `PID@SECONDS.MICROS:`
# of QEMU's wall clock.
TRACE_LINE = re.compile(r"^\d+@(\d+\.\d+):(\w+) ?(.*)$", re.M)
# QEMU resuming the machine (softmmu/runstate.c, the `cont` of QMP).
RESUME = re.compile(r"new_state \d+ \(running\)")
SCANOUT = re.compile(r"id (\d+), res (0x[0-9a-f]+), w (\d+), h (\d+), x (\d+), y (\d+)")
FLUSH = re.compile(r"res (0x[0-9a-f]+), w (\d+), h (\d+), x (\d+), y (\d+)")
# The device commands of the GPU's start-up, in the order they come.
DEVICE_STEPS = [("virtio_gpu_cmd_get_display_info", "GET_DISPLAY_INFO"),
                ("virtio_gpu_cmd_get_edid", "GET_EDID"),
                ("virtio_gpu_cmd_res_create_2d", "RESOURCE_CREATE_2D"),
                ("virtio_gpu_cmd_res_back_attach", "ATTACH_BACKING"),
                ("virtio_gpu_cmd_set_scanout", "SET_SCANOUT"),
                ("virtio_gpu_cmd_res_xfer_toh_2d", "TRANSFER_TO_HOST_2D")]
NEXT_FLUSH = ("next_flush", "next RESOURCE_FLUSH (later log lines)")
# The driver's first transfer into the scanout's resource is the probe's
# warm-up (drivers/gpu gpu_resource_post: QEMU's slow first copy, posted
# behind CREATE_2D and ATTACH_BACKING); the picture's own is the last
# transfer before the first full flush.
PICTURE_XFER = ("picture_xfer", "TRANSFER_TO_HOST_2D (the picture's)")
WARM_LABEL = "TRANSFER_TO_HOST_2D (warm-up)"
TRACE_ARGS = ["-msg", "timestamp=on", "-trace", "runstate_set"] + [
    a for event, _ in DEVICE_STEPS + [("virtio_gpu_cmd_res_flush", "")]
    for a in ("-trace", event)]
STAMPS = re.compile(r"^boot: us since start:((?: \w+ \d+)+)$", re.M)


def parse_stamps(serial):
    """The kernel's boot-phase stamps (kernel/stamp.c): [(name, ms)] in
    the order logged, on the guest clock (emulated time since resume)."""
    m = STAMPS.search(serial)
    if m is None:
        return []
    words = m.group(1).split()
    return [(words[i], int(words[i + 1]) / 1000.0) for i in range(0, len(words), 2)]


def parse_trace(text):
    """From QEMU's timestamped trace: the resume, the first RESOURCE_FLUSH
    covering a whole scanout (the rectangle SET_SCANOUT gave its resource)
    and the first of each start-up command, in ms after the resume.
    Returns (flush_ms, {step: ms}); raises RuntimeError when the trace
    has no resume or no full flush."""
    resume = None
    scanouts = {}  # res -> (w, h)
    steps = {}
    flush = None
    last_xfer = None
    for ts, event, args in TRACE_LINE.findall(text):
        t = float(ts)
        if event == "runstate_set":
            if resume is None and RESUME.search(args):
                resume = t
            continue
        if resume is None:
            continue
        if event == "virtio_gpu_cmd_set_scanout":
            m = SCANOUT.search(args)
            if m and int(m.group(3)) and int(m.group(4)):
                scanouts[m.group(2)] = (int(m.group(3)), int(m.group(4)))
        if event == "virtio_gpu_cmd_res_xfer_toh_2d" and flush is None:
            last_xfer = t
        if event == "virtio_gpu_cmd_res_flush" and flush is None:
            m = FLUSH.search(args)
            if (m and m.group(4) == "0" and m.group(5) == "0"
                    and scanouts.get(m.group(1)) == (int(m.group(2)), int(m.group(3)))):
                flush = t
                if last_xfer is not None:
                    steps[PICTURE_XFER[0]] = last_xfer
                continue
        if event == "virtio_gpu_cmd_res_flush" and flush is not None:
            # After the whole boot picture: the console's next lines.
            steps.setdefault("next_flush", t)
        steps.setdefault(event, t)
    if resume is None:
        raise RuntimeError("no resume (runstate_set ... running) in QEMU's trace")
    if flush is None:
        raise RuntimeError("no full-scanout RESOURCE_FLUSH in QEMU's trace")
    xfer = DEVICE_STEPS[-1][0]
    if steps.get(xfer) is not None and steps.get(xfer) == steps.get(PICTURE_XFER[0]):
        del steps[xfer]  # one transfer, the picture's: no warm-up
    named = {label: (steps[event] - resume) * 1000
             for event, label in device_labels() if event in steps}
    return (flush - resume) * 1000, named


def device_labels():
    """(trace event or step key, label) of every device step reported."""
    out = []
    for event, label in DEVICE_STEPS + [PICTURE_XFER, NEXT_FLUSH]:
        if event == DEVICE_STEPS[-1][0]:
            label = WARM_LABEL
        out.append((event, label))
    return out


# The boot picture's resource: QEMU's default scanout, 1280x800 at 4 bytes
# a pixel, in host memory QEMU allocates at RESOURCE_CREATE_2D.
RESOURCE_BYTES = 1280 * 800 * 4


def host_first_touch_ms(size=RESOURCE_BYTES, page=4096):
    """Milliseconds this host takes to write once into each 4 KB page of
    `size` bytes of new anonymous memory (each write faults a page in):
    what QEMU's first copy into a new resource of that size pays at least,
    its pixel memory being as new. Measured beside the boots, as the line
    round trip is beside the ring figures."""
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        t0 = time.perf_counter()
        for off in range(0, size, page):
            m[off] = 1
        return (time.perf_counter() - t0) * 1000
    finally:
        m.close()


# QEMU names its threads ("CPU 0/TCG", "IO mon_iothread", ...) under
# `-name ...,debug-threads=on`; the threads it starts before it reads its
# options keep the process's name: its main loop (the thread whose id is
# the process's) and its call_rcu thread, which runs malloc_trim whenever
# it has freed something (util/rcu.c).
THREAD_NAMES = ["-name", "ringlight,debug-threads=on"]


def qemu_threads(pid):
    """[(tid, name, role, CPU ns)] of a QEMU process's threads (CPU time
    from /proc/PID/task/TID/schedstat), role as thread_role says."""
    task = "/proc/%d/task" % pid
    try:
        tids = sorted(os.listdir(task), key=int)
        with open("/proc/%d/comm" % pid) as f:
            process = f.read().strip()
    except OSError:
        return []
    out = []
    for tid in tids:
        try:
            with open(os.path.join(task, tid, "comm")) as f:
                name = f.read().strip()
            with open(os.path.join(task, tid, "schedstat")) as f:
                ns = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
        out.append((int(tid), name, thread_role(name, int(tid) == pid, process), ns))
    return out


def qemu_thread_cpu_ns(pid):
    """CPU time (ns) of a QEMU process's threads summed by role: "vcpu"
    (its "CPU n/..." threads), "main" (the thread whose id is the
    process's), "rcu" (the other threads that kept the process's name: its
    call_rcu thread) and "other" (the rest)."""
    out = {"vcpu": 0, "main": 0, "rcu": 0, "other": 0}
    for _, _, role, ns in qemu_threads(pid):
        out[role] += ns
    return out


def thread_role(name, is_main, process_name):
    """qemu_thread_cpu_ns's role of one thread."""
    if is_main:
        return "main"
    if name.startswith("CPU "):
        return "vcpu"
    return "rcu" if name == process_name else "other"


def cpu_ms_between(before, after):
    """Per role, the ms of CPU time between two qemu_thread_cpu_ns reads."""
    return {k: (after.get(k, 0) - v) / 1e6 for k, v in before.items()}


def wait_settled(pid, quiet=0.1, poll=0.02, timeout=2.0):
    """Waits until QEMU's call_rcu thread has run nothing for `quiet`
    seconds (at most `timeout`): after creating the machine QEMU frees the
    memory views it built through RCU and then trims its heap
    (malloc_trim), several ms of CPU in its first few hundred ms; a
    `cont` sent before that lands it in the boot. Returns the seconds
    waited."""
    t0 = time.monotonic()
    last = qemu_thread_cpu_ns(pid)["rcu"]
    since = t0
    while time.monotonic() - t0 < timeout:
        time.sleep(poll)
        now = qemu_thread_cpu_ns(pid)["rcu"]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return time.monotonic() - t0


# A boot whose call_rcu thread ran longer than this is marked disturbed:
# malloc_trim's madvise of the freed memory (and the TLB shootdowns it
# sends the other CPU) took a CPU from the vCPU or the main loop, of two.
RCU_DISTURBED_MS = 1.0


def boot_once(arch, ring, kernel, workdir, env, timeout=20.0):
    """One boot, resume to the first full-scanout flush, from QEMU's own
    timestamped trace lines (`runstate_set` at `cont`,
    `virtio_gpu_cmd_res_flush`): the machine starts paused (-S), the host
    sends QMP `cont` once QEMU has settled (wait_settled) and waits for the
    serial log's "boot complete" without touching the screen; then one
    screendump proves the boot picture. Returns the figure and the run's
    details: the device's start-up commands (ms after resume), the guest's
    boot-phase stamps and the CPU time of QEMU's threads by role from
    `cont` to "boot complete"."""
    touch_ms = host_first_touch_ms()
    vm = qemu.Qemu(arch, kernel, workdir=workdir, env=env,
                   gpu=False, extra=MODERN + ["-S"] + THREAD_NAMES + TRACE_ARGS + [
                       "-device", "virtio-gpu-device" + RINGS[ring]])
    png = os.path.join(workdir, "boot.png")
    with vm:
        monitor = vm.connect()
        wait_settled(vm.proc.pid)
        before = qemu_thread_cpu_ns(vm.proc.pid)
        monitor.execute("cont")
        if vm.wait_for(r"RINGLIGHT: boot complete", timeout) is None:
            raise RuntimeError("%s %s: no 'boot complete' within %ss, log in %s"
                               % (arch, ring, timeout, vm.serial_path))
        threads_ms = cpu_ms_between(before, qemu_thread_cpu_ns(vm.proc.pid))
        header = boot_header(arch, TOP_SLOT[arch], 2, ring, 0, 1280, 800,
                             qemu_edid(1280, 800))
        # The console's last lines follow "boot complete" within
        # milliseconds; one screendump after a pause proves the
        # picture (a loaded machine may need a second look).
        for attempt in range(3):
            time.sleep(0.3 if attempt == 0 else 1.0)
            vm.screendump(png)
            serial = vm.serial()
            try:
                check_boot_picture(png, 1280, 800, workdir, serial, header)
                break
            except PictureMismatch as e:
                if attempt == 2:
                    raise RuntimeError("%s %s: the screen after boot is not "
                                       "the boot picture: %s"
                                       % (arch, ring, e)) from None
    with open(vm.stderr_path) as f:
        flush_ms, steps = parse_trace(f.read())
    return flush_ms, {"flush_ms": flush_ms, "device": steps,
                      "stamps": parse_stamps(serial), "touch_ms": touch_ms,
                      "threads_ms": threads_ms}


def boot_to_flush(arch, ring, workdir, runs=5, timeout=20.0, stock_too=False):
    """`runs` boots (boot_once) in QEMU's usual environment (qemu.qemu_env:
    glibc's malloc with transparent huge pages). Returns the median, every
    run's figure, the runs' details and, with `stock_too`, the figures of
    as many boots in the stock environment (no tunable), each right after
    its pair so that both see the same host."""
    out = rltools.build("qemu_virt_" + arch, quiet=True, targets=["kernel.elf"])
    kernel = os.path.join(out, "kernel.elf")
    times, runs_detail, stock = [], [], []
    for _ in range(runs):
        flush_ms, detail = boot_once(arch, ring, kernel, workdir, qemu.qemu_env(), timeout)
        times.append(flush_ms)
        runs_detail.append(detail)
        if stock_too:
            flush_ms, detail = boot_once(arch, ring, kernel, workdir,
                                         qemu.qemu_env(stock=True), timeout)
            stock.append({"flush_ms": flush_ms, "copy_ms": copy_ms(detail)})
    return statistics.median(times), times, runs_detail, stock


def copy_ms(detail):
    """The warm-up copy of one boot (from beginning the warm-up to beginning
    SET_SCANOUT, queued behind it), or None."""
    d = detail["device"]
    if WARM_LABEL in d and "SET_SCANOUT" in d:
        return d["SET_SCANOUT"] - d[WARM_LABEL]
    return None


def phase_medians(details):
    """Median over runs of each guest stamp and device step (ms after
    resume), in boot order."""
    names = [n for n, _ in details[0]["stamps"]]
    guest = [(n, statistics.median(dict(d["stamps"]).get(n, 0.0) for d in details))
             for n in names]
    device = [(label, statistics.median(d["device"][label] for d in details))
              for _, label in device_labels()
              if all(label in d["device"] for d in details)]
    flush = statistics.median(d["flush_ms"] for d in details)
    return guest, device + [("first full RESOURCE_FLUSH", flush)]


def warmup_floor(details):
    """The warm-up copy against the host, medians over the boots: when the
    warm-up reached QEMU (`warm_ms`, ms after resume), how long QEMU took
    from it to SET_SCANOUT (`copy_ms`: the copy; SET_SCANOUT is queued
    behind it), from SET_SCANOUT to the first full flush (`tail_ms`), and
    the host's first touch of as many pages (`touch_ms`). None without a
    warm-up (or without the first-touch figure)."""
    runs = [d for d in details if WARM_LABEL in d["device"]
            and "SET_SCANOUT" in d["device"] and "touch_ms" in d]
    if not runs:
        return None

    def med(f):
        return statistics.median(f(d) for d in runs)
    return {"warm_ms": med(lambda d: d["device"][WARM_LABEL]),
            "copy_ms": med(copy_ms),
            "tail_ms": med(lambda d: d["flush_ms"] - d["device"]["SET_SCANOUT"]),
            "touch_ms": med(lambda d: d["touch_ms"]),
            "runs": len(runs)}


def emulated_instructions(arch, workdir, timeout=60.0, stop=None):
    """The guest's boot stamps under `-icount shift=0,sleep=off`: QEMU then
    counts one nanosecond per instruction and skips idle time to the next
    timer deadline, so the figures (millions of instructions, idle waits
    included as their deadlines) do not drift with the host's load. The
    same run logs every block QEMU translates (`-d in_asm`), for
    translated_before_warmup. Returns ([(name, M instructions)],
    translated_before_warmup's answer or None; with `stop`, a function's
    name, translated_before's answer up to it instead)."""
    out = rltools.build("qemu_virt_" + arch, quiet=True, targets=["kernel.elf"])
    kernel = os.path.join(out, "kernel.elf")
    blocks_log = os.path.join(workdir, "in_asm-%s.log" % arch)
    vm = qemu.Qemu(arch, kernel, workdir=workdir,
                   gpu=False, extra=MODERN + ["-icount", "shift=0,sleep=off",
                                              "-d", "in_asm", "-D", blocks_log,
                                              "-device", "virtio-gpu-device"]
                   + MMIO_TRACE_ARGS)
    with vm:
        if vm.wait_for(r"RINGLIGHT: boot complete", timeout) is None:
            raise RuntimeError("%s: no 'boot complete' under -icount, log in %s"
                               % (arch, vm.serial_path))
        serial = vm.serial()
    with open(blocks_log) as f:
        translated = translated_before(kernel, f, stop or WARMUP_SYMBOL)
    if translated is not None:
        with open(blocks_log) as f:  # -D takes the trace lines too
            translated["mmio"] = mmio_before_warmup(f)
    return parse_stamps(serial), translated


def least_translated(arch, workdir, tries=2):
    """emulated_instructions `tries` times; the run that translated the
    fewest blocks before the warm-up, with every run's count in
    translated["runs"]. The count is the same from run to run unless the
    device answers a command before the guest waits for it in one run and
    after in another (an interrupt taken before the warm-up adds its
    path's blocks)."""
    runs = [emulated_instructions(arch, workdir) for _ in range(tries)]
    counted = [r for r in runs if r[1] is not None]
    if not counted:
        return runs[0]
    best = min(counted, key=lambda r: r[1]["blocks"])
    best[1]["runs"] = [r[1]["blocks"] for r in counted]
    return best


# Every access to a device register (an I/O memory region: each one
# leaves translated code for the emulator), and the warm-up's arrival.
MMIO_TRACE_ARGS = ["-trace", "memory_region_ops_read", "-trace",
                   "memory_region_ops_write", "-trace",
                   "virtio_gpu_cmd_res_xfer_toh_2d"]
MMIO_OP = re.compile(r"memory_region_ops_(read|write) .*name '([^']*)'")


def mmio_before_warmup(lines):
    """Device register accesses from reset until QEMU began the GPU's
    first TRANSFER_TO_HOST_2D (the warm-up), by memory region and
    direction, most first (on riscv64 OpenSBI's included). Deterministic
    like the blocks: what the boot asks of the devices, whatever the
    host's load; each access exits to the emulator (a few us under load,
    and it waits while a device model holds QEMU's global lock)."""
    counts = {}
    for line in lines:
        if "virtio_gpu_cmd_res_xfer_toh_2d" in line:
            break
        m = MMIO_OP.search(line)
        if m:
            key = "%s %s" % (m.group(2), m.group(1))
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# One translated block in QEMU's `-d in_asm` log: an "IN:" line, then one
# "0xADDRESS:  ..." line per guest instruction.
IN_ASM_INSN = re.compile(r"^0x([0-9a-f]+):")
WARMUP_SYMBOL = "gpu_warm_posted"


def translated_before_warmup(kernel, lines):
    """What QEMU translated of the kernel before the GPU's warm-up was
    posted: from the kernel's entry point (its first block; on riscv64
    OpenSBI's blocks come before it and are not counted) up to the first
    block of `gpu_warm_posted` (called once the warm-up is posted). Under
    TCG, code that runs for the first time is translated first, and that
    dominates the boot before the warm-up (about 5 us a block on the
    benchmark host, while executing
    what was translated takes well under a millisecond): the figure does
    not move with the host's load, so it shows the effect of a change on
    the boot at once. Returns {"blocks", "instructions"}, or None when the
    image has no warm-up (CONFIG_GPU_WARMUP off) or the log never reached
    it."""
    return translated_before(kernel, lines, WARMUP_SYMBOL)


def translated_before(kernel, lines, symbol):
    """translated_before_warmup up to the first block of function
    `symbol`; None when the image has no such function or the log never
    reached it."""
    warm = symbol_range(kernel, symbol)
    if warm is None:
        return None
    starts = []
    out = count_translated(lines, elf_entry(kernel), warm, starts)
    map_path = os.path.splitext(kernel)[0] + ".map"
    if out is not None and os.path.exists(map_path):
        with open(map_path) as f:
            ranges = text_ranges(f)
        out["by_component"] = blocks_by_component(starts, ranges)
        out["by_function"] = blocks_by_function(starts, ranges)
    return out


# A code input section in lld's map file: VMA, LMA, size, alignment, then
# "object:(.text...)".
MAP_TEXT = re.compile(
    r"^\s*([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\d+\s+(\S+?):\((\.text[^)]*)\)")


def text_ranges(map_lines):
    """Sorted [(start, end, component, function)] of the image's code, at
    both its virtual and its load (physical) address: the entry code runs
    at the latter before the MMU is on. Components as bench_size names
    them; the function is the input section's name after ".text." (C is
    built with -ffunction-sections), or an assembly file's section name."""
    ranges = []
    for line in map_lines:
        m = MAP_TEXT.match(line)
        if m is None:
            continue
        vma, lma, size = (int(m.group(i), 16) for i in (1, 2, 3))
        component = bench_size.component_of(m.group(4))
        section = m.group(5)
        function = (section[len(".text."):] if section.startswith(".text.")
                    and not m.group(4).endswith(".S.o") else section)
        ranges.append((vma, vma + size, component, function))
        if lma != vma:
            ranges.append((lma, lma + size, component, function))
    ranges.sort()
    return ranges


def blocks_by(starts, ranges, field):
    """{ranges' `field`: blocks} for block start addresses, most first;
    an address in no code input section counts as "other"."""
    lows = [r[0] for r in ranges]
    counts = {}
    for pc in starts:
        i = bisect.bisect_right(lows, pc) - 1
        name = ranges[i][field] if i >= 0 and pc < ranges[i][1] else "other"
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def blocks_by_component(starts, ranges):
    return blocks_by(starts, ranges, 2)


def blocks_by_function(starts, ranges):
    return blocks_by(starts, ranges, 3)


def symbol_range(elf, name):
    """[start, end) of symbol `name` in `elf`, or None."""
    syms = subprocess.run(["llvm-nm", "-S", elf], check=True,
                          capture_output=True, text=True).stdout
    for line in syms.splitlines():
        f = line.split()
        if len(f) == 4 and f[3] == name:
            return (int(f[0], 16), int(f[0], 16) + int(f[1], 16))
    return None


def elf_entry(elf):
    head = subprocess.run(["llvm-readelf", "-h", elf], check=True,
                          capture_output=True, text=True).stdout
    return int(re.search(r"Entry point address:\s+0x([0-9a-f]+)", head).group(1), 16)


def count_translated(lines, entry, stop, starts=None):
    """Blocks and guest instructions in a `-d in_asm` log from the first
    block at `entry` up to (not including) the first block starting in
    [stop[0], stop[1]); None if no such block follows the entry. Each
    counted block's address is appended to `starts` when given."""
    blocks = instructions = 0
    started = new_block = False
    for line in lines:
        if line.startswith("IN:"):
            new_block = True
            continue
        m = IN_ASM_INSN.match(line)
        if m is None:
            continue
        pc = int(m.group(1), 16)
        if new_block:
            new_block = False
            started = started or pc == entry
            if started and stop[0] <= pc < stop[1]:
                return {"blocks": blocks, "instructions": instructions}
            blocks += started
            if started and starts is not None:
                starts.append(pc)
        instructions += started
    return None


def run(report_dir, runs=5):
    work = os.path.join(ROOT, "out", "bench", "qemu")
    os.makedirs(work, exist_ok=True)
    rows = []
    for arch in ("aarch64", "riscv64"):
        instructions, translated = least_translated(arch, work)
        for ring in ("split", "packed"):
            g = guest_run(arch, ring, work)
            median, all_times, details, stock = boot_to_flush(arch, ring, work, runs=runs,
                                                              stock_too=True)
            guest, device = phase_medians(details)
            rows.append({
                "arch": arch, "ring": ring,
                "entry_to_frame_ms": g["boot"]["entry_to_frame_ns"] / 1e6,
                "first_frame_ms": g["boot"]["first_frame_ns"] / 1e6,
                "full_per_s": g["full"]["per_s"],
                "small_per_s": g["small"]["per_s"],
                "notifications_per_update": g["full"]["notifications"] / g["full"]["updates"],
                "interrupts_per_update": g["full"]["interrupts"] / g["full"]["updates"],
                "max_interrupts_per_update": max(g["full"]["max_interrupts_per_update"],
                                                 g["small"]["max_interrupts_per_update"]),
                "resume_to_flush_ms": median,
                "resume_runs_ms": [round(t, 1) for t in all_times],
                "rcu_runs_ms": [round(d["threads_ms"]["rcu"], 1) for d in details],
                "undisturbed": undisturbed(all_times, details),
                "guest_phases_ms": guest,
                "device_steps_ms": device,
                "instructions_m": instructions,
                "translated_before_warmup": translated,
                "warmup_floor": warmup_floor(details),
                "stock": stock_summary(stock),
            })
            print("qemu %s %s: %s" % (arch, ring, rows[-1]), flush=True)
    return rows


def stock_summary(stock):
    """Medians of the stock-environment boots (boot_to_flush's `stock`):
    flush and warm-up copy, with every run's flush; None without them."""
    if not stock:
        return None
    copies = [s["copy_ms"] for s in stock if s["copy_ms"] is not None]
    return {"flush_ms": statistics.median(s["flush_ms"] for s in stock),
            "runs_ms": [round(s["flush_ms"], 1) for s in stock],
            "copy_ms": statistics.median(copies) if copies else None}


def undisturbed(times, details):
    """(median, count) of the boots whose call_rcu thread stayed under
    RCU_DISTURBED_MS; (None, 0) when there is none."""
    kept = [t for t, d in zip(times, details)
            if d["threads_ms"]["rcu"] < RCU_DISTURBED_MS]
    return (statistics.median(kept) if kept else None, len(kept))


# Issue 15: QEMU resume to the first full-scanout flush.
TARGET_MS = {"aarch64": 20, "riscv64": 35}


def table(rows):
    lines = ["| arch | ring | resume → first full flush (QEMU trace, median) | target | runs (ms; * QEMU's call_rcu thread ran ≥ %.0f ms meanwhile) | QEMU's call_rcu thread, ms per run | median of the runs without * | stock malloc (no tunable): median (runs) | warm-up copy, tuned / stock (median) | resume → first frame, guest clock (bench build) | kernel entry → first frame | full-screen updates/s | 64×64 updates/s | notifications / update | interrupts / update (max) |" % RCU_DISTURBED_MS,
             "|---|---|---:|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        met = "met" if r["resume_to_flush_ms"] <= TARGET_MS[r["arch"]] else "missed"
        rcu = r.get("rcu_runs_ms") or [0.0] * len(r["resume_runs_ms"])
        calm, n = r.get("undisturbed") or (None, 0)
        stock = r.get("stock")
        floor = r.get("warmup_floor")
        lines.append("| %s | %s | %.1f ms | ≤ %d ms (%s) | %s | %s | %s | %s | %s | %.1f ms | %.1f ms | %d | %d | %.2f | %.2f (%d) |" % (
            r["arch"], r["ring"], r["resume_to_flush_ms"], TARGET_MS[r["arch"]], met,
            " ".join("%.1f%s" % (t, "*" if c >= RCU_DISTURBED_MS else "")
                     for t, c in zip(r["resume_runs_ms"], rcu)),
            " ".join("%.1f" % c for c in rcu),
            "-" if calm is None else "%.1f ms (%d)" % (calm, n),
            "-" if stock is None else "%.1f ms (%s)" % (
                stock["flush_ms"], " ".join("%.1f" % t for t in stock["runs_ms"])),
            "%s / %s" % ("-" if floor is None else "%.1f ms" % floor["copy_ms"],
                         "-" if stock is None or stock["copy_ms"] is None
                         else "%.1f ms" % stock["copy_ms"]),
            r["first_frame_ms"], r["entry_to_frame_ms"], r["full_per_s"],
            r["small_per_s"], r["notifications_per_update"],
            r["interrupts_per_update"], r["max_interrupts_per_update"]))
    return "\n".join(lines) + "\n"


def floor_text(arch, f):
    """What the warm-up copy leaves the kernel of the target (warmup_floor's
    medians)."""
    target = TARGET_MS[arch]
    by = target - f["copy_ms"] - f["tail_ms"]
    return ("The warm-up copy took QEMU **%.1f ms** (from beginning the warm-up "
            "to beginning SET_SCANOUT, queued behind it); writing once into "
            "each 4 KB page of as much new memory (%d bytes) took this host "
            "**%.1f ms** (Python, between the boots; median of %d). The copy's "
            "time is the host's, whatever the kernel does: with it and the "
            "%.2f ms from SET_SCANOUT to the flush, the %d ms target needs the "
            "warm-up at QEMU by **%.1f ms** after resume; it came at **%.1f "
            "ms**." % (f["copy_ms"], RESOURCE_BYTES, f["touch_ms"], f["runs"],
                       f["tail_ms"], target, by, f["warm_ms"]))


def phase_table(rows):
    """Where the time to the first picture goes, per architecture (split
    ring): the guest's stamps and the device's start-up commands merged in
    time order (ms after resume, medians), with the emulated instruction
    count of each guest phase beside them."""
    out = []
    for r in rows:
        if r["ring"] != "split":
            continue
        instr = dict(r["instructions_m"])
        events = [(t, name, "guest", instr.get(name)) for name, t in r["guest_phases_ms"]]
        events += [(t, name, "device (QEMU trace)", None) for name, t in r["device_steps_ms"]]
        events.sort(key=lambda e: e[0])
        out.append("%s (%s ring; %d runs):\n" % (r["arch"], r["ring"], len(r["resume_runs_ms"])))
        out.append("| ms after resume | + ms | phase done | clock | M instructions (icount) |")
        out.append("|---:|---:|---|---|---:|")
        prev = 0.0
        for t, name, src, m in events:
            out.append("| %.2f | %.2f | %s | %s | %s |" % (
                t, t - prev, name, src, "" if m is None else "%.2f" % m))
            prev = t
        floor = r.get("warmup_floor")
        if floor is not None:
            out.append("")
            out.append(floor_text(r["arch"], floor))
        tr = r.get("translated_before_warmup")
        if tr is not None:
            out.append("")
            by = tr.get("by_component", {})
            out.append("Translated before the warm-up was posted (`-d in_asm` under "
                       "`-icount`, from the kernel's entry; the fewest of %d runs: "
                       "%s): **%d blocks, %d guest instructions**%s." % (
                           len(tr.get("runs", [tr["blocks"]])),
                           " ".join(str(b) for b in tr.get("runs", [tr["blocks"]])),
                           tr["blocks"], tr["instructions"],
                           "; blocks by component: " + ", ".join(
                               "%s %d" % kv for kv in by.items()) if by else ""))
            fns = list(tr.get("by_function", {}).items())
            if fns:
                out.append("")
                out.append("The functions with the most of them: %s. None "
                           "formats text: the info lines of the probe wait "
                           "until the picture is posted (lib/log.h "
                           "`klog_later`; tests/qemu/test_boot_path.py)." %
                           ", ".join("%s %d" % kv for kv in fns[:12]))
            mmio = tr.get("mmio")
            if mmio is not None:
                out.append("")
                out.append("Device register accesses before QEMU began the "
                           "warm-up (`-trace memory_region_ops_*`, from "
                           "reset%s): **%d**; %s." % (
                               ", OpenSBI's included" if r["arch"] == "riscv64"
                               else "", sum(mmio.values()), ", ".join(
                                   "%s %d" % kv for kv in mmio.items())))
        out.append("")
    return "\n".join(out)
