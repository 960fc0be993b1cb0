"""Every configs/*_defconfig is minimal and round-trips through
savedefconfig byte for byte, and selects a supported architecture."""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFCONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*_defconfig")))
NAMES = [os.path.basename(p)[: -len("_defconfig")] for p in DEFCONFIGS]


def test_defconfigs_exist():
    assert "qemu_virt_aarch64" in NAMES
    assert "qemu_virt_riscv64" in NAMES


@pytest.fixture
def kconf(monkeypatch):
    monkeypatch.setenv("srctree", ROOT)
    monkeypatch.delenv("KCONFIG_CONFIG", raising=False)
    monkeypatch.delenv("KCONFIG_CONFIG_HEADER", raising=False)
    import kconfiglib
    return kconfiglib.Kconfig(os.path.join(ROOT, "Kconfig"), warn_to_stderr=False)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name, kconf, tmp_path):
    path = os.path.join(ROOT, "configs", name + "_defconfig")
    with open(path, "rb") as f:
        committed = f.read()
    kconf.load_config(path)
    # Unknown symbols, bad values, selections that do not stick...
    assert kconf.warnings == [], kconf.warnings
    out = tmp_path / "min"
    kconf.write_min_config(str(out))
    assert out.read_bytes() == committed, (
        "%s is not the minimal config kconfiglib saves; regenerate it with "
        "tools/kconfig %s savedefconfig" % (path, name))


@pytest.mark.parametrize("name", NAMES)
def test_arch(name, kconf):
    kconf.load_config(os.path.join(ROOT, "configs", name + "_defconfig"))
    arch = kconf.syms["ARCH"].str_value
    assert arch in ("aarch64", "riscv64")
    assert kconf.syms["ARCH_" + arch.upper()].str_value == "y"


@pytest.mark.parametrize("name", NAMES)
def test_tools_kconfig_round_trip(name, tmp_path):
    """The same through the tools: defconfig into a scratch out dir, then
    savedefconfig --output."""
    scratch = "test_defconfig_" + name
    out_dir = os.path.join(ROOT, "out", scratch)
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        tool = os.path.join(ROOT, "tools", "kconfig")
        subprocess.run([tool, scratch, "defconfig", "--from", name], cwd=ROOT,
                       check=True, capture_output=True, timeout=60)
        saved = tmp_path / "saved_defconfig"
        subprocess.run([tool, scratch, "savedefconfig", "--output", str(saved)],
                       cwd=ROOT, check=True, capture_output=True, timeout=60)
        with open(os.path.join(ROOT, "configs", name + "_defconfig"), "rb") as f:
            assert saved.read_bytes() == f.read()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
