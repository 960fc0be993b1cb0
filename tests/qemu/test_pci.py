"""virtio over PCI on QEMU (issue 14): the boot picture from screendump
pixels with virtio-gpu-pci on both architectures (transitional and
modern-only, split and packed, another resolution, two heads, behind
another PCI device, with a virtio-rng-pci next to it, aarch64's ECAM at
0x40_1000_0000 and at 0x3f00_0000 with highmem=off), a virtio-mmio GPU
and a virtio-pci rng in one boot, and from QEMU's side: QMP `query-pci`
shows every BAR of every virtio function inside the device tree's
windows (QEMU reports a BAR unmapped while memory decoding is off), the
GPU's updates one notification each (gpu_trace), and the interrupt path
(MSI-X through the GICv2m frame or, with gic-version=3, the ITS on
aarch64, and through the IMSIC with riscv64's aia=aplic-imsic; INTx,
the swizzled line, where the machine has no MSI controller)."""
import os
import re
import socket
import subprocess
import time

import pytest

import qemu
from display import check_boot_picture, qemu_edid
from gpu_trace import check_gpu_commands
from test_display import BOOT_TIMEOUT, boot_and_dump, boot_failure

ARCHES = ["aarch64", "riscv64"]

# The rng's first read right after DRIVER_OK: 1 notification, or 0 when
# QEMU's start of ioeventfd at DRIVER_OK ("kick right away to begin
# processing requests already in vring", hw/virtio/virtio.c) runs in its
# main loop after the buffer is in the ring and takes it first; the
# device then set avail_event past it (§2.7.10), so the driver rightly
# does not notify. Either way the request completes with one interrupt.
RNG_NOTIFIES = "[01]"


def header(arch, log, ring, w, h, scanout=0):
    """The console header the README gives, for the PCI GPU of the log."""
    m = re.search(r"virtio-gpu@pci-\S+: (virtio-pci@\S+ [0-9a-f]{4}:[0-9a-f]{4} "
                  r"\(modern\)), irq (\d+)", log)
    assert m, log
    first = "Ringlight %s | %s | %s ring | scanout %d: %dx%d" % (
        arch, m.group(1), ring, scanout, w, h)
    return [first, 'monitor "%s" (%s), preferred %dx%d' % qemu_edid(w, h)]


def intx_irq(arch, log):
    m = re.search(r"virtio-gpu@pci-\S+: virtio-pci@\S+ .*, irq (\d+)", log)
    assert m, log
    return int(m.group(1))


# QEMU 7.2's virt: the GICv2m frame's 64 SPIs from SPI 48 (VIRT_GIC_V2M in
# hw/arm/virt.c), INTIDs 80-143; INTx is GIC SPI 3-6 (INTIDs 35-38).
V2M_INTIDS = range(80, 144)


def msix_irqs(log, name="virtio-gpu"):
    """The irqs of the device's MSI-X vectors from its log line:
    (config vector's, [queue vectors'])."""
    m = re.search(r"%s@pci-\S+: interrupts: MSI-X \((\d+) vectors: config \+ "
                  r"(\d+) queues?, irqs (\d+)-(\d+)\)" % name, log)
    assert m, "no MSI-X line for %s:\n%s" % (name, log)
    first, last = int(m.group(3)), int(m.group(4))
    assert last - first + 1 == int(m.group(1)) == int(m.group(2)) + 1, m.group(0)
    return first, list(range(first + 1, last + 1))


def acked_gicv2(stderr):
    return [int(x) for x in
            re.findall(r"gic_acknowledge_irq cpu \d+ acknowledged irq (\d+)", stderr)]


