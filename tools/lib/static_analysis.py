"""Static analysis of the project's C code (everything but the test and
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


def project_sources():
    files = subprocess.run(["git", "ls-files", "*.c"], cwd=rltools.ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    return [f for f in files if not f.startswith(("tests/", "bench/"))]


def _tidy(args):
    build_dir, path = args
    proc = subprocess.run(["clang-tidy", "-p", build_dir, "--quiet", path],
                          cwd=rltools.ROOT, capture_output=True, text=True)
    findings = [l for l in proc.stdout.splitlines() if ": error:" in l or ": warning:" in l]
    return path, proc.returncode == 0 and not findings, proc.stdout.strip()


def run(aarch64_out, riscv64_out):
    """Yields (tool, name, ok, detail)."""
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
