"""Formatting of every C and GN file (clang-format with the root
.clang-format, `gn format`), then static analysis of the project's C code (everything but the test and
benchmark harnesses in tests/ and bench/):
clang-tidy with the root .clang-tidy (bugprone-*, cert-*, clang-analyzer-*)
and cppcheck (warning, portability, performance, style). Each file is
checked with the compile flags of the build it belongs to: riscv64 code
with out/<riscv64 config>, the rest (aarch64 kernel code and the host arch
layer) with out/<aarch64 config>. Suppressions stand where they apply
(NOLINT / cppcheck-suppress comments) with their reason."""
import concurrent.futures
import os
import subprocess

import rltools

CPPCHECK = ["cppcheck", "--enable=warning,portability,performance,style",
            "--std=c11", "--error-exitcode=1", "--inline-suppr", "--quiet"]


def _tracked(*patterns):
    return subprocess.run(["git", "ls-files"] + list(patterns), cwd=rltools.ROOT,
                          check=True, capture_output=True, text=True).stdout.split()


def project_sources():
    return [f for f in _tracked("*.c") if not f.startswith(("tests/", "bench/"))]


def _tidy(args):
    build_dir, path = args
    proc = subprocess.run(["clang-tidy", "-p", build_dir, "--quiet", path],
                          cwd=rltools.ROOT, capture_output=True, text=True)
    findings = [l for l in proc.stdout.splitlines() if ": error:" in l or ": warning:" in l]
    return path, proc.returncode == 0 and not findings, proc.stdout.strip()


def format_checks():
    """Yields (tool, name, ok, detail): one result per formatter, naming the
    files it would change. Fix with `clang-format -i FILE` / `gn format FILE`."""
    c_files = _tracked("*.c", "*.h")
    proc = subprocess.run(["clang-format", "--dry-run", "-Werror"] + c_files,
                          cwd=rltools.ROOT, capture_output=True, text=True)
    bad = sorted({l.split(":")[0] for l in proc.stderr.splitlines()
                  if "-Wclang-format-violations" in l})
    ok = proc.returncode == 0 and not bad
    yield ("clang-format", "(%d files)" % len(c_files), ok,
           "not formatted: " + " ".join(bad) if bad else proc.stderr.strip())
    gn_files = _tracked("*.gn", "*.gni")
    bad = [f for f in gn_files
           if subprocess.run(["gn", "format", "--dry-run", f], cwd=rltools.ROOT,
                             capture_output=True).returncode != 0]
    yield ("gn format", "(%d files)" % len(gn_files), not bad,
           "not formatted: " + " ".join(bad))


def run(aarch64_out, riscv64_out):
    """Yields (tool, name, ok, detail)."""
    yield from format_checks()
    for out in (aarch64_out, riscv64_out):
        subprocess.run(["gn", "gen", "--export-compile-commands", out], cwd=rltools.ROOT,
                       check=True, stdout=subprocess.DEVNULL)
    sources = project_sources()
    jobs = [(riscv64_out if f.startswith("arch/riscv64/") else aarch64_out, f)
            for f in sources]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, ok, text in pool.map(_tidy, jobs):
            yield "clang-tidy", path, ok, text

    common = ["-I", "include", "-I", "arch/include", "-I", "."]
    groups = [
        ("kernel (aarch64)", common + ["-I", "lib/string", "-DRINGLIGHT_KERNEL=1",
                                       "-I", os.path.join(aarch64_out, "gen/kconfig"),
                                       "-I", "arch/aarch64/include"],
         [f for f in sources if not f.startswith(("arch/riscv64/", "arch/host/"))
          and f != "mm/heap_host.c"]),
        ("kernel (riscv64)", common + ["-I", "lib/string", "-DRINGLIGHT_KERNEL=1",
                                       "-I", os.path.join(riscv64_out, "gen/kconfig"),
                                       "-I", "arch/riscv64/include"],
         [f for f in sources if f.startswith("arch/riscv64/")]),
        ("host arch", common + ["-DRINGLIGHT_HOST=1", "-I", "arch/host/include",
                                "-I", os.path.join(aarch64_out, "gen/kconfig")],
         [f for f in sources if f.startswith("arch/host/") or f == "mm/heap_host.c"]),
    ]
    for name, flags, files in groups:
        proc = subprocess.run(CPPCHECK + flags + files, cwd=rltools.ROOT,
                              capture_output=True, text=True)
        text = (proc.stdout + proc.stderr).strip()
        yield "cppcheck", name, proc.returncode == 0 and not text, text