def check_interrupt_path(arch, log, stderr):
    """From QEMU's side. aarch64 (GICv2 with a v2m frame): MSI-X enabled
    and unmasked on the GPU function, the GIC acknowledging the GPU's
    controlq vector, a v2m SPI, and never its INTx line. riscv64 (PLIC, no
    MSI controller): INTx, supervisor external interrupts taken."""
    if arch == "aarch64":
        config, queues = msix_irqs(log)
        assert all(i in V2M_INTIDS for i in [config] + queues), (config, queues)
        assert re.search(r"msix_write_config dev virtio-gpu-pci enabled 1 masked 0",
                         stderr), "QEMU never saw MSI-X enabled on the GPU"
        acked = acked_gicv2(stderr)
        assert queues[0] in acked, \
            "QEMU's GIC never delivered the controlq vector's SPI %d" % queues[0]
        intx = intx_irq(arch, log)
        assert intx not in acked, "the GPU's INTx line %d was taken" % intx
    else:
        assert re.search(r"virtio-gpu@pci-\S+: interrupts: INTx pin A, irq \d+ "
                         r"\(MSI-X unavailable: the bridge names no MSI controller\)",
                         log), log
        taken = re.findall(r"riscv_trap hart:\d+, async:1, cause:9,", stderr)
        assert taken, "no supervisor external interrupt in QEMU's trace"


def irq_traces(arch):
    return (["gic_acknowledge_irq", "msix_write_config"] if arch == "aarch64"
            else ["riscv_trap"])


def gpu_ring(log):
    m = re.search(r"virtio-gpu@pci-\S+: queue 0 \(controlq\): \d+ entries, "
                  r"(split|packed) ring", log)
    assert m, log
    return m.group(1)


CASES = [
    pytest.param("", [], "split", id="transitional"),
    pytest.param(",disable-legacy=on", [], "split", id="modern-only"),
    pytest.param(",disable-legacy=on,packed=on", [], "packed", id="packed"),
    pytest.param("", ["-device", "virtio-rng-pci"], "split", id="with-rng"),
]


@pytest.mark.parametrize("gpu_args,extra,ring", CASES)
@pytest.mark.parametrize("arch", ARCHES)
def test_pci_display(build, artifacts, arch, gpu_args, extra, ring):
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts, gpu_args, extra,
                                        trace=irq_traces(arch),
                                        device="virtio-gpu-pci")
    assert gpu_ring(log) == ring
    assert re.search(r"virtio-gpu@pci-00:0\d\.0: virtio-pci@", log), log
    check_boot_picture(png, 1280, 800, artifacts, log, header(arch, log, ring, 1280, 800))
    updates = check_gpu_commands(stderr, {1: (1280, 800)})
    assert updates[0] == (1, 0, 0, 1280, 800), updates
    check_interrupt_path(arch, log, stderr)
    if extra:
        assert re.search(r"virtio-rng@pci-\S+: 16 bytes of entropy: [0-9a-f]{32} "
                         r"\(notifications %s, interrupts [1-9]" % RNG_NOTIFIES, log), log


@pytest.mark.parametrize("arch", ARCHES)
def test_pci_display_other_mode_two_heads_behind_another_device(build, artifacts, arch):
    """The GPU at slot 5 behind a rng at slot 1, two heads, 1024x768."""
    out = build("qemu_virt_" + arch)
    log, pngs, stderr = boot_and_dump(
        arch, out, artifacts, ",addr=0x5,xres=1024,yres=768,max_outputs=2",
        ["-device", "virtio-rng-pci,addr=0x1"], heads=(0, 1),
        device="virtio-gpu-pci")
    assert "virtio-gpu@pci-00:05.0: virtio-pci@00:05.0" in log, log
    assert "virtio-rng@pci-00:01.0: virtio-pci@00:01.0" in log, log
    # xres/yres set head 0's mode; QEMU gives head 1 its default.
    for head, (png, (w, h)) in enumerate(zip(pngs, [(1024, 768), (1280, 800)])):
        check_boot_picture(png, w, h, artifacts, log,
                           header(arch, log, "split", w, h, head))


# LPIs the kernel hands out: arch irq 1024 + n is INTID 8192 + n
# (arch/aarch64/aarch64.h GIC_LPI_IRQ_BASE).
LPI_IRQ_BASE, LPI_FIRST = 1024, 8192


