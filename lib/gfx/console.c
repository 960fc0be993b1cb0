/* The text console (console.h) on a framebuffer surface. */
#include <lib/gfx/console.h>
#include <lib/gfx/font8x16.h>
#include <string.h>

/* Two pixels a store where a glyph row lies whole on the surface and
 * 8-byte aligned (the GPU's framebuffers: cells at even x, rows a
 * multiple of 8 bytes apart), each pair picked by two glyph bits; pixel
 * by pixel elsewhere. A boot picture's console is some thousand cells. */
typedef uint64_t __attribute__((may_alias)) con_pair_t;

static void draw_char(struct fb_console *c, uint32_t col, uint32_t row, char ch,
                      uint32_t fg) {
  uint32_t px = c->area.x + col * FONT_W;
  uint32_t py = c->area.y + row * FONT_H;
  uint8_t code = (uint8_t)ch;
  unsigned first, n;
  const uint8_t *rows =
      font_glyph((code >= FONT_FIRST && code <= FONT_LAST) ? code - FONT_FIRST
                                                           : '?' - FONT_FIRST,
                 &first, &n);
  uint64_t bg = c->bg;
  /* Bit 0 of the index: the left pixel (the lower address) is lit. */
  const uint64_t pair[4] = {bg | bg << 32, fg | bg << 32,
                            bg | (uint64_t)fg << 32, fg | (uint64_t)fg << 32};
  bool whole = px + FONT_W <= c->s->width && px + FONT_W > px;
  for (uint32_t y = 0; y < FONT_H; y++) {
    if (py + y >= c->s->height) {
      break;
    }
    uint32_t *line = fb_row(c->s, py + y) + px;
    unsigned k = y - first; /* wraps above the first stored row */
    unsigned bits = k < n ? rows[k] : 0;
    if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && whole &&
        ((uintptr_t)line & 7u) == 0) {
      con_pair_t *q = (con_pair_t *)line;
      q[0] = pair[((bits >> 7) & 1u) | ((bits >> 5) & 2u)];
      q[1] = pair[((bits >> 5) & 1u) | ((bits >> 3) & 2u)];
      q[2] = pair[((bits >> 3) & 1u) | ((bits >> 1) & 2u)];
      q[3] = pair[((bits >> 1) & 1u) | ((bits << 1) & 2u)];
      continue;
    }
    for (uint32_t x = 0; x < FONT_W && px + x < c->s->width; x++) {
      line[x] = (bits & (0x80u >> x)) ? fg : c->bg;
    }
  }
  fb_damage(c->s, (struct fb_rect){px, py, FONT_W, FONT_H});
}

void fbcon_init(struct fb_console *c, struct fb_surface *s, struct fb_rect area,
                uint32_t header_rows) {
  c->s = s;
  if (!fb_clip(s, &area)) {
    area = (struct fb_rect){0, 0, 0, 0};
  }
  c->area = area;
  c->cols = area.w / FONT_W;
  c->rows = area.h / FONT_H;
  c->header_rows = RL_MIN(header_rows, c->rows);
  c->cx = 0;
  c->cy = c->header_rows;
  c->fg = 0xc0c0c0;
  c->header_fg = 0xffffff;
  c->bg = 0x000000;
  fb_fill(s, area, c->bg);
}

void fbcon_set_header(struct fb_console *c, uint32_t row, const char *text) {
  if (row >= c->header_rows) {
    return;
  }
  uint32_t col = 0;
  for (; col < c->cols && text[col] != '\0'; col++) {
    draw_char(c, col, row, text[col], c->header_fg);
  }
  for (; col < c->cols; col++) {
    draw_char(c, col, row, ' ', c->header_fg);
  }
}

/* Moves the scrolling rows up by `n` text rows (1 <= n <= their count),
 * fills the rows that come free with the background, damages the
 * scrolling part: what n scrolls one by one leave, with one move. */
static void scroll_by(struct fb_console *c, uint32_t n) {
  uint32_t top = c->area.y + c->header_rows * FONT_H;
  uint32_t bottom = c->area.y + c->rows * FONT_H;
  uint32_t shift = n * FONT_H;
  size_t bytes = (size_t)c->cols * FONT_W * 4;
  for (uint32_t y = top; y + shift < bottom; y++) {
    memcpy(fb_row(c->s, y) + c->area.x, fb_row(c->s, y + shift) + c->area.x,
           bytes);
  }
  fb_fill(c->s,
          (struct fb_rect){c->area.x, bottom - shift, c->cols * FONT_W, shift},
          c->bg);
  fb_damage(c->s,
            (struct fb_rect){c->area.x, top, c->cols * FONT_W, bottom - top});
}

/* The cursor as drawing moves it: a newline on the last row scrolls
 * (counted), a character past the last column wraps first. */
struct cursor {
  uint32_t cx, cy;
  size_t scrolls;
};

static void advance_line(const struct fb_console *c, struct cursor *k) {
  k->cx = 0;
  if (k->cy + 1 < c->rows) {
    k->cy++;
  } else {
    k->scrolls++;
  }
}

void fbcon_write(struct fb_console *c, const char *text, size_t len) {
  if (c->rows <= c->header_rows || c->cols == 0) {
    return;
  }
  /* First where the text ends: a replay of many lines scrolls once, by
   * all it needs, and draws only the characters still on screen at the
   * end (scrolling per line, pixel by pixel, was most of the boot after
   * the first picture under emulation). The pixels are those of drawing
   * and scrolling one line at a time. */
  struct cursor k = {c->cx, c->cy, 0};
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n') {
      advance_line(c, &k);
    } else if (text[i] == '\r') {
      k.cx = 0;
    } else if (text[i] == '\b') {
      k.cx -= k.cx > 0 ? 1 : 0;
    } else {
      if (k.cx >= c->cols) {
        advance_line(c, &k);
      }
      k.cx++;
    }
  }
  size_t total = k.scrolls;
  uint32_t log_rows = c->rows - c->header_rows;
  if (total > 0) {
    scroll_by(c, total < log_rows ? (uint32_t)total : log_rows);
  }
  k = (struct cursor){c->cx, c->cy, 0};
  for (size_t i = 0; i < len; i++) {
    char ch = text[i];
    if (ch == '\n') {
      advance_line(c, &k);
      continue;
    }
    if (ch == '\r') {
      k.cx = 0;
      continue;
    }
    /* Where the scrolls still to come leave it. */
    size_t behind = total - k.scrolls;
    if (ch == '\b') { /* erase the cell before the cursor, on its row */
      if (k.cx > 0) {
        k.cx--;
        if (k.cy >= c->header_rows + behind) {
          draw_char(c, k.cx, (uint32_t)(k.cy - behind), ' ', c->fg);
        }
      }
      continue;
    }
    if (k.cx >= c->cols) {
      advance_line(c, &k);
      behind = total - k.scrolls;
    }
    if (k.cy >= c->header_rows + behind) {
      draw_char(c, k.cx, (uint32_t)(k.cy - behind), ch, c->fg);
    }
    k.cx++;
  }
  c->cx = k.cx;
  c->cy = k.cy;
}
