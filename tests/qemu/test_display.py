"""QEMU display tests: the boot picture read back through QMP screendump,
on both architectures, both transports and both rings (also with the
kernel built by GCC), plus resolutions,
two scanouts, another slot, features off, the cursor, a damage rectangle
that is not the whole screen, and proof that the check fails when the
picture is not there.

Every boot also checks QEMU's own trace of the GPU commands (gpu_trace):
the scanout resource's format and size, and every update sent as one
transfer and one flush of the same resource after one notification. The
console is read back glyph by glyph and must show the end of the serial
log (display.check_boot_picture)."""
import os
import re
import subprocess
import time

import pytest
from PIL import Image

import bench_size
import qemu
import rltools
from display import (PATTERN_RECT, SLOT_STRIDE, TOP_SLOT, PictureMismatch, boot_header,
                     check_boot_picture, expected_bars, qemu_edid)
from gpu_trace import (TraceMismatch, check_driver_updates, check_gpu_commands,
                       trace_args)

ARCHES = ["aarch64", "riscv64"]
MODERN = ["-global", "virtio-mmio.force-legacy=false"]
BOOT_TIMEOUT = 60


def has_packed(name):
    return rltools.config_value(name, "VIRTIO_QUEUE_PACKED") == "y"


def settled_screendump(vm, qmp, kwargs, timeout=10.0):
    """Screendumps 0.3 s apart until two in a row are the same: the last
    console update after the boot has landed (on a loaded machine it may
    take longer than one fixed pause)."""
    deadline = time.monotonic() + timeout
    previous = None
    while True:
        vm.wait_for(r"__never__", 0.3)
        qmp.execute("screendump", **kwargs)
        with open(kwargs["filename"], "rb") as f:
            shot = f.read()
        if shot == previous or time.monotonic() > deadline:
            return
        previous = shot


def boot_failure(vm):
    """Why 'boot complete' never came: QEMU's state, the serial log (a
    silent hang shows an empty one) and the end of QEMU's stderr."""
    status = vm.proc.poll()
    state = ("QEMU exited with status %s" % status if status is not None
             else "QEMU still running after %ss" % BOOT_TIMEOUT)
    with open(vm.stderr_path, errors="replace") as f:
        stderr = f.read().splitlines()
    serial = vm.serial()
    return "no 'RINGLIGHT: boot complete': %s\n--- serial log%s ---\n%s\n" \
        "--- QEMU stderr (last lines) ---\n%s" % (
            state, " (empty: nothing was printed)" if not serial.strip() else "",
            serial, "\n".join(stderr[-10:]))


def boot_and_dump(arch, out, artifacts, gpu_args="", extra=(), heads=(0,),
                  trace=(), device="virtio-gpu-device"):
    """Boots with a virtio-gpu (`device`, `gpu_args` appended to its
    -device) and QEMU's GPU command traces on, waits for the boot to
    complete, returns (serial log, [png per head], stderr)."""
    args = list(extra) + ["-device", device + ",id=gpu" + gpu_args]
    args += trace_args(trace)
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=args)
    pngs = []
    with vm:
        if not vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT):
            raise AssertionError(boot_failure(vm))
        qmp = vm.connect()
        for head in heads:
            png = os.path.join(artifacts, "screen-head%d.png" % head)
            kwargs = {"filename": png, "format": "png"}
            if head:
                kwargs["head"] = head
                kwargs["device"] = "gpu"
            settled_screendump(vm, qmp, kwargs)
            pngs.append(png)
        log = vm.serial()
    with open(vm.stderr_path) as f:
        stderr = f.read()
    return log, pngs, stderr


def gpu_names(log):
    """The GPUs the kernel bound, in probe order ("virtio-gpu@0xa003e00")."""
    return re.findall(r"(virtio-gpu@0x[0-9a-f]+): virtio-mmio@0x[0-9a-f]+ v\d "
                      r"\((?:legacy|modern)\), irq", log)


def gpu_name(slot):
    return "virtio-gpu@%#x" % slot


def _gpu(log, device):
    """`device` (a name), or the first GPU of the log."""
    if device is None:
        names = gpu_names(log)
        assert names, log
        device = names[0]
    return device


def transport_of(log, device=None):
    device = _gpu(log, device)
    m = re.search(r"%s: virtio-mmio@0x[0-9a-f]+ v\d \((legacy|modern)\), irq"
                  % re.escape(device), log)
    assert m, log
    return 1 if m.group(1) == "legacy" else 2