def test_pci_gicv3_its(build, artifacts):
    """aarch64 with GICv3 (gic-version=3: QEMU's virt puts an ITS in the
    tree and the bridge's msi-map names it): the GPU and a rng on MSI-X
    through the ITS, seen from QEMU's side: MAPD for each requester id
    (00:01.0 -> 0x8, 00:02.0 -> 0x10), MAPTI event -> LPI for each vector
    as the log names them, the devices' writes to GITS_TRANSLATER with
    their requester ids, QEMU's GICv3 acknowledging the GPU's controlq
    LPI and the rng's queue LPI, never the INTx line, MSI-X enabled."""
    out = build("qemu_virt_aarch64")
    log, (png,), stderr = boot_and_dump(
        "aarch64", out, artifacts, ",addr=0x1",
        ["-machine", "gic-version=3", "-device", "virtio-rng-pci,addr=0x2"],
        trace=["gicv3_icc_iar1_read", "msix_write_config", "gicv3_its_cmd_*",
               "gicv3_its_translation_write"], device="virtio-gpu-pci")
    check_boot_picture(png, 1280, 800, artifacts, log,
                       header("aarch64", log, "split", 1280, 800))
    assert re.search(r"irq: GICv3 ITS 0x[0-9a-f]+: LPIs 8192-\d+ for MSIs", log), log
    acked = [int(v, 16) for v in
             re.findall(r"gicv3_icc_iar1_read .*value (0x[0-9a-f]+)", stderr)]
    for name, rid in (("virtio-gpu", 0x8), ("virtio-rng", 0x10)):
        assert re.search(r"msix_write_config dev %s-pci enabled 1 masked 0" % name,
                         stderr), "QEMU never saw MSI-X enabled on " + name
        assert re.search(r"gicv3_its_cmd_mapd .*DeviceID 0x%x Size 0x4 "
                         r"ITT_addr 0x[0-9a-f]+ V 1" % rid, stderr), stderr[-3000:]
        config, queues = msix_irqs(log, name)
        for event, irq in enumerate([config] + queues):
            assert LPI_IRQ_BASE <= irq < LPI_IRQ_BASE + 64, irq
            intid = LPI_FIRST + irq - LPI_IRQ_BASE
            assert re.search(r"gicv3_its_cmd_mapti .*DeviceID 0x%x EventID 0x%x "
                             r"ICID 0x0 pINTID 0x%x" % (rid, event, intid),
                             stderr), (name, event, intid)
            # QEMU reads the configuration byte at every LPI, a GIC may
            # cache it: an INV after mapping (disabled) and after enabling.
            invs = re.findall(r"gicv3_its_cmd_inv .*DeviceID 0x%x EventID 0x%x\n"
                              % (rid, event), stderr)
            assert len(invs) >= 2, (name, event, len(invs))
        # The first queue's vector (event 1): the device wrote it with its
        # requester id, and the GIC delivered its LPI.
        assert re.search(r"gicv3_its_translation_write .*data 0x1 size 4 "
                         r"requester_id 0x%x" % rid, stderr), name
        assert LPI_FIRST + queues[0] - LPI_IRQ_BASE in acked, \
            "QEMU's GICv3 never delivered %s's queue LPI" % name
    assert intx_irq("aarch64", log) not in acked
    assert re.search(r"virtio-rng@pci-00:02.0: 16 bytes of entropy: [0-9a-f]{32} "
                     r"\(notifications %s, interrupts 1\)" % RNG_NOTIFIES, log), log


def test_pci_gicv3_without_its_intx_fallback(build, artifacts):
    """aarch64 with GICv3 and its=off: no MSI controller, so QEMU gives
    the function no MSI-X capability at all (msi_nonbroken is false): the
    picture through INTx, the log saying why, QEMU's GICv3
    acknowledging the INTx line and MSI-X never enabled."""
    out = build("qemu_virt_aarch64")
    log, (png,), stderr = boot_and_dump(
        "aarch64", out, artifacts, "", ["-machine", "gic-version=3,its=off"],
        trace=["gicv3_icc_iar1_read", "msix_write_config"], device="virtio-gpu-pci")
    check_boot_picture(png, 1280, 800, artifacts, log,
                       header("aarch64", log, "split", 1280, 800))
    irq = intx_irq("aarch64", log)
    want = ("virtio-gpu@pci-00:01.0: interrupts: INTx pin A, irq %d "
            "(MSI-X unavailable: no MSI-X capability)" % irq)
    assert want in log, log
    acked = [int(v, 16) for v in
             re.findall(r"gicv3_icc_iar1_read .*value (0x[0-9a-f]+)", stderr)]
    assert irq in acked, "QEMU's GICv3 never delivered INTx line %d" % irq
    assert not re.search(r"msix_write_config dev \S+ enabled 1", stderr), \
        "MSI-X was enabled on a machine without a usable MSI controller"


