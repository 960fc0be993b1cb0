"""QEMU tests of the aarch64 machine options users run (issue 13, items 11
and 13): GICv3 (gic-version=3, gic-version=max with -cpu max, also with
virtualization=on, where max is a GICv4) and entry at EL3 (secure=on, also
with virtualization=on and with GICv3).

Each boots the default kernel with a virtio-gpu and checks, from QEMU's
side: the boot picture in a screendump (display.check_boot_picture through
test_display's helpers), the GPU commands in QEMU's trace, and the
interrupt controller's own trace: the timer's and the GPU's interrupts
acknowledged through the GICv3 system registers (ICC_IAR1_EL1) or the
GICv2 CPU interface, the redistributor woken (GICR_WAKER.ProcessorSleep
cleared), and on secure=on every line put in Group 1 by the secure side
before the non-secure kernel uses it. A boot that hangs or panics fails
after BOOT_TIMEOUT with the serial log shown."""
import os
import re

import pytest

from gpu_trace import check_gpu_commands
from test_boot import boot
from test_display import boot_and_dump, check_screen

ARCH = "aarch64"
CONFIG = "qemu_virt_aarch64"

# -machine options merge with qemu.py's "-machine virt"; a later -cpu wins.
# (Test ids name artifact folders and QMP socket paths: short, no "=".)
# id: (QEMU arguments, GIC version, EL QEMU enters the kernel at)
MACHINES = {
    "gic3": (["-machine", "virt,gic-version=3"], 3, 1),
    "gicmax-cpumax": (["-machine", "virt,gic-version=max", "-cpu", "max"], 3, 1),
    "virt-gic3": (["-machine", "virt,virtualization=on,gic-version=3"], 3, 2),
    "virt-gicmax-cpumax": (["-machine", "virt,virtualization=on,gic-version=max",
                            "-cpu", "max"], 4, 2),
    "secure": (["-machine", "virt,secure=on"], 2, 3),
    "secure-virt": (["-machine", "virt,secure=on,virtualization=on"], 2, 3),
    "secure-gic3": (["-machine", "virt,secure=on,gic-version=3"], 3, 3),
}
# Each with the default kernel; one GICv3 and one EL3 machine also with the
# kernel built by GCC.
BOOTS = [pytest.param(*v, "", id=k) for k, v in MACHINES.items()] + \
    [pytest.param(*MACHINES[k], "_gcc", id=k + "-gcc") for k in ("gicmax-cpumax", "secure-virt")]

GIC_TRACES = ["gicv3_icc_iar1_read", "gicv3_redist_write", "gicv3_dist_write",
              "gic_acknowledge_irq", "gic_dist_write"]

GICR_WAKER = 0x14
PROCESSOR_SLEEP = 1 << 1
GICD_IGROUPR = 0x80


def interrupt_lines(log):
    """(timer INTID, GPU INTID) as the kernel read them from the tree."""
    timer = re.search(r"time: generic timer \d+ Hz, virtual timer irq (\d+)", log)
    gpu = re.search(r"virtio-gpu@\S+: virtio-mmio@0x[0-9a-f]+ v\d \(\w+\), irq (\d+)", log)
    assert timer and gpu, "timer or GPU interrupt line missing from the log:\n" + log
    return int(timer.group(1)), int(gpu.group(1))


def check_gicv3(stderr, log, timer, gpu):
    acked = [int(v, 16) for v in
             re.findall(r"gicv3_icc_iar1_read .*value (0x[0-9a-f]+)", stderr)]
    assert not re.search(r"gic_acknowledge_irq", stderr), \
        "a GICv2 CPU interface acknowledged interrupts on a GICv3 machine"
    for name, line in (("timer", timer), ("GPU", gpu)):
        assert line in acked, (
            "QEMU saw no ICC_IAR1_EL1 read returning the %s's INTID %d "
            "(acknowledged: %s):\n%s" % (name, line, sorted(set(acked)), log))
    # The boot CPU's redistributor (redistributor 0 in QEMU's trace) woken:
    # the last GICR_WAKER write clears ProcessorSleep.
    wakes = [int(v, 16) for v in re.findall(
        r"gicv3_redist_write GICv3 redistributor 0x0 write: offset %#x data "
        r"(0x[0-9a-f]+)" % GICR_WAKER, stderr)]
    assert wakes and not wakes[-1] & PROCESSOR_SLEEP, (
        "the redistributor was not woken (GICR_WAKER writes: %s):\n%s"
        % ([hex(w) for w in wakes], log))


