"""Queue backends chosen in Kconfig: packed rings with QEMU, the fallback
rules, and images that contain only the backends they were built with."""
import os
import re
import subprocess

import pytest

import qemu

ARCHES = ["aarch64", "riscv64"]
MODERN = ["-global", "virtio-mmio.force-legacy=false"]


def boot(arch, out, artifacts, extra, query=None):
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=extra)
    result = None
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", 60), vm.serial()
        if query:
            result = query(vm.connect())
        log = vm.serial()
    return log, result


def rng_status(qmp):
    for d in qmp.execute("x-query-virtio"):
        if d["name"] == "virtio-rng":
            return qmp.execute("x-query-virtio-status", path=d["path"])
    raise AssertionError("no virtio-rng")


@pytest.mark.parametrize("config", ["", "_packed"])
@pytest.mark.parametrize("arch", ARCHES)
def test_rng_packed(build, artifacts, arch, config):
    out = build("qemu_virt_%s%s" % (arch, config))
    log, status = boot(arch, out, artifacts,
                       MODERN + ["-device", "virtio-rng-device,packed=on"],
                       query=rng_status)
    assert re.search(r"virtio-rng@0x[0-9a-f]+: queue 0 \(requestq\): 64 entries, "
                     r"packed ring \(RING_PACKED negotiated\)", log), log
    m = re.search(r"virtio-rng@0x[0-9a-f]+: (\d+) bytes of entropy: ([0-9a-f]+)", log)
    assert m and m.group(1) == "16" and m.group(2) != "0" * 32, log
    accepted = re.search(r"virtio-rng@\S+: features accepted:(.*)", log).group(1)
    assert "RING_PACKED" in accepted.split()
    # QEMU's own view: RING_PACKED negotiated (reported by QEMU 7.2 as an
    # unknown bit 34 of the guest features, or by name).
    guest = status["guest-features"]
    named = " ".join(guest["transports"])
    unknown = guest.get("unknown-features", 0) | guest.get("unknown-dev-features", 0)
    assert "VIRTIO_F_RING_PACKED" in named or unknown & (1 << 34), guest


@pytest.mark.parametrize("arch", ARCHES)
def test_packed_only_on_legacy_fails_device_and_boots_on(build, artifacts, arch):
    out = build("qemu_virt_%s_packed" % arch)
    log, _ = boot(arch, out, artifacts, ["-device", "virtio-rng-device"])
    assert re.search(r"virtio-rng@0x[0-9a-f]+: this build has only the packed ring, "
                     r"and the device cannot offer VIRTIO_F_RING_PACKED \(bit 34\) "
                     r"on the legacy transport; choose a configuration with the split "
                     r"ring \(menuconfig: Virtio > Virtqueue backends\)", log), log
    assert re.search(r"virtio-rng@0x[0-9a-f]+: probe failed", log), log
    assert "RINGLIGHT: boot complete" in log


@pytest.mark.parametrize("arch", ARCHES)
def test_packed_only_device_without_packed(build, artifacts, arch):
    out = build("qemu_virt_%s_packed" % arch)
    log, _ = boot(arch, out, artifacts, MODERN + ["-device", "virtio-rng-device"])
    assert re.search(r"this build has only the packed ring, and the device does not "
                     r"offer VIRTIO_F_RING_PACKED \(bit 34\); choose a configuration "
                     r"with the split ring", log), log
    assert "RINGLIGHT: boot complete" in log


@pytest.mark.parametrize("arch", ARCHES)
def test_both_backends_choose_per_device(build, artifacts, arch):
    """Split on legacy and where packed is not offered; packed where it is."""
    out = build("qemu_virt_" + arch)
    log, _ = boot(arch, out, artifacts, ["-device", "virtio-rng-device"])
    assert re.search(r"requestq\): 64 entries, split ring \(legacy transport: "
                     r"no RING_PACKED\), legacy layout", log), log
    log, _ = boot(arch, out, artifacts, MODERN + [
        "-device", "virtio-rng-device,packed=on", "-device", "virtio-gpu-device"])
    assert re.search(r"requestq\): 64 entries, packed ring", log), log
    assert re.search(r"controlq\): 64 entries, split ring \(device does not offer "
                     r"RING_PACKED\), modern layout", log), log


