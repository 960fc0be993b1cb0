"""The boot's path to the first picture formats no text: the info lines
of the probe wait until the picture is posted (lib/log.h `klog_later`),
and the names, reasons and console header it builds are appended
(lib/fmt.h `rl_append`). Under QEMU's TCG the first run of any code is
translated first, which dominates the boot (tools/bench qemu): the
formatting code alone was about a tenth of the blocks before the GPU's
warm-up copy, and formatting the waiting lines, then drawing them on the
console, held the picture back after it. Checked on QEMU's own record of
what it translated (`-d in_asm` under `-icount`), from the kernel's entry
up to `gpu_present`, which posts the picture."""
import pytest

import bench_qemu

FORMATTING = ("rl_vsnprintf", "rl_snprintf")
PICTURE = "gpu_present"


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_nothing_formatted_before_the_picture(build, tmp_path, arch):
    build("qemu_virt_" + arch)
    stamps, translated = bench_qemu.emulated_instructions(
        arch, str(tmp_path), stop=PICTURE)
    assert translated is not None, "the log never reached " + PICTURE
    by_function = translated["by_function"]
    assert bench_qemu.WARMUP_SYMBOL in by_function, \
        "the warm-up comes before the picture"
    formatted = {f: by_function[f] for f in FORMATTING if f in by_function}
    assert not formatted, (
        "%s: text formatted before the picture was posted (blocks: %s); "
        "functions with the most blocks: %s" % (
            arch, formatted, list(by_function.items())[:15]))
    assert stamps, "no boot stamps in the serial log"