def check_gicv2(stderr, log, timer, gpu, secure):
    acked = [int(v) for v in re.findall(r"gic_acknowledge_irq cpu \d+ acknowledged irq (\d+)",
                                        stderr)]
    for name, line in (("timer", timer), ("GPU", gpu)):
        assert line in acked, (
            "QEMU's GICv2 acknowledged no %s interrupt (INTID %d; acknowledged: %s):\n%s"
            % (name, line, sorted(set(acked)), log))
    if secure:
        # QEMU resets a GIC with security extensions to Group 0 (secure):
        # the lines the non-secure kernel uses must have been moved to
        # Group 1 (GICD_IGROUPR, writable by the secure side only).
        groups = {int(off, 16): int(v, 16) for off, v in re.findall(
            r"gic_dist_write dist write at (0x[0-9a-f]+) size 4: (0x[0-9a-f]+)", stderr)
            if GICD_IGROUPR <= int(off, 16) < GICD_IGROUPR + 0x80}
        for line in (timer, gpu):
            reg = GICD_IGROUPR + line // 32 * 4
            assert groups.get(reg, 0) >> (line % 32) & 1, (
                "INTID %d not put in Group 1 (GICD_IGROUPR writes %s):\n%s"
                % (line, {hex(k): hex(v) for k, v in groups.items()}, log))


@pytest.mark.parametrize("machine,gic,entry_el,compiler", BOOTS)
def test_machine_boot(build, artifacts, machine, gic, entry_el, compiler):
    out = build(CONFIG + compiler)
    log, (png,), stderr = boot_and_dump(ARCH, out, artifacts, extra=machine,
                                        trace=GIC_TRACES)
    running = ("running at EL1 (non-secure: SCR_EL3.NS 1)" if entry_el == 3
               else "running at EL1")
    assert re.search(r"cpu: MPIDR 0x[0-9a-f]+, entered at EL%d, %s\n"
                     % (entry_el, re.escape(running)), log), log
    if gic == 2:
        assert re.search(r"irq: GICv2 distributor 0x8000000, cpu interface 0x8010000", log), log
    else:
        assert re.search(r"irq: GICv%d distributor 0x8000000, redistributor 0x80a0000 "
                         r"\(affinity 0, awake\), \d+ lines, 1 redistributor region\(s\), "
                         r"system-register CPU interface" % gic, log), log
    m = re.search(r"time selftest: PASS \(idled \d+ us, (\d+) timer interrupt", log)
    assert m and int(m.group(1)) >= 1, log
    check_screen(png, ARCH, log, 1280, 800, artifacts)
    check_gpu_commands(stderr, {1: (1280, 800)})
    timer, gpu = interrupt_lines(log)
    if gic == 2:
        check_gicv2(stderr, log, timer, gpu, secure=entry_el == 3)
    else:
        check_gicv3(stderr, log, timer, gpu)


@pytest.mark.parametrize("extra", [
    pytest.param(["-machine", "virt,secure=on"], id="secure"),
    pytest.param(["-machine", "virt,secure=on,virtualization=on"], id="secure-virt"),
    # No PSCI to hold them off: QEMU starts both CPUs at the entry point.
    pytest.param(["-machine", "virt,secure=on,gic-version=3", "-smp", "2"],
                 id="secure-gic3-smp2"),
])
def test_secure_power_off(build, artifacts, extra):
    """Entered at EL3 QEMU offers no PSCI (no /psci node): the kernel powers
    off through semihosting, and QEMU exits with status 0 by itself."""
    out = build(CONFIG)
    status, log = boot(ARCH, os.path.join(out, "kernel.elf"), artifacts, "256M",
                       extra=extra)
    assert "power: no PSCI in the device tree: power off through semihosting" in log, log
    assert status == 0 and "RINGLIGHT: PASS" in log, \
        "exit status %s:\n%s" % (status, log)