def ring_of(log, device=None):
    device = _gpu(log, device)
    m = re.search(r"%s: queue 0 \(controlq\): \d+ entries, "
                  r"(split|packed) ring" % re.escape(device), log)
    assert m, log
    return m.group(1)


def check_screen(png, arch, log, w, h, artifacts, scanout=0, edid=None, device=None,
                 **kwargs):
    """The picture on one head of `device` (default: the first GPU), with
    the console header the README gives for this device's slot,
    transport, ring and mode."""
    device = _gpu(log, device)
    slot = int(device.split("@")[1], 16)
    header = boot_header(arch, slot, transport_of(log, device), ring_of(log, device),
                         scanout, w, h, edid or qemu_edid(w, h))
    check_boot_picture(png, w, h, artifacts, log, header, **kwargs)


# Packed rings need the modern transport (a legacy one has no second
# feature word), so the matrix has three transport/ring pairs per arch.
# Each also with the kernel built by GCC (qemu_virt_ARCH_gcc).
MATRIX = [pytest.param(a, t, r, cc, id="-".join([a, t, r] + ([cc] if cc else [])))
          for cc in ["", "gcc"] for a in ARCHES
          for t, r in [("legacy", "split"), ("modern", "split"), ("modern", "packed")]]


@pytest.mark.parametrize("arch,transport,ring,compiler", MATRIX)
def test_display_matrix(build, artifacts, arch, transport, ring, compiler):
    name = "qemu_virt_" + arch + ("_" + compiler if compiler else "")
    out = build(name)
    if ring == "packed":
        assert has_packed(name), "%s must build the packed backend" % name
    extra = MODERN if transport == "modern" else []
    gpu_args = ",packed=on" if ring == "packed" else ""
    log, (png,), stderr = boot_and_dump(arch, out, artifacts, gpu_args, extra)
    version = 1 if transport == "legacy" else 2
    assert ring_of(log) == ring, log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: virtio-mmio@0x[0-9a-f]+ v%d \(%s\), irq"
                     % (version, transport), log), log
    check_screen(png, arch, log, 1280, 800, artifacts)
    assert "version %d device 16 (gpu)" % version in log
    # QEMU's record: every update one transfer + one flush after one
    # notification, at least the boot picture's full-screen one.
    updates = check_gpu_commands(stderr, {1: (1280, 800)})
    assert updates[0] == (1, 0, 0, 1280, 800), updates
    # The driver's own count agrees, and with EVENT_IDX (negotiated here)
    # an update brings at most one interrupt.
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
    log, (png,), stderr = boot_and_dump(arch, out, artifacts,
                                        ",xres=%d,yres=%d" % (w, h))
    assert "scanout 0: %dx%d at (0,0)" % (w, h) in log, log
    check_screen(png, arch, log, w, h, artifacts)
    check_gpu_commands(stderr, {1: (w, h)})


@pytest.mark.parametrize("arch", ARCHES)
def test_display_two_scanouts(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    log, (png0, png1), stderr = boot_and_dump(arch, out, artifacts,
                                              ",max_outputs=2,xres=1024,yres=768",
                                              heads=(0, 1))
    assert "2 scanout(s)" in log, log
    check_screen(png0, arch, log, 1024, 768, artifacts)
    # Scanout 1 is reported disabled by QEMU; the driver lights it at its
    # EDID preferred mode (QEMU's default 1280x800), with its own resource.
    m = re.search(r"scanout 1: (\d+)x(\d+) at \(0,0\), resource 2", log)
    assert m, log
    w1, h1 = int(m.group(1)), int(m.group(2))
    check_screen(png1, arch, log, w1, h1, artifacts, scanout=1)
    updates = check_gpu_commands(stderr, {1: (1024, 768), 2: (w1, h1)})
    assert {u[0] for u in updates} == {1, 2}, updates


def test_display_mode_wider_than_edid_timing_fields(build, artifacts):
    """5120x1440: wider than the 4095 an EDID detailed timing can hold.
    QEMU 7.2 then gives the mode only in a DisplayID extension of its
    EDID; the driver reads it from there (the console's second header
    row, 'preferred 5120x1440', is drawn from the EDID it parsed) and
    drives the scanout at the size GET_DISPLAY_INFO reports: the
    screendump is 5120x1440 with the boot picture."""
    arch = "aarch64"
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts, ",xres=5120,yres=1440")
    assert re.search(r"scanout 0: EDID monitor \"QEMU Monitor\" vendor RHT, "
                     r"preferred mode 5120x1440", log), log
    assert "EDID unusable" not in log, log
    check_screen(png, arch, log, 5120, 1440, artifacts)
    check_gpu_commands(stderr, {1: (5120, 1440)})


