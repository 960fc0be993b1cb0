/* drivers/gpu on the host, against the virtio-gpu device model
 * (gpu_model.h) on the virtio-mmio model (vmmio.h): the driver's own
 * probe, present, cursor and display-change paths, checked by what the
 * device received and keeps (its copy of every resource, its command
 * log), never by what the driver reports.
 *
 * Every case runs on each transport (legacy with the split ring, modern
 * with split, modern with packed; packed falls back to split on a
 * non-coherent device) in each cache variant (coherent, and
 * non-coherent on the host write-back cache model with 64- and 128-byte
 * lines: the device model then sees only what the driver cleaned, and
 * the driver only what it invalidated). Named
 * "<transport>/<variant>/<case>". Time is virtual: a device that never
 * answers costs no real time.
 *
 * The two_gpus cases add a second device model (another slot address and
 * interrupt, another mode) and check that each device keeps its own
 * driver state: picture, damage, display changes, cursor, console and
 * re-initialisation of one never touch the other. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/time.h>
#include <drivers/gpu/gpu.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>
#include <virtio/transport-mmio/mmio.h>

#include "arch_host.h"
#include <tests/unit/support/fixture.h>
#include <tests/unit/support/log_capture.h>

#include "gpu_model.h"
#include "tests/unit/virtio/cache_variants.h"

extern const struct virtio_driver virtio_gpu_driver;

#define W 1280u
#define H 800u
#define STRIDE (W * 4u)
#define GPU_IRQ 47u
#define GPU_PA 0x0a003e00u
/* The second device of the two_gpus cases: the slot below, its own
 * interrupt and mode. */
#define GPU2_IRQ 46u
#define GPU2_PA 0x0a003c00u
#define W2 1024u
#define H2 640u
#define CURSOR_RES 0x100u
#ifdef CONFIG_GPU_CURSOR
#define CURSOR_RESOURCES 1u /* the cursor's resource, next to the scanout's */
#else
#define CURSOR_RESOURCES 0u
#endif
#ifdef CONFIG_GPU_WARMUP
#define GPU_WARMUP_BUILT true /* the probe's warm-up transfer */
#else
#define GPU_WARMUP_BUILT false
#endif
/* Whether a failed resource is torn down (GPU_TEARDOWN in the driver). */
#if defined(CONFIG_VIRTIO_RECOVERY) || defined(CONFIG_GPU_DISPLAY_EVENTS)
#define TEARDOWN_BUILT true
#else
#define TEARDOWN_BUILT false
#endif
/* CREATE_2D and ATTACH_BACKING posted together (gpu_resource.c): with a
 * warm-up or a teardown; the smallest image sends one after the other. */
#if defined(CONFIG_GPU_WARMUP) || defined(CONFIG_VIRTIO_RECOVERY) ||           \
    defined(CONFIG_GPU_DISPLAY_EVENTS)
#define PAIR_POSTED 1
#endif

/* Transport features QEMU 7.2 offers a virtio-gpu-device (§6). */
#define T_INDIRECT ((uint64_t)1 << 28)
#define T_EVENT_IDX ((uint64_t)1 << 29)
#define T_PACKED ((uint64_t)1 << 34)

struct transport {
  const char *name;
  uint32_t version;
  uint64_t features;
  const char *ring; /* the layout the driver must choose */
};

static const struct transport transports[] = {
    {"legacy-split", 1, T_INDIRECT | T_EVENT_IDX, "split"},
    {"modern-split", 2, T_INDIRECT | T_EVENT_IDX, "split"},
#ifdef CONFIG_VIRTIO_QUEUE_PACKED
    {"modern-packed", 2, T_INDIRECT | T_EVENT_IDX | T_PACKED, "packed"},
#endif
};

struct run {
  const struct transport *t;
  const struct cache_variant *v;
  CMUnitTestFunction fn;
  const char *name;
  const char *xfail;
};

/* One device: its model and the core's record of it. */
struct fx {
  const struct run *run;
  struct gpu_model *gm;
  struct vm_dev *vm;
  struct virtio_device *dev;
  uint32_t w, h;     /* the mode the model starts with */
  struct fx *second; /* the two_gpus cases' second device */
};

/* ---- fixture ---------------------------------------------------------- */

static struct fx *device_create(const struct run *run, paddr_t pa, unsigned irq,
                                uint32_t w, uint32_t h) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->run = run;
  f->w = w;
  f->h = h;
  struct gpu_model_config c = {
      .version = run->t->version,
      .transport = run->t->features,
      .edid = true,
      .num_scanouts = 1,
      .scanout = {{.enabled = true, .width = w, .height = h}},
      .irq = irq,
      .pa = pa,
  };
  f->gm = gpu_model_create(&c);
  f->vm = gpu_model_vm(f->gm);
  f->dev = vm_core_device(f->vm, run->v->line == 0, &virtio_gpu_driver);
  return f;
}

/* The queues go with the reset; then the driver's state (its buffers are
 * no longer the device's) goes with gpu_remove. */
static void device_destroy(struct fx *f) {
  if (f == NULL) {
    return;
  }
  vm_core_device_stop(f->dev);
  gpu_remove(f->dev);
  assert_null(f->dev->priv);
  gpu_model_destroy(f->gm);
  vm_core_device_free(f->dev);
  free(f);
}

/* README "The boot picture": bar i spans columns floor(i*W/8) to
 * floor((i+1)*W/8)-1 over rows 0 to floor(3H/4)-1, in this order. */
static const uint32_t bar_colour[8] = {0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
                                       0xff00ff, 0xff0000, 0x0000ff, 0x000000};

/* The painter kernel_main hands the driver (kernel/boot_picture.c), drawn
 * here from the README: the bars over the top three quarters, black
 * below. */
static void readme_picture(struct fb_surface *s) {
  uint32_t top = s->height * 3 / 4;
  for (uint32_t i = 0; i < 8; i++) {
    uint32_t x0 = (uint32_t)((uint64_t)i * s->width / 8);
    uint32_t x1 = (uint32_t)((uint64_t)(i + 1) * s->width / 8);
    fb_fill(s, (struct fb_rect){x0, 0, x1 - x0, top}, bar_colour[i]);
  }
  fb_fill(s, (struct fb_rect){0, top, s->width, s->height - top}, 0);
}

static int fx_setup(void **state) {
  const struct run *run = *state;
  host_irq_reset();
  host_time_virtual(true);
  cache_variant_enter(run->v);
  /* As kernel_main does before probing: the boot picture on every
   * scanout. */
  gpu_set_painter(readme_picture);
#ifndef CONFIG_LOG_TEXT
  log_capture_start(); /* terse lines look alike: only this case's */
#endif
  *state = device_create(run, GPU_PA, GPU_IRQ, W, H);
  return 0;
}

static int fx_teardown(void **state) {
  struct fx *f = *state;
  device_destroy(f->second);
  device_destroy(f);
  assert_int_equal(gpu_count(), 0);
  host_irq_reset();
  cache_variant_leave();
  host_time_virtual(false);
  return 0;
}

/* The second device of the two_gpus cases, torn down with the first. */
static struct fx *second_device(struct fx *f) {
  f->second = device_create(f->run, GPU2_PA, GPU2_IRQ, W2, H2);
  return f->second;
}

/* ---- helpers ---------------------------------------------------------- */

/* The last lines of the kernel log (the replay klog_add_sink gives a new
 * sink), next to the consoles. */
static const char *log_tail(void) {
#ifdef CONFIG_LOG_TEXT
  return log_capture_replay();
#else
  return log_capture_text();
#endif
}

