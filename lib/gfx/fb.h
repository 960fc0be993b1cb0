/* Framebuffer surfaces: 32-bit XRGB pixels (0x00RRGGBB) in rows that may
 * live in separate physically contiguous chunks (a virtio-gpu device sees
 * them as one linear resource through a scatter list). Drawing records
 * damage; whoever shows the surface sends only the damaged rectangle. */
#ifndef LIB_GFX_FB_H
#define LIB_GFX_FB_H

#include <ringlight/types.h>

struct fb_rect {
  uint32_t x, y, w, h;
};

#define FB_MAX_CHUNKS 256

struct fb_surface {
  uint32_t width, height;
  uint32_t stride;         /* bytes per row */
  uint32_t rows_per_chunk; /* every chunk but the last holds this many */
  uint32_t nchunks;
  uint8_t *chunk[FB_MAX_CHUNKS];
  struct fb_rect damage;
  bool damaged;
};

static inline uint32_t *fb_row(const struct fb_surface *s, uint32_t y) {
  return (uint32_t *)(s->chunk[y / s->rows_per_chunk] +
                      (size_t)(y % s->rows_per_chunk) * s->stride);
}

/* Clips `r` to the surface; false when nothing is left. */
bool fb_clip(const struct fb_surface *s, struct fb_rect *r);
void fb_fill(struct fb_surface *s, struct fb_rect r, uint32_t xrgb);
/* Copies a w x h block of pixels (src_stride pixels per row) to (x, y). */
void fb_blit(struct fb_surface *s, uint32_t x, uint32_t y, const uint32_t *src,
             uint32_t w, uint32_t h, uint32_t src_stride);
void fb_damage(struct fb_surface *s, struct fb_rect r);
/* Takes the damaged rectangle (the union since the last take). */
bool fb_take_damage(struct fb_surface *s, struct fb_rect *out);

#endif
