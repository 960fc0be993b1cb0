#!/usr/bin/python3
"""Turns a Kconfig .config into GN values and a C header.

Called by GN (build/kconfig.gni) through exec_script. Prints a GN scope on
stdout; writes the same scope to --gni and the C header to --header, each
only when its content changes, so unchanged options rebuild nothing.

GN value mapping: bool/tristate -> true/false (y/m are true), int ->
decimal (0 when unset), hex and string -> GN string ("" when unset). Every symbol is present, so BUILD.gn
files may read kconfig.CONFIG_X without defined().
"""
import argparse
import os
import sys

import kconfiglib


def gn_string(s):
    out = []
    for ch in s:
        if ch in '"\\$':
            out.append("\\" + ch)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def gn_value(sym):
    val = sym.str_value
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        return "true" if val in ("y", "m") else "false"
    # An int or hex without a value (dependencies off, no default) still
    # appears, as 0 / "", so BUILD.gn never needs defined().
    if sym.orig_type == kconfiglib.INT:
        try:
            return str(int(val, 10))
        except ValueError:
            return "0"
    if sym.orig_type == kconfiglib.HEX:
        return gn_string(val)
    if sym.orig_type == kconfiglib.STRING:
        return gn_string(val)
    return None


def gn_scope(kconf, srctree):
    lines = ["# Generated from .config by build/kconfig/kconfig_gen.py"]
    for name in sorted(kconf.syms):
        sym = kconf.syms[name]
        if sym.orig_type == kconfiglib.UNKNOWN:
            continue
        value = gn_value(sym)
        if value is not None:
            lines.append("%s%s = %s" % (kconf.config_prefix, name, value))
    files = []
    for f in kconf.kconfig_filenames:
        path = os.path.relpath(os.path.join(srctree, f), srctree)
        files.append(gn_string("//" + path))
    lines.append("kconfig_files = [ %s ]" % ", ".join(sorted(set(files))))
    return "\n".join(lines) + "\n"


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


HEADER = """/* Generated from .config by build/kconfig/kconfig_gen.py: do not edit. */
"""


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kconfig", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--gni")
    ap.add_argument("--header")
    args = ap.parse_args(argv)

    if not os.path.exists(args.config):
        sys.stderr.write(
            "kconfig_gen: %s does not exist; run tools/kconfig NAME defconfig "
            "(or tools/build NAME) first\n" % args.config)
        return 1
    kconfig_path = os.path.abspath(args.kconfig)
    srctree = os.path.dirname(kconfig_path)
    os.environ["srctree"] = srctree
    kconf = kconfiglib.Kconfig(kconfig_path, warn_to_stderr=False)
    kconf.load_config(os.path.abspath(args.config))

    scope = gn_scope(kconf, srctree)
    if args.gni:
        write_if_changed(args.gni, scope)
    if args.header:
        # kconfiglib's autoconf writer, through our write-if-changed.
        tmp = "%s.%d.new" % (args.header, os.getpid())
        os.makedirs(os.path.dirname(os.path.abspath(tmp)), exist_ok=True)
        kconf.write_autoconf(tmp, HEADER)
        with open(tmp, encoding="utf-8") as f:
            text = f.read()
        os.unlink(tmp)
        guard = "RINGLIGHT_CONFIG_H"
        text = "#ifndef %s\n#define %s\n%s#endif\n" % (guard, guard, text)
        write_if_changed(args.header, text)
    sys.stdout.write(scope)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
