"""Checks a QEMU screendump against the boot picture (README, "The boot
picture"): the pixels decide, never the driver's log.

On every scanout of width W and height H, rows 0 to floor(3H/4)-1 are
eight vertical bars, bar i spanning columns floor(iW/8) to
floor((i+1)W/8)-1: white, yellow, cyan, green, magenta, red, blue, black.
The bottom quarter is the text console: black with text on it.
"""
import os

from PIL import Image, ImageChops

BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
PLACEHOLDER_SIZE = (640, 480)
MIN_TEXT_PIXELS = 500   # the console header alone lights thousands
MIN_TEXT_ROWS = 2       # text on at least two 16-pixel text rows


class PictureMismatch(AssertionError):
    pass


def expected_bars(width, height):
    top = height * 3 // 4
    img = Image.new("RGB", (width, top))
    for i, color in enumerate(BARS):
        x0, x1 = i * width // 8, (i + 1) * width // 8
        if x1 > x0:
            img.paste(color, (x0, 0, x1, top))
    return img


def check_boot_picture(png, width, height, out_dir):
    """Raises PictureMismatch (saving the screendump and a difference image
    next to it) unless `png` shows the boot picture at width x height."""
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
    want = expected_bars(width, height)
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
            "bar region differs from the boot picture: %d pixels wrong, within "
            "%s; screendump %s, difference %s" % (bad, bbox, png, diff_path))
    console = img.crop((0, top, width, height))
    lit = [y for y in range(console.size[1])
           if console.crop((0, y, width, y + 1)).getbbox() is not None]
    text_rows = {y // 16 for y in lit}
    pixels = sum(1 for p in console.getdata() if p != (0, 0, 0))
    if pixels < MIN_TEXT_PIXELS or len(text_rows) < MIN_TEXT_ROWS:
        raise PictureMismatch("console region (rows %d-%d) holds no text: %d lit "
                              "pixels on %d text rows; screendump %s"
                              % (top, height - 1, pixels, len(text_rows), png))