/* The driver's handle of the device `f` plays, found through the
 * kernel-facing API (NULL when not bound). */
static struct gpu *gpu_of(struct fx *f) {
  for (unsigned i = 0; i < gpu_count(); i++) {
    struct gpu *g = gpu_get(i);
    assert_non_null(g);
    if (strcmp(gpu_name(g), f->dev->name) == 0) {
      return g;
    }
  }
  return NULL;
}

static struct gpu *bound(struct fx *f) {
  struct gpu *g = gpu_of(f);
  if (g == NULL) {
    fail_msg("%s is not among the driver's %u bound device(s)", f->dev->name,
             gpu_count());
  }
  return g;
}

static void assert_log_has(const char *needle) {
  const char *log = log_tail();
  if (strstr(log, needle) == NULL) {
    fail_msg("the log does not say \"%s\"; its end:\n%s", needle, log);
  }
}

/* The log says `text`, or without CONFIG_LOG_TEXT the terse line (lib/log.h)
 * the device's name then `args`. */
#ifdef CONFIG_LOG_TEXT
#define assert_log_says(f, text, args) assert_log_has(text)
#else
#define assert_log_says(f, text, args) assert_log_terse(f, args)
static void assert_log_terse(struct fx *f, const char *args) {
  char needle[160];
  (void)snprintf(needle, sizeof(needle), "%s %s", f->dev->name, args);
  assert_log_has(needle);
}
#endif

static void probe_ok(struct fx *f) {
  rl_status st = virtio_gpu_driver.probe(f->dev);
  if (st != RL_OK) {
    fail_msg("probe: %s; log:\n%s", rl_status_str(st), log_tail());
  }
  const char *ring = f->run->t->ring;
  if (strcmp(ring, "packed") == 0 && f->run->v->line != 0) {
    /* Not dma-coherent: the packed ring is refused and split used, with
     * one warning naming the device (virtio/core/vq_select.c). */
    char warning[160];
    (void)snprintf(warning, sizeof(warning),
                   "%s: packed ring refused, using the split ring: the "
                   "device is not dma-coherent",
                   f->dev->name);
    assert_log_has(warning);
    ring = "split";
  }
  assert_string_equal(vm_queue_layout(f->vm, 0), ring);
#ifdef CONFIG_GPU_CURSOR
  assert_string_equal(vm_queue_layout(f->vm, 1), ring);
#else
  assert_null(vm_queue_layout(f->vm, 1));   /* no cursorq without a cursor */
#endif
}

/* Probe, then one more present: the probe's last log line damaged the
 * console after its own present. */
static void probe_settled(struct fx *f) {
  probe_ok(f);
  assert_int_equal(gpu_present(bound(f)), RL_OK);
}

static const struct gm_resource *resource(struct fx *f, uint32_t id) {
  const struct gm_resource *r = gpu_model_resource(f->gm, id);
  if (r == NULL) {
    fail_msg("the device has no resource %u", id);
  }
  return r;
}

/* The device's copy of resource `id` equals `expected` (w x h pixels). */
static void assert_pixels(struct fx *f, uint32_t id, const uint32_t *expected,
                          uint32_t w, uint32_t h) {
  const struct gm_resource *r = resource(f, id);
  assert_int_equal(r->width, w);
  assert_int_equal(r->height, h);
  for (uint32_t y = 0; y < h; y++) {
    for (uint32_t x = 0; x < w; x++) {
      uint32_t got = r->pixels[(size_t)y * w + x];
      uint32_t want = expected[(size_t)y * w + x];
      if (got != want) {
        fail_msg("resource %u pixel (%u,%u): device has %#010x, expected "
                 "%#010x",
                 id, x, y, got, want);
      }
    }
  }
}

/* The driver's framebuffer of scanout 0 as one w x h array (CPU view). */
static uint32_t *framebuffer_copy(struct fx *f, uint32_t *w, uint32_t *h) {
  const struct fb_surface *s = gpu_surface(bound(f), 0);
  assert_non_null(s);
  uint32_t *px = malloc((size_t)s->width * s->height * 4);
  assert_non_null(px);
  for (uint32_t y = 0; y < s->height; y++) {
    memcpy(px + (size_t)y * s->width, fb_row(s, y), (size_t)s->width * 4);
  }
  *w = s->width;
  *h = s->height;
  return px;
}

/* What the driver drew is what the device holds, every pixel. */
static void assert_device_shows_framebuffer(struct fx *f) {
  uint32_t w, h;
  uint32_t *fb = framebuffer_copy(f, &w, &h);
  struct gm_rect r;
  uint32_t id = gpu_model_scanout(f->gm, 0, &r);
  assert_int_not_equal(id, 0);
  assert_int_equal(r.x, 0);
  assert_int_equal(r.y, 0);
  assert_int_equal(r.w, w);
  assert_int_equal(r.h, h);
  assert_pixels(f, id, fb, w, h);
  free(fb);
}

static bool rect_eq(struct gm_rect a, struct gm_rect b) {
  return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

/* Every TRANSFER_TO_HOST_2D of a scanout resource in the log is followed
 * by a RESOURCE_FLUSH of the same resource and rectangle, answered
 * together after one notification (same batch); the transfer's offset is
 * where the rectangle starts in a stride of width * 4 (§5.7.6.8). The
 * one exception: a probe's warm-up (gpu_resource_post), the whole
 * resource at the end of its batch, before any update. */
static unsigned check_updates(struct fx *f, uint32_t width) {
  unsigned updates = 0;
  uint64_t warmed = 0; /* resources < 64 whose warm-up was seen */
  size_t n = gpu_model_log_count(f->gm);
  for (size_t i = 0; i < n; i++) {
    const struct gm_cmd *t = gpu_model_log(f->gm, i);
    if (updates == 0 && t->type == GM_CMD_TRANSFER_TO_HOST_2D &&
        t->resource != CURSOR_RES && i + 1 < n &&
        gpu_model_log(f->gm, i + 1)->batch != t->batch) {
      assert_true(t->resource < 64);
      assert_false(warmed & (1ull << t->resource)); /* one per resource */
      warmed |= 1ull << t->resource;
      assert_int_equal(t->offset, 0);
      assert_int_equal(t->r.x, 0);
      assert_int_equal(t->r.y, 0);
      assert_int_equal(t->r.w, width);
      assert_int_equal(t->answer, GM_RESP_OK_NODATA);
      continue;
    }
    if (t->type == GM_CMD_RESOURCE_FLUSH) {
      const struct gm_cmd *p = i > 0 ? gpu_model_log(f->gm, i - 1) : NULL;
      if (p == NULL || p->type != GM_CMD_TRANSFER_TO_HOST_2D ||
          p->resource != t->resource || !rect_eq(p->r, t->r)) {
        fail_msg("log entry %zu: a RESOURCE_FLUSH of resource %u without "
                 "the transfer of its rectangle before it",
                 i, t->resource);
      }
    }
    if (t->type != GM_CMD_TRANSFER_TO_HOST_2D || t->resource == CURSOR_RES) {
      continue;
    }
    uint64_t offset = (uint64_t)t->r.y * width * 4 + (uint64_t)t->r.x * 4;
    assert_int_equal(t->offset, offset);
    assert_int_equal(t->answer, GM_RESP_OK_NODATA);
    assert_true(i + 1 < n);
    const struct gm_cmd *fl = gpu_model_log(f->gm, i + 1);
    assert_int_equal(fl->type, GM_CMD_RESOURCE_FLUSH);
    assert_int_equal(fl->resource, t->resource);
    assert_true(rect_eq(fl->r, t->r));
    /* One notification for the two, and nothing else with them but, for
     * the probe's first update of a resource, its SET_SCANOUT before. */
    assert_int_equal(fl->batch, t->batch);
    const struct gm_cmd *before = i > 0 ? gpu_model_log(f->gm, i - 1) : NULL;
    if (before != NULL && before->batch == t->batch) {
      assert_int_equal(before->type, GM_CMD_SET_SCANOUT);
      assert_int_equal(before->resource, t->resource);
      assert_true(i == 1 || gpu_model_log(f->gm, i - 2)->batch != t->batch);
    }
    assert_true(i + 2 >= n || gpu_model_log(f->gm, i + 2)->batch != t->batch);
    assert_int_equal(fl->answer, GM_RESP_OK_NODATA);
    assert_true(fl->flags & GM_FLAG_FENCE);
    updates++;
  }
  return updates;
}

static void assert_bars(struct fx *f, uint32_t id, uint32_t w, uint32_t h) {
  const struct gm_resource *r = resource(f, id);
  for (uint32_t y = 0; y < h * 3 / 4; y++) {
    for (uint32_t x = 0; x < w; x++) {
      uint32_t want = bar_colour[(uint64_t)x * 8 / w];
      uint32_t got = r->pixels[(size_t)y * w + x];
      if (got != want) {
        fail_msg("boot picture pixel (%u,%u): device has %#010x, bar colour "
                 "%#010x",
                 x, y, got, want);
      }
    }
  }
}

/* ---- cases ------------------------------------------------------------ */

/* Probes; the log index of the scanout resource's RESOURCE_CREATE_2D
 * (the first; the cursor's, if built, comes after). */
static size_t probe_created(struct fx *f) {
  probe_settled(f);
  size_t first;
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_CREATE_2D, &first),
                   1 + CURSOR_RESOURCES);
  return first;
}

