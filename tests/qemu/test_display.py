"""QEMU display tests: the boot picture read back through QMP screendump,
on both architectures, both transports and both rings, plus resolutions,
two scanouts, another slot, features off, the cursor, and proof that the
check fails when the picture is not there."""
import os
import re

import pytest
from PIL import Image

import qemu
import rltools
from display import PictureMismatch, check_boot_picture

ARCHES = ["aarch64", "riscv64"]
MODERN = ["-global", "virtio-mmio.force-legacy=false"]
BOOT_TIMEOUT = 60


def has_packed(name):
    return rltools.config_value(name, "VIRTIO_QUEUE_PACKED") == "y"


def boot_and_dump(arch, out, artifacts, gpu_args="", extra=(), heads=(0,),
                  trace=()):
    """Boots with a virtio-gpu (`gpu_args` appended to its -device), waits
    for the boot to complete, returns (serial log, [png per head], stderr)."""
    args = list(extra) + ["-device", "virtio-gpu-device,id=gpu" + gpu_args]
    for t in trace:
        args += ["-trace", t]
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=args)
    pngs = []
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT), vm.serial()
        vm.wait_for(r"__never__", 0.3)  # let the last console flush land
        qmp = vm.connect()
        for head in heads:
            png = os.path.join(artifacts, "screen-head%d.png" % head)
            kwargs = {"filename": png, "format": "png"}
            if head:
                kwargs["head"] = head
                kwargs["device"] = "gpu"
            qmp.execute("screendump", **kwargs)
            pngs.append(png)
        log = vm.serial()
    with open(vm.stderr_path) as f:
        stderr = f.read()
    return log, pngs, stderr


# Packed rings need the modern transport (a legacy one has no second
# feature word), so the matrix has three transport/ring pairs per arch.
MATRIX = [(a, t, r) for a in ARCHES
          for t, r in [("legacy", "split"), ("modern", "split"), ("modern", "packed")]]


@pytest.mark.parametrize("arch,transport,ring", MATRIX)
def test_display_matrix(build, artifacts, arch, transport, ring):
    name = "qemu_virt_" + arch
    out = build(name)
    if ring == "packed":
        assert has_packed(name), "%s must build the packed backend" % name
    extra = MODERN if transport == "modern" else []
    gpu_args = ",packed=on" if ring == "packed" else ""
    log, (png,), _ = boot_and_dump(arch, out, artifacts, gpu_args, extra)
    version = 1 if transport == "legacy" else 2
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: queue 0 \(controlq\): \d+ entries, "
                     r"%s ring" % ring, log), log
    assert "virtio-gpu@" in log and "%s transport" % transport in log, log
    check_boot_picture(png, 1280, 800, artifacts)
    assert "version %d device 16 (gpu)" % version in log
    # Transfer and flush of one update go out with a single notification,
    # and with EVENT_IDX (negotiated here) bring at most one interrupt.
    m = re.search(r"virtio-gpu@\S+: (\d+) update\(s\) \(transfer \+ flush each\): "
                  r"at most (\d+) notification\(s\) and (\d+) interrupt\(s\)", log)
    assert m and int(m.group(1)) >= 1 and int(m.group(2)) == 1, log
    assert "EVENT_IDX" in re.search(r"virtio-gpu@\S+: features accepted:(.*)", log).group(1)
    assert int(m.group(3)) <= 1, log


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768), (800, 1280)])
@pytest.mark.parametrize("arch", ARCHES)
def test_display_resolution(build, artifacts, arch, size):
    out = build("qemu_virt_" + arch)
    w, h = size
    log, (png,), _ = boot_and_dump(arch, out, artifacts,
                                   ",xres=%d,yres=%d" % (w, h))
    assert "scanout 0: %dx%d at (0,0)" % (w, h) in log, log
    check_boot_picture(png, w, h, artifacts)


