/* The text console of every lit scanout (lib/gfx/console.h) over the
 * bottom quarter of the screen: two header rows naming the device, its
 * transport, ring and mode, and the EDID monitor; below them the kernel
 * log, each device's consoles being one log sink. */
#include <lib/fmt.h>
#include <lib/log.h>
#include <ringlight/config.h>

#include "gpu_internal.h"

#define CONSOLE_HEADER_ROWS 2

/* "W" "x" "H" at buf[n]. */
static size_t append_size(char *buf, size_t size, size_t n, uint32_t w,
                          uint32_t h) {
  n = rl_append(buf, size, rl_append_dec(buf, size, n, w), "x");
  return rl_append_dec(buf, size, n, h);
}

/* Written before the first picture: without rl_snprintf (rl_append; see
 * klog_later). */
static void console_header(struct gpu *g, struct gpu_scanout *so,
                           unsigned index) {
  char line[160];
  const size_t size = sizeof(line);
  /* "%s %s | %s | %s ring | scanout %u: %ux%u"; the transport names the
   * slot: one device's console from another's. */
  size_t n =
      rl_append(line, size, 0, CONFIG_KERNEL_BANNER " " CONFIG_ARCH " | ");
  char transport[48];
  g->dev->transport->describe(g->dev, transport, sizeof(transport));
  n = rl_append(line, size, rl_append(line, size, n, transport), " | ");
  n = rl_append(line, size, n, virtqueue_ring_name(g->ctrlq));
  n = rl_append_dec(line, size, rl_append(line, size, n, " ring | scanout "),
                    index);
  (void)append_size(line, size, rl_append(line, size, n, ": "), so->mode.width,
                    so->mode.height);
  fbcon_set_header(&so->con, 0, line);
  if (!so->have_edid) {
    return;
  }
  /* "monitor \"%s\" (%s), preferred %ux%u" or "..., no preferred mode" */
  n = rl_append(line, size, rl_append(line, size, 0, "monitor \""),
                so->edid.name);
  n = rl_append(line, size, rl_append(line, size, n, "\" ("), so->edid.vendor);
  if (so->edid.pref_width == 0) {
    (void)rl_append(line, size, n, "), no preferred mode");
  } else {
    (void)append_size(line, size, rl_append(line, size, n, "), preferred "),
                      so->edid.pref_width, so->edid.pref_height);
  }
  fbcon_set_header(&so->con, 1, line);
}

void gpu_console_init(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  uint32_t w = so->fb.width, h = so->fb.height;
  uint32_t top = (uint32_t)((uint64_t)h * 3 / 4);
  fbcon_init(&so->con, &so->fb, (struct fb_rect){0, top, w, h - top},
             CONSOLE_HEADER_ROWS);
  console_header(g, so, index);
}

static void console_sink(const char *text, size_t len, void *ctx) {
  struct gpu *g = ctx;
  for (unsigned i = 0; i < GPU_NUM_SCANOUTS(g); i++) {
    if (g->scanout[i].active) {
      fbcon_write(&g->scanout[i].con, text, len);
    }
  }
}

void gpu_console_echo(struct gpu *g, const char *text, size_t len) {
  if (g != NULL && g->ready) {
    console_sink(text, len, g);
  }
}

void gpu_console_start(struct gpu *g) {
  rl_status st = klog_add_sink(console_sink, g);
  if (st != RL_OK) {
    klog(LOG_WARN, "%s: the log is not shown on screen: %s\n", g->dev->name,
         rl_status_str(st));
  }
}

void gpu_console_stop(struct gpu *g) { klog_remove_sink(console_sink, g); }