/* The probe: one B8G8R8X8 resource of the mode's size with a scattered
 * backing, set on scanout 0, and the boot picture transferred and
 * flushed: the device's copy equals the framebuffer pixel for pixel. */
static void test_boot_picture(void **state) {
  struct fx *f = *state;
  const struct gm_cmd *c = gpu_model_log(f->gm, probe_created(f));
  assert_int_equal(c->resource, 1);
  assert_int_equal(c->format, GM_FORMAT_B8G8R8X8);
  assert_int_equal(c->r.w, W);
  assert_int_equal(c->r.h, H);
  const struct gm_resource *r = resource(f, 1);
  assert_true(r->backed);
  assert_int_equal(r->format, GM_FORMAT_B8G8R8X8);
  size_t at;
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_ATTACH_BACKING, &at),
                   1 + CURSOR_RESOURCES);
  assert_true(gpu_model_log(f->gm, at)->nentries > 1); /* scattered */
  assert_bars(f, 1, W, H);
  assert_device_shows_framebuffer(f);
#ifdef CONFIG_GPU_CONSOLE
  assert_true(check_updates(f, W) >= 2); /* the picture, then the console */
#else
  assert_int_equal(check_updates(f, W), 1); /* the picture */
#endif
#ifdef CONFIG_GPU_CURSOR
  /* The cursor: its arrow reached the device, shown at the centre. */
  struct gm_cursor cur = gpu_model_cursor(f->gm);
  assert_int_equal(cur.resource, CURSOR_RES);
  assert_int_equal(cur.updates, 1);
  assert_int_equal(cur.x, W / 2);
  assert_int_equal(cur.y, H / 2);
  const struct gm_resource *arrow = resource(f, CURSOR_RES);
  assert_int_equal(arrow->pixels[0], 0xff000000u);          /* edge */
  assert_int_equal(arrow->pixels[4 * 64 + 1], 0xffffffffu); /* inside */
  assert_int_equal(arrow->pixels[40], 0);                   /* clear */
#endif
}

/* Without a painter a new scanout is black above the console, and its
 * first update is still the whole surface. */
static void test_no_painter(void **state) {
  struct fx *f = *state;
  gpu_set_painter(NULL);
  probe_settled(f);
  size_t first;
  assert_true(gpu_model_count(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, &first) >= 1);
  const struct gm_cmd *t = gpu_model_log(f->gm, first);
  assert_int_equal(t->resource, 1);
  assert_true(rect_eq(t->r, (struct gm_rect){0, 0, W, H}));
  const struct gm_resource *r = resource(f, 1);
  for (uint32_t y = 0; y < H * 3 / 4; y++) {
    for (uint32_t x = 0; x < W; x++) {
      uint32_t got = r->pixels[(size_t)y * W + x];
      if (got != 0) {
        fail_msg("pixel (%u,%u) without a painter: device has %#010x, "
                 "expected black",
                 x, y, got);
      }
    }
  }
  assert_device_shows_framebuffer(f);
}

/* One damaged rectangle, unique values per position inside it, junk
 * drawn (and not damaged) around it: the device gets exactly the
 * rectangle, at its offset, flushed, with one notification. */
struct damage_fx {
  uint32_t *expected; /* what the device must hold */
  unsigned k;         /* update number */
};

static uint32_t pattern(unsigned k, uint32_t x, uint32_t y) {
  return (uint32_t)(k & 0xffu) << 24 | (y & 0xfffu) << 12 | (x & 0xfffu);
}

/* What the kernel's main loop does (virtio_poll_all): every device's
 * poll hook, in probe order. */
static void main_loop(struct fx *root) {
  for (struct fx *f = root; f != NULL; f = f->second) {
    virtio_gpu_driver.poll(f->dev);
  }
}

/* Presented by gpu_present on f's handle, or, with `root`, by the main
 * loop over all of root's devices: then only f's device may see a
 * command. */
static void damage_one(struct fx *f, struct damage_fx *d, struct fb_rect rc,
                       struct fx *root) {
  struct fb_surface *s = gpu_surface(bound(f), 0);
  assert_non_null(s);
  const uint32_t sw = s->width, sh = s->height;
  d->k++;
  for (uint32_t y = rc.y; y < rc.y + rc.h; y++) {
    for (uint32_t x = rc.x; x < rc.x + rc.w; x++) {
      fb_row(s, y)[x] = pattern(d->k, x, y);
      d->expected[(size_t)y * sw + x] = pattern(d->k, x, y);
    }
  }
  uint32_t junk = 0xdead0000u | d->k;
  for (uint32_t x = rc.x; x < rc.x + rc.w; x++) {
    if (rc.y > 0) {
      fb_row(s, rc.y - 1)[x] = junk;
    }
    if (rc.y + rc.h < sh) {
      fb_row(s, rc.y + rc.h)[x] = junk;
    }
  }
  for (uint32_t y = rc.y; y < rc.y + rc.h; y++) {
    if (rc.x > 0) {
      fb_row(s, y)[rc.x - 1] = junk;
    }
    if (rc.x + rc.w < sw) {
      fb_row(s, y)[rc.x + rc.w] = junk;
    }
  }
  fb_damage(s, rc);
  for (struct fx *o = root; o != NULL; o = o->second) {
    gpu_model_log_clear(o->gm);
  }
  gpu_model_log_clear(f->gm);
  unsigned long notifies = vm_notifies(f->vm, 0);
  if (root != NULL) {
    main_loop(root);
    for (struct fx *o = root; o != NULL; o = o->second) {
      if (o != f && gpu_model_log_count(o->gm) != 0) {
        fail_msg("a damage on %s reached %s too (%zu command(s))", f->dev->name,
                 o->dev->name, gpu_model_log_count(o->gm));
      }
    }
  } else {
    rl_status st = gpu_present(bound(f));
    if (st != RL_OK) {
      fail_msg("present of (%u,%u) %ux%u: %s; log:\n%s", rc.x, rc.y, rc.w, rc.h,
               rl_status_str(st), log_tail());
    }
  }
  assert_int_equal(vm_notifies(f->vm, 0) - notifies, 1);
  assert_int_equal(gpu_model_log_count(f->gm), 2);
  const struct gm_cmd *t = gpu_model_log(f->gm, 0);
  assert_int_equal(t->type, GM_CMD_TRANSFER_TO_HOST_2D);
  assert_int_equal(t->resource, 1);
  if (!rect_eq(t->r, (struct gm_rect){rc.x, rc.y, rc.w, rc.h})) {
    fail_msg("damage (%u,%u) %ux%u sent as a transfer of (%u,%u) %ux%u", rc.x,
             rc.y, rc.w, rc.h, t->r.x, t->r.y, t->r.w, t->r.h);
  }
  assert_int_equal(check_updates(f, sw), 1);
  assert_pixels(f, 1, d->expected, sw, sh);
}