@pytest.mark.parametrize("arch", ARCHES)
def test_display_gpu_not_in_top_slot(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts,
                                        extra=["-device", "virtio-rng-device"])
    top = {"aarch64": 0x0A003E00, "riscv64": 0x10008000}[arch]
    assert re.search(r"slot %#x irq \d+ version 1 device 4 \(rng\)" % top, log), log
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: virtio-mmio@0x[0-9a-f]+ v1 \(legacy\), irq",
                     log)
    assert "virtio-gpu@%#x" % top not in log
    check_screen(png, arch, log, 1280, 800, artifacts)
    check_gpu_commands(stderr, {1: (1280, 800)})


@pytest.mark.parametrize("transport", ["legacy", "modern"])
@pytest.mark.parametrize("arch", ARCHES)
def test_display_features_off(build, artifacts, arch, transport):
    out = build("qemu_virt_" + arch)
    extra = MODERN if transport == "modern" else []
    log, (png,), stderr = boot_and_dump(arch, out, artifacts,
                                        ",event_idx=off,indirect_desc=off", extra)
    m = re.search(r"virtio-gpu@0x[0-9a-f]+: features accepted:(.*)", log)
    assert m and "EVENT_IDX" not in m.group(1) and "INDIRECT_DESC" not in m.group(1), log
    check_screen(png, arch, log, 1280, 800, artifacts)
    check_gpu_commands(stderr, {1: (1280, 800)})


@pytest.mark.parametrize("arch", ARCHES)
def test_cursor_seen_by_qemu(build, artifacts, arch):
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts,
                                        trace=["virtio_gpu_update_cursor"])
    assert "cursor: 64x64 resource 256 on scanout 0" in log, log
    # QEMU's trace: the 64x64 cursor resource, then UPDATE_CURSOR for it.
    assert re.search(r"virtio_gpu_cmd_res_create_2d res 0x100, fmt 0x2, w 64, h 64",
                     stderr), stderr
    assert re.search(r"virtio_gpu_update_cursor scanout 0, x 640, y 400, update, "
                     r"res 0x100", stderr), stderr
    check_screen(png, arch, log, 1280, 800, artifacts)


DAMAGE_CASES = [(a, t, r) for a in ARCHES
                for t, r in [("legacy", "split"), ("modern", "packed")]]


def damage_build(build, arch):
    return build("test_damage_" + arch, base="qemu_virt_" + arch,
                 settings=["CONFIG_TEST_GPU_DAMAGE_PATTERN=y",
                           "CONFIG_GPU_LOG_UPDATES=y"])


@pytest.mark.parametrize("arch,transport,ring", DAMAGE_CASES)
def test_display_damage_rectangle(build, artifacts, arch, transport, ring):
    """A test build presents, after the boot picture, a rectangle at an odd
    x > 0, y > 0 whose every pixel differs, alone, through fb_damage and
    gpu_present: the pattern must be exact and the bars around it
    unchanged, QEMU must have flushed exactly the rectangles the driver
    logged (with the offset of each rectangle's first pixel), and the
    pattern's update must be one of them."""
    out = damage_build(build, arch)
    extra = MODERN if transport == "modern" else []
    gpu_args = ",packed=on" if ring == "packed" else ""
    log, (png,), stderr = boot_and_dump(arch, out, artifacts, gpu_args, extra)
    assert "test: damage pattern %dx%d at (%d,%d) presented: RL_OK" % (
        PATTERN_RECT[2], PATTERN_RECT[3], PATTERN_RECT[0], PATTERN_RECT[1]) in log, log
    assert ring_of(log) == ring, log
    check_screen(png, arch, log, 1280, 800, artifacts, pattern=True)
    updates = check_gpu_commands(stderr, {1: (1280, 800)})
    said = check_driver_updates(log, updates, {1: 1280 * 4})
    x, y, w, h = PATTERN_RECT
    assert (1, x, y, w, h, y * 1280 * 4 + x * 4) in said, said
    # Console updates are rectangles too (x 0, y > 0, offset > 0).
    assert any(u[2] > 0 and u[5] > 0 for u in said if u[1:5] != (x, y, w, h)), said


