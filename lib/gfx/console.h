/* A text console on a framebuffer area, with the built-in 8x16 font.
 * The first `header_rows` rows are a fixed status header; the rest
 * scroll. */
#ifndef LIB_GFX_CONSOLE_H
#define LIB_GFX_CONSOLE_H

#include <lib/gfx/fb.h>

struct fb_console {
  struct fb_surface *s;
  struct fb_rect area;
  uint32_t cols, rows, header_rows;
  uint32_t cx, cy; /* cursor in the scrolling part */
  uint32_t fg, bg, header_fg;
};

void fbcon_init(struct fb_console *c, struct fb_surface *s, struct fb_rect area,
                uint32_t header_rows);
/* Replaces header row `row` with `text`. */
void fbcon_set_header(struct fb_console *c, uint32_t row, const char *text);
/* Writes text: '\n' new line, '\r' to column 0, '\b' erases the cell
 * before the cursor (not past the start of its row). */
void fbcon_write(struct fb_console *c, const char *text, size_t len);

#endif