def test_pci_msix_rng_and_gpu(build, artifacts):
    """aarch64: the rng and the GPU each on their own MSI-X vectors (v2m
    SPIs), the rng's request completed through its queue vector."""
    out = build("qemu_virt_aarch64")
    log, (png,), stderr = boot_and_dump(
        "aarch64", out, artifacts, "", ["-device", "virtio-rng-pci,addr=0x3"],
        trace=irq_traces("aarch64"), device="virtio-gpu-pci,addr=0x2")
    check_boot_picture(png, 1280, 800, artifacts, log,
                       header("aarch64", log, "split", 1280, 800))
    rng_config, rng_queues = msix_irqs(log, "virtio-rng")
    gpu_config, gpu_queues = msix_irqs(log, "virtio-gpu")
    assert len(rng_queues) == 1 and len(gpu_queues) == 2
    assert not set([rng_config] + rng_queues) & set([gpu_config] + gpu_queues)
    assert re.search(r"msix_write_config dev virtio-rng-pci enabled 1 masked 0",
                     stderr), stderr[-2000:]
    acked = acked_gicv2(stderr)
    assert rng_queues[0] in acked and gpu_queues[0] in acked, (rng_queues, gpu_queues)
    assert re.search(r"virtio-rng@pci-00:03.0: 16 bytes of entropy: [0-9a-f]{32} "
                     r"\(notifications %s, interrupts 1\)" % RNG_NOTIFIES, log), log


@pytest.mark.parametrize("aia,msix", [("aplic-imsic", True), ("aplic", False)])
def test_pci_riscv64_aia(build, artifacts, aia, msix):
    """riscv64 with the AIA: with aia=aplic-imsic the bridge's msi-parent
    is the S-level IMSIC, and the GPU and the rng get MSI-X vectors there
    (identities above the APLIC's 96 sources); QEMU sees MSI-X enabled and
    unmasked on both functions (while it is, QEMU signals only through the
    vectors, never INTx: virtio_pci_notify) and the hart takes supervisor
    external interrupts. With aia=aplic (direct) there is no MSI
    controller: INTx, and the log says why."""
    out = build("qemu_virt_riscv64")
    log, (png,), stderr = boot_and_dump(
        "riscv64", out, artifacts, ",addr=0x2",
        ["-machine", "aia=" + aia, "-device", "virtio-rng-pci,addr=0x3"],
        trace=["riscv_trap", "msix_write_config"], device="virtio-gpu-pci")
    check_boot_picture(png, 1280, 800, artifacts, log,
                       header("riscv64", log, "split", 1280, 800))
    assert re.search(r"riscv_trap hart:\d+, async:1, cause:9,", stderr), \
        "no supervisor external interrupt in QEMU's trace"
    assert re.search(r"virtio-rng@pci-00:03.0: 16 bytes of entropy: [0-9a-f]{32} "
                     r"\(notifications %s, interrupts 1\)" % RNG_NOTIFIES, log), log
    if msix:
        for name in ("virtio-gpu", "virtio-rng"):
            config, queues = msix_irqs(log, name)
            assert all(96 < i < 255 for i in [config] + queues), (name, config, queues)
            assert re.search(r"msix_write_config dev %s-pci enabled 1 masked 0" % name,
                             stderr), "QEMU never saw MSI-X enabled on the %s" % name
    else:
        assert re.search(r"virtio-gpu@pci-00:02.0: interrupts: INTx pin A, irq \d+ "
                         r"\(MSI-X unavailable: the bridge names no MSI controller\)",
                         log), log
        assert not re.search(r"msix_write_config dev \S+ enabled 1", stderr)


def test_pci_highmem_off(build, artifacts):
    """aarch64 with highmem=off: the ECAM at 0x3f00_0000 (16 buses), no
    64-bit window: the 64-bit BARs go to the 32-bit one."""
    out = build("qemu_virt_aarch64")
    log, (png,), stderr = boot_and_dump("aarch64", out, artifacts, "",
                                        ["-machine", "highmem=off"],
                                        device="virtio-gpu-pci")
    check_boot_picture(png, 1280, 800, artifacts, log,
                       header("aarch64", log, "split", 1280, 800))


