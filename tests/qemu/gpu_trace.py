"""QEMU's own record of the virtio-gpu commands a guest sent: its trace
events (QEMU 7.2 hw/display/trace-events, hw/virtio/trace-events) read
from QEMU's stderr, and the checks the display tests make on them.

QEMU traces RESOURCE_CREATE_2D with format and size, TRANSFER_TO_HOST_2D
with the resource only, RESOURCE_FLUSH with its rectangle, and every
queue notification with the device and queue. An update is the batch of
control-queue commands between two notifications of the GPU's queue 0.

The command traces do not name the device. With several GPUs, a command
belongs to the device whose control queue was notified last: the driver
waits for every batch it posted before it posts another, on any device.
"""
import re

TRACES = ["virtio_gpu_cmd_get_display_info", "virtio_gpu_cmd_res_create_2d",
          "virtio_gpu_cmd_res_xfer_toh_2d", "virtio_gpu_cmd_res_flush",
          "virtio_queue_notify"]

B8G8R8X8 = 2  # virtio 1.2 §5.7.6.8 VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM
CURSOR_RESOURCE = 0x100  # drivers/gpu/gpu_internal.h GPU_CURSOR_RESOURCE

_EVENTS = [
    ("display_info", re.compile(r"virtio_gpu_cmd_get_display_info\b")),
    ("create", re.compile(r"virtio_gpu_cmd_res_create_2d res (0x[0-9a-f]+), "
                          r"fmt (0x[0-9a-f]+), w (\d+), h (\d+)")),
    ("xfer", re.compile(r"virtio_gpu_cmd_res_xfer_toh_2d res (0x[0-9a-f]+)")),
    ("flush", re.compile(r"virtio_gpu_cmd_res_flush res (0x[0-9a-f]+), w (\d+), "
                         r"h (\d+), x (\d+), y (\d+)")),
    ("notify", re.compile(r"virtio_queue_notify vdev (0x[0-9a-f]+) n (\d+)")),
]
_UPDATE_LINE = re.compile(r"gpu-update: (\S+) res (\d+) x (\d+) y (\d+) w (\d+) "
                          r"h (\d+) offset (\d+)")


class TraceMismatch(AssertionError):
    pass


def trace_args(extra=()):
    args = []
    for name in list(TRACES) + list(extra):
        args += ["-trace", name]
    return args


def parse(stderr):
    """[(kind, values...)] in trace order; numbers as ints."""
    events = []
    for line in stderr.splitlines():
        for kind, regex in _EVENTS:
            m = regex.search(line)
            if m:
                if kind == "notify":
                    events.append((kind, m.group(1), int(m.group(2))))
                else:
                    events.append((kind,) + tuple(int(v, 0) for v in m.groups()))
                break
    return events


def driver_updates(serial):
    """What the driver says it sent (CONFIG_GPU_LOG_UPDATES): [(res, x, y,
    w, h, offset)] in order."""
    return [tuple(int(v) for v in m.groups()[1:])
            for m in _UPDATE_LINE.finditer(serial)]


def owned_events(stderr):
    """[(event, vdev)]: each command event with the device whose control
    queue was notified last (None before any), each notification with its
    own device."""
    owner = None
    tagged = []
    for e in parse(stderr):
        if e[0] == "notify":
            if e[2] == 0:
                owner = e[1]
            tagged.append((e, e[1]))
        else:
            tagged.append((e, owner))
    return tagged


def gpu_devices(stderr):
    """QEMU's device pointers of the GPUs, in the order of their first
    GET_DISPLAY_INFO (the kernel's probe order)."""
    gpus = []
    for e, owner in owned_events(stderr):
        if e[0] == "display_info" and owner not in gpus:
            gpus.append(owner)
    return gpus


