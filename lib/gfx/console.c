/* The text console (console.h) on a framebuffer surface. */
#include <lib/gfx/console.h>
#include <lib/gfx/font8x16.h>

static void draw_char(struct fb_console *c, uint32_t col, uint32_t row, char ch,
                      uint32_t fg) {
  uint32_t px = c->area.x + col * FONT_W;
  uint32_t py = c->area.y + row * FONT_H;
  uint8_t code = (uint8_t)ch;
  const uint8_t *glyph = (code >= FONT_FIRST && code <= FONT_LAST)
                             ? font8x16[code - FONT_FIRST]
                             : font8x16['?' - FONT_FIRST];
  for (uint32_t y = 0; y < FONT_H; y++) {
    if (py + y >= c->s->height) {
      break;
    }
    uint32_t *line = fb_row(c->s, py + y);
    for (uint32_t x = 0; x < FONT_W && px + x < c->s->width; x++) {
      line[px + x] = (glyph[y] & (0x80u >> x)) ? fg : c->bg;
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

static void scroll(struct fb_console *c) {
  /* Move the scrolling rows up by one text row. */
  uint32_t top = c->area.y + c->header_rows * FONT_H;
  uint32_t bottom = c->area.y + c->rows * FONT_H;
  for (uint32_t y = top; y + FONT_H < bottom; y++) {
    uint32_t *dst = fb_row(c->s, y);
    const uint32_t *src = fb_row(c->s, y + FONT_H);
    for (uint32_t x = c->area.x; x < c->area.x + c->cols * FONT_W; x++) {
      dst[x] = src[x];
    }
  }
  fb_fill(
      c->s,
      (struct fb_rect){c->area.x, bottom - FONT_H, c->cols * FONT_W, FONT_H},
      c->bg);
  fb_damage(c->s,
            (struct fb_rect){c->area.x, top, c->cols * FONT_W, bottom - top});
}

static void newline(struct fb_console *c) {
  c->cx = 0;
  if (c->cy + 1 < c->rows) {
    c->cy++;
  } else {
    scroll(c); /* fbcon_write returns early when nothing scrolls */
  }
}

void fbcon_write(struct fb_console *c, const char *text, size_t len) {
  if (c->rows <= c->header_rows || c->cols == 0) {
    return;
  }
  for (size_t i = 0; i < len; i++) {
    char ch = text[i];
    if (ch == '\n') {
      newline(c);
      continue;
    }
    if (ch == '\r') {
      c->cx = 0;
      continue;
    }
    if (ch == '\b') { /* erase the cell before the cursor, on its row */
      if (c->cx > 0) {
        c->cx--;
        draw_char(c, c->cx, c->cy, ' ', c->fg);
      }
      continue;
    }
    if (c->cx >= c->cols) {
      newline(c);
    }
    draw_char(c, c->cx, c->cy, ch, c->fg);
    c->cx++;
  }
}
