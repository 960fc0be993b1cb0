#!/usr/bin/python3
"""Writes the checked-in seed corpora, tests/fuzz/corpus/<target>/, and
the reproducers of fixed bugs (k1_*, k2_* in their targets' seeds).

Each seed is a small meaningful input in the format its target reads
(see the comment at the top of each fuzz_*.c); this script is where those
formats are spelled out as op names. Re-run it after changing a format:

  tests/fuzz/make_seeds.py

The device-tree seeds are the QEMU trees of tests/fixtures plus a few
small trees built here (version 16, NOPs, a reservation, interrupts).
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def u8(v):
    return struct.pack("<B", v & 0xFF)


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


# ---- fuzz_split / fuzz_packed (fuzz_queue.c) ------------------------------

Q = dict(add=0, kick=3, pop=4, push=6, get_used=8, poll=10, dev_run=11,
         hostile=12, push_raw=13, claim_extra=14, notify=15, disable_cb=16,
         enable_cb=17, detach=18, scribble=19)


def q_add(nout, nin, segs, kind=1):
    """nout/nin < 8; segs: (offset, len < 256) per segment."""
    assert len(segs) == nout + nin
    out = u8(Q["add"]) + u8(nout | nin << 3) + u8(kind)
    for off, ln in segs:
        out += u16(off) + u8(ln)
    return out


def q_op(name, *args):
    return u8(Q[name]) + b"".join(args)


def q_round(base):
    """One request: add (16 readable, 64 writable bytes), kick, device
    takes it and answers in full, driver collects."""
    return (q_add(1, 1, [(base, 16), (base + 256, 64)]) + q_op("kick") +
            q_op("pop") + q_op("push", u8(0), u8(0)) + q_op("get_used"))


def queue_seeds(packed):
    # header: size byte, flags (1 EVENT_IDX, 2 INDIRECT, 4 legacy,
    # 8 non-coherent; bits 4-6 pick the legacy alignment).
    size8 = u8(7) if packed else u8(3)  # packed: 1 + 7; split: 1 << 3
    size5 = u8(4)                       # packed: 5; split: 1 << 4
    seeds = {}
    seeds["basic"] = size8 + u8(0) + q_round(0) + q_round(512) + q_round(1024)
    seeds["event_idx_indirect"] = (
        size8 + u8(3) +
        q_add(2, 2, [(0, 8), (64, 8), (128, 32), (256, 32)]) +
        q_add(1, 3, [(512, 8), (600, 16), (700, 16), (800, 16)]) +
        q_op("kick") + q_op("dev_run", u8(0)) + q_op("poll") +
        q_op("enable_cb") + q_round(2048))
    seeds["out_of_order"] = (
        size8 + u8(1) + q_add(1, 1, [(0, 4), (16, 4)]) +
        q_add(1, 1, [(32, 4), (48, 4)]) + q_add(1, 1, [(64, 4), (80, 4)]) +
        q_op("kick") + q_op("pop") + q_op("pop") + q_op("pop") +
        q_op("push", u8(2), u8(0)) + q_op("push", u8(0), u8(0x90)) +
        q_op("push", u8(0), u8(0)) + q_op("poll"))
    seeds["full_ring"] = (
        size5 + u8(0) +
        b"".join(q_add(1, 1, [(i * 64, 8), (i * 64 + 32, 8)])
                 for i in range(6)) +
        q_op("kick") + q_op("dev_run", u8(1)) + q_op("poll"))
    seeds["long_chain"] = (
        size8 + u8(2) +
        q_add(7, 7, [(i * 100, 20) for i in range(14)]) + q_op("kick") +
        q_op("dev_run", u8(2)) + q_op("poll"))
    seeds["suppression"] = (
        size8 + u8(1) + q_op("notify", u8(0)) + q_add(1, 0, [(0, 8)]) +
        q_op("kick") + q_op("notify", u8(1)) + q_add(1, 0, [(8, 8)]) +
        q_op("kick") + q_op("notify", u8(3), u16(5)) + q_op("disable_cb") +
        q_op("dev_run", u8(0)) + q_op("enable_cb") + q_op("poll"))
    # A used entry naming a buffer the device never had: the queue breaks,
    # every call says so, and a reset brings it back.
    if packed:
        bad = q_op("hostile", u8(0), u8(0), u8(2), u16(3), u8(0), u8(0))
    else:
        bad = q_op("hostile", u8(3), u8(3), u32(0x1234), u8(2))
    seeds["hostile_broken"] = (
        size8 + u8(0) + q_add(1, 1, [(0, 8), (64, 8)]) + q_op("pop") + bad +
        q_op("get_used") + q_add(1, 0, [(0, 8)]) + q_op("get_used") +
        q_op("detach") + q_round(0))
    seeds["hostile_length"] = (
        size8 + u8(1) + q_add(1, 1, [(0, 8), (64, 8)]) + q_op("pop") +
        q_op("push_raw", u8(0), u8(0), u8(1)) + q_op("get_used") +
        q_op("detach"))
    seeds["claim_extra"] = (
        size8 + u8(0) + q_round(0) + q_op("claim_extra", u8(2)) +
        q_op("get_used") + q_op("detach"))
    seeds["scribble"] = (
        size8 + u8(0) + q_add(1, 1, [(0, 8), (64, 8)]) +
        q_op("scribble", u8(0), u32(3), u8(4), b"\xff" * 5) +
        q_op("get_used") + q_op("detach"))
    if not packed:
        seeds["legacy"] = u8(3) + u8(4) + q_round(0) + q_round(128)
    else:
        seeds["legacy_refused"] = u8(3) + u8(4) + q_round(0)
    return seeds


# ---- fuzz_mmio ----------------------------------------------------------

M = dict(negotiate=0, queue_setup=1, ready=3, config_read=4, config_write=5,
         irq=6, add=7, poll=9, wait=10, reset=11, corrupt=12, policy=13,
         status=14)
NUM_MAX = {0: 0, 1: 1, 3: 3, 8: 5, 64: 7, 128: 8, 256: 10, 1024: 11,
           32768: 12, 65535: 14}


def m_op(name, *args):
    return u8(M[name]) + b"".join(args)


def mmio_seed(version, pol, features, num_max, ops, overrides=b"",
              window=0x100):
    ops = b"".join(ops)
    nops = (len(ops) + 3) // 4
    ops += u8(M["status"]) * (nops * 4 - len(ops))
    hdr = (u8({1: 0, 2: 1}[version]) + u8(pol) + u16(window) + u32(16) +
           u32(features) + u32(features >> 32) +
           b"".join(u8(NUM_MAX[n]) for n in num_max) + u8(nops) + u8(0) +
           u16(0x1234))
    assert len(hdr) == 24
    return hdr + ops + overrides


VERSION_1 = 1 << 32
EVENT_IDX = 1 << 29
INDIRECT = 1 << 28
RING_PACKED = 1 << 34


def mmio_seeds():
    bring_up = [m_op("negotiate", u32(0xFFFFFF)),
                m_op("queue_setup", u8(0), u16(64)),
                m_op("queue_setup", u8(1), u16(8)), m_op("ready")]
    traffic = [m_op("add", u8(0), u8(0x0A), u16(0), u8(16), u16(64), u8(32)),
               m_op("irq", u8(1)), m_op("poll", u8(0)),
               m_op("wait", u8(0), u16(20)),
               m_op("config_read", u8(2), u8(8)),
               m_op("config_read", u8(3), u8(0)),
               m_op("irq", u8(2)), m_op("reset")]
    f = VERSION_1 | EVENT_IDX | INDIRECT | 0x3
    return {
        "modern_split": mmio_seed(2, 0, f, [256, 8, 0, 0],
                                  bring_up + traffic),
        "modern_packed": mmio_seed(2, 0, f | RING_PACKED, [256, 3, 0, 0],
                                   bring_up + traffic),
        "legacy": mmio_seed(1, 0, EVENT_IDX | 0x1, [128, 0, 0, 0],
                            bring_up + traffic),
        # QueueNumMax 0, 1 and odd; a device that needs a few polls to
        # reset; FEATURES_OK that does not stick.
        "queue_limits": mmio_seed(2, 0x11, f, [0, 1, 3, 65535],
                                  [m_op("negotiate", u32(0)),
                                   m_op("queue_setup", u8(0), u16(16)),
                                   m_op("queue_setup", u8(1), u16(16)),
                                   m_op("queue_setup", u8(2), u16(16)),
                                   m_op("queue_setup", u8(3), u16(0xF100)),
                                   m_op("reset"),
                                   m_op("policy", u8(1)),
                                   m_op("negotiate", u32(0))]),
        # ConfigGeneration that never settles, then one that settles.
        "generation": mmio_seed(2, 0x04, f, [8, 0, 0, 0],
                                [m_op("negotiate", u32(1)),
                                 m_op("config_read", u8(2), u8(4)),
                                 m_op("config_read", u8(3), u8(8)),
                                 m_op("policy", u8(3), u8(2)),
                                 m_op("config_read", u8(2), u8(4)),
                                 m_op("config_write", u8(0), u8(8), u32(5)),
                                 m_op("config_read", u8(0x81),
                                      u32(0xFFFFFFF0))],
                                window=0x200),
        # DEVICE_NEEDS_RESET at DRIVER_OK and on a config interrupt, then
        # recovery; a status that never clears (virtual time).
        "needs_reset": mmio_seed(2, 0x41, f, [64, 0, 0, 0],
                                 bring_up +
                                 [m_op("irq", u8(2)),
                                  m_op("wait", u8(0), u16(100)),
                                  u8(M["reset"] | 0x80),
                                  m_op("policy", u8(0), u8(0xFF)),
                                  m_op("reset")]),
        # Every register read may be overridden by the tail of the input.
        "overrides": mmio_seed(2, 0, f, [256, 8, 0, 0], bring_up + traffic,
                               overrides=bytes([0x10, 0xE0, 1, 2, 3, 4,
                                                0xE1, 0xE2, 0x00] * 8)),
    }


# ---- fuzz_gpu_proto ---------------------------------------------------------

OK_NODATA, OK_DISPLAY_INFO, OK_EDID = 0x1100, 0x1101, 0x1104
ERR_INVALID_PARAMETER = 0x1205


def gpu_hdr(t, flags=0, fence=0):
    return u32(t) + u32(flags) + struct.pack("<Q", fence) + u32(0) + bytes(4)


def gpu_params(tsel, elen, nscan, fence=0, len_mode=0, attach=0x0443):
    return (u8(tsel) + u16(elen) + u8(nscan) + struct.pack("<Q", fence) +
            u8(len_mode) + u16(attach) + u8(0))


def gpu_seeds():
    with open(os.path.join(ROOT, "tests", "fixtures",
                           "qemu_edid_1280x800.bin"), "rb") as f:
        edid = f.read()
    # QEMU's EDID for 5120x1440: the mode only in a DisplayID extension.
    with open(os.path.join(ROOT, "tests", "fixtures",
                           "qemu_edid_5120x1440.bin"), "rb") as f:
        edid_wide = f.read()
    modes = b""
    for i in range(16):
        on = i < 2
        modes += (u32(i * 1280) + u32(0) + u32(1280 if on else 0) +
                  u32(800 if on else 0) + u32(1 if on else 0) + u32(0))
    return {
        "edid_qemu": gpu_params(4, 6, 1) + edid,
        "edid_qemu_5120": gpu_params(4, 6, 1) + edid_wide,
        "display_info": gpu_params(1, 5, 2) + gpu_hdr(OK_DISPLAY_INFO) + modes,
        "nodata": gpu_params(0, 0, 1) + gpu_hdr(OK_NODATA),
        "error": gpu_params(0, 0, 1) + gpu_hdr(ERR_INVALID_PARAMETER),
        "fenced": gpu_params(0, 0, 1, fence=0x4201) +
        gpu_hdr(OK_NODATA, flags=1, fence=0x4201),
        "short_edid": gpu_params(4, 6, 1, len_mode=0x90) + edid[:200],
    }


# ---- fuzz_fdt ------------------------------------------------------------

def fdt_blob(nodes, rsv=(), version=17, nop_first=False):
    """nodes: nested (name, [(prop, bytes)], [children])."""
    strings = b""
    offs = {}

    def name_off(n):
        nonlocal strings
        if n not in offs:
            offs[n] = len(strings)
            strings += n.encode() + b"\0"
        return offs[n]

    def pad(b):
        return b + bytes(-len(b) % 4)

    def node(n):
        name, props, kids = n
        out = struct.pack(">I", 1) + pad(name.encode() + b"\0")
        for p, v in props:
            out += struct.pack(">III", 3, len(v), name_off(p)) + pad(v)
        for k in kids:
            out += node(k)
        return out + struct.pack(">I", 2)

    st = (struct.pack(">I", 4) if nop_first else b"") + node(nodes)
    st += struct.pack(">I", 9)
    hdr_len = 40
    rsvmap = b"".join(struct.pack(">QQ", a, s) for a, s in rsv)
    rsvmap += bytes(16)
    off_rsv = hdr_len
    off_st = off_rsv + len(rsvmap)
    off_str = off_st + len(st)
    total = off_str + len(strings)
    hdr = struct.pack(">10I", 0xD00DFEED, total, off_st, off_str, off_rsv,
                      version, 16, 0, len(strings), len(st))
    return hdr + rsvmap + st + strings


def cells(*v):
    return b"".join(struct.pack(">I", x) for x in v)


def fdt_seeds():
    seeds = {}
    for name in ("qemu_virt_aarch64", "qemu_virt_riscv64", "irq_loop"):
        with open(os.path.join(ROOT, "tests", "fixtures", name + ".dtb"),
                  "rb") as f:
            seeds[name] = f.read()
    intc = ("intc@0", [("compatible", b"test,intc\0"),
                       ("#interrupt-cells", cells(1)),
                       ("interrupt-controller", b""),
                       ("phandle", cells(1))], [])
    virtio = ("virtio_mmio@a000000",
              [("compatible", b"virtio,mmio\0"),
               ("reg", cells(0, 0xA000000, 0, 0x200)),
               ("interrupts", cells(16, 17)),
               ("dma-coherent", b""),
               ("status", b"okay\0")], [])
    tree = ("", [("#address-cells", cells(2)), ("#size-cells", cells(2)),
                 ("interrupt-parent", cells(1)),
                 ("compatible", b"test,board\0test,other\0")],
            [intc, virtio, ("cpus", [], [("cpu@0", [("reg", cells(0, 0))],
                                          [])])])
    seeds["small"] = fdt_blob(tree, rsv=[(0x40000000, 0x1000)])
    seeds["small_v16"] = fdt_blob(tree, version=16)
    seeds["nop_first"] = fdt_blob(("", [("x", b"1\0")], []), nop_first=True)
    seeds["empty_root"] = fdt_blob(("", [], []))
    # Found by fuzz_fdt: a version 11 blob on which libfdt 1.6.1's
    # fdt_check_full (the harness's oracle) reads through a NULL pointer.
    seeds["libfdt_v11_segv"] = bytes.fromhex(
        "d00dfeed0000005e000000380000005c000000280000000b0000000000000000"
        "0000000200000024000000000000000000000000000000000000000400000001"
        "000000000000000300000002000000003100870000000002000000097800")
    return seeds


def known():
    """Reproducers of the known issues (README.md): they fail only with
    FUZZ_STRICT=1, so they stay out of the seeds tools/test runs."""
    f = VERSION_1 | EVENT_IDX | INDIRECT
    return {
        # K1: a config read of 1 byte at offset 0xffffffff.
        ("fuzz_mmio", "config_offset_wrap"): mmio_seed(
            2, 0, f, [8, 0, 0, 0],
            [m_op("config_read", u8(0x80), u32(0xFFFFFFFF))]),
        # K2: a packed queue of 1 entry, a chain of 2 descriptors.
        ("fuzz_packed", "no_space_forever"): (
            u8(0) + u8(0) + q_add(1, 1, [(0, 8), (64, 8)])),
    }


def pci_function(dev, caps, bar4_shift=14, vendor_kind=3, device=0x10, bars=None,
                 ids=None):
    """One fuzz_pci function record: device, identity, BARs, capability
    area (`caps`: {offset: bytes}, linked in the order given; `ids`:
    {offset: capability id} where it is not the vendor's 0x09)."""
    rec = u8(dev) + u8(vendor_kind) + u16(device)
    if not vendor_kind & 1:
        rec += u16(0x1234)
    rec += u16(0x0380) + u8(0) + u8(1) + u8(device & 0xFF)
    bars = bars or {4: (bar4_shift, 0x0C)}
    for b in range(6):
        shift, flags = bars.get(b, (0, 0))
        rec += u8(shift) + u8(flags)
    area = bytearray(192)
    order = list(caps)
    for i, at in enumerate(order):
        body = caps[at]
        nxt = order[i + 1] if i + 1 < len(order) else 0
        cap_id = (ids or {}).get(at, 0x09)
        area[at - 0x40:at - 0x40 + 2 + len(body)] = bytes([cap_id, nxt]) + body
    rec += u8(0x10) + u8(order[0] if order else 0) + bytes(area)
    return rec


def virtio_cap(cfg_type, offset, length, bar=4, mult=None):
    body = bytes([16 if mult is None else 20, cfg_type, bar, 0, 0, 0])
    body += u32(offset) + u32(length) + (u32(mult) if mult is not None else b"")
    return body


def pci_seeds():
    """A virtio-gpu-pci as QEMU 7.2 lays it out (common 0x0, ISR 0x1000,
    device 0x2000, notify 0x3000 with multiplier 4, 16 KiB BAR 4), a
    loop, a BAR that lies, and two functions sharing the bus."""
    qemu_caps = {0x40: virtio_cap(1, 0, 0x1000), 0x50: virtio_cap(3, 0x1000, 0x1000),
                 0x60: virtio_cap(4, 0x2000, 0x1000),
                 0x70: virtio_cap(2, 0x3000, 0x1000, mult=4)}
    # The BAR contents: num_queues 2 at 0x12, queue sizes 64.
    tail = bytes(0x12) + u16(2) + bytes(4) + u16(64) + bytes(40)
    loop = dict(qemu_caps)
    seeds = {
        "qemu_gpu": u8(0) + pci_function(1, qemu_caps) + tail,
        "two_functions": u8(1) + pci_function(1, qemu_caps)
        + pci_function(2, qemu_caps, device=0x04) + tail,
        "bar_past_window": u8(0) + pci_function(1, qemu_caps, bar4_shift=47) + tail,
        "no_common": u8(0) + pci_function(1, {0x50: virtio_cap(3, 0x1000, 0x1000)}) + tail,
    }
    far = dict(qemu_caps)
    far[0x70] = virtio_cap(2, 0x3000, 0x1000, mult=0x4000)
    seeds["notify_outside"] = u8(0) + pci_function(1, far) + tail
    rec = bytearray(pci_function(1, loop))
    # The last capability (0x70) points back at the first: its next byte
    # sits after the 22 header bytes of the record.
    rec[22 + (0x70 - 0x40) + 1] = 0x40
    seeds["cap_loop"] = u8(0) + bytes(rec) + tail
    # MSI-X as QEMU lays it out: 3 entries (config + 2 queues) in a 4 KiB
    # BAR 1, the table at 0, the PBA at 0x800 (PCI 3.0 §6.8.2).
    msix = dict(qemu_caps)
    msix[0x84] = u16(2) + u32(0x000 | 1) + u32(0x800 | 1)
    seeds["qemu_gpu_msix"] = u8(0) + pci_function(
        1, msix, bars={1: (12, 0x00), 4: (14, 0x0C)}, ids={0x84: 0x11}) + tail
    return seeds


# ---- fuzz_input ------------------------------------------------------------

def i_select(select, subsel, data, size=None):
    size = len(data) if size is None else size
    return u8(0) + u8(select) + u8(subsel) + u8(size) + data[:128]


def i_event(t, code, value, length=8, op=1, w=0, h=0):
    pre = u8(op) + (u16(w) + u16(h) if op == 2 else b"")
    return pre + u8(length) + u16(t) + u16(code) + u32(value)


def i_key(code, value):
    return u8(3) + u16(code) + u32(value)


def input_seeds():
    absinfo = u32(0) + u32(32767) + u32(0) * 3
    tablet = (i_select(1, 0, b"QEMU Virtio Tablet\0") +
              i_select(3, 0, u16(6) + u16(0x627) + u16(3) + u16(1)) +
              i_select(0x11, 1, bytes(34) + b"\x03") +
              i_select(0x11, 3, b"\x03") +
              i_select(0x12, 0, absinfo) + i_select(0x12, 1, absinfo))
    keyboard = (i_select(1, 0, b"QEMU Virtio Keyboard\0") +
                i_select(0x11, 1, b"\xfe" + b"\xff" * 15) +
                i_select(0x11, 0x11, b"\x07"))
    mouse = (i_select(1, 0, b"QEMU Virtio Mouse\0") +
             i_select(0x11, 2, b"\x03\x01") + i_select(0x11, 1, bytes(34) + b"\x03"))
    return {
        "tablet_move": tablet + i_event(3, 0, 8192, op=2, w=1280, h=800) +
        i_event(3, 1, 24576, op=2, w=1280, h=800) + i_event(0, 0, 0, op=2, w=1280, h=800),
        "mouse_clamp": mouse + i_event(2, 0, 100000, op=2, w=1024, h=640) +
        i_event(2, 1, -5, op=2, w=1024, h=640) + i_event(0, 0, 0, op=2, w=1024, h=640),
        "keyboard_typing": keyboard + i_key(42, 1) + i_key(35, 1) + i_key(35, 0) +
        i_key(42, 0) + i_key(58, 1) + i_key(19, 1) + i_key(14, 1) + i_key(28, 1) +
        i_event(1, 30, 1) + i_event(1, 30, 1, length=4) + i_event(3, 0, 1),
        "lying_sizes": i_select(1, 0, b"x" * 128, size=255) + i_select(3, 0, b"\0" * 4) +
        i_select(0x12, 0, absinfo[:12]) + i_select(0x12, 0, u32(5) + u32(5) + bytes(12)) +
        i_select(0x11, 3, b"\x03", size=200),
    }


def write(target, seeds, top=CORPUS):
    d = os.path.join(top, target)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%-16s %2d seeds, %6d bytes" % (target, len(seeds),
                                          sum(map(len, seeds.values()))))


def main():
    # The reproducers of fixed bugs (README "Found and fixed") are seeds.
    fixed = {}
    for (target, name), data in known().items():
        prefix = "k1_" if target == "fuzz_mmio" else "k2_"
        fixed.setdefault(target, {})[prefix + name] = data
    write("fuzz_split", queue_seeds(packed=False))
    write("fuzz_packed", dict(queue_seeds(packed=True), **fixed.get("fuzz_packed", {})))
    write("fuzz_mmio", dict(mmio_seeds(), **fixed.get("fuzz_mmio", {})))
    write("fuzz_gpu_proto", gpu_seeds())
    write("fuzz_input", input_seeds())
    write("fuzz_fdt", fdt_seeds())
    write("fuzz_pci", pci_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