def test_check_rejects_placeholder_and_black(artifacts):
    """The checker itself: QEMU's real placeholder (screendump before the
    guest runs) and a black screen both fail."""
    kernel = os.path.join(rltools.out_dir("qemu_virt_aarch64"), "kernel.elf")
    header = boot_header("aarch64", TOP_SLOT["aarch64"], 1, "split", 0, 1280, 800,
                         qemu_edid(1280, 800))
    vm = qemu.Qemu("aarch64", kernel, workdir=artifacts, extra=["-S"])
    with vm:
        png = vm.screendump(os.path.join(artifacts, "placeholder.png"))
    with pytest.raises(PictureMismatch, match="placeholder"):
        check_boot_picture(png, 1280, 800, artifacts, "", header)
    black = os.path.join(artifacts, "black.png")
    Image.new("RGB", (1280, 800)).save(black)
    with pytest.raises(PictureMismatch, match="entirely black"):
        check_boot_picture(black, 1280, 800, artifacts, "", header)
    # Bars right but the console empty is not the boot picture either.
    bars_only = Image.new("RGB", (1280, 800))
    bars_only.paste(expected_bars(1280, 800), (0, 0))
    path = os.path.join(artifacts, "no-console.png")
    bars_only.save(path)
    with pytest.raises(PictureMismatch, match="header row 0"):
        check_boot_picture(path, 1280, 800, artifacts, "", header)


@pytest.mark.parametrize("arch", ARCHES)
def test_check_rejects_wrong_consoles(build, artifacts, arch):
    """The console check on a real screen: it passes as shot, and fails when
    the log rows are blank (header only), when a glyph is drawn in a bar
    colour, when a cell holds a shape that is no glyph, when the serial log
    says something the screen does not, when the header is wrong, and when
    the damage pattern is expected but absent; QEMU's trace check fails
    when a flush is missing or a resource has the wrong format."""
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts)
    check_screen(png, arch, log, 1280, 800, artifacts)
    with Image.open(png) as raw:
        good = raw.convert("RGB")
    top, row = 600, 16

    def variant(name, edit):
        img = good.copy()
        edit(img)
        path = os.path.join(artifacts, name + ".png")
        img.save(path)
        return path

    def blank_log(img):
        img.paste((0, 0, 0), (0, top + 2 * row, 1280, 800))

    def recolour(img):
        px = img.load()
        for y in range(top + 2 * row, top + 3 * row):
            for x in range(0, 8):
                if px[x, y] != (0, 0, 0):
                    px[x, y] = (255, 255, 0)

    def smear(img):
        img.paste((192, 192, 192), (8, top + 3 * row + 4, 16, top + 3 * row + 5))

    with pytest.raises(PictureMismatch, match="no log text"):
        check_screen(variant("blank-log", blank_log), arch, log, 1280, 800, artifacts)
    with pytest.raises(PictureMismatch, match="draws only"):
        check_screen(variant("yellow-glyph", recolour), arch, log, 1280, 800, artifacts)
    with pytest.raises(PictureMismatch, match="not a glyph|does not show"):
        check_screen(variant("smear", smear), arch, log, 1280, 800, artifacts)
    with pytest.raises(PictureMismatch, match="does not show the end of the serial log"):
        check_screen(png, arch, log + "one more line\n", 1280, 800, artifacts)
    with pytest.raises(PictureMismatch, match="header row 0"):
        check_boot_picture(png, 1280, 800, artifacts, log,
                           boot_header(arch, TOP_SLOT[arch], 2, ring_of(log), 0, 1280,
                                       800, qemu_edid(1280, 800)))
    # The header names the device: another slot's header is not this one.
    with pytest.raises(PictureMismatch, match="header row 0"):
        check_boot_picture(png, 1280, 800, artifacts, log,
                           boot_header(arch, TOP_SLOT[arch] - SLOT_STRIDE[arch], 1,
                                       ring_of(log), 0, 1280, 800, qemu_edid(1280, 800)))
    with pytest.raises(PictureMismatch, match="damage pattern"):
        check_screen(png, arch, log, 1280, 800, artifacts, pattern=True)
    # QEMU's record: a transfer without its flush, and a B8G8R8A8 resource.
    no_flush = re.sub(r"(?m)^virtio_gpu_cmd_res_flush res 0x1, w 1280, h 800.*\n", "",
                      stderr, count=1)
    with pytest.raises(TraceMismatch, match="TRANSFER_TO_HOST_2D then RESOURCE_FLUSH"):
        check_gpu_commands(no_flush, {1: (1280, 800)})
    alpha = stderr.replace("res_create_2d res 0x1, fmt 0x2", "res_create_2d res 0x1, fmt 0x1")
    with pytest.raises(TraceMismatch, match="not B8G8R8X8"):
        check_gpu_commands(alpha, {1: (1280, 800)})


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
        check_boot_picture(png, 1280, 800, artifacts, log,
                           boot_header(arch, TOP_SLOT[arch], 1, "split", 0, 1280, 800,
                                       qemu_edid(1280, 800)))


