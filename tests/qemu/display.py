"""Checks a QEMU screendump against the boot picture (README, "The boot
picture"): the pixels decide, never the driver's log.

On every scanout of width W and height H, rows 0 to floor(3H/4)-1 are
eight vertical bars, bar i spanning columns floor(iW/8) to
floor((i+1)W/8)-1: white, yellow, cyan, green, magenta, red, blue, black.
The bottom quarter is the text console, read back glyph by glyph with the
project's own font (lib/gfx/font8x16.h): every 8x16 cell holds exactly
one glyph in the console's colour for its row on black, the two header
rows read exactly what the README says, and the rows below are the last
lines of the serial log, wrapped at W/8 columns.
"""
import os
import re

from PIL import Image, ImageChops

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FONT_HEADER = os.path.join(ROOT, "lib", "gfx", "font8x16.h")

BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
PLACEHOLDER_SIZE = (640, 480)
FONT_W, FONT_H = 8, 16
HEADER_ROWS = 2
HEADER_FG = (255, 255, 255)  # lib/gfx/console.c: header_fg 0xffffff
LOG_FG = (192, 192, 192)     # fg 0xc0c0c0
BLACK = (0, 0, 0)
# Lines the kernel prints on the serial console only (kprintf_serial),
# never on the screen's console.
SERIAL_ONLY = ("gpu-update: ",)

# CONFIG_TEST_GPU_DAMAGE_PATTERN (kernel/damage_pattern.c): x, y, w, h.
PATTERN_RECT = (301, 151, 333, 99)

# virtio-mmio slots (/work/shared/qemu-virt.md): the first -device on the
# command line takes the top slot, the next one the slot below.
TOP_SLOT = {"aarch64": 0x0A003E00, "riscv64": 0x10008000}
SLOT_STRIDE = {"aarch64": 0x200, "riscv64": 0x1000}


class PictureMismatch(AssertionError):
    pass


def damage_pattern(x, y):
    """The test build's pixel at (x, y): distinct for every position."""
    return (x & 0xFF, y & 0xFF, ((y >> 8) & 0xF) << 4 | ((x >> 8) & 0xF))


def _load_font():
    """{16 row bytes: character} from the kernel's own font table."""
    with open(FONT_HEADER) as f:
        text = f.read()
    rows = re.findall(r"\{((?:\s*0x[0-9a-f]{2},){15}\s*0x[0-9a-f]{2})\s*\}", text)
    first = int(re.search(r"#define FONT_FIRST (0x[0-9a-f]+)", text).group(1), 16)
    font = {}
    for i, row in enumerate(rows):
        bits = tuple(int(v, 16) for v in row.split(","))
        assert bits not in font, "two glyphs of the font are identical"
        font[bits] = chr(first + i)
    assert len(font) == 95, "font8x16.h: expected 95 glyphs, parsed %d" % len(font)
    return font


FONT = _load_font()


def boot_header(arch, slot, version, ring, scanout, width, height, edid=None):
    """The two header rows (README, "The boot picture"): architecture,
    the device's slot address (`slot`), transport version, ring layout and
    mode; then the EDID monitor and preferred mode (`edid` = (name,
    vendor, w, h)), or nothing."""
    first = "Ringlight %s | virtio-mmio@%#x v%d (%s) | %s ring | scanout %d: %dx%d" % (
        arch, slot, version, "legacy" if version == 1 else "modern", ring, scanout,
        width, height)
    second = ""
    if edid is not None:
        second = 'monitor "%s" (%s), preferred %dx%d' % edid
    return [first, second]


def qemu_edid(width, height):
    """What QEMU 7.2's generated EDID says (tests/fixtures/qemu_edid.bin)."""
    return ("QEMU Monitor", "RHT", width, height)


def expected_bars(width, height):
    top = height * 3 // 4
    img = Image.new("RGB", (width, top))
    for i, color in enumerate(BARS):
        x0, x1 = i * width // 8, (i + 1) * width // 8
        if x1 > x0:
            img.paste(color, (x0, 0, x1, top))
    return img


def expected_top(width, height, pattern):
    img = expected_bars(width, height)
    if pattern:
        x0, y0, w, h = PATTERN_RECT
        px = img.load()
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                px[x, y] = damage_pattern(x, y)
    return img


def console_lines(serial, cols):
    """The serial log as the console draws it: each line wrapped at `cols`
    columns (an empty line is one empty row), characters the font lacks
    shown as '?'. The text after the last newline is a row in progress."""
    text = serial.replace("\r", "")
    lines = [l for l in text.split("\n") if not l.startswith(SERIAL_ONLY)]
    if lines and lines[-1] == "":
        lines.pop()  # the log ends with a newline: the cursor's empty row
    rows = []
    for line in lines:
        line = "".join(c if " " <= c <= "~" else "?" for c in line)
        if not line:
            rows.append("")
        for i in range(0, len(line), cols):
            rows.append(line[i:i + cols])
    return rows


