"""pytest set-up shared by the QEMU and tool tests."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))

import rltools  # noqa: E402


@pytest.fixture(scope="session")
def build():
    """build(NAME) -> out dir; builds (incrementally) once per session."""
    done = {}

    def _build(name, base=None, settings=()):
        key = (name, base, tuple(settings))
        if key not in done:
            if base is not None or settings:
                rltools.configure(name, base=base, settings=settings)
            done[key] = rltools.build(name, quiet=True, targets=["kernel.elf"])
        return done[key]

    return _build


@pytest.fixture
def artifacts(request):
    """A per-test folder under out/test-artifacts for logs and PNGs."""
    name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    path = os.path.join(ROOT, "out", "test-artifacts", name)
    os.makedirs(path, exist_ok=True)
    return path
