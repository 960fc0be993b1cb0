"""Fault tests on QEMU: a machine without a GPU, a GPU the build cannot
drive, a device tree without virtio nodes, a virtio node without reg or
interrupts before the GPU's, a corrupted device tree. Each
ends with a clear message, and the boot goes on where it can. Every fault
comes from outside the kernel (QEMU's command line, its device tree, its
gdbstub): the kernel under test is the normal build."""
import os
import re
import struct
import subprocess

import pytest

import qemu
from display import SLOT_STRIDE, TOP_SLOT
from gdbstub import GdbStub
from gpu_trace import check_gpu_commands
from test_display import boot_and_dump, check_screen

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
    assert ("display: no virtio-gpu device found: nothing is shown on screen "
            "(add -device virtio-gpu-device)") in log, log
    assert "16 bytes of entropy" in log and "RINGLIGHT: PASS" in log


@pytest.mark.parametrize("arch", ARCHES)
def test_gpu_on_legacy_with_packed_only_build(build, artifacts, arch):
    """A GPU is attached, on QEMU's default legacy transport, and the build
    has only the packed ring: the boot says what keeps it dark and how to
    run instead, never the hint to add a GPU."""
    out = build("qemu_virt_%s_packed" % arch)
    status, log = boot(arch, out, artifacts)
    assert status == 0, log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: this build has only the packed ring, "
                     r"and the device cannot offer VIRTIO_F_RING_PACKED \(bit 34\) on "
                     r"the legacy transport; choose a configuration with the split ring",
                     log), log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: .*device marked FAILED", log), log
    assert re.search(r"display: virtio-gpu@0x[0-9a-f]+: the packed ring needs a modern "
                     r"\(v2\) transport, the device is on a legacy \(v1\) one, and this "
                     r"build has no split ring; run QEMU with -global "
                     r"virtio-mmio.force-legacy=false and -device "
                     r"virtio-gpu-device,packed=on", log), log
    assert "add -device virtio-gpu-device" not in log, log
    assert "no virtio-gpu device found" not in log, log
    assert "RINGLIGHT: PASS" in log


@pytest.mark.parametrize("arch", ARCHES)
def test_gpu_on_modern_without_packed_with_packed_only_build(build, artifacts, arch):
    """Modern transport, but the device offers no packed ring (QEMU's
    default packed=off): the same, with the cure that applies."""
    out = build("qemu_virt_%s_packed" % arch)
    status, log = boot(arch, out, artifacts,
                       extra=["-global", "virtio-mmio.force-legacy=false"])
    assert status == 0, log
    assert re.search(r"display: virtio-gpu@0x[0-9a-f]+: the device does not offer the "
                     r"packed ring \(VIRTIO_F_RING_PACKED\) and this build has no split "
                     r"ring; run QEMU with -device virtio-gpu-device,packed=on", log), log
    assert "add -device virtio-gpu-device" not in log, log
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
    assert "display: no virtio-gpu device found" in log
    assert "RINGLIGHT: PASS" in log


def virtio_nodes(arch, dtb):
    """The tree's virtio_mmio nodes in the tree's order (the kernel's scan
    order), as (path, slot address)."""
    parent = "/soc" if arch == "riscv64" else ""
    nodes = subprocess.run(["fdtget", "-l", dtb, parent or "/"], check=True,
                           capture_output=True, text=True).stdout.split()
    return [("%s/%s" % (parent, n), int(n.split("@")[1], 16))
            for n in nodes if n.startswith("virtio_mmio@")]


