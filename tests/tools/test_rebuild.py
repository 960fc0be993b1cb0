"""End to end: a .config change, by hand or through menuconfig, reaches the
kernel image through `ninja -C out/NAME kernel.elf` (GN re-runs
kconfig_gen.py, the header changes, what includes it is rebuilt). Only the
kernel is built: the host tests of the same out directory would triple
the time and prove nothing more here."""
import hashlib
import os
import re
import shutil
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "test_kconfig_rebuild"
OUT = os.path.join(ROOT, "out", NAME)
DOT_CONFIG = os.path.join(OUT, ".config")
HEADER = os.path.join(OUT, "gen", "kconfig", "ringlight", "config.h")
ELF = os.path.join(OUT, "kernel.elf")
SCREEN_TIMEOUT = 20.0


def run(cmd, timeout=300):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, "%s failed:\n%s%s" % (" ".join(cmd), proc.stdout,
                                                       proc.stderr)
    return proc.stdout


def ninja():
    return run(["ninja", "-C", OUT, "kernel.elf"])


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def fresh():
    """out/test_kconfig_rebuild from scratch: qemu_virt_aarch64 defaults."""
    shutil.rmtree(OUT, ignore_errors=True)
    run([os.path.join(ROOT, "tools", "kconfig"), NAME, "defconfig",
         "--from", "qemu_virt_aarch64"])
    run([os.path.join(ROOT, "tools", "build"), NAME, "kernel.elf"])
    assert os.path.exists(ELF)
    assert "CONFIG_KERNEL_BANNER=\"Ringlight\"\n" in read(DOT_CONFIG)
    assert "CONFIG_LOG_LEVEL=2\n" in read(DOT_CONFIG)
    assert "CONFIG_TEST_DMA_SELFTEST=y\n" in read(DOT_CONFIG)
    return OUT


def test_hand_edited_config(fresh):
    before_elf = sha256(ELF)
    before_mtime = os.stat(ELF).st_mtime_ns
    text = read(DOT_CONFIG)
    with open(DOT_CONFIG, "w", encoding="utf-8") as f:
        f.write(text.replace('CONFIG_KERNEL_BANNER="Ringlight"',
                             'CONFIG_KERNEL_BANNER="RlRebuildProbe"'))

    log = ninja()
    assert "Regenerating ninja files" in log
    assert "LINK ./kernel.elf" in log
    assert '#define CONFIG_KERNEL_BANNER "RlRebuildProbe"\n' in read(HEADER)
    assert sha256(ELF) != before_elf
    assert os.stat(ELF).st_mtime_ns > before_mtime
    with open(ELF, "rb") as f:
        image = f.read()
    assert b"RlRebuildProbe\0" in image

    assert "no work to do" in ninja()


class Tmux:
    """A tmux server of our own (private socket, no user config)."""

    def __init__(self, artifacts):
        self.socket = "rl-test-%d" % os.getpid()
        self.session = "rl_menuconfig"
        self.artifacts = artifacts
        self.steps = 0
        for f in os.listdir(artifacts):  # screens of an earlier run
            if f.endswith(".txt"):
                os.unlink(os.path.join(artifacts, f))
        # Not nested in a tmux the tests may run in; TERM for the pane.
        self.env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        self.env["TERM"] = "xterm-256color"

    def tmux(self, *args, check=True):
        proc = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null"]
                              + list(args), capture_output=True, text=True,
                              env=self.env, timeout=30)
        if check:
            assert proc.returncode == 0, "tmux %s: %s" % (args, proc.stderr)
        return proc.stdout

    def start(self, command):
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null",
                        "new-session", "-d", "-x", "200", "-y", "50",
                        "-s", self.session, "-e", "TERM=xterm-256color", command],
                       cwd=ROOT, env=self.env, check=True, timeout=30)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.session, *keys)

    def text(self, s):
        self.tmux("send-keys", "-t", self.session, "-l", s)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait(self, what, cond, timeout=SCREEN_TIMEOUT):
        """Polls the screen until cond(screen) holds; saves it either way."""
        self.steps += 1
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if cond(screen):
                break
            if time.monotonic() > deadline:
                self.save(screen, "TIMEOUT-" + what)
                raise AssertionError("timed out after %.0f s waiting for %s; "
                                     "screen:\n%s" % (timeout, what, screen))
            time.sleep(0.1)
        self.save(screen, what)
        return screen

    def save(self, screen, what):
        name = "%02d-%s.txt" % (self.steps, re.sub(r"\W+", "_", what))
        with open(os.path.join(self.artifacts, name), "w", encoding="utf-8") as f:
            f.write(screen)

    def kill(self):
        self.tmux("kill-server", check=False)