@pytest.mark.parametrize("arch", ARCHES)
def test_display_mode_change(build, artifacts, arch):
    """A display change (VIRTIO_GPU_EVENT_DISPLAY through the config
    interrupt, raised here through QEMU's VNC desktop resize): the driver
    acknowledges it, re-reads the display info, tears the old resource down
    (DETACH_BACKING, UNREF) and shows the picture at the new size, its new
    console showing the log since."""
    import vnc
    out = build("qemu_virt_" + arch)
    sock = qemu.socket_path(artifacts, "vnc.sock")
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=["-device", "virtio-gpu-device",
                                     "-vnc", "unix:" + sock,
                                     "-trace", "virtio_gpu_cmd_res_back_detach",
                                     "-trace", "virtio_gpu_cmd_res_unref"]
                   + trace_args())
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT), vm.serial()
        before = vnc.request_desktop_size(sock, 1024, 640)
        assert before == (1280, 800)
        assert vm.wait_for(r"scanout 0: 1024x640 at \(0,0\)", 20), vm.serial()
        png = os.path.join(artifacts, "after-change.png")
        settled_screendump(vm, vm.connect(), {"filename": png, "format": "png"})
        log = vm.serial()
    with open(vm.stderr_path) as f:
        stderr = f.read()
    assert "display configuration changed" in log, log
    assert re.search(r"virtio_gpu_cmd_res_back_detach res 0x1\b", stderr), stderr
    assert re.search(r"virtio_gpu_cmd_res_unref res 0x1\b", stderr), stderr
    # QEMU's EDID now prefers the new mode too; the new console shows
    # only what was logged since it was set up.
    check_screen(png, arch, log, 1024, 640, artifacts, full_console=False)
    updates = check_gpu_commands(stderr, {1: (1024, 640)})
    assert (1, 0, 0, 1024, 640) in updates, updates


