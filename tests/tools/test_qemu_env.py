"""The environment every QEMU of tools/run and the tests runs in
(tools/lib/qemu.py qemu_env): glibc's malloc with transparent huge pages
for the large blocks QEMU maps (a GPU resource's pixels)."""
import qemu

TUNABLE = "glibc.malloc.hugetlb=1"


def test_the_tunable_is_added():
    env = qemu.qemu_env(base={"PATH": "/usr/bin"})
    assert env == {"PATH": "/usr/bin", "GLIBC_TUNABLES": TUNABLE}


def test_the_callers_tunables_are_kept():
    env = qemu.qemu_env(base={"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:" + TUNABLE


def test_an_explicit_choice_is_left_alone():
    base = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}
    assert qemu.qemu_env(base=base) == base


def test_stock_is_the_callers_environment():
    base = {"PATH": "/usr/bin"}
    env = qemu.qemu_env(stock=True, base=base)
    assert env == base and env is not base


def test_the_printed_command_says_it():
    line = qemu.command_line(["qemu-system-aarch64", "-S"], {"GLIBC_TUNABLES": TUNABLE})
    assert line == "GLIBC_TUNABLES=%s qemu-system-aarch64 -S" % TUNABLE
    assert qemu.command_line(["qemu-system-aarch64"], {}) == "qemu-system-aarch64"


def _environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return f.read().split(b"\0")


def test_a_started_qemu_has_it(build, tmp_path, monkeypatch):
    """Against QEMU itself: a paused machine started by qemu.Qemu runs with
    the tunable (the caller's environment has none), one started with the
    stock environment without."""
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    kernel = build("qemu_virt_aarch64") + "/kernel.elf"
    for stock in (False, True):
        vm = qemu.Qemu("aarch64", kernel, workdir=str(tmp_path / str(stock)),
                       env=qemu.qemu_env(stock=stock), gpu=False, extra=["-S"])
        with vm:
            vm.connect()
            env = _environ(vm.proc.pid)
        assert (b"GLIBC_TUNABLES=" + TUNABLE.encode() in env) is not stock
