"""The boot's path to the first picture formats no text: the info lines
of the probe wait until the picture is posted (lib/log.h `klog_later`).
Under QEMU's TCG the first run of any code is translated first, which
dominates the boot before the GPU's warm-up copy (tools/bench qemu), and
the formatting code alone is about a tenth of those blocks. Checked on
QEMU's own record of what it translated (`-d in_asm` under `-icount`),
from the kernel's entry up to `gpu_warm_posted`."""
import pytest

import bench_qemu

FORMATTING = ("rl_vsnprintf", "rl_snprintf")


@pytest.mark.parametrize("arch", ["aarch64", "riscv64"])
def test_nothing_formatted_before_the_warmup(build, tmp_path, arch):
    build("qemu_virt_" + arch)
    stamps, translated = bench_qemu.emulated_instructions(arch, str(tmp_path))
    assert translated is not None, "the log never reached gpu_warm_posted"
    by_function = translated["by_function"]
    assert by_function, "no block mapped to a function (map file?)"
    formatted = {f: by_function[f] for f in FORMATTING if f in by_function}
    assert not formatted, (
        "%s: text formatted before the warm-up was posted (blocks: %s); "
        "functions with the most blocks: %s" % (
            arch, formatted, list(by_function.items())[:15]))
    assert stamps, "no boot stamps in the serial log"