@pytest.mark.parametrize("arch", ARCHES)
def test_split_only_never_offers_packed(build, artifacts, arch):
    out = build("qemu_virt_%s_split" % arch)
    log, status = boot(arch, out, artifacts,
                       MODERN + ["-device", "virtio-rng-device,packed=on"],
                       query=rng_status)
    assert re.search(r"requestq\): 64 entries, split ring \(the only backend built\)",
                     log), log
    assert "RING_PACKED" in re.search(r"features refused:(.*)", log).group(1)
    assert "16 bytes of entropy" in log


def symbols(path):
    out = subprocess.run(["llvm-nm", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("arch", ARCHES)
def test_images_hold_only_their_backends(build, arch):
    both = symbols(os.path.join(build("qemu_virt_" + arch), "kernel.elf"))
    split = symbols(os.path.join(build("qemu_virt_%s_split" % arch), "kernel.elf"))
    packed = symbols(os.path.join(build("qemu_virt_%s_packed" % arch), "kernel.elf"))
    split_syms = {s for s in both if s.startswith("split_") or s == "vq_split_ops"}
    packed_syms = {s for s in both if s.startswith("packed_") or s == "vq_packed_ops"}
    assert "vq_split_ops" in split_syms and "vq_packed_ops" in packed_syms
    assert len(split_syms) > 5 and len(packed_syms) > 5
    assert split_syms <= split and not (packed_syms & split), packed_syms & split
    assert packed_syms <= packed and not (split_syms & packed), split_syms & packed


def noncoherent_dtb(arch, path):
    """QEMU's own tree with every virtio-mmio node non-coherent: aarch64's
    lose dma-coherent (the arch default is non-coherent), riscv64's gain
    dma-noncoherent (its default is coherent, as in Linux)."""
    m = qemu.MACHINES[arch]
    args = list(m["args"])
    args[args.index("virt")] = "virt,dumpdtb=" + path
    subprocess.run([m["binary"]] + args + ["-m", "256M", "-display", "none"],
                   check=True, capture_output=True)
    parent = "/soc" if arch == "riscv64" else "/"
    nodes = [n for n in subprocess.run(["fdtget", "-l", path, parent], check=True,
                                       capture_output=True, text=True).stdout.split()
             if n.startswith("virtio_mmio@")]
    assert nodes
    for n in nodes:
        node = parent.rstrip("/") + "/" + n
        if arch == "aarch64":
            subprocess.run(["fdtput", "-d", path, node, "dma-coherent"], check=True)
        else:
            subprocess.run(["fdtput", "-t", "s", path, node, "dma-noncoherent", ""],
                           check=True)


@pytest.mark.parametrize("arch", ARCHES)
def test_packed_refused_on_noncoherent_device(build, artifacts, arch):
    """Issue 13 item 1: packed descriptors share cache lines with the
    device's writes, so a non-coherent device gets the split ring (one
    warning naming it) where packed is preferred, and a packed-only build
    fails its bind with the reason; the boot goes on either way."""
    dtb = os.path.join(artifacts, "noncoherent.dtb")
    noncoherent_dtb(arch, dtb)
    extra = MODERN + ["-device", "virtio-rng-device,packed=on", "-dtb", dtb]

    log, _ = boot(arch, build("qemu_virt_" + arch), artifacts, extra)
    assert not re.search(r"virtio-mmio: slot .* dma-coherent", log), log
    assert re.search(r"virtio-rng@0x[0-9a-f]+: packed ring refused, using the split "
                     r"ring: the device is not dma-coherent", log), log
    assert re.search(r"virtio-rng@0x[0-9a-f]+: queue 0 \(requestq\): 64 entries, "
                     r"split ring \(not dma-coherent: no packed ring\)", log), log
    m = re.search(r"virtio-rng@0x[0-9a-f]+: (\d+) bytes of entropy: ([0-9a-f]+)", log)
    assert m and m.group(1) == "16" and m.group(2) != "0" * 32, log
    accepted = re.search(r"virtio-rng@\S+: features accepted:(.*)", log).group(1)
    assert "RING_PACKED" not in accepted.split()

    log, _ = boot(arch, build("qemu_virt_%s_packed" % arch), artifacts, extra)
    assert re.search(r"virtio-rng@0x[0-9a-f]+: this build has only the packed ring, "
                     r"which needs a dma-coherent device", log), log
    assert re.search(r"virtio-rng@0x[0-9a-f]+: probe failed", log), log
    assert "bytes of entropy" not in log
