"""QEMU tests of virtio-input (issue 16), from QEMU's side: QMP injects
the events (`input-send-event`), QEMU's own trace
`virtio_gpu_update_cursor` says where the cursor went, the screendump's
console cells (decoded glyph by glyph with the kernel's font,
display.decode_console) say what was typed.

One boot per architecture with a GPU, a tablet, a keyboard and a mouse on
virtio-mmio (legacy on aarch64, modern on riscv64) checks the tablet's
scaling, the mouse's summed and clamped moves (one MOVE_CURSOR per
SYN_REPORT batch), typing with Shift, Caps Lock and Backspace, and, after
a display change (VNC desktop resize), the tablet scaled to the new size. One boot per architecture on virtio-pci
checks the tablet and a typed line. One boot binds the tablet to the
second head (QEMU's display=/head=, invisible to the guest: the kernel is
told with ringlight.input_scanout=1)."""
import os
import re
import time

import pytest
from PIL import Image

import qemu
from display import decode_console
from test_display import BOOT_TIMEOUT, boot_failure, settled_screendump

ARCHES = ["aarch64", "riscv64"]
ABS_MAX = 32768  # QEMU's tablet: ABS_INFO 0..32767
CURSOR = re.compile(r"virtio_gpu_update_cursor scanout (\d+), x (\d+), y (\d+), "
                    r"(move|update)")


def cursor_moves(vm):
    with open(vm.stderr_path, errors="replace") as f:
        return [(int(s), int(x), int(y), kind) for s, x, y, kind in
                CURSOR.findall(f.read())]


