"""virtio-rng through the split ring on both architectures and both
transports, with the rng in a slot other than the highest (the gpu comes
first on the command line). QEMU's own view (x-query-virtio-status and
x-query-virtio-queue-status over QMP) must agree with the boot log."""
import os
import re

import pytest

import qemu

ARCHES = ["aarch64", "riscv64"]
TRANSPORTS = {"legacy": [], "modern": ["-global", "virtio-mmio.force-legacy=false"]}
TOP_SLOT = {"aarch64": (0x0A003E00, 0x200), "riscv64": (0x10008000, 0x1000)}


def qemu_device(qmp, name):
    for d in qmp.execute("x-query-virtio"):
        if d["name"] == name:
            return d["path"]
    raise AssertionError("QEMU has no %s device" % name)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("arch", ARCHES)
def test_rng_round_trip(build, artifacts, arch, transport):
    out = build("qemu_virt_" + arch)
    extra = ["-device", "virtio-rng-device"] + TRANSPORTS[transport]
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   extra=extra)
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", 60), vm.serial()
        log = vm.serial()
        qmp = vm.connect()
        path = qemu_device(qmp, "virtio-rng")
        status = qmp.execute("x-query-virtio-status", path=path)
        queue = qmp.execute("x-query-virtio-queue-status", path=path, queue=0)

    top, stride = TOP_SLOT[arch]
    slot = top - stride
    version = 1 if transport == "legacy" else 2
    name = "virtio-rng@%#x" % slot
    assert re.search(r"virtio-mmio: slot %#x irq \d+ version %d device 4 \(rng\)"
                     % (slot, version), log), log
    assert "%s: virtio-mmio@%#x v%d (%s), irq" % (name, slot, version, transport) in log, log
    m = re.search(r"%s: (\d+) bytes of entropy: ([0-9a-f]+)" % re.escape(name), log)
    assert m and int(m.group(1)) == 16 and len(m.group(2)) == 32, log
    assert m.group(2) != "0" * 32, "all-zero entropy: the buffer was never written"
    assert re.search(r"%s: queue 0 \(requestq\): 64 entries, split ring .* %s layout"
                     % (re.escape(name), transport), log), log

    # The features the log says were accepted are the ones QEMU holds.
    m = re.search(r"%s: features accepted:(.*)" % re.escape(name), log)
    accepted = set(m.group(1).split())
    guest = " ".join(status["guest-features"]["transports"])
    for feature, qemu_name in [("EVENT_IDX", "VIRTIO_RING_F_EVENT_IDX"),
                               ("INDIRECT_DESC", "VIRTIO_RING_F_INDIRECT_DESC"),
                               ("VERSION_1", "VIRTIO_F_VERSION_1")]:
        assert (feature in accepted) == (qemu_name in guest), (accepted, guest)
    assert ("VERSION_1" in accepted) == (transport == "modern")
    assert "VIRTIO_CONFIG_S_DRIVER_OK: Driver setup and ready" in \
        status["status"]["statuses"]
    assert not status["broken"]
    # QEMU consumed exactly the one request the driver made.
    assert queue["vring-num"] == 64
    assert queue["last-avail-idx"] == 1 and queue["used-idx"] == 1, queue


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("arch", ARCHES)
def test_rng_reports_used_length(build, artifacts, arch, transport):
    """QEMU with max-bytes=8 fills only 8 of the 16 bytes the driver asks
    for: the driver must report the used length the device wrote (QEMU's
    own trace says how many bytes it pushed), not the length it asked."""
    out = build("qemu_virt_" + arch)
    extra = ["-device", "virtio-rng-device,max-bytes=8,period=60000",
             "-trace", "virtio_rng_pushed"] + TRANSPORTS[transport]
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   extra=extra)
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", 60), vm.serial()
        log = vm.serial()
    with open(vm.stderr_path) as f:
        pushed = [int(n) for n in re.findall(r"virtio_rng_pushed rng 0x[0-9a-f]+: "
                                             r"(\d+) bytes pushed", f.read())]
    assert pushed == [8], pushed
    m = re.search(r"virtio-rng@0x[0-9a-f]+: (\d+) bytes of entropy: ([0-9a-f]*) ", log)
    assert m, log
    assert int(m.group(1)) == 8 and len(m.group(2)) == 16, log
