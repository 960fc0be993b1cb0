"""QEMU boot tests: the kernel boots on both architectures with the MMU on,
reads the device tree, runs the DMA self-test and ends QEMU by itself; the
boot and the fault report also with the kernel built by GCC."""
import os
import re
import subprocess

import pytest

import qemu
import rltools

ARCHES = ["aarch64", "riscv64"]
SLOTS = {"aarch64": (32, 0x0A003E00, 0x200), "riscv64": (8, 0x10008000, 0x1000)}
RAM_BASE = {"aarch64": 0x40000000, "riscv64": 0x80000000}
BOOT_TIMEOUT = 60
# The default configuration per arch (clang), and the same built with GCC.
CONFIGS = [pytest.param(a, "qemu_virt_" + a, id=a) for a in ARCHES] + \
    [pytest.param(a, "qemu_virt_%s_gcc" % a, id=a + "-gcc") for a in ARCHES]


def boot(arch, kernel, artifacts, memory, extra=(), append="ringlight.poweroff"):
    vm = qemu.Qemu(arch, kernel, workdir=artifacts, memory=memory,
                   append=append, extra=extra)
    with vm:
        status = vm.wait_exit(BOOT_TIMEOUT)
        log = vm.serial()
    assert status is not None, "QEMU did not exit within %ss:\n%s" % (BOOT_TIMEOUT, log)
    return status, log


@pytest.mark.parametrize("arch,config", CONFIGS)
@pytest.mark.parametrize("mib", [200, 1000])
def test_boot(build, artifacts, arch, config, mib):
    out = build(config)
    # rng first on the command line (after the gpu from qemu_command): the gpu
    # takes the highest slot, the rng the one below it.
    status, log = boot(arch, os.path.join(out, "kernel.elf"), artifacts,
                       "%dM" % mib, extra=["-device", "virtio-rng-device"])
    assert status == 0, log
    assert re.search(r"Ringlight %s: memory %d MiB \(%d KiB\) in 1 range" %
                     (arch, mib, mib * 1024), log), log
    end = RAM_BASE[arch] + mib * 1024 * 1024 - 1
    assert "memory: range 0 [%#x-%#x]" % (RAM_BASE[arch], end) in log, log
    count, top, stride = SLOTS[arch]
    assert "virtio-mmio: %d slots, 2 with a device" % count in log, log
    assert re.search(r"slot %#x irq \d+ version 1 device 16 \(gpu\)" % top, log), log
    assert re.search(r"slot %#x irq \d+ version 1 device 4 \(rng\)" % (top - stride), log), log
    for pages in (1, 3, 16):
        m = re.search(r"dma selftest: %d page\(s\) virt (0x[0-9a-f]+) phys (0x[0-9a-f]+) ok"
                      % pages, log)
        assert m, log
        virt, phys = int(m.group(1), 16), int(m.group(2), 16)
        assert virt != phys and virt >= 0xFFFFFFC000000000
        assert virt % 4096 == 0 and phys % 4096 == 0
        assert RAM_BASE[arch] <= phys <= end
    m = re.search(r"dma selftest: PASS \(sync calls executed: (\d+)\)", log)
    assert m and int(m.group(1)) >= 9, log
    m = re.search(r"time selftest: PASS \(idled (\d+) us, (\d+) timer interrupt", log)
    assert m and int(m.group(1)) >= 250 and int(m.group(2)) >= 1, log
    check_boot_stamps(log)
    assert "RINGLIGHT: PASS" in log


def check_boot_stamps(log):
    """The boot-phase stamps (kernel/stamp.c, read by tools/bench qemu):
    one line, the entry code's three first, the picture among them, in
    boot order. Their values are timings, never asserted beyond order."""
    lines = re.findall(r"^boot: us since start:.*$", log, re.M)
    assert len(lines) == 1, log
    m = re.match(r"^boot: us since start:((?: [a-z]+ \d+)+)$", lines[0])
    assert m, lines[0]
    words = m.group(1).split()
    names, times = words[0::2], [int(t) for t in words[1::2]]
    assert names[:4] == ["entry", "bss", "mmu", "main"], names
    assert "picture" in names, names
    assert times == sorted(times), "stamps out of boot order: %s" % lines[0]


@pytest.mark.parametrize("arch", ARCHES)
def test_modern_transport_slots(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    status, log = boot(arch, os.path.join(out, "kernel.elf"), artifacts, "256M",
                       extra=["-global", "virtio-mmio.force-legacy=false"])
    assert status == 0, log
    assert re.search(r"version 2 device 16 \(gpu\)", log), log


FAULT = {
    "aarch64": [r"EXCEPTION: sync: data abort", r"ESR_EL1 0x[0-9a-f]+ \(EC 0x25",
                r"FAR_EL1 0x0000000000000010", r"x30 0x[0-9a-f]{16}  sp  0x"],
    "riscv64": [r"EXCEPTION: load page fault", r"stval 0x0000000000000010",
                r"t4   0x[0-9a-f]{16}  t5   0x", r"t6   0x[0-9a-f]{16}"],
}


@pytest.mark.parametrize("arch,config", CONFIGS)
def test_deliberate_fault(build, artifacts, arch, config):
    out = build(config.replace("qemu_virt_", "test_fault_"), base=config,
                settings=["CONFIG_TEST_DELIBERATE_FAULT=y"])
    status, log = boot(arch, os.path.join(out, "kernel.elf"), artifacts, "256M")
    assert status == 3, "exit status %s, expected the panic status 3:\n%s" % (status, log)
    for pattern in FAULT[arch] + [r"PC \(\w+\) 0xffffffc0", r"RINGLIGHT: FAIL \(panic\)"]:
        assert re.search(pattern, log), "missing %r in:\n%s" % (pattern, log)
    assert "RINGLIGHT: PASS" not in log


@pytest.mark.parametrize("arch", ARCHES)
def test_tools_run_headless(arch):
    proc = subprocess.run([os.path.join(rltools.ROOT, "tools", "run"), "--arch", arch,
                           "--headless"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Ringlight %s: memory" % arch in proc.stdout
    m = re.search(r"^screen: (\S+\.png)$", proc.stdout, re.M)
    assert m, proc.stdout
    from PIL import Image
    with Image.open(m.group(1)) as img:
        assert img.format == "PNG" and img.size[0] > 0 and img.size[1] > 0
