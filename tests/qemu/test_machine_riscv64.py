"""riscv64 machine options users run (issue 13, items 12 and 14).

- `-M virt,aia=aplic`: the APLIC (direct mode) replaces the PLIC;
- `-M virt,aia=aplic-imsic`: the S-level APLIC forwards MSIs to the
  IMSIC;
each boots to the boot picture (QMP screendump pixels and the console,
as in test_display), and the device interrupts really arrive: QEMU's own
`riscv_trap` trace shows supervisor external interrupts taken (there is
no PLIC on these machines), and virtio-rng completes by interrupt.
- `-bios none`: tools/run refuses it with a message saying why and what
  to use, and starts no QEMU (which would hang silently).
"""
import os
import re
import subprocess

import pytest

import rltools
from test_display import boot_and_dump, check_screen

ARCH = "riscv64"
CONFIG = "qemu_virt_riscv64"
# Each virtio request the GPU driver waits for at boot (display info,
# EDID, create, attach, scanout, transfer, flush, cursor...) completes by
# interrupt, so a boot takes at least this many.
MIN_EXTERNAL_INTERRUPTS = 5

AIA = {
    "aplic": r"irq: APLIC 0xd000000, 96 sources, direct mode, IDC 0\n",
    "aplic-imsic": r"irq: APLIC 0xd000000, 96 sources, MSI mode to IMSIC "
                   r"hart index 0 \(255 identities\)\n",
}


def external_interrupts(stderr):
    """Supervisor external interrupts the hart took (QEMU's riscv_trap
    trace: async, cause 9)."""
    return len(re.findall(r"riscv_trap hart:0, async:1, cause:9,", stderr))


@pytest.mark.parametrize("aia", sorted(AIA))
def test_aia_boot_picture(build, artifacts, aia):
    out = build(CONFIG)
    log, pngs, stderr = boot_and_dump(
        ARCH, out, artifacts,
        extra=["-machine", "aia=" + aia, "-device", "virtio-rng-device"],
        trace=["riscv_trap"])
    assert re.search(AIA[aia], log), "no %s line in the serial log:\n%s" % (aia, log)
    assert "irq: PLIC" not in log, log
    check_screen(pngs[0], ARCH, log, 1280, 800, artifacts)
    taken = external_interrupts(stderr)
    assert taken >= MIN_EXTERNAL_INTERRUPTS, (
        "QEMU traced %d supervisor external interrupt(s), expected at least %d:\n%s"
        % (taken, MIN_EXTERNAL_INTERRUPTS, log))
    m = re.search(r"virtio-rng@0x[0-9a-f]+: 16 bytes of entropy: [0-9a-f]{32} "
                  r"\(notifications 1, interrupts (\d+)\)", log)
    assert m and int(m.group(1)) >= 1, log
    assert "RINGLIGHT: FAIL" not in log, log


def test_bios_none_refused():
    """tools/run with -bios none: refused before QEMU starts."""
    proc = subprocess.run(
        [os.path.join(rltools.ROOT, "tools", "run"), "--arch", ARCH, "--headless",
         "--timeout", "15", "--", "-bios", "none"],
        capture_output=True, text=True, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, "exit status %s:\n%s" % (proc.returncode, text)
    assert "tools/run: refused: -bios none cannot boot the riscv64 kernel" in proc.stderr, text
    assert "0x80200000" in proc.stderr and "-bios default" in proc.stderr, text
    assert "qemu-system-riscv64" not in proc.stdout, "QEMU was started:\n" + text
