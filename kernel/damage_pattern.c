/* Test-only (CONFIG_TEST_GPU_DAMAGE_PATTERN): a rectangle at an odd
 * position inside the bars of scanout 0 of the first GPU whose pixels differ at
 * every position, presented alone through the normal damage path (fb_damage,
 * then gpu_present: TRANSFER_TO_HOST_2D and RESOURCE_FLUSH of exactly this
 * rectangle, with x, y and the backing offset all non-zero). The display
 * tests compute the same pattern (tests/qemu/display.py, damage_pattern)
 * and compare it pixel by pixel, and the bars around it unchanged. */
#include <drivers/gpu/gpu.h>
#include <kernel/boot.h>
#include <lib/log.h>

/* Crosses bar edges (1280 and 1024 wide screens) and, at 1280x800, the
 * framebuffer's chunk edge at row 204. */
#define PATTERN_X 301u
#define PATTERN_Y 151u
#define PATTERN_W 333u
#define PATTERN_H 99u

/* Distinct for every (x, y) below 4096: red the low byte of x, green the
 * low byte of y, blue their bits 8-11 (x low nibble, y high nibble). */
static uint32_t pattern(uint32_t x, uint32_t y) {
  return (x & 0xffu) << 16 | (y & 0xffu) << 8 | ((y >> 8) & 0xfu) << 4 |
         ((x >> 8) & 0xfu);
}

rl_status boot_damage_pattern(void) {
  struct gpu *g = gpu_get(0);
  struct fb_surface *s = gpu_surface(g, 0);
  if (s == NULL) {
    return RL_ERR_NOT_FOUND;
  }
  struct fb_rect r = {PATTERN_X, PATTERN_Y, PATTERN_W, PATTERN_H};
  if (r.x + r.w > s->width || r.y + r.h > s->height * 3 / 4) {
    return RL_ERR_NOT_SUPPORTED; /* the rectangle must lie in the bars */
  }
  /* Send what is pending first, so the pattern goes out alone. */
  rl_status st = gpu_present(g);
  if (st != RL_OK) {
    return st;
  }
  for (uint32_t y = r.y; y < r.y + r.h; y++) {
    uint32_t *row = fb_row(s, y);
    for (uint32_t x = r.x; x < r.x + r.w; x++) {
      row[x] = pattern(x, y);
    }
  }
  fb_damage(s, r);
  st = gpu_present(g);
  kprintf("test: damage pattern %ux%u at (%u,%u) presented: %s\n", r.w, r.h,
          r.x, r.y, rl_status_str(st));
  return st;
}