/* One damaged rectangle of f still reaches f's device (the main loop over
 * root's devices). */
static void damage_still_updates(struct fx *f, struct fx *root) {
  uint32_t w, h;
  struct damage_fx d = {NULL, 0};
  d.expected = framebuffer_copy(f, &w, &h);
  damage_one(f, &d, (struct fb_rect){3, 5, 7, 9}, root);
  free(d.expected);
}

static void test_damage_rectangles(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  const struct fb_surface *s = gpu_surface(bound(f), 0);
  assert_non_null(s);
  uint32_t c = s->rows_per_chunk; /* rows of one backing entry */
  assert_true(s->nchunks > 2 && c < H);
  struct damage_fx d = {.expected = NULL, .k = 0};
  uint32_t w, h;
  d.expected = framebuffer_copy(f, &w, &h);
  assert_pixels(f, 1, d.expected, W, H);
  static const struct fb_rect fixed[] = {
      {0, 0, 1, 1},         {1, 1, 1, 1},
      {W - 1, H - 1, 1, 1}, {3, 5, 7, 9},
      {301, 151, 333, 99},  {0, 0, W, 1},
      {1, 2, W - 1, 3},     {0, 100, W, 300},
      {1, 0, W - 1, H},     {W - 3, 300, 3, H - 300},
      {640, H - 1, 640, 1}, {5, 612, 1, H - 612},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(fixed); i++) {
    damage_one(f, &d, fixed[i], NULL);
  }
  /* Every x alignment modulo a 64- and 128-byte line (16 and 32 pixels),
   * widths around a line, across each boundary between backing chunks. */
  for (uint32_t x = 0; x < 33; x++) {
    uint32_t width = 1 + (x * 7) % 40;
    uint32_t chunk = 1 + x % (s->nchunks - 1);
    damage_one(f, &d,
               (struct fb_rect){x * 37 % (W - 64) + x % 32,
                                chunk * c - 1 - x % 3, width, 2 + x % 4},
               NULL);
  }
  /* Rows that end or start exactly at a chunk boundary. */
  damage_one(f, &d, (struct fb_rect){17, c - 5, 100, 5}, NULL);
  damage_one(f, &d, (struct fb_rect){19, c, 100, 5}, NULL);
  /* Pseudo-random rectangles. */
  uint32_t seed = 12345;
  for (unsigned i = 0; i < 24; i++) {
    seed = seed * 1103515245u + 12345u;
    uint32_t x = (seed >> 8) % W;
    seed = seed * 1103515245u + 12345u;
    uint32_t y = (seed >> 8) % H;
    seed = seed * 1103515245u + 12345u;
    uint32_t rw = 1 + (seed >> 8) % (W - x);
    seed = seed * 1103515245u + 12345u;
    uint32_t rh = 1 + (seed >> 8) % (H - y);
    damage_one(f, &d, (struct fb_rect){x, y, rw, rh}, NULL);
  }
  free(d.expected);
}

/* A monitor change (§5.7.4.1): the configuration interrupt, the event
 * cleared, the old resource released, a new one of the new size showing
 * the picture. */
static RL_UNUSED void test_display_change(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  gpu_model_log_clear(f->gm);
  gpu_model_display_change(f->gm, 0, true, 800, 600);
  assert_int_equal(gpu_model_events(f->gm), GM_EVENT_DISPLAY);
  virtio_gpu_driver.poll(f->dev); /* the kernel's main loop */
  assert_int_equal(gpu_model_events(f->gm), 0);
  size_t u;
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_UNREF, &u), 1);
  assert_int_equal(gpu_model_log(f->gm, u)->resource, 1);
  assert_int_equal(gpu_model_resource_count(f->gm), 2); /* + the cursor */
  assert_int_equal(gpu_present(bound(f)), RL_OK);
  const struct gm_resource *r = resource(f, gpu_model_scanout(f->gm, 0, NULL));
  assert_int_equal(r->width, 800);
  assert_int_equal(r->height, 600);
  assert_bars(f, r->id, 800, 600);
  assert_device_shows_framebuffer(f);
  assert_true(check_updates(f, 800) >= 1);
}

/* A device that works only while the CPU idles: every wait ends on the
 * interrupt, not inside the notification. */
static void test_answers_at_idle(void **state) {
  struct fx *f = *state;
  vm_set_answer(f->vm, VM_ANSWER_AT_IDLE);
  probe_settled(f);
  assert_true(vm_idle_batches(f->vm) > 0);
  assert_true(vm_interrupts(f->vm) > 0);
  assert_device_shows_framebuffer(f);
}

static RL_UNUSED void test_cursor_move(void **state) {
  struct fx *f = *state;
  probe_ok(f);
  assert_int_equal(gpu_move_cursor(bound(f), 100, 50), RL_OK);
  struct gm_cursor cur = gpu_model_cursor(f->gm);
  assert_int_equal(cur.moves, 1);
  assert_int_equal(cur.x, 100);
  assert_int_equal(cur.y, 50);
  assert_int_equal(cur.scanout, 0);
}

/* virtio_config_read/write32 through the transport (§2.5, §4.2.2.2):
 * fields at their width, 8 bytes as two 4-byte halves; a width other
 * than 1, 2, 4 (8 for reads), a misaligned field, one past the slot's
 * configuration window or past 4 GiB is refused before it reaches the
 * device (the model fails the test on any access it would see). */
static void test_config_access(void **state) {
  struct fx *f = *state;
  probe_ok(f);
  struct virtio_device *d = f->dev;
  uint64_t v = 0;
  assert_int_equal(virtio_config_read(d, 8, 4, &v), RL_OK);
  assert_int_equal(v, 1); /* num_scanouts */
  assert_int_equal(virtio_config_read(d, 8, 8, &v), RL_OK);
  assert_int_equal(v, 1); /* num_capsets 0 above */
  assert_int_equal(virtio_config_read(d, 8, 1, &v), RL_OK);
  assert_int_equal(v, 1);
  assert_int_equal(virtio_config_read(d, 8, 2, &v), RL_OK);
  assert_int_equal(v, 1);
  static const struct {
    uint32_t offset;
    unsigned width;
  } bad[] = {{9, 4},           {8, 3},          {10, 8},    {6, 4},
             {0, 0},           {0, 16},         {0x100, 1}, {0xfe, 4},
             {0xfffffffcu, 4}, {0xfffffff8u, 8}};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    assert_int_equal(virtio_config_read(d, bad[i].offset, bad[i].width, &v),
                     RL_ERR_INVALID);
  }
  assert_int_equal(virtio_config_write32(d, 2, 0), RL_ERR_INVALID);
  assert_int_equal(virtio_config_write32(d, 0x100, 0), RL_ERR_INVALID);
  assert_int_equal(virtio_config_write32(d, 0xfffffffcu, 0), RL_ERR_INVALID);
}

