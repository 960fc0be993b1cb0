/* The host's DMA primitives (arch/dma.h): a page source of aligned_alloc'd
 * pages with fake physical addresses (HOST_DMA_PHYS_BASE upward, a
 * one-page gap between allocations, never reused), so code that hands a
 * pointer to a "device" without translating it is caught, and the
 * translation. Allocation and syncs are the portable mm/dma.c on top.
 *
 * With the write-back cache model on (host_cache_model), each allocation
 * also has a device copy: what a non-coherent device sees in memory while
 * the CPU works in its cache. Only the arch_cache_* operations move whole
 * lines between the two (host_dma_cache_move). */
#include <arch/cache.h>
#include <arch/dma.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch_host.h"
#include "host_internal.h"

#define HOST_DMA_MAX 1024

struct host_dma {
  uint8_t *cpu; /* NULL: slot unused */
  uint8_t *dev; /* the device's copy; NULL while the cache model is off */
  paddr_t phys;
  size_t size;
};

static struct host_dma table[HOST_DMA_MAX];
static paddr_t next_phys = HOST_DMA_PHYS_BASE;
static size_t live;
static bool model_on;
static size_t model_line;
static host_cache_line_fn line_hook;
static void *line_hook_ctx;
static bool line_descending;
static bool in_line_hook;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

rl_status arch_dma_pages_alloc(size_t pages, void **va, paddr_t *pa) {
  if (va == NULL || pa == NULL || pages == 0) {
    return RL_ERR_INVALID;
  }
  if (pages > (SIZE_MAX / RL_PAGE_SIZE) - 1) {
    return RL_ERR_NO_MEMORY;
  }
  size_t size = pages * RL_PAGE_SIZE;

  uint8_t *cpu = aligned_alloc(RL_PAGE_SIZE, size);
  if (cpu == NULL) {
    return RL_ERR_NO_MEMORY;
  }
  /* Not left undefined: the device's copy below starts zeroed too (like
   * memory under a cache), and mm/dma.c zeroes it again anyway. */
  memset(cpu, 0, size);

  rl_status st = RL_ERR_NO_MEMORY;
  uint8_t *dev = NULL;
  pthread_mutex_lock(&lock);
  if (model_on) {
    dev = aligned_alloc(RL_PAGE_SIZE, size);
  }
  for (size_t i = 0; i < HOST_DMA_MAX && (!model_on || dev != NULL); i++) {
    if (table[i].cpu != NULL) {
      continue;
    }
    if (size > UINT64_MAX - RL_PAGE_SIZE * 2 - next_phys) {
      break; /* fake physical space used up */
    }
    /* Skip a phys that happens to equal the pointer (never in practice). */
    if (next_phys == (paddr_t)(uintptr_t)cpu) {
      next_phys += RL_PAGE_SIZE;
    }
    if (dev != NULL) {
      memset(dev, 0, size);
    }
    table[i] = (struct host_dma){cpu, dev, next_phys, size};
    next_phys += size + RL_PAGE_SIZE;
    live++;
    *va = cpu;
    *pa = table[i].phys;
    st = RL_OK;
    break;
  }
  pthread_mutex_unlock(&lock);
  if (st != RL_OK) {
    free(dev);
    free(cpu);
  }
  return st;
}

void arch_dma_pages_free(const void *va, paddr_t pa, size_t pages) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX && pages != 0; i++) {
    if (table[i].cpu != NULL && table[i].cpu == va && table[i].phys == pa &&
        table[i].size == pages * RL_PAGE_SIZE) {
      uint8_t *cpu = table[i].cpu;
      uint8_t *dev = table[i].dev;
      table[i] = (struct host_dma){NULL, NULL, 0, 0};
      live--;
      pthread_mutex_unlock(&lock);
      free(dev);
      free(cpu);
      return;
    }
  }
  pthread_mutex_unlock(&lock);
  (void)fprintf(stderr,
                "arch_dma_free: %p (phys 0x%llx, %zu pages) is not a live "
                "DMA allocation\n",
                va, (unsigned long long)pa, pages);
  abort();
}

