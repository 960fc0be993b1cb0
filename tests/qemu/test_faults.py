"""Fault tests on QEMU: a machine without a GPU, a GPU the build cannot
drive, a device tree without virtio nodes, a corrupted device tree. Each
ends with a clear message, and the boot goes on where it can."""
import os
import re
import subprocess

import pytest

import qemu

ARCHES = ["aarch64", "riscv64"]
MEMORY = "256M"


def boot(arch, out, artifacts, extra=(), gpu=True, append="ringlight.poweroff"):
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   memory=MEMORY, gpu=gpu, append=append, extra=list(extra))
    with vm:
        status = vm.wait_exit(60)
        log = vm.serial()
    assert status is not None, "QEMU did not exit:\n" + log
    return status, log


@pytest.mark.parametrize("arch", ARCHES)
def test_no_gpu(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    status, log = boot(arch, out, artifacts, gpu=False,
                       extra=["-device", "virtio-rng-device"])
    assert status == 0, log
    assert "display: no usable virtio-gpu device: nothing is shown on screen" in log, log
    assert "16 bytes of entropy" in log and "RINGLIGHT: PASS" in log


@pytest.mark.parametrize("arch", ARCHES)
def test_gpu_on_legacy_with_packed_only_build(build, artifacts, arch):
    out = build("qemu_virt_%s_packed" % arch)
    status, log = boot(arch, out, artifacts)
    assert status == 0, log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: this build has only the packed ring, "
                     r"and the device cannot offer VIRTIO_F_RING_PACKED \(bit 34\) on "
                     r"the legacy transport; choose a configuration with the split ring",
                     log), log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: .*device marked FAILED", log), log
    assert "display: no usable virtio-gpu device" in log
    assert "RINGLIGHT: PASS" in log


def dump_dtb(arch, path):
    m = qemu.MACHINES[arch]
    args = list(m["args"])
    i = args.index("virt")
    args[i] = "virt,dumpdtb=" + path
    subprocess.run([m["binary"]] + args + ["-m", MEMORY, "-display", "none",
                                          "-device", "virtio-gpu-device"],
                   check=True, capture_output=True)


@pytest.mark.parametrize("arch", ARCHES)
def test_device_tree_without_virtio(build, artifacts, arch):
    """QEMU still has its slots, but the tree the kernel gets names none."""
    out = build("qemu_virt_" + arch)
    dtb = os.path.join(artifacts, "no-virtio.dtb")
    dump_dtb(arch, dtb)
    nodes = subprocess.run(["fdtget", "-l", dtb, "/soc" if arch == "riscv64" else "/"],
                           check=True, capture_output=True, text=True).stdout.split()
    parent = "/soc" if arch == "riscv64" else ""
    removed = [n for n in nodes if n.startswith("virtio_mmio@")]
    assert removed
    for n in removed:
        subprocess.run(["fdtput", "-r", dtb, "%s/%s" % (parent, n)], check=True)
    status, log = boot(arch, out, artifacts, extra=["-dtb", dtb])
    assert status == 0, log
    assert "virtio-mmio: 0 slots, 0 with a device" in log, log
    assert "virtio: 0 device(s) bound to a driver" in log
    assert "display: no usable virtio-gpu device" in log
    assert "RINGLIGHT: PASS" in log


@pytest.mark.parametrize("arch", ARCHES)
def test_corrupted_device_tree_header(build, artifacts, arch):
    out = build("test_corrupt_dtb_" + arch, base="qemu_virt_" + arch,
                settings=["CONFIG_TEST_CORRUPT_DTB_HEADER=y"])
    status, log = boot(arch, out, artifacts)
    assert status == 3, "exit status %s, expected the panic status 3:\n%s" % (status, log)
    assert re.search(r"PANIC: device tree at 0x[0-9a-f]+ is invalid: RL_ERR_BAD_FORMAT "
                     r"\(header magic 0x2f0dfeed\)", log), log
    assert "RINGLIGHT: FAIL (panic)" in log