/* The probe's resource in one round trip: RESOURCE_CREATE_2D,
 * ATTACH_BACKING and (CONFIG_GPU_WARMUP) the warm-up transfer of the
 * whole resource in one notification, in that order; with the warm-up
 * no interrupt for them: the driver reads the answers after drawing. */
static RL_UNUSED void test_probe_one_round_trip(void **state) {
  struct fx *f = *state;
  size_t c = probe_created(f);
  const struct gm_cmd *create = gpu_model_log(f->gm, c);
  const char *want[] = {"CREATE_2D", "ATTACH_BACKING", "warm-up"};
  uint32_t types[] = {GM_CMD_RESOURCE_CREATE_2D, GM_CMD_RESOURCE_ATTACH_BACKING,
                      GM_CMD_TRANSFER_TO_HOST_2D};
  size_t n = GPU_WARMUP_BUILT ? 3 : 2;
  for (size_t i = 0; i < n; i++) {
    const struct gm_cmd *t = gpu_model_log(f->gm, c + i);
    if (t->type != types[i] || t->batch != create->batch || t->resource != 1) {
      fail_msg("probe: %s is not command %zu of the resource's batch %lu "
               "(command type %#x, resource %u, batch %lu)",
               want[i], i, create->batch, t->type, t->resource, t->batch);
    }
  }
  const struct gm_cmd *warm = gpu_model_log(f->gm, c + 2);
  if (n == 3) {
    assert_int_equal(warm->r.w, W);
    assert_int_equal(warm->r.h, H);
  }
  assert_true(c + n >= gpu_model_log_count(f->gm) ||
              gpu_model_log(f->gm, c + n)->batch != create->batch);
  if (GPU_WARMUP_BUILT && vm_batch_interrupted(f->vm, create->batch)) {
    fail_msg("probe: the device interrupted after the resource's batch %lu",
             create->batch);
  }
}

/* Errors: each is an error status, a log line naming the command, the
 * resource and what the device answered, and no hang. */
static void test_create_error(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_CREATE_2D, GM_FAULT_ERROR,
                      GM_RESP_ERR_OUT_OF_MEMORY);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), RL_ERR_IO);
  assert_log_says(f,
                  "RESOURCE_CREATE_2D (resource 1): device answered "
                  "ERR_OUT_OF_MEMORY",
                  "0x101 0x1 0x1201 0x18 0x1100\n");
}

/* The probe's CREATE_2D and ATTACH_BACKING, posted together, answered as
 * `create` and `attach` say (GM_FAULT_NONE: as the device does): the
 * probe fails with `want`. Returns whether the framebuffer's first chunk
 * (the ATTACH's first entry) is still allocated. */
static bool probe_resource_fails(struct fx *f, enum gm_fault create,
                                 uint32_t cv, enum gm_fault attach, uint32_t av,
                                 rl_status want) {
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_CREATE_2D, create, cv);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_ATTACH_BACKING, attach, av);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), want);
  size_t at;
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_ATTACH_BACKING, &at),
                   1);
  void *p;
  return host_dma_device_ptr(gpu_model_log(f->gm, at)->addr0, 1, &p) == RL_OK;
}

/* ATTACH_BACKING refused: the resource the CREATE made is released
 * (UNREF) and the framebuffer freed. */
static void test_attach_error(void **state) {
  struct fx *f = *state;
  bool kept = probe_resource_fails(f, GM_FAULT_NONE, 0, GM_FAULT_ERROR,
                                   GM_RESP_ERR_OUT_OF_MEMORY, RL_ERR_IO);
  assert_log_says(f,
                  "RESOURCE_ATTACH_BACKING (resource 1): device answered "
                  "ERR_OUT_OF_MEMORY",
                  "0x106 0x1 0x1201 0x18 0x1100\n");
  if (TEARDOWN_BUILT) {
    assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_UNREF, NULL), 1);
    assert_int_equal(gpu_model_resource_count(f->gm), 0);
    assert_false(kept);
  }
}

/* CREATE_2D refused (the ATTACH behind it then finds no resource):
 * nothing was made, the framebuffer is freed, nothing is released. */
static RL_UNUSED void test_create_error_frees(void **state) {
  struct fx *f = *state;
  bool kept = probe_resource_fails(f, GM_FAULT_ERROR, GM_RESP_ERR_UNSPEC,
                                   GM_FAULT_NONE, 0, RL_ERR_IO);
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_UNREF, NULL), 0);
  if (TEARDOWN_BUILT) {
    assert_false(kept);
  }
}

/* CREATE_2D refused, yet ATTACH_BACKING answered OK: the device is not
 * to be trusted with the pages, which are leaked on purpose with the id
 * retired. */
static RL_UNUSED void test_create_error_attach_ok(void **state) {
  struct fx *f = *state;
  bool kept = probe_resource_fails(f, GM_FAULT_ERROR, GM_RESP_ERR_UNSPEC,
                                   GM_FAULT_TYPE, GM_RESP_OK_NODATA, RL_ERR_IO);
  assert_true(kept);
  if (TEARDOWN_BUILT) {
    assert_log_has("leaked on purpose, resource id 1 retired");
  }
}

static void test_scanout_error(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_SET_SCANOUT, GM_FAULT_ERROR,
                      GM_RESP_ERR_INVALID_SCANOUT_ID);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), RL_ERR_IO);
  assert_log_says(f,
                  "SET_SCANOUT (resource 1): device answered "
                  "ERR_INVALID_SCANOUT_ID",
                  "0x103 0x1 0x1202 0x18 0x1100\n");
}

static RL_UNUSED void test_edid_error(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_GET_EDID, GM_FAULT_ERROR,
                      GM_RESP_ERR_UNSPEC);
  probe_settled(f); /* EDID is optional */
  assert_device_shows_framebuffer(f);
  assert_log_has("scanout 0: EDID unusable");
}

static void test_display_info_short(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_GET_DISPLAY_INFO, GM_FAULT_USED_LEN, 24);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), RL_ERR_BAD_FORMAT);
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_CREATE_2D, NULL), 0);
  assert_log_says(f,
                  "GET_DISPLAY_INFO (resource 0): device answered "
                  "OK_DISPLAY_INFO (0x1101), 24 bytes",
                  "0x100 0 0x1101 0x18 0x1101\n");
}

/* Damage one rectangle and present it with the device misbehaving. */
static rl_status present_rect(struct fx *f) {
  struct fb_surface *s = gpu_surface(bound(f), 0);
  assert_non_null(s);
  fb_fill(s, (struct fb_rect){33, 44, 55, 66}, 0x123456);
  fb_damage(s, (struct fb_rect){33, 44, 55, 66});
  return gpu_present(bound(f));
}

static void test_transfer_wrong_type(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  gpu_model_misbehave(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, GM_FAULT_TYPE,
                      GM_RESP_OK_DISPLAY_INFO);
  assert_int_equal(present_rect(f), RL_ERR_BAD_FORMAT);
  assert_log_says(f,
                  "TRANSFER_TO_HOST_2D (resource 1): device answered "
                  "OK_DISPLAY_INFO",
                  "0x105 0x1 0x1101 0x18 0x1100\n");
}