@pytest.mark.parametrize("arch", ARCHES)
def test_mmio_gpu_and_pci_rng(build, artifacts, arch):
    """Both transports in one boot, each driven."""
    out = build("qemu_virt_" + arch)
    log, (png,), stderr = boot_and_dump(arch, out, artifacts, "",
                                        ["-device", "virtio-rng-pci"])
    assert re.search(r"virtio-gpu@0x[0-9a-f]+: virtio-mmio@", log), log
    assert re.search(r"virtio-rng@pci-00:01.0: 16 bytes of entropy: [0-9a-f]{32}", log), log
    assert "virtio: 2 device(s) bound to a driver" in log, log


def dt_windows(arch, machine_extra, workdir):
    """The memory windows of the PCI host bridge in the machine's own
    device tree (dumped by QEMU with the same options): [(cpu, size)]."""
    dtb = os.path.join(workdir, "machine.dtb")
    m = qemu.MACHINES[arch]
    args = list(m["args"])
    i = args.index("-machine")
    args[i + 1] += ",dumpdtb=" + dtb + "".join("," + e for e in machine_extra)
    subprocess.run([m["binary"]] + args + ["-m", "256M", "-display", "none"],
                   check=True, capture_output=True, timeout=30)
    parent = "/soc" if arch == "riscv64" else "/"
    nodes = subprocess.run(["fdtget", "-l", dtb, parent], capture_output=True,
                           text=True, check=True).stdout.split()
    path = next(parent.rstrip("/") + "/" + n for n in nodes
                if n.startswith(("pcie@", "pci@")))
    cells = [int(v) for v in subprocess.run(
        ["fdtget", "-t", "u", dtb, path, "ranges"], capture_output=True, text=True,
        check=True).stdout.split()]
    windows = []
    for k in range(0, len(cells), 7):
        hi, cpu, size = cells[k], (cells[k + 3] << 32) | cells[k + 4], \
            (cells[k + 5] << 32) | cells[k + 6]
        if (hi >> 24) & 3 in (2, 3):
            windows.append((cpu, size))
    return windows


@pytest.mark.parametrize("arch,machine", [("aarch64", []), ("aarch64", ["highmem=off"]),
                                          ("riscv64", [])])
def test_query_pci_bars_in_windows(build, artifacts, arch, machine):
    out = build("qemu_virt_" + arch)
    extra = ["-device", "virtio-gpu-pci", "-device", "virtio-rng-pci"]
    if machine:
        extra += ["-machine", ",".join(machine)]
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=extra)
    with vm:
        if not vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT):
            raise AssertionError(boot_failure(vm))
        info = vm.connect().execute("query-pci")
    windows = dt_windows(arch, machine, artifacts)
    assert windows
    virtio = [d for bus in info for d in bus["devices"] if d["id"]["vendor"] == 0x1af4]
    assert len(virtio) == 2, info
    for d in virtio:
        mem = [r for r in d["regions"] if r["type"] == "memory"]
        assert mem, d
        for r in mem:
            a, n = r["address"], r["size"]
            assert any(c <= a and a + n <= c + s for c, s in windows), \
                "BAR%d of %s at %#x (%d bytes) is outside the windows %s" % (
                    r["bar"], d["qdev_id"] or d["slot"], a, n,
                    ["%#x+%#x" % w for w in windows])


def test_tools_run_pci(build, artifacts):
    """The user's command: `tools/run --arch aarch64 --pci --headless`
    boots with the GPU on PCI and saves the boot picture."""
    out = build("qemu_virt_aarch64")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([os.path.join(root, "tools", "run"), "--arch", "aarch64",
                           "--pci", "--headless"], capture_output=True, text=True,
                          timeout=180, cwd=root)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert "-device virtio-gpu-pci" in text and "virtio-gpu-device" not in text, text
    m = re.search(r"^screen: (\S+)$", proc.stdout, re.M)
    assert m, text
    # The serial log as QEMU wrote it (tools/run's own lines interleave
    # with it on stdout).
    with open(os.path.join(out, "run", "serial.log"), errors="replace") as f:
        log = f.read()
    check_boot_picture(m.group(1), 1280, 800, artifacts, log,
                       header("aarch64", log, "split", 1280, 800))


def qemu_device(qmp, name):
    for d in qmp.execute("x-query-virtio"):
        if d["name"] == name:
            return d["path"]
    raise AssertionError("QEMU has no %s device" % name)