def wait_moves(vm, count, timeout=10.0):
    """QEMU's cursor trace once it holds `count` entries (and 0.3 s more,
    to see any extra ones), or what it holds at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(cursor_moves(vm)) < count:
        time.sleep(0.05)
    time.sleep(0.3)
    return cursor_moves(vm)


def abs_event(x, y):
    return [{"type": "abs", "data": {"axis": "x", "value": x}},
            {"type": "abs", "data": {"axis": "y", "value": y}}]


def rel_events(*moves):
    return [{"type": "rel", "data": {"axis": axis, "value": v}} for axis, v in moves]


def key(name, down):
    return {"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": name}}}


# "Hello, Ringlight" with Shift, Caps Lock (for the R) and a typo taken
# back with Backspace; then Enter.
TYPED = "Hello, Ringlight"
STROKES = ([["shift", "h"], ["e"], ["l"], ["l"], ["o"], ["comma"], ["spc"],
            ["caps_lock"], ["r"], ["caps_lock"]]
           + [[c] for c in "ingligj"] + [["backspace"], ["h"], ["t"]])


def type_keys(qmp, strokes):
    """One input-send-event (one batch) per stroke: modifiers down, the
    key down and up, modifiers up."""
    for stroke in strokes:
        events = [key(k, True) for k in stroke] + [key(k, False)
                                                  for k in reversed(stroke)]
        qmp.execute("input-send-event", events=events)


def expect(moves, want, what):
    got = [(s, x, y) for s, x, y, _ in moves]
    assert got == want, "%s: QEMU's cursor trace %s, expected %s" % (what, got, want)


def scaled(w, h, x=8192, y=24576):
    return (w * x // ABS_MAX, h * y // ABS_MAX)


def boot(arch, out, artifacts, devices, extra=(), append=None):
    args = []
    for d in devices:
        args += ["-device", d]
    args += list(extra) + ["-trace", "virtio_gpu_update_cursor"]
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=args, append=append)
    vm.start()
    if not vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT):
        vm.stop()
        raise AssertionError(boot_failure(vm))
    return vm


def check_kinds(log):
    assert re.search(r'virtio-input@\S+: "QEMU Virtio Tablet": tablet, x 0\.\.32767, '
                     r'y 0\.\.32767, 64 event buffers', log), log
    assert re.search(r'virtio-input@\S+: "QEMU Virtio Keyboard": keyboard, 64 event '
                     r'buffers, LEDs', log), log


@pytest.mark.parametrize("arch", ARCHES)
def test_input_mmio(build, artifacts, arch):
    """Tablet, mouse, keyboard and a display change in one boot."""
    import vnc
    out = build("qemu_virt_" + arch)
    sock = qemu.socket_path(artifacts, "vnc.sock")
    # aarch64 on the default legacy virtio-mmio, riscv64 on modern.
    modern = ["-global", "virtio-mmio.force-legacy=false"] if arch == "riscv64" else []
    vm = boot(arch, out, artifacts,
              ["virtio-gpu-device", "virtio-tablet-device", "virtio-keyboard-device",
               "virtio-mouse-device"], ["-vnc", "unix:" + sock] + modern)
    try:
        qmp = vm.connect()
        log = vm.serial()
        check_kinds(log)
        assert re.search(r"virtio-input@\S+: virtio-mmio@\S+ v%d" % (2 if modern else 1),
                         log), log
        assert re.search(r'virtio-input@\S+: "QEMU Virtio Mouse": mouse, 64 event '
                         r'buffers', log), log
        # The boot's UPDATE_CURSOR at the centre, then the tablet.
        qmp.execute("input-send-event", events=abs_event(8192, 24576))
        moves = wait_moves(vm, 2)
        expect(moves, [(0, 640, 400), (0,) + scaled(1280, 800)], "tablet")
        # The mouse moves on from there: each batch summed (three events,
        # one MOVE_CURSOR), then clamped at the right/top and left/bottom.
        for batch in (rel_events(("x", 60), ("x", 40), ("y", -50)),
                      rel_events(("x", 5000), ("y", -5000)),
                      rel_events(("x", -100000), ("y", 100000))):
            qmp.execute("input-send-event", events=batch)
        moves = wait_moves(vm, 5)
        expect(moves[2:], [(0, 420, 550), (0, 1279, 0), (0, 0, 799)], "mouse")
        # Typing: the console shows the line, the serial log has it after
        # Enter.
        type_keys(qmp, STROKES)
        png = os.path.join(artifacts, "typed.png")
        type_keys(qmp, [["ret"]])
        assert vm.wait_for(r'input: "%s"' % TYPED, 10), vm.serial()
        settled_screendump(vm, qmp, {"filename": png, "format": "png"})
        with Image.open(png) as raw:
            rows = [r.rstrip(" ") for r in decode_console(raw.convert("RGB"), 1280, 800)]
        assert TYPED in rows, "the console does not show %r:\n%s" % (TYPED, "\n".join(rows))
        # A display change: the same tablet event lands at the scaled
        # position of the new size.
        assert vnc.request_desktop_size(sock, 1024, 640) == (1280, 800)
        assert vm.wait_for(r"scanout 0: 1024x640 at \(0,0\)", 20), vm.serial()
        qmp.execute("input-send-event", events=abs_event(8192, 24576))
        moves = wait_moves(vm, 6)
        expect(moves[5:], [(0,) + scaled(1024, 640)], "tablet after the display change")
    finally:
        vm.stop()


@pytest.mark.parametrize("arch", ARCHES)
def test_input_pci(build, artifacts, arch):
    """virtio-tablet-pci and virtio-keyboard-pci next to virtio-gpu-pci."""
    out = build("qemu_virt_" + arch)
    vm = boot(arch, out, artifacts,
              ["virtio-gpu-pci", "virtio-tablet-pci", "virtio-keyboard-pci"])
    try:
        qmp = vm.connect()
        check_kinds(vm.serial())
        qmp.execute("input-send-event", events=abs_event(8192, 24576))
        moves = wait_moves(vm, 2)
        expect(moves, [(0, 640, 400), (0,) + scaled(1280, 800)], "tablet")
        type_keys(qmp, STROKES + [["ret"]])
        assert vm.wait_for(r'input: "%s"' % TYPED, 10), vm.serial()
    finally:
        vm.stop()


def test_input_tablet_on_second_head(build, artifacts):
    """QEMU binds the tablet to head 1 (display=gpu,head=1): events sent
    to that head reach it. The guest cannot see the binding; booted with
    ringlight.input_scanout=1 the kernel scales to scanout 1's mode and
    shows the cursor there."""
    arch = "aarch64"
    out = build("qemu_virt_" + arch)
    vm = boot(arch, out, artifacts,
              ["virtio-gpu-device,id=gpu,max_outputs=2",
               "virtio-tablet-device,display=gpu,head=1"],
              append="ringlight.input_scanout=1")
    try:
        log = vm.serial()
        assert "input: pointers move the cursor on scanout 1" in log, log
        m = re.search(r"scanout 1: (\d+)x(\d+) at", log)
        assert m, log
        w1, h1 = int(m.group(1)), int(m.group(2))
        vm.connect().execute("input-send-event", device="gpu", head=1,
                             events=abs_event(8192, 24576))
        moves = wait_moves(vm, 2)
        expect(moves, [(0, 640, 400), (1,) + scaled(w1, h1)], "tablet on head 1")
    finally:
        vm.stop()