static void test_flush_error(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_FLUSH, GM_FAULT_ERROR,
                      GM_RESP_ERR_INVALID_PARAMETER);
  assert_int_equal(present_rect(f), RL_ERR_IO);
  assert_log_says(f,
                  "RESOURCE_FLUSH (resource 1): device answered "
                  "ERR_INVALID_PARAMETER",
                  "0x104 0x1 0x1205 0x18 0x1100\n");
}

static void test_flush_short_length(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_FLUSH, GM_FAULT_USED_LEN, 8);
  assert_int_equal(present_rect(f), RL_ERR_BAD_FORMAT);
  assert_log_says(f, "RESOURCE_FLUSH (resource 1): device answered",
                  "0x104 0x1 0 0x8 0x1100\n");
}

/* A used length beyond the response page: the queue breaks, nothing is
 * read from it, and later updates fail without reaching the device. */
static void test_flush_oversized_length(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_FLUSH, GM_FAULT_USED_LEN, 4097);
  assert_int_not_equal(present_rect(f), RL_OK);
  gpu_model_log_clear(f->gm);
  assert_int_not_equal(present_rect(f), RL_OK);
  assert_int_equal(gpu_model_log_count(f->gm), 0);
}

/* A device that takes the transfer and never answers: a timeout after
 * the driver's deadline (virtual time), a log line naming the device,
 * the queue and the ring indices; the request stays the device's (no
 * later request reuses its buffers: the model checks), and the driver
 * refuses further updates. */
static void test_transfer_never_answers(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  gpu_model_misbehave(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, GM_FAULT_NO_ANSWER, 0);
  uint64_t t0 = arch_time_ns();
  assert_int_equal(present_rect(f), RL_ERR_TIMEOUT);
  assert_true(arch_time_ns() - t0 >= 2000000000ull);
  assert_int_equal(vm_held(f->vm), 1);
  const char *log = log_tail();
  char name[80];
#ifdef CONFIG_LOG_TEXT
  (void)snprintf(name, sizeof(name),
                 "virtio-gpu@%#x: queue 0 (controlq): "
                 "timeout after 2000 ms",
                 GPU_PA);
  if (strstr(log, name) == NULL || strstr(log, "in flight") == NULL) {
    fail_msg("no timeout line naming the device, queue and indices:\n%s", log);
  }
#else
  /* Terse: name, queue, RL_ERR_TIMEOUT, then the ring indices with one
   * buffer in flight (virtqueue.c report()). */
  (void)snprintf(name, sizeof(name), "%s 0 -3 ", f->dev->name);
  const char *at = strstr(log, name);
  unsigned in_flight = 0;
  if (at == NULL ||
      sscanf(at + strlen(name), "%*x %*x %*x %x", &in_flight) != 1 ||
      in_flight != 1) {
    fail_msg("no timeout line naming the device, queue and indices:\n%s", log);
  }
#endif
  gpu_model_log_clear(f->gm);
  assert_int_equal(present_rect(f), RL_ERR_BROKEN);
  assert_int_equal(gpu_model_log_count(f->gm), 0);
}

static void test_display_info_never_answers(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_GET_DISPLAY_INFO, GM_FAULT_NO_ANSWER, 0);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), RL_ERR_TIMEOUT);
  assert_log_says(f, "(controlq): timeout after 2000 ms", "0 -3 ");
}

/* The probe's warm-up transfer answered with an error: the probe fails
 * naming the transfer, and SET_SCANOUT, posted behind it, is still
 * waited for (nothing is left with the device). */
static RL_UNUSED void test_warm_up_error(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, GM_FAULT_ERROR,
                      GM_RESP_ERR_INVALID_RESOURCE_ID);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), RL_ERR_IO);
  assert_log_has("TRANSFER_TO_HOST_2D (resource 1): device answered "
                 "ERR_INVALID_RESOURCE_ID");
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_SET_SCANOUT, NULL), 1);
  assert_int_equal(vm_held(f->vm), 0);
}

/* The warm-up never answered: a timeout naming the queue, the GPU
 * broken, the warm-up's buffers left to the device, and with them those
 * of the picture's transfer (this model answers none either), posted
 * behind it with SET_SCANOUT and the flush: nothing is posted after. */
static RL_UNUSED void test_warm_up_never_answers(void **state) {
  struct fx *f = *state;
  gpu_model_misbehave(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, GM_FAULT_NO_ANSWER, 0);
  assert_int_equal(virtio_gpu_driver.probe(f->dev), RL_ERR_TIMEOUT);
  assert_log_has("(controlq): timeout after 2000 ms");
  assert_int_equal(vm_held(f->vm), 2);
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, NULL), 2);
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_FLUSH, NULL), 1);
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_DETACH_BACKING, NULL),
                   0);
}

/* ---- two devices ------------------------------------------------------ */

/* The driver's surface of f's scanout 0. */
static struct fb_surface *surface(struct fx *f) {
  struct fb_surface *s = gpu_surface(bound(f), 0);
  assert_non_null(s);
  return s;
}

/* The device shows the boot picture at w x h: the resource on scanout 0
 * has that size, the bars, and every pixel of the driver's framebuffer. */
static void assert_picture(struct fx *f, uint32_t w, uint32_t h) {
  uint32_t id = gpu_model_scanout(f->gm, 0, NULL);
  if (id == 0) {
    fail_msg("%s: no resource on scanout 0", f->dev->name);
  }
  const struct gm_resource *r = resource(f, id);
  if (r->width != w || r->height != h || !r->backed) {
    fail_msg("%s: scanout 0 shows a %ux%u resource (%s), expected %ux%u",
             f->dev->name, r->width, r->height,
             r->backed ? "backed" : "no backing", w, h);
  }
  assert_bars(f, id, w, h);
  assert_device_shows_framebuffer(f);
}

/* Commands of `type` the device saw since its log was last cleared. */
static size_t seen(struct fx *f, uint32_t type) {
  return gpu_model_count(f->gm, type, NULL);
}

/* The device was not reconfigured: no display query, no resource made,
 * attached, shown, detached or released. */
static void assert_not_reconfigured(struct fx *f) {
  static const uint32_t types[] = {
      GM_CMD_GET_DISPLAY_INFO,   GM_CMD_GET_EDID,
      GM_CMD_RESOURCE_CREATE_2D, GM_CMD_RESOURCE_ATTACH_BACKING,
      GM_CMD_SET_SCANOUT,        GM_CMD_RESOURCE_DETACH_BACKING,
      GM_CMD_RESOURCE_UNREF,
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(types); i++) {
    if (seen(f, types[i]) != 0) {
      fail_msg("%s saw %zu command(s) of type %#x meant for the other device",
               f->dev->name, seen(f, types[i]), types[i]);
    }
  }
}

/* Every console mirrors the log: one line printed reaches each device as
 * an update inside its console (the bottom quarter), and each device
 * then holds its framebuffer again. */
static void assert_consoles_follow(struct fx *root) {
  for (struct fx *f = root; f != NULL; f = f->second) {
    gpu_model_log_clear(f->gm);
  }
  kprintf("two gpus: one line for every console\n");
  main_loop(root);
#ifndef CONFIG_GPU_CONSOLE
  /* No console: the line reaches no device. */
  for (struct fx *f = root; f != NULL; f = f->second) {
    assert_int_equal(gpu_model_log_count(f->gm), 0);
    assert_device_shows_framebuffer(f);
  }
#else
  for (struct fx *f = root; f != NULL; f = f->second) {
    uint32_t top = surface(f)->height * 3 / 4;
    size_t first;
    if (gpu_model_count(f->gm, GM_CMD_TRANSFER_TO_HOST_2D, &first) == 0) {
      fail_msg("%s: the line printed never reached its console (frozen)",
               f->dev->name);
    }
    assert_true(gpu_model_log(f->gm, first)->r.y >= top);
    assert_device_shows_framebuffer(f);
  }
#endif
}