def check_gpu_commands(stderr, scanouts, device=0):
    """Checks QEMU's record of one GPU (`device`: its index in probe
    order) against the driver's contract and returns the updates as
    [(res, x, y, w, h)] (each flush's rectangle):

    - every scanout resource (`scanouts`: {resource id: (w, h)}, the final
      size of each) is created B8G8R8X8 at that size;
    - every batch of control-queue commands that holds a transfer of a
      scanout resource is exactly TRANSFER_TO_HOST_2D then RESOURCE_FLUSH
      of the same resource, sent with one notification; the one exception
      is the probe's warm-up (drivers/gpu gpu_resource_post), a transfer
      of the resource right after its RESOURCE_CREATE_2D (and the
      untraced ATTACH_BACKING) in their batch, once per resource, before
      any flush of it (or with the next batch, when QEMU ran them only
      after that batch's notification);
    - every flush rectangle lies inside its resource."""
    gpus = gpu_devices(stderr)
    if not gpus:
        raise TraceMismatch("QEMU traced no GET_DISPLAY_INFO: were the traces "
                            "%s enabled?" % ", ".join(TRACES))
    if None in gpus:
        raise TraceMismatch("no queue notification before GET_DISPLAY_INFO")
    if device >= len(gpus):
        raise TraceMismatch("QEMU traced GET_DISPLAY_INFO from %d device(s), no "
                            "device %d" % (len(gpus), device))
    gpu = gpus[device]
    events = owned_events(stderr)
    first = next(i for i, (e, owner) in enumerate(events)
                 if e[0] == "display_info" and owner == gpu)
    size = {}
    batches = [[]]
    for e, owner in events[first:]:
        if e[0] == "notify":
            if e[1] == gpu and e[2] == 0:
                batches.append([])
            continue
        if owner != gpu:
            continue
        if e[0] == "create":
            res, fmt, w, h = e[1:]
            if res != CURSOR_RESOURCE:
                if fmt != B8G8R8X8:
                    raise TraceMismatch("resource %#x created with format %#x, not "
                                        "B8G8R8X8 (%#x)" % (res, fmt, B8G8R8X8))
                size[res] = (w, h)
        if e[0] == "flush":
            e = e + (size.get(e[1]),)  # the resource's size at this flush
        batches[-1].append(e)
    for res, (w, h) in scanouts.items():
        if size.get(res) != (w, h):
            raise TraceMismatch("scanout resource %#x: QEMU saw it created as %s, "
                                "expected %dx%d" % (res, size.get(res), w, h))
    updates = []
    warmed, flushed = set(), set()
    for batch in batches:
        xfers = [e for e in batch if e[0] == "xfer" and e[1] in size]
        if not xfers:
            continue
        kinds = [e[0] for e in batch]
        res = batch[0][1]
        if (kinds[:2] == ["create", "xfer"] and batch[1][1] == res
                and res not in warmed and res not in flushed):
            # The probe's warm-up behind its resource's creation. QEMU may
            # have run them only after the driver's next notification (the
            # first update, posted behind them) was traced: the trace does
            # not say which notification brought a command.
            warmed.add(res)
            batch, kinds = batch[2:], kinds[2:]
            if not kinds:
                continue
        if kinds != ["xfer", "flush"] or batch[0][1] != batch[1][1]:
            raise TraceMismatch("an update must be TRANSFER_TO_HOST_2D then "
                                "RESOURCE_FLUSH of one resource after one "
                                "notification; QEMU saw %s" % (batch,))
        res, w, h, x, y, (rw, rh) = batch[1][1:]
        flushed.add(res)
        if w == 0 or h == 0 or x + w > rw or y + h > rh:
            raise TraceMismatch("flush rectangle %dx%d at (%d,%d) outside resource "
                                "%#x (%dx%d)" % (w, h, x, y, res, rw, rh))
        updates.append((res, x, y, w, h))
    if not updates:
        raise TraceMismatch("QEMU saw no update (transfer + flush) of a scanout "
                            "resource")
    return updates


def check_driver_updates(serial, qemu_updates, stride):
    """The updates the driver logged (CONFIG_GPU_LOG_UPDATES) are the ones
    QEMU executed, in order, each with the backing offset of its
    rectangle's first pixel (`stride`: {res: bytes per row})."""
    said = driver_updates(serial)
    for res, x, y, w, h, offset in said:
        want = y * stride[res] + x * 4
        if offset != want:
            raise TraceMismatch("update of resource %d at (%d,%d): the driver "
                                "sent offset %d, expected %d" % (res, x, y, offset, want))
    rects = [u[:5] for u in said]
    if rects != qemu_updates:
        raise TraceMismatch("the driver's updates %s differ from QEMU's flushes %s"
                            % (rects, qemu_updates))
    return said