rl_status arch_virt_to_phys_checked(const void *va, paddr_t *out) {
  uintptr_t v = (uintptr_t)va;
  rl_status st = RL_ERR_OUT_OF_RANGE;
  if (out == NULL) {
    return RL_ERR_INVALID;
  }
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    uintptr_t base = (uintptr_t)table[i].cpu;
    if (table[i].cpu != NULL && v >= base && v - base < table[i].size) {
      *out = table[i].phys + (v - base);
      st = RL_OK;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return st;
}

rl_status arch_phys_to_virt_checked(paddr_t pa, void **out) {
  rl_status st = RL_ERR_OUT_OF_RANGE;
  if (out == NULL) {
    return RL_ERR_INVALID;
  }
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    if (table[i].cpu != NULL && pa >= table[i].phys &&
        pa - table[i].phys < table[i].size) {
      *out = table[i].cpu + (pa - table[i].phys);
      st = RL_OK;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return st;
}

paddr_t arch_virt_to_phys(const void *va) {
  paddr_t pa;
  if (arch_virt_to_phys_checked(va, &pa) != RL_OK) {
    (void)fprintf(stderr, "arch_virt_to_phys: %p is not in DMA memory\n", va);
    abort();
  }
  return pa;
}

void *arch_phys_to_virt(paddr_t pa) {
  void *va;
  if (arch_phys_to_virt_checked(pa, &va) != RL_OK) {
    (void)fprintf(stderr, "arch_phys_to_virt: 0x%llx is not in DMA memory\n",
                  (unsigned long long)pa);
    abort();
  }
  return va;
}

size_t host_dma_live_count(void) {
  pthread_mutex_lock(&lock);
  size_t n = live;
  pthread_mutex_unlock(&lock);
  return n;
}

rl_status host_dma_device_ptr(paddr_t pa, size_t len, void **out) {
  if (out == NULL || len == 0) {
    return RL_ERR_INVALID;
  }
  rl_status st = RL_ERR_OUT_OF_RANGE;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    const struct host_dma *d = &table[i];
    if (d->cpu != NULL && pa >= d->phys && pa - d->phys < d->size &&
        len <= d->size - (pa - d->phys)) {
      *out = (d->dev != NULL ? d->dev : d->cpu) + (pa - d->phys);
      st = RL_OK;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return st;
}

/* Frees every device copy (lock held). */
static void drop_device_copies(void) {
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    free(table[i].dev);
    table[i].dev = NULL;
  }
}

rl_status host_cache_model(bool on, size_t line_size) {
  if (on && line_size != 64 && line_size != 128) {
    return RL_ERR_INVALID;
  }
  rl_status st = RL_OK;
  pthread_mutex_lock(&lock);
  if (!on) {
    drop_device_copies();
    model_on = false;
  } else {
    /* Live allocations: memory holds what the CPU has (all clean). */
    for (size_t i = 0; i < HOST_DMA_MAX && st == RL_OK; i++) {
      struct host_dma *d = &table[i];
      if (d->cpu == NULL || d->dev != NULL) {
        continue;
      }
      d->dev = aligned_alloc(RL_PAGE_SIZE, d->size);
      if (d->dev == NULL) {
        st = RL_ERR_NO_MEMORY;
      } else {
        memcpy(d->dev, d->cpu, d->size);
      }
    }
    if (st != RL_OK) {
      drop_device_copies(); /* only reached from off: stays off */
    } else {
      model_on = true;
      model_line = line_size;
    }
  }
  pthread_mutex_unlock(&lock);
  return st;
}

void host_dma_cache_move(const void *va, size_t len, bool to_device,
                         const char *op) {
  if (len == 0) {
    return; /* touches no line, as on the hardware */
  }
  uintptr_t v = (uintptr_t)va;
  pthread_mutex_lock(&lock);
  if (!model_on) {
    pthread_mutex_unlock(&lock);
    return;
  }
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    const struct host_dma *d = &table[i];
    uintptr_t base = (uintptr_t)d->cpu;
    if (d->cpu == NULL || v < base || v - base >= d->size ||
        len > d->size - (v - base)) {
      continue;
    }
    /* Whole lines: allocations are page aligned, so lines never leave
     * the allocation. */
    size_t first = RL_ALIGN_DOWN(v - base, model_line);
    size_t end = RL_ALIGN_UP(v - base + len, model_line);
    host_cache_line_fn hook = in_line_hook ? NULL : line_hook;
    if (hook == NULL && !line_descending) {
      if (to_device) {
        memcpy(d->dev + first, d->cpu + first, end - first);
      } else {
        memcpy(d->cpu + first, d->dev + first, end - first);
      }
      pthread_mutex_unlock(&lock);
      return;
    }
    /* Line by line, in the order asked, the hook after each. */
    uint8_t *cpu = d->cpu, *dev = d->dev;
    size_t line = model_line;
    size_t nlines = (end - first) / line;
    void *ctx = line_hook_ctx;
    bool down = line_descending;
    pthread_mutex_unlock(&lock);
    for (size_t k = 0; k < nlines; k++) {
      size_t off = first + (down ? nlines - 1 - k : k) * line;
      pthread_mutex_lock(&lock);
      if (to_device) {
        memcpy(dev + off, cpu + off, line);
      } else {
        memcpy(cpu + off, dev + off, line);
      }
      pthread_mutex_unlock(&lock);
      if (hook != NULL) {
        in_line_hook = true;
        hook(ctx, cpu + off, to_device);
        in_line_hook = false;
      }
    }
    return;
  }
  pthread_mutex_unlock(&lock);
  (void)fprintf(stderr,
                "%s: %p (%zu bytes) is not inside one DMA allocation (cache "
                "model on)\n",
                op, va, len);
  abort();
}

size_t host_dma_cache_line(void) {
  pthread_mutex_lock(&lock);
  size_t line = model_on ? model_line : 64;
  pthread_mutex_unlock(&lock);
  return line;
}

void host_cache_line_hook(host_cache_line_fn fn, void *ctx, bool descending) {
  pthread_mutex_lock(&lock);
  line_hook = fn;
  line_hook_ctx = ctx;
  line_descending = descending;
  pthread_mutex_unlock(&lock);
}