@pytest.mark.parametrize("arch", ARCHES)
def test_display_two_scanouts(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    log, (png0, png1), _ = boot_and_dump(arch, out, artifacts,
                                         ",max_outputs=2,xres=1024,yres=768",
                                         heads=(0, 1))
    assert "2 scanout(s)" in log, log
    check_boot_picture(png0, 1024, 768, artifacts)
    # Scanout 1 is reported disabled by QEMU; the driver lights it at its
    # EDID preferred mode (QEMU's default 1280x800), with its own resource.
    m = re.search(r"scanout 1: (\d+)x(\d+) at \(0,0\), resource 2", log)
    assert m, log
    check_boot_picture(png1, int(m.group(1)), int(m.group(2)), artifacts)


@pytest.mark.parametrize("arch", ARCHES)
def test_display_gpu_not_in_top_slot(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    log, (png,), _ = boot_and_dump(arch, out, artifacts,
                                   extra=["-device", "virtio-rng-device"])
    top = {"aarch64": 0x0A003E00, "riscv64": 0x10008000}[arch]
    assert re.search(r"slot %#x irq \d+ version 1 device 4 \(rng\)" % top, log), log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: legacy transport", log)
    assert "virtio-gpu@%#x" % top not in log
    check_boot_picture(png, 1280, 800, artifacts)


@pytest.mark.parametrize("transport", ["legacy", "modern"])
@pytest.mark.parametrize("arch", ARCHES)
def test_display_features_off(build, artifacts, arch, transport):
    out = build("qemu_virt_" + arch)
    extra = MODERN if transport == "modern" else []
    log, (png,), _ = boot_and_dump(arch, out, artifacts,
                                   ",event_idx=off,indirect_desc=off", extra)
    m = re.search(r"virtio-gpu@0x[0-9a-f]+: features accepted:(.*)", log)
    assert m and "EVENT_IDX" not in m.group(1) and "INDIRECT_DESC" not in m.group(1), log
    check_boot_picture(png, 1280, 800, artifacts)


@pytest.mark.parametrize("arch", ARCHES)
def test_cursor_seen_by_qemu(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts,
                                        trace=["virtio_gpu_update_cursor",
                                               "virtio_gpu_cmd_res_create_2d"])
    assert "cursor: 64x64 resource 256 on scanout 0" in log, log
    # QEMU's trace: the 64x64 cursor resource, then UPDATE_CURSOR for it.
    assert re.search(r"virtio_gpu_cmd_res_create_2d res 0x100, fmt 0x2, w 64, h 64",
                     stderr), stderr
    assert re.search(r"virtio_gpu_update_cursor scanout 0, x 640, y 400, update, "
                     r"res 0x100", stderr), stderr
    check_boot_picture(png, 1280, 800, artifacts)


def test_check_rejects_placeholder_and_black(artifacts):
    """The checker itself: QEMU's real placeholder (screendump before the
    guest runs) and a black screen both fail."""
    kernel = os.path.join(rltools.out_dir("qemu_virt_aarch64"), "kernel.elf")
    vm = qemu.Qemu("aarch64", kernel, workdir=artifacts, extra=["-S"])
    with vm:
        png = vm.screendump(os.path.join(artifacts, "placeholder.png"))
    with pytest.raises(PictureMismatch, match="placeholder"):
        check_boot_picture(png, 1280, 800, artifacts)
    black = os.path.join(artifacts, "black.png")
    Image.new("RGB", (1280, 800)).save(black)
    with pytest.raises(PictureMismatch, match="entirely black"):
        check_boot_picture(black, 1280, 800, artifacts)
    # Bars right but the console empty is not the boot picture either.
    from display import expected_bars
    bars_only = Image.new("RGB", (1280, 800))
    bars_only.paste(expected_bars(1280, 800), (0, 0))
    path = os.path.join(artifacts, "no-console.png")
    bars_only.save(path)
    with pytest.raises(PictureMismatch, match="no text"):
        check_boot_picture(path, 1280, 800, artifacts)


@pytest.mark.parametrize("arch", ARCHES)
def test_check_fails_without_attach_backing(build, artifacts, arch):
    """A test-only build that skips RESOURCE_ATTACH_BACKING must fail the
    display check: the test can fail."""
    out = build("test_skip_attach_" + arch, base="qemu_virt_" + arch,
                settings=["CONFIG_TEST_GPU_SKIP_ATTACH_BACKING=y"])
    log, (png,), _ = boot_and_dump(arch, out, artifacts)
    assert "RESOURCE_ATTACH_BACKING skipped" in log, log
    # The driver itself sees the device's error answer and says so.
    assert re.search(r"SET_SCANOUT \(resource 1\): device answered "
                     r"ERR_INVALID_RESOURCE_ID|ERR_UNSPEC", log), log
    with pytest.raises(PictureMismatch):
        check_boot_picture(png, 1280, 800, artifacts)


@pytest.mark.parametrize("arch", ARCHES)
def test_display_mode_change(build, artifacts, arch):
    """A display change (VIRTIO_GPU_EVENT_DISPLAY through the config
    interrupt, raised here through QEMU's VNC desktop resize): the driver
    acknowledges it, re-reads the display info, tears the old resource down
    (DETACH_BACKING, UNREF) and shows the picture at the new size."""
    import vnc
    out = build("qemu_virt_" + arch)
    sock = os.path.join(artifacts, "vnc.sock")
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=["-device", "virtio-gpu-device",
                                     "-vnc", "unix:" + sock,
                                     "-trace", "virtio_gpu_cmd_res_back_detach",
                                     "-trace", "virtio_gpu_cmd_res_unref"])
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT), vm.serial()
        before = vnc.request_desktop_size(sock, 1024, 640)
        assert before == (1280, 800)
        assert vm.wait_for(r"scanout 0: 1024x640 at \(0,0\)", 20), vm.serial()
        vm.wait_for(r"__never__", 0.5)
        png = vm.screendump(os.path.join(artifacts, "after-change.png"))
        log = vm.serial()
    with open(vm.stderr_path) as f:
        stderr = f.read()
    assert "display configuration changed" in log, log
    assert re.search(r"virtio_gpu_cmd_res_back_detach res 0x1\b", stderr), stderr
    assert re.search(r"virtio_gpu_cmd_res_unref res 0x1\b", stderr), stderr
    check_boot_picture(png, 1024, 640, artifacts)