/* The fixture's device, then a second one (another slot, interrupt and
 * mode), both probed and settled by the main loop; the handles in probe
 * order. */
static struct fx *two_gpus(struct fx *a) {
  probe_ok(a);
  struct fx *b = second_device(a);
  probe_ok(b);
  main_loop(a);
  assert_int_equal(gpu_count(), 2);
  assert_ptr_equal(gpu_get(0), bound(a));
  assert_ptr_equal(gpu_get(1), bound(b));
  assert_null(gpu_get(2));
  assert_ptr_not_equal(surface(a), surface(b));
  return b;
}

/* Two devices, each with its own driver state: both hold their boot
 * picture pixel for pixel (the second probe left the first device's
 * framebuffer, still attached to its resource, alone); both consoles
 * show the log; a damage on either, presented by the main loop that polls
 * both, reaches its own device only; the cursor moves on its own
 * device. */
static void test_two_gpus(void **state) {
  struct fx *a = *state;
  struct fx *b = two_gpus(a);
  assert_picture(a, W, H);
  assert_picture(b, W2, H2);
  assert_consoles_follow(a);
  for (struct fx *f = a; f != NULL; f = f->second) {
    uint32_t w, h;
    struct damage_fx d = {NULL, 0};
    d.expected = framebuffer_copy(f, &w, &h);
    damage_one(f, &d, (struct fb_rect){301, 151, 333, 99}, a);
    damage_one(f, &d, (struct fb_rect){0, 0, w, h / 2}, a);
    damage_one(f, &d, (struct fb_rect){w - 7, h - 5, 7, 5}, a);
    free(d.expected);
  }
#ifdef CONFIG_GPU_CURSOR
  gpu_model_log_clear(a->gm);
  assert_int_equal(gpu_move_cursor(bound(b), 10, 20), RL_OK);
  assert_int_equal(gpu_model_cursor(a->gm).moves, 0);
  assert_int_equal(gpu_model_cursor(a->gm).x, W / 2);
  assert_int_equal(gpu_model_cursor(b->gm).moves, 1);
  assert_int_equal(gpu_model_cursor(b->gm).x, 10);
  assert_int_equal(gpu_model_log_count(a->gm), 0);
#endif
}

/* A display change on the second device (its configuration interrupt),
 * then one on the first: only the device that changed re-reads its
 * display and rebuilds its resource at the new size; the other keeps its
 * resource and framebuffer intact and its console alive. */
static RL_UNUSED void test_two_gpus_display_change(void **state) {
  struct fx *a = *state;
  struct fx *b = two_gpus(a);
  const struct {
    struct fx *changed, *other;
    uint32_t w, h;
  } steps[] = {{b, a, 800, 600}, {a, b, 1024, 768}};
  for (size_t i = 0; i < RL_ARRAY_SIZE(steps); i++) {
    struct fx *c = steps[i].changed, *o = steps[i].other;
    uint32_t ow = surface(o)->width, oh = surface(o)->height;
    gpu_model_log_clear(c->gm);
    gpu_model_log_clear(o->gm);
    gpu_model_display_change(c->gm, 0, true, steps[i].w, steps[i].h);
    assert_int_equal(gpu_model_events(c->gm), GM_EVENT_DISPLAY);
    assert_int_equal(gpu_model_events(o->gm), 0);
    main_loop(a);
    assert_int_equal(gpu_model_events(c->gm), 0);
    size_t u;
    if (gpu_model_count(c->gm, GM_CMD_RESOURCE_UNREF, &u) != 1) {
      fail_msg("%s: the display change was not handled (%zu UNREF)",
               c->dev->name, seen(c, GM_CMD_RESOURCE_UNREF));
    }
    assert_int_equal(gpu_model_log(c->gm, u)->resource, 1);
    assert_not_reconfigured(o);
    main_loop(a); /* the change's log lines, on both consoles */
    assert_picture(c, steps[i].w, steps[i].h);
    assert_picture(o, ow, oh);
    assert_consoles_follow(a);
  }
}

/* Re-initialisation of one device (virtio_device_recover, as after
 * DEVICE_NEEDS_RESET: a reset, then the probe again) releases and reuses
 * that device's own state: same handles in the same order, the other
 * device untouched and still working. */
static void test_two_gpus_reprobe(void **state) {
  struct fx *a = *state;
  struct fx *b = two_gpus(a);
  struct gpu *ga = bound(a), *gb = bound(b);
#ifndef CONFIG_VIRTIO_RECOVERY
  /* No recovery: the device is failed, the other one keeps working. */
  (void)gb;
  gpu_model_log_clear(a->gm);
  gpu_model_log_clear(b->gm);
  assert_int_equal(virtio_device_recover(b->dev), RL_ERR_BROKEN);
  assert_int_equal(gpu_model_log_count(b->gm), 0);
  main_loop(a);
  assert_not_reconfigured(a);
  assert_ptr_equal(gpu_get(0), ga);
  assert_picture(a, W, H);
  damage_still_updates(a, a);
#else
  struct fx *const order[] = {b, a};
  for (size_t i = 0; i < RL_ARRAY_SIZE(order); i++) {
    struct fx *r = order[i], *o = r == a ? b : a;
    gpu_model_log_clear(r->gm);
    gpu_model_log_clear(o->gm);
    assert_int_equal(virtio_device_recover(r->dev), RL_OK);
    assert_true(seen(r, GM_CMD_RESOURCE_CREATE_2D) >= 1);
    assert_not_reconfigured(o);
    main_loop(a);
    assert_int_equal(gpu_count(), 2);
    assert_ptr_equal(gpu_get(0), ga);
    assert_ptr_equal(gpu_get(1), gb);
    assert_picture(a, W, H);
    assert_picture(b, W2, H2);
    assert_consoles_follow(a);
    damage_still_updates(o, a);
  }
#endif
}

/* ---- teardown that fails ---------------------------------------------- */

#define MAX_BACKING 64

/* Resource `id`'s backing as the device holds it. */
struct backing {
  size_t n;
  uint64_t addr[MAX_BACKING];
  uint32_t len[MAX_BACKING];
};

static struct backing backing_of(struct fx *f, uint32_t id) {
  struct backing b;
  b.n = gpu_model_backing(f->gm, id, b.addr, b.len, MAX_BACKING);
  assert_true(b.n > 0 && b.n <= MAX_BACKING);
  return b;
}

/* Every entry is still live DMA memory: the driver did not free pages the
 * device may still own. */
static void assert_backing_not_freed(const struct backing *b, uint32_t id) {
  for (size_t i = 0; i < b->n; i++) {
    void *p;
    if (host_dma_device_ptr(b->addr[i], b->len[i], &p) != RL_OK) {
      fail_msg("resource %u: backing entry %zu at %#llx (%u bytes) was "
               "freed although the device may still own it",
               id, i, (unsigned long long)b->addr[i], b->len[i]);
    }
  }
}

/* The resource scanout 0 shows, with the boot picture at w x h. */
static uint32_t shown(struct fx *f, uint32_t w, uint32_t h) {
  main_loop(f); /* the change's log lines */
  assert_picture(f, w, h);
  return gpu_model_scanout(f->gm, 0, NULL);
}

