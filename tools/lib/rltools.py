"""Shared helpers of tools/build, tools/kconfig, tools/run and tools/test.

Runs under the system interpreter (/usr/bin/python3), which has Debian's
kconfiglib; the tools re-exec themselves with it when started otherwise.
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_PYTHON = "/usr/bin/python3"

# Debian packages the project needs, with a file that proves each is there.
PACKAGES = [
    ("clang", "/usr/bin/clang"),
    ("lld", "/usr/bin/ld.lld"),
    ("llvm", "/usr/bin/llvm-ar"),
    ("gcc-aarch64-linux-gnu", "/usr/bin/aarch64-linux-gnu-gcc"),
    ("gcc-riscv64-linux-gnu", "/usr/bin/riscv64-linux-gnu-gcc"),
    ("libclang-rt-14-dev",
     "/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a"),
    ("clang-format", "/usr/bin/clang-format"),
    ("clang-tidy", "/usr/bin/clang-tidy"),
    ("cppcheck", "/usr/bin/cppcheck"),
    ("generate-ninja", "/usr/bin/gn"),
    ("ninja-build", "/usr/bin/ninja"),
    ("python3-kconfiglib", "/usr/lib/python3/dist-packages/kconfiglib.py"),
    ("qemu-system-arm", "/usr/bin/qemu-system-aarch64"),
    ("qemu-system-misc", "/usr/bin/qemu-system-riscv64"),
    ("libcmocka-dev", "/usr/include/cmocka.h"),
    ("python3-pytest", "/usr/lib/python3/dist-packages/pytest/__init__.py"),
    ("python3-pil", "/usr/lib/python3/dist-packages/PIL/Image.py"),
    ("python3-pytest-timeout", "/usr/lib/python3/dist-packages/pytest_timeout.py"),
    ("device-tree-compiler", "/usr/bin/dtc"),
    ("libfdt-dev", "/usr/include/libfdt.h"),
    ("tmux", "/usr/bin/tmux"),
]


def ensure_system_python():
    """Re-exec the calling tool under /usr/bin/python3 if needed."""
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) \
            and os.path.exists(SYSTEM_PYTHON) \
            and not os.environ.get("RINGLIGHT_REEXEC"):
        os.environ["RINGLIGHT_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def ensure_packages(quiet=False, extra=()):
    """apt-get installs whatever of PACKAGES (and `extra`) is missing."""
    wanted = PACKAGES + list(extra)
    missing = [pkg for pkg, path in wanted if not os.path.exists(path)]
    if not missing:
        return
    log("installing Debian packages: " + " ".join(missing))
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    out = subprocess.DEVNULL if quiet else None
    # Another tool installing at the same time holds dpkg's lock: wait for
    # it (up to 10 minutes) instead of failing.
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    subprocess.run(sudo + ["apt-get"] + lock + ["update", "-qq"], check=True, env=env,
                   stdout=out)
    subprocess.run(sudo + ["apt-get"] + lock + ["install", "-y", "-qq",
                                                "--no-install-recommends"] + missing,
                   check=True, env=env, stdout=out)
    still = [pkg for pkg, path in wanted if not os.path.exists(path)]
    if still:
        raise SystemExit("packages still missing after apt-get: " + " ".join(still))


def out_dir(name):
    return os.path.join(ROOT, "out", name)


def defconfig_path(name):
    return os.path.join(ROOT, "configs", name + "_defconfig")


def list_defconfigs():
    names = []
    for f in sorted(os.listdir(os.path.join(ROOT, "configs"))):
        if f.endswith("_defconfig"):
            names.append(f[: -len("_defconfig")])
    return names


def kconfig_env(name):
    env = dict(os.environ)
    env["KCONFIG_CONFIG"] = os.path.join(out_dir(name), ".config")
    env["srctree"] = ROOT
    return env


def load_kconfig(name):
    os.environ["srctree"] = ROOT
    os.environ["KCONFIG_CONFIG"] = os.path.join(out_dir(name), ".config")
    import kconfiglib  # system python only
    return kconfiglib.Kconfig(os.path.join(ROOT, "Kconfig"), warn_to_stderr=False)


def configure(name, base=None, settings=()):
    """Writes out/NAME/.config from configs/BASE_defconfig (BASE defaults to
    NAME) plus CONFIG_X=value settings."""
    base = base or name
    src = defconfig_path(base)
    if not os.path.exists(src):
        raise SystemExit("no defconfig %s (known: %s)"
                         % (src, ", ".join(list_defconfigs())))
    os.makedirs(out_dir(name), exist_ok=True)
    kconf = load_kconfig(name)
    kconf.load_config(src)
    for setting in settings:
        key, _, value = setting.partition("=")
        key = key[len("CONFIG_"):] if key.startswith("CONFIG_") else key
        if key not in kconf.syms:
            raise SystemExit("unknown Kconfig symbol %s" % key)
        sym = kconf.syms[key]
        if not sym.set_value(value) or sym.str_value != value:
            raise SystemExit("cannot set CONFIG_%s=%s (now %s; check its "
                             "dependencies)" % (key, value, sym.str_value))
    kconf.write_config(os.path.join(out_dir(name), ".config"), save_old=False)


def build(name, clean=False, targets=(), quiet=False):
    """Configures when needed, runs gn gen and ninja. Returns out dir."""
    out = out_dir(name)
    if clean and os.path.isdir(out):
        shutil.rmtree(out)
    if not os.path.exists(os.path.join(out, ".config")):
        configure(name)
    if not os.path.exists(os.path.join(out, "build.ninja")):
        subprocess.run(["gn", "gen", "--export-compile-commands", out],
                       cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL if quiet else None)
    subprocess.run(["ninja", "-C", out] + list(targets), check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    return out


def config_value(name, symbol):
    """A symbol's value for out/NAME/.config as Kconfig resolves it (new
    symbols take their defaults, as in the generated header)."""
    kconf = load_kconfig(name)
    kconf.load_config(os.path.join(out_dir(name), ".config"))
    sym = kconf.syms.get(symbol)
    return sym.str_value if sym is not None else ""
