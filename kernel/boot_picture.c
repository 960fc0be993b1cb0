/* The boot picture (boot_picture.h). */
#include <kernel/boot_picture.h>
#include <ringlight/config.h>

void boot_picture_draw(struct fb_surface *s) {
  /* README "The boot picture": bar i spans columns floor(i*W/8) to
   * floor((i+1)*W/8)-1 over rows 0 to floor(3H/4)-1. */
  static const uint32_t bars[8] = {0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
                                   0xff00ff, 0xff0000, 0x0000ff, 0x000000};
  uint32_t top = (uint32_t)((uint64_t)s->height * 3 / 4);
  for (uint32_t i = 0; i < 8; i++) {
    uint32_t x0 = (uint32_t)((uint64_t)i * s->width / 8);
    uint32_t x1 = (uint32_t)((uint64_t)(i + 1) * s->width / 8);
    fb_fill(s, (struct fb_rect){x0, 0, x1 - x0, top}, bars[i]);
  }
#ifndef CONFIG_GPU_CONSOLE
  fb_fill(s, (struct fb_rect){0, top, s->width, s->height - top}, 0x000000);
#endif
}