@pytest.mark.parametrize("arch", ARCHES)
def test_display_two_gpus(build, artifacts, arch):
    """Two virtio-gpu devices, each with its own driver state (issue 12):
    each shows the boot picture, read back by a screendump of that QMP
    device, its console header naming its own slot and its log rows the
    end of the serial log (both consoles mirror the log). Then a display
    change on each in turn, raised through a VNC server bound to that
    device: the device that changed tears its old resource down and shows
    the picture at the new size; the other keeps its size and bars and its
    console still follows the log (the second probe freed the first
    device's framebuffer and froze its console before each device had its
    own state). QEMU's trace, split per device, shows each device's
    resource created at its size and every update well formed."""
    import vnc
    out = build("qemu_virt_" + arch)
    top = TOP_SLOT[arch]
    # The first -device takes the top slot, the second the slot below.
    gpus = {"gpu0": top, "gpu1": top - SLOT_STRIDE[arch]}
    sizes = {"gpu0": (1280, 800), "gpu1": (1024, 768)}
    changes = [("gpu0", (1024, 640)), ("gpu1", (800, 600))]
    socks = {g: qemu.socket_path(artifacts, "vnc-%s.sock" % g) for g in gpus}
    extra = []
    for g in gpus:
        extra += ["-device", "virtio-gpu-device,id=%s,xres=%d,yres=%d" % ((g,) + sizes[g])]
    for i, g in enumerate(gpus):
        extra += ["-vnc", "unix:%s,id=vnc%d,display=%s" % (socks[g], i, g)]
    extra += ["-trace", "virtio_gpu_cmd_res_back_detach",
              "-trace", "virtio_gpu_cmd_res_unref"] + trace_args()
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=extra)
    full = {g: True for g in gpus}  # a console set up after boot is not full

    def check_both(qmp, tag):
        pngs = {}
        for g in gpus:
            pngs[g] = os.path.join(artifacts, "%s-%s.png" % (tag, g))
            settled_screendump(vm, qmp, {"filename": pngs[g], "format": "png",
                                         "device": g})
        log = vm.serial()
        for g in gpus:
            w, h = sizes[g]
            check_screen(pngs[g], arch, log, w, h, artifacts, device=gpu_name(gpus[g]),
                         full_console=full[g])
        return log

    with vm:
        if not vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT):
            raise AssertionError(boot_failure(vm))
        qmp = vm.connect()
        log = check_both(qmp, "boot")
        assert sorted(gpu_names(log)) == sorted(gpu_name(s) for s in gpus.values()), log
        assert "display configuration changed" not in log, log
        for step, (g, size) in enumerate(changes):
            assert vnc.request_desktop_size(socks[g], *size) == sizes[g]
            name = gpu_name(gpus[g])
            assert vm.wait_for(r"%s: scanout 0: %dx%d at \(0,0\)" % ((re.escape(name),) + size),
                               20), vm.serial()
            sizes[g] = size
            full[g] = False
            log = check_both(qmp, "change%d" % step)
            # Each change was handled by its own device only.
            for other, slot in gpus.items():
                said = log.count("%s: display configuration changed" % gpu_name(slot))
                want = 1 if other in [c[0] for c in changes[:step + 1]] else 0
                assert said == want, (other, said, log)
    with open(vm.stderr_path) as f:
        stderr = f.read()
    order = gpu_names(log)
    for g, slot in gpus.items():
        updates = check_gpu_commands(stderr, {1: sizes[g]}, device=order.index(gpu_name(slot)))
        assert (1, 0, 0) + sizes[g] in updates, (g, updates)
    # Two teardowns of resource 1 in all: one per device.
    assert len(re.findall(r"virtio_gpu_cmd_res_unref res 0x1\b", stderr)) == 2, stderr
    assert len(re.findall(r"virtio_gpu_cmd_res_back_detach res 0x1\b", stderr)) == 2, stderr


