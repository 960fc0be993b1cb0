"""Unit tests of build/kconfig/kconfig_gen.py on a small fixture Kconfig.

The script is run the way build/kconfig.gni runs it: as a subprocess of
/usr/bin/python3 with --kconfig, --config, --gni and --header. One test
also feeds it to GN's own exec_script() to prove the scope is valid GN.
"""
import os
import re
import shutil
import subprocess
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "build", "kconfig", "kconfig_gen.py")
PYTHON = "/usr/bin/python3"

KCONFIG = """\
mainmenu "kconfig_gen fixture"

config MODULES
	bool "Loadable modules"
	default y
	option modules

config BOOL_Y
	bool "A bool that is on"
	default y

config BOOL_N
	bool "A bool that is off"

config TRI_Y
	tristate "A tristate at y"

config TRI_M
	tristate "A tristate at m"

config TRI_N
	tristate "A tristate at n"

config INT_VAL
	int "An int"
	default 42

config INT_NEG
	int "A negative int"
	default 0

config HEX_VAL
	hex "A hex value"
	default 0x1000

config STR
	string "A string with quotes, backslashes and dollars"

config STR_EMPTY
	string "An empty string"

config STR_HIDDEN
	string
	default "hidden default"

choice
	prompt "Colour"
	default COLOR_RED

config COLOR_RED
	bool "Red"

config COLOR_BLUE
	bool "Blue"

endchoice

config DEP_OFF
	bool "Depends on something that is off"
	depends on BOOL_N
	default y

config DEP_OFF_STR
	string "A string whose dependency is off"
	depends on BOOL_N
	default "unreachable"

rsource "sub/Kconfig"
"""

SUB_KCONFIG = """\
config SUB_OPT
	bool "Option from an rsource'd file"
	default y

rsource "inner/Kconfig"
"""

INNER_KCONFIG = """\
config INNER_INT
	int "Option from a nested rsource'd file"
	default 7
"""

# Raw value of CONFIG_STR: a double quote, a backslash and GN's '$' and '${'.
STR_RAW = 'say "hi" C:\\dir $HOME ${x}'

DOT_CONFIG = """\
CONFIG_MODULES=y
CONFIG_BOOL_Y=y
# CONFIG_BOOL_N is not set
CONFIG_TRI_Y=y
CONFIG_TRI_M=m
# CONFIG_TRI_N is not set
CONFIG_INT_VAL=1234
CONFIG_INT_NEG=-5
CONFIG_HEX_VAL=0xdeadbeef
CONFIG_STR="say \\"hi\\" C:\\\\dir $HOME ${x}"
CONFIG_STR_EMPTY=""
# CONFIG_COLOR_RED is not set
CONFIG_COLOR_BLUE=y
CONFIG_SUB_OPT=y
CONFIG_INNER_INT=7
"""

# Expected GN scope values, as the literal text after "NAME = ".
EXPECTED_GN = {
    "CONFIG_MODULES": "true",
    "CONFIG_BOOL_Y": "true",
    "CONFIG_BOOL_N": "false",
    "CONFIG_TRI_Y": "true",
    "CONFIG_TRI_M": "true",
    "CONFIG_TRI_N": "false",
    "CONFIG_INT_VAL": "1234",
    "CONFIG_INT_NEG": "-5",
    "CONFIG_HEX_VAL": '"0xdeadbeef"',
    "CONFIG_STR": '"say \\"hi\\" C:\\\\dir \\$HOME \\${x}"',
    "CONFIG_STR_EMPTY": '""',
    "CONFIG_STR_HIDDEN": '"hidden default"',
    "CONFIG_COLOR_RED": "false",
    "CONFIG_COLOR_BLUE": "true",
    "CONFIG_DEP_OFF": "false",
    "CONFIG_DEP_OFF_STR": '""',
    "CONFIG_SUB_OPT": "true",
    "CONFIG_INNER_INT": "7",
}

EXPECTED_FILES = ["//Kconfig", "//sub/Kconfig", "//sub/inner/Kconfig"]