def decode_console(img, width, height):
    """Reads the console region cell by cell: returns one string per text
    row and raises PictureMismatch for a cell that is not one glyph in the
    row's colour on black, or a lit pixel outside the cells."""
    top = height * 3 // 4
    cols, rows = width // FONT_W, (height - top) // FONT_H
    px = img.load()
    # Outside the cells (right and bottom remainders): black.
    for y in range(top, height):
        x_from = cols * FONT_W if y < top + rows * FONT_H else 0
        for x in range(x_from, width):
            if px[x, y] != BLACK:
                raise PictureMismatch("console: pixel (%d,%d) outside the text cells "
                                      "is %s, not black" % (x, y, px[x, y]))
    text = []
    for row in range(rows):
        fg = HEADER_FG if row < HEADER_ROWS else LOG_FG
        chars = []
        for col in range(cols):
            x0, y0 = col * FONT_W, top + row * FONT_H
            bits = []
            for dy in range(FONT_H):
                b = 0
                for dx in range(FONT_W):
                    p = px[x0 + dx, y0 + dy]
                    if p == fg:
                        b |= 0x80 >> dx
                    elif p != BLACK:
                        raise PictureMismatch(
                            "console row %d column %d: pixel (%d,%d) is %s; the "
                            "console draws only %s on black on this row"
                            % (row, col, x0 + dx, y0 + dy, p, fg))
                bits.append(b)
            ch = FONT.get(tuple(bits))
            if ch is None:
                raise PictureMismatch("console row %d column %d (pixels %d,%d): not a "
                                      "glyph of the font" % (row, col, x0, y0))
            chars.append(ch)
        text.append("".join(chars))
    return text


def check_console(img, width, height, serial, header, full=True):
    """The console region: header rows exactly `header`, log rows the last
    lines of `serial`. `full`: the console has scrolled (a boot console
    replays the end of the log), so every log row but the cursor's empty
    one is text; otherwise the log may stop higher up."""
    cols = width // FONT_W
    screen = decode_console(img, width, height)
    if len(screen) <= HEADER_ROWS:
        raise PictureMismatch("console: %d text rows, no room for the log" % len(screen))
    for i, want in enumerate(header):
        got = screen[i].rstrip(" ")
        if got != want[:cols].rstrip(" "):
            raise PictureMismatch("console header row %d reads %r, expected %r"
                                  % (i, got, want[:cols]))
    log = [r.rstrip(" ") for r in screen[HEADER_ROWS:]]
    end = len(log)
    while end > 0 and log[end - 1] == "":
        end -= 1
    shown = log[:end]
    expected = [r.rstrip(" ") for r in console_lines(serial, cols)]
    if not shown:
        raise PictureMismatch("console: no log text below the header; the serial "
                              "log ends with %r" % expected[-3:])
    if full and len(shown) != len(log) - 1:
        raise PictureMismatch("console: %d of %d log rows hold text; a boot console "
                              "is full up to the cursor's row\n%s"
                              % (len(shown), len(log), "\n".join(log)))
    if expected[-len(shown):] != shown:
        want = expected[-len(shown):]
        diff = ["row %d: screen %r\n       serial %r" % (HEADER_ROWS + i, s, w)
                for i, (s, w) in enumerate(zip(shown, want)) if s != w]
        raise PictureMismatch("console does not show the end of the serial log:\n%s"
                              % "\n".join(diff or ["(the serial log is shorter)"]))


def check_boot_picture(png, width, height, out_dir, serial, header, pattern=False,
                       full_console=True, console=True):
    """Raises PictureMismatch (saving a difference image next to the
    screendump) unless `png` shows the boot picture at width x height:
    the bars pixel for pixel (with the test build's damage pattern when
    `pattern`), and a console whose header is `header` and whose log rows
    are the end of `serial`. Without `console` (a build without
    CONFIG_GPU_CONSOLE) the bottom quarter must be background (black)
    throughout: `serial` and `header` are not used."""
    with Image.open(png) as raw:
        img = raw.convert("RGB")
    size = img.size
    if size == PLACEHOLDER_SIZE and (width, height) != PLACEHOLDER_SIZE:
        raise PictureMismatch("screendump %s is 640x480: QEMU's placeholder "
                              "('Guest has not initialized the display'), "
                              "no scanout was set" % png)
    if size != (width, height):
        raise PictureMismatch("screendump %s is %dx%d, expected %dx%d"
                              % (png, size[0], size[1], width, height))
    if img.getbbox() is None:
        raise PictureMismatch("screendump %s is entirely black" % png)
    top = height * 3 // 4
    want = expected_top(width, height, pattern)
    got = img.crop((0, 0, width, top))
    diff = ImageChops.difference(got, want)
    bbox = diff.getbbox()
    if bbox is not None:
        diff_path = os.path.join(out_dir, os.path.basename(png)[:-4] + "-diff.png")
        # Mismatching pixels in red on the expected picture, dimmed.
        mask = diff.convert("L").point(lambda v: 255 if v else 0)
        marked = Image.blend(want, Image.new("RGB", want.size), 0.6)
        marked.paste((255, 0, 0), mask=mask)
        marked.save(diff_path)
        bad = sum(1 for v in mask.getdata() if v)
        raise PictureMismatch(
            "bar region differs from the boot picture%s: %d pixels wrong, within "
            "%s; screendump %s, difference %s"
            % (" with the damage pattern" if pattern else "", bad, bbox, png,
               diff_path))
    if not console:
        lit = img.crop((0, top, width, height)).getbbox()
        if lit is not None:
            raise PictureMismatch(
                "the bottom quarter (rows %d-%d) should be background (black) "
                "without a console, but pixels within %s are lit; screendump %s"
                % (top, height - 1, (lit[0], lit[1] + top, lit[2], lit[3] + top), png))
        return
    try:
        check_console(img, width, height, serial, header, full_console)
    except PictureMismatch as e:
        raise PictureMismatch("%s; screendump %s" % (e, png)) from None