/* A display change whose teardown of resource 1 fails as `detach` and
 * `unref` say (GM_FAULT_NONE: answered OK): the old backing stays
 * allocated (leaked on purpose, one log line), and id 1 is never handed
 * out again on this device, not even after a re-initialisation. */
static void teardown_fails(struct fx *f, enum gm_fault detach, uint32_t dv,
                           enum gm_fault unref, uint32_t uv) {
  probe_settled(f);
  struct backing old = backing_of(f, 1);
  size_t live = host_dma_live_count();
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_DETACH_BACKING, detach, dv);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_UNREF, unref, uv);
  gpu_model_display_change(f->gm, 0, true, 800, 600);
  virtio_gpu_driver.poll(f->dev);
  assert_backing_not_freed(&old, 1);
  assert_log_has("leaked on purpose, resource id 1 retired");
  uint32_t id = shown(f, 800, 600);
  assert_int_not_equal(id, 1);
  /* The allocator's count: the old chunks are all still there, next to
   * the new framebuffer's. */
  assert_int_equal(host_dma_live_count(), live + surface(f)->nchunks);
  /* The device behaves again; the next resource still is not 1. */
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_DETACH_BACKING, GM_FAULT_NONE, 0);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_UNREF, GM_FAULT_NONE, 0);
  gpu_model_display_change(f->gm, 0, true, 1024, 768);
  virtio_gpu_driver.poll(f->dev);
  assert_int_not_equal(shown(f, 1024, 768), 1);
  assert_backing_not_freed(&old, 1);
  /* A reset and probe again: the id stays retired for the device's
   * lifetime, the leaked pages stay leaked. */
  assert_int_equal(virtio_device_recover(f->dev), RL_OK);
  assert_int_not_equal(shown(f, 1024, 768), 1);
  assert_backing_not_freed(&old, 1);
}

static RL_UNUSED void test_teardown_detach_unref_error(void **state) {
  teardown_fails(*state, GM_FAULT_ERROR, GM_RESP_ERR_UNSPEC, GM_FAULT_ERROR,
                 GM_RESP_ERR_UNSPEC);
  assert_log_has("resource 1: RESOURCE_DETACH_BACKING failed (RL_ERR_IO)");
}

static RL_UNUSED void test_teardown_unref_error(void **state) {
  teardown_fails(*state, GM_FAULT_NONE, 0, GM_FAULT_ERROR,
                 GM_RESP_ERR_INVALID_RESOURCE_ID);
  assert_log_has("resource 1: RESOURCE_UNREF failed (RL_ERR_IO)");
}

static RL_UNUSED void test_teardown_detach_wrong_type(void **state) {
  teardown_fails(*state, GM_FAULT_TYPE, GM_RESP_OK_DISPLAY_INFO, GM_FAULT_NONE,
                 0);
  assert_log_has("RESOURCE_DETACH_BACKING failed (RL_ERR_BAD_FORMAT)");
}

/* DETACH_BACKING never answered: the device holds the request and maybe
 * the backing; nothing of it is freed, not even when the driver lets go
 * of the device (gpu_remove after the reset, in the fixture's teardown). */
static RL_UNUSED void test_teardown_detach_timeout(void **state) {
  struct fx *f = *state;
  probe_settled(f);
  struct backing old = backing_of(f, 1);
  gpu_model_misbehave(f->gm, GM_CMD_RESOURCE_DETACH_BACKING, GM_FAULT_NO_ANSWER,
                      0);
  gpu_model_display_change(f->gm, 0, true, 800, 600);
  virtio_gpu_driver.poll(f->dev);
  assert_int_equal(vm_held(f->vm), 1);
  assert_backing_not_freed(&old, 1);
  assert_log_has("resource 1: RESOURCE_DETACH_BACKING failed (RL_ERR_TIMEOUT)");
  assert_int_equal(gpu_model_count(f->gm, GM_CMD_RESOURCE_UNREF, NULL), 0);
}

static const struct matrix_case cases[] = {
    {"boot_picture", test_boot_picture},
    {"no_painter", test_no_painter},
    {"damage_rectangles", test_damage_rectangles},
#ifdef CONFIG_GPU_DISPLAY_EVENTS /* display changes */
    {"display_change", test_display_change},
#endif
    {"answers_at_idle", test_answers_at_idle},
#ifdef PAIR_POSTED
    {"probe_one_round_trip", test_probe_one_round_trip},
    {"create_error_frees", test_create_error_frees},
    {"create_error_attach_ok", test_create_error_attach_ok},
#endif
    {"attach_error", test_attach_error},
#ifdef CONFIG_GPU_CURSOR /* no cursor */
    {"cursor_move", test_cursor_move},
#endif
    {"config_access", test_config_access},
    {"create_error", test_create_error},
    {"scanout_error", test_scanout_error},
#ifdef CONFIG_GPU_EDID /* no EDID read */
    {"edid_error", test_edid_error},
#endif
    {"display_info_short", test_display_info_short},
    {"transfer_wrong_type", test_transfer_wrong_type},
    {"flush_error", test_flush_error},
    {"flush_short_length", test_flush_short_length},
    {"flush_oversized_length", test_flush_oversized_length},
    {"transfer_never_answers", test_transfer_never_answers},
    {"display_info_never_answers", test_display_info_never_answers},
#ifdef CONFIG_GPU_WARMUP /* no warm-up transfer */
    {"warm_up_error", test_warm_up_error},
    {"warm_up_never_answers", test_warm_up_never_answers},
#endif
#ifdef CONFIG_GPU_DISPLAY_EVENTS /* teardown happens on display changes */
    {"teardown_detach_unref_error", test_teardown_detach_unref_error},
    {"teardown_unref_error", test_teardown_unref_error},
    {"teardown_detach_wrong_type", test_teardown_detach_wrong_type},
    {"teardown_detach_timeout", test_teardown_detach_timeout},
#endif
    {"two_gpus", test_two_gpus},
#ifdef CONFIG_GPU_DISPLAY_EVENTS /* display changes */
    {"two_gpus_display_change", test_two_gpus_display_change},
#endif
    {"two_gpus_reprobe", test_two_gpus_reprobe},
};

/* Known driver bugs the cache model exposes (see
 * tests/unit/virtio/README.md); each entry must fail. */
static const struct expected_failure expected_failures[] = {
    {"", ""},
};

static void expect_fail(void **state) {
  struct fx *f = *state;
  run_expected_failure(f->run->name, f->run->xfail, f->run->fn, state);
}

static void *run_state(size_t n, size_t t, size_t v, size_t c, const char *name,
                       const char *why) {
  static struct run runs[RL_ARRAY_SIZE(transports) *
                         RL_ARRAY_SIZE(cache_variants) * RL_ARRAY_SIZE(cases)];
  runs[n] =
      (struct run){&transports[t], &cache_variants[v], cases[c].fn, name, why};
  return &runs[n];
}

int main(void) {
  const struct variant_matrix m = {
      .group = "gpu_driver",
      .transports = MATRIX_AXIS(transports),
      .variants = MATRIX_AXIS(cache_variants),
      .cases = cases,
      .ncases = RL_ARRAY_SIZE(cases),
      .setup = fx_setup,
      .teardown = fx_teardown,
      .xfail = expected_failures,
      .nxfail = RL_ARRAY_SIZE(expected_failures),
      .expect_fail = expect_fail,
      .state = run_state,
  };
  return run_variant_matrix(&m);
}
