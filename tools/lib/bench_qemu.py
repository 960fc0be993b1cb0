"""QEMU benchmarks: the kernel's benchmark mode (CONFIG_BENCH) measures the
display path with the guest's clock and prints BENCH lines; the host
measures QEMU resume to the complete boot picture in the screendump."""
import os
import re
import statistics
import sys
import time

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


def resume_to_picture(arch, ring, workdir, runs=5, poll_s=0.010, timeout=20.0):
    """Wall-clock time from QMP `cont` to the first screendump that shows
    the whole boot picture (bars exact, the console showing the end of the
    serial log); median of `runs`."""
    out = rltools.build("qemu_virt_" + arch, quiet=True, targets=["kernel.elf"])
    times = []
    for run in range(runs):
        vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=workdir,
                       gpu=False, extra=MODERN + ["-S", "-device",
                                                  "virtio-gpu-device" + RINGS[ring]])
        png = os.path.join(workdir, "poll.png")
        with vm:
            qmp = vm.connect()
            start = time.monotonic()
            qmp.execute("cont")
            found = None
            while time.monotonic() - start < timeout:
                qmp.execute("screendump", filename=png, format="png")
                try:
                    header = boot_header(arch, TOP_SLOT[arch], 2, ring, 0,
                                         1280, 800, qemu_edid(1280, 800))
                    check_boot_picture(png, 1280, 800, workdir, vm.serial(),
                                       header)
                    found = time.monotonic() - start
                    break
                except PictureMismatch:
                    pass
                time.sleep(poll_s)
        if found is None:
            raise RuntimeError("no boot picture within %ss (%s)" % (timeout, arch))
        times.append(found)
    return statistics.median(times), times


def run(report_dir, runs=5):
    work = os.path.join(ROOT, "out", "bench", "qemu")
    os.makedirs(work, exist_ok=True)
    rows = []
    for arch in ("aarch64", "riscv64"):
        for ring in ("split", "packed"):
            g = guest_run(arch, ring, work)
            median, all_times = resume_to_picture(arch, ring, work, runs=runs)
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
                "resume_to_picture_ms": median * 1000,
                "resume_runs_ms": [round(t * 1000, 1) for t in all_times],
            })
            print("qemu %s %s: %s" % (arch, ring, rows[-1]), flush=True)
    return rows


TARGET_MS = {"aarch64": 40, "riscv64": 60}


def table(rows):
    lines = ["| arch | ring | resume → first frame, emulated (guest clock) | target | kernel entry → first frame | resume → picture in screendump (host, median) | full-screen updates/s | 64×64 updates/s | notifications / update | interrupts / update (max) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        met = "met" if r["first_frame_ms"] < TARGET_MS[r["arch"]] else "missed"
        lines.append("| %s | %s | %.1f ms | < %d ms (%s) | %.1f ms | %.0f ms | %d | %d | %.2f | %.2f (%d) |" % (
            r["arch"], r["ring"], r["first_frame_ms"], TARGET_MS[r["arch"]], met,
            r["entry_to_frame_ms"], r["resume_to_picture_ms"], r["full_per_s"],
            r["small_per_s"], r["notifications_per_update"],
            r["interrupts_per_update"], r["max_interrupts_per_update"]))
    return "\n".join(lines) + "\n"
