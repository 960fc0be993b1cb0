/* Host DMA memory: aligned_alloc'd pages with fake physical addresses
 * (HOST_DMA_PHYS_BASE upward, a one-page gap between allocations), so code
 * that hands a pointer to a "device" without translating it is caught. */
#include <arch/barrier.h>
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
  paddr_t phys;
  size_t size;
};

static struct host_dma table[HOST_DMA_MAX];
static paddr_t next_phys = HOST_DMA_PHYS_BASE;
static size_t live;
static unsigned long sync_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

rl_status arch_dma_alloc(size_t pages, struct arch_dma_buf *out) {
  if (out == NULL || pages == 0)
    return RL_ERR_INVALID;
  if (pages > (SIZE_MAX / RL_PAGE_SIZE) - 1)
    return RL_ERR_NO_MEMORY;
  size_t size = pages * RL_PAGE_SIZE;

  uint8_t *cpu = aligned_alloc(RL_PAGE_SIZE, size);
  if (cpu == NULL)
    return RL_ERR_NO_MEMORY;
  memset(cpu, 0, size);

  rl_status st = RL_ERR_NO_MEMORY;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    if (table[i].cpu != NULL)
      continue;
    if (size > UINT64_MAX - RL_PAGE_SIZE * 2 - next_phys)
      break; /* fake physical space used up */
    /* Skip a phys that happens to equal the pointer (never in practice). */
    if (next_phys == (paddr_t)(uintptr_t)cpu)
      next_phys += RL_PAGE_SIZE;
    table[i] = (struct host_dma){cpu, next_phys, size};
    next_phys += size + RL_PAGE_SIZE;
    live++;
    *out = (struct arch_dma_buf){cpu, table[i].phys, size};
    st = RL_OK;
    break;
  }
  pthread_mutex_unlock(&lock);
  if (st != RL_OK)
    free(cpu);
  return st;
}

void arch_dma_free(struct arch_dma_buf *buf) {
  if (buf == NULL || (buf->cpu == NULL && buf->phys == 0 && buf->size == 0))
    return;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    if (table[i].cpu != NULL && table[i].cpu == buf->cpu &&
        table[i].phys == buf->phys && table[i].size == buf->size) {
      table[i] = (struct host_dma){NULL, 0, 0};
      live--;
      pthread_mutex_unlock(&lock);
      free(buf->cpu);
      *buf = (struct arch_dma_buf){NULL, 0, 0};
      return;
    }
  }
  pthread_mutex_unlock(&lock);
  (void)fprintf(stderr,
                "arch_dma_free: %p (phys 0x%llx, %zu bytes) is not a live "
                "DMA allocation\n",
                buf->cpu, (unsigned long long)buf->phys, buf->size);
  abort();
}

rl_status arch_virt_to_phys_checked(const void *va, paddr_t *out) {
  uintptr_t v = (uintptr_t)va;
  rl_status st = RL_ERR_OUT_OF_RANGE;
  if (out == NULL)
    return RL_ERR_INVALID;
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
  if (out == NULL)
    return RL_ERR_INVALID;
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

/* Sync, as arch/common/dma_sync.c: a fence always; when not coherent and
 * len > 0, the cache operation a real CPU would need, counted (for_cpu
 * after TO_DEVICE needs none). */
void arch_dma_sync_for_device(const void *va, size_t len, enum arch_dma_dir dir,
                              bool coherent) {
  if (!coherent && len > 0) {
    if (dir == ARCH_DMA_TO_DEVICE)
      arch_cache_clean(va, len);
    else
      arch_cache_clean_invalidate(va, len);
    __atomic_fetch_add(&sync_count, 1, __ATOMIC_RELAXED);
  }
  arch_wmb(); /* as arch/common/dma_sync.c */
}

void arch_dma_sync_for_cpu(const void *va, size_t len, enum arch_dma_dir dir,
                           bool coherent) {
  arch_rmb(); /* as arch/common/dma_sync.c */
  if (!coherent && len > 0 && dir != ARCH_DMA_TO_DEVICE) {
    arch_cache_invalidate(va, len);
    __atomic_fetch_add(&sync_count, 1, __ATOMIC_RELAXED);
  }
}

unsigned long arch_dma_sync_count(void) {
  return __atomic_load_n(&sync_count, __ATOMIC_RELAXED);
}

void host_dma_reset_sync_count(void) {
  __atomic_store_n(&sync_count, 0, __ATOMIC_RELAXED);
}

size_t host_dma_live_count(void) {
  pthread_mutex_lock(&lock);
  size_t n = live;
  pthread_mutex_unlock(&lock);
  return n;
}

rl_status host_dma_device_ptr(paddr_t pa, size_t len, void **out) {
  if (out == NULL || len == 0)
    return RL_ERR_INVALID;
  rl_status st = RL_ERR_OUT_OF_RANGE;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < HOST_DMA_MAX; i++) {
    const struct host_dma *d = &table[i];
    if (d->cpu != NULL && pa >= d->phys && pa - d->phys < d->size &&
        len <= d->size - (pa - d->phys)) {
      *out = d->cpu + (pa - d->phys);
      st = RL_OK;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return st;
}

rl_status host_cache_model(bool on, size_t line_size) {
  (void)line_size;
  return on ? RL_ERR_NOT_SUPPORTED : RL_OK; /* the model comes next */
}
