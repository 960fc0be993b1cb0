/* Fake device windows for host MMIO: an access inside a registered window
 * goes to its callbacks (a test's device model), every other access stays
 * a plain memory access (arch_impl/mmio.h). An access straddling a
 * window's edge is a test bug: reported, then abort(). */
#include <arch/mmio.h>

#include <stdio.h>
#include <stdlib.h>

#include "arch_host.h"

#define HOST_MMIO_WINDOWS 8

struct host_mmio_window {
  uintptr_t base; /* 0: unused */
  size_t size;
  host_mmio_read_fn read;
  host_mmio_write_fn write;
  void *ctx;
};

static struct host_mmio_window windows[HOST_MMIO_WINDOWS];
static unsigned used;

rl_status host_mmio_register(volatile void *base, size_t size,
                             host_mmio_read_fn read, host_mmio_write_fn write,
                             void *ctx) {
  uintptr_t b = (uintptr_t)base;
  if (base == NULL || size == 0 || read == NULL || write == NULL ||
      b + size < b) {
    return RL_ERR_INVALID;
  }
  struct host_mmio_window *free_slot = NULL;
  for (unsigned i = 0; i < HOST_MMIO_WINDOWS; i++) {
    struct host_mmio_window *w = &windows[i];
    if (w->base == 0) {
      free_slot = free_slot != NULL ? free_slot : w;
    } else if (b < w->base + w->size && w->base < b + size) {
      return RL_ERR_BUSY;
    }
  }
  if (free_slot == NULL) {
    return RL_ERR_NO_SPACE;
  }
  *free_slot = (struct host_mmio_window){b, size, read, write, ctx};
  used++;
  return RL_OK;
}

rl_status host_mmio_unregister(volatile void *base) {
  for (unsigned i = 0; i < HOST_MMIO_WINDOWS; i++) {
    if (windows[i].base != 0 && windows[i].base == (uintptr_t)base) {
      windows[i] = (struct host_mmio_window){0};
      used--;
      return RL_OK;
    }
  }
  return RL_ERR_NOT_FOUND;
}

static struct host_mmio_window *find(const volatile void *a, unsigned width) {
  uintptr_t p = (uintptr_t)a;
  for (unsigned i = 0; used != 0 && i < HOST_MMIO_WINDOWS; i++) {
    struct host_mmio_window *w = &windows[i];
    bool first_in = w->base != 0 && p >= w->base && p - w->base < w->size;
    bool last_in = w->base != 0 && p + width - 1 >= w->base &&
                   p + width - 1 - w->base < w->size;
    if (first_in && last_in) {
      return w;
    }
    if (first_in || last_in) {
      (void)fprintf(stderr,
                    "host mmio: %u-byte access at %p straddles the window "
                    "%#lx..%#lx\n",
                    width, (const void *)a, (unsigned long)w->base,
                    (unsigned long)(w->base + w->size - 1));
      abort();
    }
  }
  return NULL;
}

bool host_mmio_hook_read(const volatile void *a, unsigned width, uint32_t *v) {
  struct host_mmio_window *w = find(a, width);
  if (w == NULL) {
    return false;
  }
  *v = w->read(w->ctx, (size_t)((uintptr_t)a - w->base), width);
  return true;
}

bool host_mmio_hook_write(volatile void *a, unsigned width, uint32_t v) {
  struct host_mmio_window *w = find(a, width);
  if (w == NULL) {
    return false;
  }
  w->write(w->ctx, (size_t)((uintptr_t)a - w->base), width, v);
  return true;
}