def connect_unix(path, timeout):
    """A client of QEMU's listening socket `path`, once it listens."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.parametrize("arch", ARCHES)
def test_rng_queue_reset(build, artifacts, arch):
    """Per-queue reset (VIRTIO_F_RING_RESET, virtio 1.2 §2.6.1) on QEMU:
    the rng's entropy comes from an EGD source (rng-egd on a socket the
    test holds) that stays silent, so the probe's read times out; the
    kernel resets that queue alone (queue_reset), the request fails, the
    probe retries on the fresh queue, and the bytes the source sends only
    after the reset arrive. From QEMU's side: the queue enabled again on
    the new rings the log names, with fresh indices (one request), the
    device never reset or broken."""
    out = build("qemu_virt_" + arch)
    sock_path = qemu.socket_path(artifacts, "egd.sock")
    extra = ["-chardev", "socket,id=egd,path=%s,server=on,wait=off" % sock_path,
             "-object", "rng-egd,id=egd0,chardev=egd",
             "-device", "virtio-rng-pci,rng=egd0"]
    vm = qemu.Qemu(arch, os.path.join(out, "kernel.elf"), workdir=artifacts,
                   gpu=False, extra=extra)
    entropy = bytes(range(0x40, 0x80))
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    with vm:
        egd = connect_unix(sock_path, 10)
        try:
            reset = vm.wait_for(r"virtio-rng@pci-\S+: queue 0 \(requestq\): reset and "
                                r"re-enabled on fresh rings, desc (0x[0-9a-f]+) "
                                r"driver (0x[0-9a-f]+) device (0x[0-9a-f]+)", BOOT_TIMEOUT)
            assert reset, boot_failure(vm)
            # The source answers now (the retry waits 1 s for it).
            egd.sendall(entropy)
            if not vm.wait_for(r"RINGLIGHT: boot complete", BOOT_TIMEOUT):
                raise AssertionError(boot_failure(vm))
            log = vm.serial()
            qmp = vm.connect()
            path = qemu_device(qmp, "virtio-rng")
            status = qmp.execute("x-query-virtio-status", path=path)
            queue = qmp.execute("x-query-virtio-queue-status", path=path, queue=0)
        finally:
            egd.close()

    m = re.search(r"virtio-rng@pci-\S+: features accepted:(.*)", log)
    assert m and "RING_RESET" in m.group(1).split(), log
    # QEMU 7.2 has no name for bit 40 in QMP: it shows as an unknown bit.
    assert status["guest-features"].get("unknown-dev-features", 0) & (1 << 40), status
    assert re.search(r"virtio-rng@pci-\S+: queue 0 \(requestq\): timeout after 1000 ms", log), log
    assert re.search(r"virtio-rng@pci-\S+: queue 0 \(requestq\): resetting the queue alone "
                     r"\(RING_RESET\); its pending requests fail", log), log
    assert "retrying on the reset queue" in log, log
    # The retry got the bytes the source sent after the reset.
    m = re.search(r"virtio-rng@pci-\S+: (\d+) bytes of entropy: ([0-9a-f]+)", log)
    assert m and m.group(2) == entropy[:int(m.group(1))].hex(), log
    first = re.search(r"virtio-rng@pci-\S+: queue 0 \(requestq\): \d+ entries, .* desc "
                      r"(0x[0-9a-f]+) driver (0x[0-9a-f]+) device (0x[0-9a-f]+)", log)
    assert first, log
    new = [int(x, 16) for x in reset.groups()]
    assert new[0] != int(first.group(1), 16), "the same rings after the reset"
    # QEMU: the queue is enabled on the new rings with fresh indices (the
    # retry is its first request), the device neither reset nor broken.
    assert [queue["vring-desc"], queue["vring-avail"], queue["vring-used"]] == new, \
        (queue, new)
    assert queue["last-avail-idx"] == 1 and queue["used-idx"] == 1, queue
    assert "VIRTIO_CONFIG_S_DRIVER_OK: Driver setup and ready" in \
        status["status"]["statuses"]
    assert not status["broken"], status
    assert "DEVICE_NEEDS_RESET" not in log and "FAILED" not in log, log
    assert log.count("features offered by the device") == 1, \
        "the device was negotiated twice (reset instead of the queue)"