class Fixture:
    def __init__(self, root):
        self.root = root
        self.src = os.path.join(root, "src")
        self.out = os.path.join(root, "out")
        self.kconfig = os.path.join(self.src, "Kconfig")
        self.config = os.path.join(self.out, ".config")
        self.gni = os.path.join(self.out, "gen", "kconfig", "config.gni")
        self.header = os.path.join(self.out, "gen", "kconfig", "ringlight", "config.h")

    def write(self, path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def run(self, check=True):
        # Relative paths from the out dir, as build/kconfig.gni passes them.
        rel = lambda p: os.path.relpath(p, self.out)  # noqa: E731
        proc = subprocess.run(
            [PYTHON, SCRIPT,
             "--kconfig", rel(self.kconfig),
             "--config", rel(self.config),
             "--gni", rel(self.gni),
             "--header", rel(self.header)],
            cwd=self.out, capture_output=True, text=True, timeout=60)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    def read(self, path):
        with open(path, encoding="utf-8") as f:
            return f.read()


@pytest.fixture
def fx(tmp_path):
    f = Fixture(str(tmp_path))
    f.write(f.kconfig, KCONFIG)
    f.write(os.path.join(f.src, "sub", "Kconfig"), SUB_KCONFIG)
    f.write(os.path.join(f.src, "sub", "inner", "Kconfig"), INNER_KCONFIG)
    f.write(f.config, DOT_CONFIG)
    return f


def parse_scope(text):
    """NAME = VALUE lines of the emitted scope -> {NAME: VALUE text}."""
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.fullmatch(r"(\w+) = (.*)", line)
        assert m, "not a GN assignment: %r" % line
        assert m.group(1) not in values, "assigned twice: " + m.group(1)
        values[m.group(1)] = m.group(2)
    return values


def gn_unquote(literal):
    """A GN string literal -> its value. GN's escapes are \\" \\\\ and \\$;
    an unescaped '"' or '$' inside would end the string or expand."""
    assert literal.startswith('"') and literal.endswith('"'), literal
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in '"\\$':
            out.append(body[i + 1])
            i += 2
            continue
        assert ch not in '"$', "unescaped %r in %s" % (ch, literal)
        out.append(ch)
        i += 1
    return "".join(out)


def test_scope_values(fx):
    proc = fx.run()
    scope = parse_scope(proc.stdout)
    for name, literal in EXPECTED_GN.items():
        assert name in scope, "%s missing from the scope" % name
        assert scope[name] == literal, name
    # The string survives GN quoting: it decodes back to the raw value.
    assert gn_unquote(scope["CONFIG_STR"]) == STR_RAW
    assert scope["kconfig_files"] == "[ %s ]" % ", ".join('"%s"' % f for f in EXPECTED_FILES)
    # Nothing but the symbols and kconfig_files.
    assert set(scope) == set(EXPECTED_GN) | {"kconfig_files"}


def test_gni_equals_stdout(fx):
    proc = fx.run()
    assert fx.read(fx.gni) == proc.stdout
    leftovers = [f for d in (os.path.dirname(fx.gni), os.path.dirname(fx.header))
                 for f in os.listdir(d) if "tmp" in f or f.endswith(".new")]
    assert leftovers == []


def test_header(fx):
    fx.run()
    header = fx.read(fx.header)
    lines = header.splitlines()
    assert lines[0] == "#ifndef RINGLIGHT_CONFIG_H"
    assert lines[1] == "#define RINGLIGHT_CONFIG_H"
    assert lines[-1] == "#endif"
    defines = {}
    for line in lines:
        m = re.match(r"#define (CONFIG_\w+) (.*)$", line)
        if m:
            defines[m.group(1)] = m.group(2)
    assert defines == {
        "CONFIG_MODULES": "1",
        "CONFIG_BOOL_Y": "1",
        "CONFIG_TRI_Y": "1",
        "CONFIG_TRI_M_MODULE": "1",
        "CONFIG_INT_VAL": "1234",
        "CONFIG_INT_NEG": "-5",
        "CONFIG_HEX_VAL": "0xdeadbeef",
        "CONFIG_STR": '"say \\"hi\\" C:\\\\dir $HOME ${x}"',
        "CONFIG_STR_EMPTY": '""',
        "CONFIG_STR_HIDDEN": '"hidden default"',
        "CONFIG_COLOR_BLUE": "1",
        "CONFIG_SUB_OPT": "1",
        "CONFIG_INNER_INT": "7",
    }
    # n and unmet dependencies leave no define at all.
    for absent in ("CONFIG_BOOL_N", "CONFIG_TRI_N", "CONFIG_COLOR_RED",
                   "CONFIG_DEP_OFF", "CONFIG_DEP_OFF_STR", "CONFIG_TRI_M "):
        assert absent not in header


def test_header_compiles(fx, tmp_path):
    """The header is valid C and the string decodes to the raw value."""
    cc = shutil.which("clang") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    fx.run()
    src = tmp_path / "t.c"
    src.write_text(textwrap.dedent("""\
        #include <ringlight/config.h>
        #include <ringlight/config.h>
        #include <stdio.h>
        int main(void) {
          printf("%s|%d|%d|%lx|%d\\n", CONFIG_STR, CONFIG_INT_VAL, CONFIG_INT_NEG,
                 (unsigned long)CONFIG_HEX_VAL, CONFIG_BOOL_Y);
          return 0;
        }
        """))
    exe = tmp_path / "t"
    subprocess.run([cc, "-Wall", "-Werror", "-I", os.path.join(fx.out, "gen", "kconfig"),
                    str(src), "-o", str(exe)], check=True, timeout=60)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert out == "%s|1234|-5|deadbeef|1\n" % STR_RAW


def test_write_if_changed(fx):
    first = fx.run().stdout
    old = 1_000_000_000  # 2001: any rewrite would move the mtime forward
    for path in (fx.gni, fx.header):
        os.utime(path, (old, old))
    second = fx.run().stdout
    assert second == first
    for path in (fx.gni, fx.header):
        assert os.stat(path).st_mtime == old, "%s rewritten without a change" % path

    # A .config change that is only a comment or ordering changes nothing.
    fx.write(fx.config, "# a comment\n" + "\n".join(reversed(DOT_CONFIG.splitlines())) + "\n")
    fx.run()
    for path in (fx.gni, fx.header):
        assert os.stat(path).st_mtime == old, "%s rewritten without a change" % path

    # A real change rewrites both.
    fx.write(fx.config, DOT_CONFIG.replace("CONFIG_INT_VAL=1234", "CONFIG_INT_VAL=99"))
    third = fx.run().stdout
    assert "CONFIG_INT_VAL = 99\n" in third
    assert fx.read(fx.gni) == third
    assert "#define CONFIG_INT_VAL 99\n" in fx.read(fx.header)
    for path in (fx.gni, fx.header):
        assert os.stat(path).st_mtime != old, "%s not rewritten" % path


def test_missing_config(fx):
    os.unlink(fx.config)
    proc = fx.run(check=False)
    assert proc.returncode != 0
    assert "tools/kconfig" in proc.stderr
    assert proc.stdout == ""
    assert not os.path.exists(fx.gni)
    assert not os.path.exists(fx.header)


def test_int_hex_without_value_present(fx):
    fx.write(fx.kconfig, KCONFIG + textwrap.dedent("""
        config DEP_OFF_INT
        \tint "An int whose dependency is off"
        \tdepends on BOOL_N
        \tdefault 5

        config DEP_OFF_HEX
        \thex "A hex whose dependency is off"
        \tdepends on BOOL_N
        \tdefault 0x10
        """))
    scope = parse_scope(fx.run().stdout)
    assert scope["CONFIG_DEP_OFF_INT"] == "0"
    assert scope["CONFIG_DEP_OFF_HEX"] == '""'



def test_valid_gn(fx, tmp_path):
    """GN itself evaluates the scope (through exec_script, as
    build/kconfig.gni does, and from the .gni) to the expected values."""
    gn = shutil.which("gn")
    if gn is None:
        pytest.skip("gn not installed")
    fx.run()
    proj = tmp_path / "gnproj"
    (proj / "expect").mkdir(parents=True)
    (proj / ".gn").write_text('buildconfig = "//BUILDCONFIG.gn"\n'
                              'script_executable = "%s"\n' % PYTHON)
    (proj / "BUILDCONFIG.gn").write_text('set_default_toolchain("//:tc")\n')
    # Expected strings go through files GN reads raw, so that no GN string
    # literal written here relies on the escaping under test.
    checks = []
    for name, literal in EXPECTED_GN.items():
        if literal.startswith('"'):
            (proj / "expect" / name).write_text(gn_unquote(literal))
            checks.append('read_file("//expect/%s", "string")' % name)
        else:
            checks.append(literal)
    body = [
        'from_exec = exec_script("%s", ["--kconfig", "%s", "--config", "%s"], "scope")'
        % (SCRIPT, fx.kconfig, fx.config),
        'from_gni = read_file("%s", "scope")' % fx.gni,
        "foreach(k, [ from_exec, from_gni ]) {",
    ]
    for (name, _), expect in zip(EXPECTED_GN.items(), checks):
        body.append('  assert(k.%s == %s, "%s")' % (name, expect, name))
    body.append('  assert(k.kconfig_files == [ %s ], "kconfig_files")'
                % ", ".join('"%s"' % f for f in EXPECTED_FILES))
    body.append("}")
    body.append('print("RL_GN_STR=" + from_exec.CONFIG_STR)')
    body.append('print("RL_GN_OK")')
    body.append('group("all") {\n}')
    body.append('toolchain("tc") {\n  tool("stamp") {\n    command = "touch {{output}}"\n  }\n}')
    (proj / "BUILD.gn").write_text("\n".join(body) + "\n")
    proc = subprocess.run([gn, "gen", "out"], cwd=str(proj), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RL_GN_STR=%s\n" % STR_RAW in proc.stdout
    assert "RL_GN_OK" in proc.stdout