def symbols_of(path):
    out = subprocess.run(["llvm-nm", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


# What configs/qemu_virt_aarch64_min_defconfig leaves out (drivers/Kconfig,
# virtio/Kconfig): one symbol of each, present in the default image.
MIN_DROPPED = {"console and font": ["fbcon_write", "font_rows", "gpu_console_init"],
               "non-coherent DMA": ["arch_dma_sync_nc_for_device",
                                    "arch_dma_sync_nc_for_cpu"],
               "ring fast paths": ["split_add_one", "split_get_used"],
               "requests handed back after a reset": ["split_detach"],
               "GPU warm-up": ["gpu_warm_encode", "gpu_warm_finish"],
               "resource teardown": ["abandon", "gpu_encode_unref"],
               "cursor": ["gpu_cursor_setup"],
               "EDID": ["gpu_parse_edid"],
               "display-change events": ["gpu_events_handle"],
               "packed ring": ["vq_packed_ops"],
               "PCI": ["virtio_pci_probe_all"],
               "rng": ["virtio_rng_driver"],
               "command names": ["gpu_type_name"],
               "DEVICE_NEEDS_RESET recovery": ["virtio_device_reset"],
               "device interrupts": ["virtio_handle_interrupt",
                                     "virtio_config_interrupt"],
               "num_scanouts read (scanout 0 only)": ["virtio_config_read"]}


def test_display_min_config(build, artifacts):
    """qemu_virt_aarch64_min (split ring, virtio-mmio only, no console,
    font, cursor, EDID or display-change events, errors-only log, -Oz)
    still shows the picture: the eight bars pixel for pixel and, without
    a console, a bottom quarter of background only. QEMU's trace: no
    GET_EDID, no cursor command, one full-screen update (transfer + flush
    after one notification). The image holds none of what was switched
    off (its symbols, the info-level log text, the error messages' text,
    the GPU command names), the default image does."""
    arch = "aarch64"
    out = build("qemu_virt_aarch64_min")
    default = build("qemu_virt_aarch64")
    log, (png,), stderr = boot_and_dump(
        arch, out, artifacts,
        trace=["virtio_gpu_cmd_get_edid", "virtio_gpu_update_cursor"])
    check_boot_picture(png, 1280, 800, artifacts, log, None, console=False)
    updates = check_gpu_commands(stderr, {1: (1280, 800)})
    assert updates == [(1, 0, 0, 1280, 800)], updates
    assert "virtio_gpu_cmd_get_edid" not in stderr
    assert "virtio_gpu_update_cursor" not in stderr
    # Errors only: no info line reached the serial console.
    assert "features accepted" not in log and "scanout 0: 1280x800" not in log, log
    small, full = symbols_of(os.path.join(out, "kernel.elf")), \
        symbols_of(os.path.join(default, "kernel.elf"))
    for what, names in MIN_DROPPED.items():
        for name in names:
            assert name in full, "%s (%s) missing from the default image" % (name, what)
            assert name not in small, "%s (%s) is in the min image" % (name, what)
    # The images' read-only data (the debug info names the enums too).
    image = bench_size.image_rodata(os.path.join(out, "kernel.elf"))
    full_image = bench_size.image_rodata(os.path.join(default, "kernel.elf"))
    # Errors without their text (CONFIG_LOG_TEXT): call sites and numbers.
    for text in (b"%s: features %s:%s", b"\0RESOURCE_ATTACH_BACKING\0",
                 b"; device marked FAILED"):
        assert text in full_image and text not in image, text


def gpu_status(qmp):
    """QEMU's own view of the virtio-gpu (x-query-virtio-status)."""
    for d in qmp.execute("x-query-virtio"):
        if d["name"] == "virtio-gpu":
            return qmp.execute("x-query-virtio-status", path=d["path"])
    raise AssertionError("no virtio-gpu")


def failed(status):
    """The device status has FAILED (virtio 1.2 section 2.1)."""
    return any(s.startswith("VIRTIO_CONFIG_S_FAILED")
               for s in status["status"]["statuses"])


def boot_gpu(out, artifacts, extra):
    """Boots aarch64 with a virtio-gpu-device: (serial log, gpu_status)."""
    vm = qemu.Qemu("aarch64", os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=list(extra) + ["-device", "virtio-gpu-device"])
    with vm:
        assert vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT), vm.serial()
        status = gpu_status(vm.connect())
        log = vm.serial()
    return log, status


def test_display_min_config_switches(build, artifacts):
    """What qemu_virt_aarch64_min switches off in virtio/Kconfig and
    arch/Kconfig is off with the device too. QEMU's own view: the GPU
    offers INDIRECT_DESC and EVENT_IDX, the min image accepts neither
    (CONFIG_VIRTIO_INDIRECT_DESC, CONFIG_VIRTIO_EVENT_IDX), the default
    image accepts both. Without CONFIG_DMA_NONCOHERENT a GPU the device
    tree does not make dma-coherent is refused and failed (the boot goes
    on, no picture); the default image drives it."""
    from test_backends import noncoherent_dtb

    out = build("qemu_virt_aarch64_min")
    default = build("qemu_virt_aarch64")
    ring_features = ("VIRTIO_RING_F_INDIRECT_DESC", "VIRTIO_RING_F_EVENT_IDX")
    for image, accepted_by_it in ((out, False), (default, True)):
        _, status = boot_gpu(image, artifacts, [])
        offered = " ".join(status["host-features"]["transports"])
        accepted = " ".join(status["guest-features"]["transports"])
        for name in ring_features:
            assert name in offered, status
            assert (name in accepted) == accepted_by_it, (image, status)

    dtb = os.path.join(artifacts, "noncoherent.dtb")
    noncoherent_dtb("aarch64", dtb)
    log, status = boot_gpu(out, artifacts, ["-dtb", dtb])
    # Terse errors (no CONFIG_LOG_TEXT): the device marked FAILED, with
    # the refusal's call site (virtio_negotiate's) as what failed.
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "virtio", "core",
                           "virtio.c")) as f:
        refusal = next(i + 1 for i, line in enumerate(f)
                       if "(CONFIG_DMA_NONCOHERENT is off)" in line)
    assert re.search(r"error: virtio\.c:\d+ virtio-gpu@0x[0-9a-f]+ virtio\.c:%d "
                     r"RL_ERR_NOT_SUPPORTED" % refusal, log), log
    assert failed(status), status
    log, status = boot_gpu(default, artifacts, ["-dtb", dtb])
    assert not failed(status), status
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: scanout 0: \d+x\d+", log), log
