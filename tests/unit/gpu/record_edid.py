#!/usr/bin/env python3
"""Records QEMU's answer to VIRTIO_GPU_CMD_GET_EDID as a fixture.

Runs qemu-system-aarch64 (machine virt, no CPU running: -qtest) with one
virtio-gpu-device, plays the driver over qtest (virtio-mmio version 2,
virtio 1.2 §4.2.2 and §2.7 split queue), sends GET_EDID for scanout 0 and
writes the whole response (virtio_gpu_resp_edid, 1056 bytes: header,
size, padding, edid[1024]) to the output file.

    tests/unit/gpu/record_edid.py 1280 800 tests/fixtures/qemu_edid_1280x800.bin
"""

import struct
import subprocess
import sys

MMIO_BASE = 0x0A000000  # virt: 32 virtio-mmio transports, 0x200 apart
MMIO_STRIDE = 0x200
RAM = 0x40000000
DESC, AVAIL, USED = RAM + 0x100000, RAM + 0x101000, RAM + 0x102000
CMD, RESP = RAM + 0x103000, RAM + 0x104000
RESP_LEN = 24 + 8 + 1024
GET_EDID = 0x010A
OK_EDID = 0x1104


class QTest:
    def __init__(self, argv):
        self.p = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            out = self.p.stdout.readline()
            if not out:
                raise RuntimeError("qemu exited after: " + line)
            if out.startswith("OK") or out.startswith("FAIL"):
                break
        if not out.startswith("OK"):
            raise RuntimeError(line + ": " + out.strip())
        return out.split()[1:] if len(out.split()) > 1 else []

    def readl(self, addr):
        return int(self.cmd("readl 0x%x" % addr)[0], 16)

    def readw(self, addr):
        return int(self.cmd("readw 0x%x" % addr)[0], 16)

    def writel(self, addr, val):
        self.cmd("writel 0x%x 0x%x" % (addr, val))

    def write(self, addr, data):
        self.cmd("write 0x%x 0x%x 0x%s" % (addr, len(data), data.hex()))

    def read(self, addr, size):
        return bytes.fromhex(self.cmd("read 0x%x 0x%x" % (addr, size))[0][2:])

    def close(self):
        # QEMU under -qtest does not exit when stdin closes.
        self.p.stdin.close()
        self.p.terminate()
        self.p.wait(timeout=10)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: record_edid.py XRES YRES OUT")
    xres, yres, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    q = QTest(
        [
            "qemu-system-aarch64",
            "-machine",
            "virt",
            "-qtest",
            "stdio",
            "-qtest-log",
            "/dev/null",
            "-display",
            "none",
            "-nodefaults",
            "-m",
            "256M",
            "-global",
            "virtio-mmio.force-legacy=false",
            "-device",
            "virtio-gpu-device,xres=%d,yres=%d" % (xres, yres),
        ]
    )
    base = None
    for i in range(32):
        b = MMIO_BASE + i * MMIO_STRIDE
        if q.readl(b + 0x008) == 16:  # DeviceID: GPU
            base = b
            break
    if base is None or q.readl(base + 0x004) != 2:
        sys.exit("no modern virtio-gpu-device found")

    def reg(off, val):
        q.writel(base + off, val)

    reg(0x070, 0)  # Status: reset
    reg(0x070, 1 | 2)  # ACKNOWLEDGE | DRIVER
    q.writel(base + 0x014, 0)
    if not q.readl(base + 0x010) & (1 << 1):
        sys.exit("device does not offer VIRTIO_GPU_F_EDID")
    reg(0x024, 0)
    reg(0x020, 1 << 1)  # VIRTIO_GPU_F_EDID
    reg(0x024, 1)
    reg(0x020, 1)  # VIRTIO_F_VERSION_1
    reg(0x070, 1 | 2 | 8)  # FEATURES_OK
    if not q.readl(base + 0x070) & 8:
        sys.exit("FEATURES_OK not accepted")
    reg(0x030, 0)  # controlq
    reg(0x038, 8)
    for off, addr in ((0x080, DESC), (0x090, AVAIL), (0x0A0, USED)):
        reg(off, addr & 0xFFFFFFFF)
        reg(off + 4, addr >> 32)
    reg(0x044, 1)  # QueueReady
    reg(0x070, 1 | 2 | 8 | 4)  # DRIVER_OK

    q.write(CMD, struct.pack("<IIQIB3xII", GET_EDID, 0, 0, 0, 0, 0, 0))
    q.write(RESP, bytes(RESP_LEN))
    q.write(
        DESC,
        struct.pack("<QIHH", CMD, 32, 1, 1)  # NEXT
        + struct.pack("<QIHH", RESP, RESP_LEN, 2, 0),  # WRITE
    )
    q.write(USED, bytes(4 + 8 * 8))
    q.write(AVAIL, struct.pack("<HHH", 0, 1, 0))
    reg(0x050, 0)  # QueueNotify
    for _ in range(1000):
        if q.readw(USED + 2) == 1:
            break
        q.cmd("clock_step 1000000")
    else:
        sys.exit("no used entry")
    _, used_len = struct.unpack("<II", q.read(USED + 4, 8))
    resp = q.read(RESP, used_len)
    q.close()
    rtype, size = struct.unpack_from("<I", resp, 0)[0], struct.unpack_from(
        "<I", resp, 24
    )[0]
    if rtype != OK_EDID:
        sys.exit("device answered type 0x%x" % rtype)
    with open(path, "wb") as f:
        f.write(resp)
    print("%s: %d bytes written by the device, EDID size %d" % (path, used_len, size))


if __name__ == "__main__":
    main()
