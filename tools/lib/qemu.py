"""Starts QEMU's virt machine for one architecture and talks QMP to it.

Used by tools/run and by the QEMU tests: the command line is built in one
place so that what a person runs and what the tests check are the same.
"""
import json
import os
import re
import socket
import subprocess
import tempfile
import time

MACHINES = {
    "aarch64": {
        "binary": "qemu-system-aarch64",
        "args": ["-machine", "virt", "-cpu", "cortex-a72", "-net", "none",
                 "-semihosting-config", "enable=on,target=native"],
    },
    "riscv64": {
        "binary": "qemu-system-riscv64",
        "args": ["-machine", "virt", "-bios", "default"],
    },
}


# QEMU allocates a GPU resource's pixels (pixman, 4 MB at 1280x800) at
# RESOURCE_CREATE_2D and first writes them in the first
# TRANSFER_TO_HOST_2D. With 4 KB pages that copy takes a page fault per
# page, about 10 us each on the virtual machines this runs on (11 to
# 16 ms per 4 MB). Two glibc malloc tunables put the block in transparent
# huge pages (one fault per 2 MB):
# - hugetlb=1: glibc asks for THP (madvise) on what it maps and grows its
#   heap in 2 MB-aligned steps;
# - mmap_threshold=8 MB: blocks up to 8 MB come from the heap rather than
#   a mapping of their own, which starts wherever the kernel puts it (not
#   2 MB-aligned: with hugetlb=1 alone about half of the 4 MB stays in
#   4 KB pages).
# Measured on 2026-12-04, interleaved boots, medians (the copy: warm-up
# to SET_SCANOUT): aarch64 copy 14.8 ms stock, 11.0 with hugetlb=1, 5.7
# with both (+1.6 ms more in CREATE_2D, now zeroing the block), resume to
# flush 26.6 / 25.7 / 20.0 ms (8 boots each); riscv64 copy 10.1 ms with
# hugetlb=1, 4.0 with both (+1.1), flush 48.9 / 41.5 ms (5 each). The
# guest is the same. Nothing changes where THP is off (`never`) or glibc
# is older than 2.35; a caller's own setting of either wins.
MALLOC_TUNABLES = (("glibc.malloc.hugetlb", "1"),
                   ("glibc.malloc.mmap_threshold", "8388608"))


def qemu_env(stock=False, base=None):
    """The environment QEMU runs in: `base` (the caller's by default) with
    MALLOC_TUNABLES added to GLIBC_TUNABLES, each unless it sets it
    already; `stock` leaves it as it is."""
    env = dict(os.environ if base is None else base)
    if stock:
        return env
    given = [t for t in env.get("GLIBC_TUNABLES", "").split(":") if t]
    names = {t.split("=", 1)[0] for t in given}
    added = ["%s=%s" % (n, v) for n, v in MALLOC_TUNABLES if n not in names]
    if added:
        env["GLIBC_TUNABLES"] = ":".join(given + added)
    return env


def command_line(cmd, env):
    """`cmd` as a shell line a person can paste, GLIBC_TUNABLES first."""
    tunables = env.get("GLIBC_TUNABLES")
    prefix = "GLIBC_TUNABLES=%s " % tunables if tunables else ""
    return prefix + " ".join(cmd)


def refused_options(arch, extra):
    """Why QEMU options in `extra` cannot boot the kernel on `arch` (a
    message naming the option and what to use instead), or None."""
    extra = list(extra)
    for i, arg in enumerate(extra[:-1]):
        if arch == "riscv64" and arg in ("-bios", "--bios") and extra[i + 1] == "none":
            return ("-bios none cannot boot the riscv64 kernel: QEMU then starts "
                    "the hart in M-mode at the start of RAM (0x80000000), where "
                    "nothing is loaded, and the machine hangs without output. The "
                    "kernel is linked at 0x80200000 and runs in S-mode behind SBI "
                    "firmware (timer and start-up). Leave out -bios none: tools/run "
                    "passes -bios default (QEMU's OpenSBI).")
    return None


def qemu_command(arch, kernel, memory="256M", display="none", serial=None,
                 qmp=None, append=None, gpu=True, extra=(), gdb=False):
    m = MACHINES[arch]
    cmd = [m["binary"]] + list(m["args"]) + ["-m", memory, "-kernel", kernel,
                                             "-no-reboot"]
    if append:
        cmd += ["-append", append]
    cmd += ["-display", display]
    if serial:
        cmd += ["-serial", serial]
    if qmp:
        cmd += ["-qmp", "unix:%s,server=on,wait=off" % qmp]
    if gpu:
        cmd += ["-device", "virtio-gpu-device"]
    if gdb:
        cmd += ["-s", "-S"]
    cmd += list(extra)
    return cmd


class QmpError(Exception):
    pass


class Qmp:
    """A minimal QMP client (QEMU's qapi/qmp-spec.txt): greeting,
    qmp_capabilities, then one command at a time."""

    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QmpError("QMP socket %s did not open" % path)
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QmpError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise QmpError("%s: %s" % (command, reply["error"]))
            return reply.get("return")

    def close(self):
        self.sock.close()


def socket_path(workdir, name):
    """A unix socket path for `name` in `workdir`, or in a short temporary
    folder when that path would pass the 108-byte limit of sun_path (a
    checkout in a long path, a long test name)."""
    path = os.path.join(workdir, name)
    if len(path.encode()) < 100:
        return path
    return os.path.join(tempfile.mkdtemp(prefix="rl-"), name)


class Qemu:
    """One QEMU run: serial to a log file, QMP on a unix socket."""

    def __init__(self, arch, kernel, workdir=None, env=None, **kwargs):
        self.env = qemu_env() if env is None else env
        self.workdir = workdir or tempfile.mkdtemp(prefix="ringlight-qemu-")
        os.makedirs(self.workdir, exist_ok=True)
        self.serial_path = os.path.join(self.workdir, "serial.log")
        self.qmp_path = socket_path(self.workdir, "qmp.sock")
        self.stderr_path = os.path.join(self.workdir, "qemu-stderr.log")
        self.cmd = qemu_command(arch, kernel, serial="file:" + self.serial_path,
                                qmp=self.qmp_path, **kwargs)
        self.proc = None
        self.qmp = None

    def start(self):
        for p in (self.serial_path, self.qmp_path):
            if os.path.exists(p):
                os.unlink(p)
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, env=self.env,
                                     stdout=self.stderr, stderr=self.stderr)
        return self

    def serial(self):
        try:
            with open(self.serial_path, "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern, timeout):
        """Waits until the serial log matches `pattern`; returns the match or
        None on timeout or QEMU exit."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = regex.search(self.serial())
            if m:
                return m
            if self.proc.poll() is not None:
                return regex.search(self.serial())
            time.sleep(0.05)
        return None

    def wait_exit(self, timeout):
        """Exit status, or None if QEMU is still running at the deadline."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def connect(self):
        if self.qmp is None:
            self.qmp = Qmp(self.qmp_path)
        return self.qmp

    def screendump(self, path):
        if os.path.exists(path):
            os.unlink(path)
        self.connect().execute("screendump", filename=os.path.abspath(path),
                               format="png")
        # screendump returns once the file is written.
        return path

    def stop(self):
        if self.qmp is not None:
            try:
                self.qmp.execute("quit")
            except Exception:  # noqa: BLE001 - QEMU may already be gone
                pass
            self.qmp.close()
            self.qmp = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "stderr", None):
            self.stderr.close()
            self.stderr = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
