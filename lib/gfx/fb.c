/* Framebuffer surfaces (fb.h): clipping, damage, fill, blit. */
#include <lib/gfx/fb.h>

bool fb_clip(const struct fb_surface *s, struct fb_rect *r) {
  if (r->x >= s->width || r->y >= s->height || r->w == 0 || r->h == 0) {
    return false;
  }
  r->w = RL_MIN(r->w, s->width - r->x);
  r->h = RL_MIN(r->h, s->height - r->y);
  return true;
}

/* Adds `r`, already clipped, to the damage. Out of line: fb_fill and
 * fb_blit call it once per call. */
static __attribute__((noinline)) void damage_clipped(struct fb_surface *s,
                                                     struct fb_rect r) {
  if (!s->damaged) {
    s->damage = r;
    s->damaged = true;
    return;
  }
  uint32_t x0 = RL_MIN(s->damage.x, r.x);
  uint32_t y0 = RL_MIN(s->damage.y, r.y);
  uint32_t x1 = RL_MAX(s->damage.x + s->damage.w, r.x + r.w);
  uint32_t y1 = RL_MAX(s->damage.y + s->damage.h, r.y + r.h);
  s->damage = (struct fb_rect){x0, y0, x1 - x0, y1 - y0};
}

void fb_damage(struct fb_surface *s, struct fb_rect r) {
  if (fb_clip(s, &r)) {
    damage_clipped(s, r);
  }
}

bool fb_take_damage(struct fb_surface *s, struct fb_rect *out) {
  if (!s->damaged) {
    return false;
  }
  *out = s->damage;
  s->damaged = false;
  return true;
}

/* Two pixels a store, sixteen stores an iteration: the boot picture
 * fills megabytes, and under emulation every instruction of this loop
 * counts (per-pixel stores took a third of the boot to the first frame).
 * Unrolled here, so not again by the compiler (its copies of the loops
 * and their remainders cost 500 bytes and no time). */
typedef uint64_t __attribute__((may_alias)) fb_pair_t;

static void fill_run(uint32_t *p, uint32_t n, uint32_t xrgb) {
  if (n > 0 && ((uintptr_t)p & 7u) != 0) {
    *p++ = xrgb;
    n--;
  }
  fb_pair_t two = ((uint64_t)xrgb << 32) | xrgb;
  fb_pair_t *q = (fb_pair_t *)p;
#pragma GCC unroll 1
  for (; n >= 32; n -= 32, q += 16) {
    for (unsigned i = 0; i < 16; i++) {
      q[i] = two;
    }
  }
#pragma GCC unroll 1
  for (; n >= 2; n -= 2) {
    *q++ = two;
  }
  if (n > 0) {
    *(uint32_t *)q = xrgb;
  }
}

void fb_fill(struct fb_surface *s, struct fb_rect r, uint32_t xrgb) {
  if (!fb_clip(s, &r)) {
    return;
  }
  for (uint32_t y = r.y; y < r.y + r.h; y++) {
    fill_run(fb_row(s, y) + r.x, r.w, xrgb);
  }
  damage_clipped(s, r);
}

void fb_blit(struct fb_surface *s, uint32_t x, uint32_t y, const uint32_t *src,
             uint32_t w, uint32_t h, uint32_t src_stride) {
  struct fb_rect r = {x, y, w, h};
  if (!fb_clip(s, &r)) {
    return;
  }
  for (uint32_t j = 0; j < r.h; j++) {
    uint32_t *row = fb_row(s, y + j);
    const uint32_t *from = src + (size_t)j * src_stride;
    for (uint32_t i = 0; i < r.w; i++) {
      row[x + i] = from[i];
    }
  }
  damage_clipped(s, r);
}