@pytest.mark.parametrize("prop", ["reg", "interrupts"])
@pytest.mark.parametrize("arch", ARCHES)
def test_virtio_node_without_property(build, artifacts, arch, prop):
    """QEMU boots with its own device tree (-dtb; on riscv64 OpenSBI passes
    it on) in which one virtio_mmio node before the GPU's in scan order
    lacks `reg` or `interrupts`: that slot is skipped with a warning naming
    the node, the slots after it are still found, and the GPU shows the
    boot picture. Two rng devices come first on the command line, so the
    GPU sits two slots below the top: a device before the bad node and the
    GPU after it (riscv64 scans from the top slot down, aarch64 up)."""
    out = build("qemu_virt_" + arch)
    dtb = os.path.join(artifacts, "no-%s.dtb" % prop)
    dump_dtb(arch, dtb)
    nodes = virtio_nodes(arch, dtb)
    gpu_slot = TOP_SLOT[arch] - 2 * SLOT_STRIDE[arch]
    order = [slot for _, slot in nodes]
    g = order.index(gpu_slot)
    assert g > 0, "no virtio node before the GPU's in %s" % order
    bad_path, bad_slot = nodes[g - 1]
    subprocess.run(["fdtput", "-d", dtb, bad_path, prop], check=True)
    rng = ["-device", "virtio-rng-device"]
    log, (png,), stderr = boot_and_dump(arch, out, artifacts,
                                        extra=["-dtb", dtb] + rng + rng)
    name = bad_path.rsplit("/", 1)[1]
    assert re.search(r"virtio-mmio: slot %d, node %s \(no %s\) unusable: "
                     r"RL_ERR_BAD_FORMAT; skipped, the scan goes on"
                     % (g - 1, re.escape(name), prop), log), log
    assert "virtio-mmio: %d slots" % len(nodes) in log, log
    # Every device but the bad node's one is found and bound.
    devices = 3 if bad_slot not in (TOP_SLOT[arch], TOP_SLOT[arch] - SLOT_STRIDE[arch]) else 2
    assert "virtio-mmio: %d slots, %d with a device" % (len(nodes), devices) in log, log
    assert "virtio-gpu@%#x: virtio-mmio@%#x v1 (legacy), irq" % (gpu_slot, gpu_slot) in log, log
    assert "add -device virtio-gpu-device" not in log, log
    check_screen(png, arch, log, 1280, 800, artifacts)
    check_gpu_commands(stderr, {1: (1280, 800)})


FDT_MAGIC = bytes.fromhex("d00dfeed")
# Where the device tree is at the kernel's entry: riscv64 passes it in a1
# (x11); aarch64 in x0, except that QEMU leaves x0 = 0 for an ELF kernel
# and puts the blob at the start of RAM (hw/arm/boot.c; arch/aarch64/start.S
# does the same).
DTB_REGISTER = {"aarch64": 0, "riscv64": 11}
RAM_BASE = {"aarch64": 0x40000000, "riscv64": 0x80000000}


def elf_entry(path):
    with open(path, "rb") as f:
        header = f.read(32)
    assert header[:5] == b"\x7fELF\x02", "%s: not a 64-bit ELF" % path
    return struct.unpack_from("<Q", header, 24)[0]


@pytest.mark.parametrize("arch", ARCHES)
def test_corrupted_device_tree_header(build, artifacts, arch):
    """The device tree the kernel gets has a bad magic. QEMU refuses such a
    tree for -dtb ("load_device_tree: ... FDT_ERR_BADMAGIC"), and riscv64's
    OpenSBI reads the tree before the kernel, so the tree is corrupted in
    guest memory at the kernel's entry, through QEMU's gdbstub."""
    out = build("qemu_virt_" + arch)
    kernel = os.path.join(out, "kernel.elf")
    sock = qemu.socket_path(artifacts, "gdb.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    vm = qemu.Qemu(arch, kernel, workdir=artifacts, memory=MEMORY,
                   append="ringlight.poweroff",
                   extra=["-S", "-gdb", "unix:%s,server=on,wait=off" % sock])
    with vm:
        gdb = GdbStub(sock)
        gdb.run_to(elf_entry(kernel))
        dtb = gdb.register(DTB_REGISTER[arch]) or RAM_BASE[arch]
        assert gdb.read(dtb, 4) == FDT_MAGIC, "no device tree at %#x" % dtb
        gdb.write(dtb, bytes([FDT_MAGIC[0] ^ 0xFF]))
        gdb.detach()
        status = vm.wait_exit(60)
        log = vm.serial()
    assert status == 3, "exit status %s, expected the panic status 3:\n%s" % (status, log)
    assert re.search(r"PANIC: device tree at 0x[0-9a-f]+ is invalid: RL_ERR_BAD_FORMAT "
                     r"\(header magic 0x2f0dfeed\)", log), log
    assert "RINGLIGHT: FAIL (panic)" in log