def has(*needles, without=()):
    return lambda s: all(n in s for n in needles) and not any(n in s for n in without)


JUMP = "Jump to symbol/choice/menu/comment"


def test_menuconfig(fresh, artifacts):
    before_elf = sha256(ELF)
    before_mtime = os.stat(ELF).st_mtime_ns
    t = Tmux(artifacts)
    try:
        t.start("TERM=xterm-256color tools/kconfig %s menuconfig; "
                "echo RL_MENUCONFIG_EXIT=$?; sleep 600" % NAME)
        t.wait("main menu", has("Kernel  --->", "[Q] Quit"))

        # LOG_LEVEL: jump to it, edit 2 -> 3.
        t.keys("/")
        t.wait("jump dialog", has(JUMP))
        t.text("LOG_LEVEL")
        t.wait("LOG_LEVEL match", has('LOG_LEVEL(=2) "Console log level'))
        t.keys("Enter")
        t.wait("Kernel menu", has("(2) Console log level", without=(JUMP,)))
        t.keys("Enter")
        t.wait("int input", has("Range: 0-3"))
        t.keys("C-u")
        t.text("3")
        t.keys("Enter")
        t.wait("LOG_LEVEL=3", has("(3) Console log level", without=("Range: 0-3",)))

        # TEST_DMA_SELFTEST: jump to it, toggle it off.
        t.keys("/")
        t.wait("jump dialog 2", has(JUMP))
        t.text("TEST_DMA_SELFTEST")
        t.wait("TEST_DMA_SELFTEST match", has("TEST_DMA_SELFTEST(=y)"))
        t.keys("Enter")
        t.wait("Testing menu", has("[*] Run the DMA self-test at boot", without=(JUMP,)))
        t.keys("Space")
        t.wait("selftest off", has("[ ] Run the DMA self-test at boot"))

        # Save to the default file name (out/NAME/.config).
        t.keys("S")
        t.wait("save dialog", has("Filename to save configuration to"))
        t.keys("Enter")
        t.wait("saved", has("Configuration saved to", "test_kconfig_rebuild/.config"))
        t.keys("Enter")
        t.wait("saved dismissed", has("[Q] Quit", without=("Configuration saved to",)))

        # Quit, answering the save prompt if there is one.
        t.keys("Q")
        screen = t.wait("quit", lambda s: "RL_MENUCONFIG_EXIT=" in s
                        or "Save configuration?" in s)
        if "Save configuration?" in screen:
            t.keys("y")
            screen = t.wait("quit after prompt", has("RL_MENUCONFIG_EXIT="))
        assert "RL_MENUCONFIG_EXIT=0" in screen
    finally:
        t.kill()

    config = read(DOT_CONFIG)
    assert "CONFIG_LOG_LEVEL=3\n" in config
    assert "# CONFIG_TEST_DMA_SELFTEST is not set\n" in config

    log = ninja()
    assert "Regenerating ninja files" in log
    assert "LINK ./kernel.elf" in log
    header = read(HEADER)
    assert "#define CONFIG_LOG_LEVEL 3\n" in header
    assert "CONFIG_TEST_DMA_SELFTEST" not in header
    assert sha256(ELF) != before_elf
    assert os.stat(ELF).st_mtime_ns > before_mtime

    assert "no work to do" in ninja()
