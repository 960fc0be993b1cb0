/* The host arch layer's DMA memory: zeroed, page aligned, physical
 * addresses that are not pointers, exact translation both ways, sync
 * calls counted only for non-coherent devices (a coherent one runs no
 * barrier either), and the write-back cache
 * model (two views of memory, whole lines moved only by cache ops). */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arch/cache.h>
#include <arch/dma.h>

#include "arch_host.h"

static const struct arch_dma_dev coherent = {.coherent = true};
static const struct arch_dma_dev noncoherent = {.coherent = false};

static int setup(void **state) {
  (void)state;
  host_cache_reset_counts();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  assert_int_equal(host_cache_model(false, 0), RL_OK);
  assert_int_equal(host_dma_live_count(), 0);
  return 0;
}

static void test_alloc_zeroed_aligned(void **state) {
  (void)state;
  static const size_t sizes[] = {1, 2, 3, 16, 64};
  struct arch_dma_buf bufs[RL_ARRAY_SIZE(sizes)];
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    struct arch_dma_buf *b = &bufs[i];
    assert_int_equal(arch_dma_alloc(sizes[i], b), RL_OK);
    assert_non_null(b->cpu);
    assert_int_equal(b->size, sizes[i] * RL_PAGE_SIZE);
    assert_true(RL_IS_ALIGNED((uintptr_t)b->cpu, RL_PAGE_SIZE));
    assert_true(RL_IS_ALIGNED(b->phys, RL_PAGE_SIZE));
    assert_true(b->phys != (paddr_t)(uintptr_t)b->cpu);
    assert_true(b->phys >= HOST_DMA_PHYS_BASE);
    const uint8_t *p = b->cpu;
    for (size_t j = 0; j < b->size; j++) {
      assert_int_equal(p[j], 0);
    }
    memset(b->cpu, 0xa5, b->size); /* all of it is writable */
  }
  assert_int_equal(host_dma_live_count(), RL_ARRAY_SIZE(sizes));
  /* Physical ranges never overlap or touch. */
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    for (size_t j = 0; j < RL_ARRAY_SIZE(sizes); j++) {
      if (i != j) {
        assert_true(bufs[i].phys + bufs[i].size < bufs[j].phys ||
                    bufs[j].phys + bufs[j].size < bufs[i].phys);
      }
    }
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    arch_dma_free(&bufs[i]);
    assert_null(bufs[i].cpu);
    assert_int_equal(bufs[i].phys, 0);
    assert_int_equal(bufs[i].size, 0);
  }
}

static void test_bad_args(void **state) {
  (void)state;
  struct arch_dma_buf b = {0};
  assert_int_equal(arch_dma_alloc(0, &b), RL_ERR_INVALID);
  assert_int_equal(arch_dma_alloc(1, NULL), RL_ERR_INVALID);
  assert_int_equal(arch_dma_alloc(SIZE_MAX, &b), RL_ERR_NO_MEMORY);
  assert_int_equal(arch_dma_alloc(SIZE_MAX / RL_PAGE_SIZE, &b),
                   RL_ERR_NO_MEMORY);
  assert_null(b.cpu);
  /* A zeroed buffer, or NULL, is ignored by free. */
  arch_dma_free(&b);
  arch_dma_free(NULL);
  assert_int_equal(arch_virt_to_phys_checked(&b, NULL), RL_ERR_INVALID);
  assert_int_equal(arch_phys_to_virt_checked(HOST_DMA_PHYS_BASE, NULL),
                   RL_ERR_INVALID);
}

static void test_translation_round_trip(void **state) {
  (void)state;
  struct arch_dma_buf a, b;
  assert_int_equal(arch_dma_alloc(3, &a), RL_OK);
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  const size_t offs[] = {0,
                         1,
                         7,
                         100,
                         RL_PAGE_SIZE - 1,
                         RL_PAGE_SIZE,
                         RL_PAGE_SIZE + 1,
                         2 * RL_PAGE_SIZE + 123,
                         a.size - 1};
  for (size_t i = 0; i < RL_ARRAY_SIZE(offs); i++) {
    uint8_t *va = (uint8_t *)a.cpu + offs[i];
    paddr_t pa = 0;
    void *back = NULL;
    assert_int_equal(arch_virt_to_phys_checked(va, &pa), RL_OK);
    assert_int_equal(pa, a.phys + offs[i]);
    assert_int_equal(arch_phys_to_virt_checked(pa, &back), RL_OK);
    assert_ptr_equal(back, va);
    assert_int_equal(arch_virt_to_phys(va), pa);
    assert_ptr_equal(arch_phys_to_virt(pa), va);
  }
  /* Each buffer translates to its own range. */
  assert_int_equal(arch_virt_to_phys(b.cpu), b.phys);
  assert_ptr_equal(arch_phys_to_virt(b.phys + 5), (uint8_t *)b.cpu + 5);
  arch_dma_free(&a);
  arch_dma_free(&b);
}

static void test_out_of_range(void **state) {
  (void)state;
  struct arch_dma_buf a;
  assert_int_equal(arch_dma_alloc(2, &a), RL_OK);
  paddr_t pa = 0x1234;
  void *va = (void *)0x1234;
  int on_stack = 0;
  void *heap = malloc(64);
  assert_non_null(heap);

  assert_int_equal(arch_virt_to_phys_checked((uint8_t *)a.cpu + a.size, &pa),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_virt_to_phys_checked((uint8_t *)a.cpu - 1, &pa),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_virt_to_phys_checked(&on_stack, &pa),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_virt_to_phys_checked(heap, &pa), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_virt_to_phys_checked(NULL, &pa), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(pa, 0x1234); /* untouched on failure */

  /* The pointer's value is not a physical address. */
  assert_int_equal(arch_phys_to_virt_checked((paddr_t)(uintptr_t)a.cpu, &va),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_phys_to_virt_checked(a.phys + a.size, &va),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_phys_to_virt_checked(a.phys - 1, &va),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_phys_to_virt_checked(0, &va), RL_ERR_OUT_OF_RANGE);
  assert_ptr_equal(va, (void *)0x1234);

  /* Freed memory no longer translates, and its phys is not reused. */
  void *old_cpu = a.cpu;
  paddr_t old_phys = a.phys;
  arch_dma_free(&a);
  assert_int_equal(arch_phys_to_virt_checked(old_phys, &va),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_virt_to_phys_checked(old_cpu, &pa),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(arch_dma_alloc(2, &a), RL_OK);
  assert_true(a.phys > old_phys);
  arch_dma_free(&a);
  free(heap);
}

/* Runs `fn` in a child with stderr silenced; returns its wait status. */
static int run_child(void (*fn)(void)) {
  (void)fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (freopen("/dev/null", "w", stderr) == NULL) {
      _exit(100);
    }
    fn();
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void loud_v2p(void) {
  int x;
  (void)arch_virt_to_phys(&x);
}

static void loud_p2v(void) { (void)arch_phys_to_virt(HOST_DMA_PHYS_BASE - 1); }

static void free_unknown(void) {
  struct arch_dma_buf fake = {(void *)0x1000, 0x2000, RL_PAGE_SIZE};
  arch_dma_free(&fake);
}

static void double_free(void) {
  struct arch_dma_buf b, copy;
  if (arch_dma_alloc(1, &b) != RL_OK) {
    _exit(101);
  }
  copy = b;
  arch_dma_free(&b);
  arch_dma_free(&copy);
}

static void test_loud_variants_abort(void **state) {
  (void)state;
  void (*fns[])(void) = {loud_v2p, loud_p2v, free_unknown, double_free};
  for (size_t i = 0; i < RL_ARRAY_SIZE(fns); i++) {
    int st = run_child(fns[i]);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
  }
}

static unsigned long barriers(void) {
  unsigned long n = 0;
  for (int k = 0; k < HOST_BARRIER_COUNT; k++) {
    n += host_barrier_count((enum host_barrier)k);
  }
  return n;
}

/* Syncs of b for `dev`, every direction both ways: no sync counted since
 * `base`, no barrier, no cache operation. */
static void assert_syncs_do_nothing(const struct arch_dma_dev *dev,
                                    const struct arch_dma_buf *b,
                                    unsigned long base) {
  for (int d = ARCH_DMA_TO_DEVICE; d <= ARCH_DMA_BIDIRECTIONAL; d++) {
    arch_dma_sync_for_device(dev, b->cpu, b->size, (enum arch_dma_dir)d);
    arch_dma_sync_for_cpu(dev, b->cpu, b->size, (enum arch_dma_dir)d);
  }
  assert_int_equal(arch_dma_sync_count() - base, 0);
  assert_int_equal(barriers(), 0);
  for (int op = 0; op < HOST_CACHE_OP_COUNT; op++) {
    assert_int_equal(host_cache_count((enum host_cache_op)op), 0);
  }
}

static void test_sync_counts(void **state) {
  (void)state;
  struct arch_dma_buf b;
  host_cache_reset_counts();
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  /* mm/dma.c pushes the zeroes out of the cache, as in the kernel. */
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN_INVALIDATE), 1);
  host_cache_reset_counts();
  unsigned long base = arch_dma_sync_count();
  host_barrier_reset_counts();

  /* Coherent: nothing at all, not even a barrier (issue 13 item 5). */
  assert_syncs_do_nothing(&coherent, &b, base);

#ifndef CONFIG_DMA_NONCOHERENT
  /* Every device is driven as coherent: the same nothing. */
  assert_syncs_do_nothing(&noncoherent, &b, base);
#else
  /* Not coherent: the cache operation each direction needs, then (for
   * the device) or first (for the CPU) a full-system barrier. */
  arch_dma_sync_for_device(&noncoherent, b.cpu, b.size, ARCH_DMA_TO_DEVICE);
  assert_int_equal(arch_dma_sync_count() - base, 1);
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN), 1);
  assert_int_equal(host_barrier_count(HOST_WMB), 1);
  arch_dma_sync_for_device(&noncoherent, b.cpu, b.size, ARCH_DMA_FROM_DEVICE);
  arch_dma_sync_for_device(&noncoherent, b.cpu, b.size, ARCH_DMA_BIDIRECTIONAL);
  assert_int_equal(arch_dma_sync_count() - base, 3);
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN_INVALIDATE), 2);
  arch_dma_sync_for_cpu(&noncoherent, b.cpu, b.size, ARCH_DMA_FROM_DEVICE);
  arch_dma_sync_for_cpu(&noncoherent, b.cpu, b.size, ARCH_DMA_BIDIRECTIONAL);
  assert_int_equal(arch_dma_sync_count() - base, 5);
  assert_int_equal(host_cache_count(HOST_CACHE_INVALIDATE), 2);
  assert_int_equal(host_barrier_count(HOST_RMB), 2);
  /* The CPU reading back what it wrote for the device needs nothing. */
  arch_dma_sync_for_cpu(&noncoherent, b.cpu, b.size, ARCH_DMA_TO_DEVICE);
  assert_int_equal(arch_dma_sync_count() - base, 5);
  assert_int_equal(host_barrier_count(HOST_WMB), 3);
  assert_int_equal(host_barrier_count(HOST_RMB), 3);
  assert_int_equal(barriers(), 6);
#endif

  host_cache_reset_counts();
  host_barrier_reset_counts();
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN), 0);
  assert_int_equal(host_cache_count(HOST_CACHE_OP_COUNT), 0);
  assert_int_equal(barriers(), 0);
  arch_dma_free(&b);
}

/* Many live allocations: translation stays exact for each. */
static void test_many(void **state) {
  (void)state;
  struct arch_dma_buf bufs[200];
  for (size_t i = 0; i < RL_ARRAY_SIZE(bufs); i++) {
    assert_int_equal(arch_dma_alloc(1 + i % 3, &bufs[i]), RL_OK);
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(bufs); i++) {
    size_t off = (i * 97) % bufs[i].size;
    uint8_t *va = (uint8_t *)bufs[i].cpu + off;
    assert_int_equal(arch_virt_to_phys(va), bufs[i].phys + off);
    assert_ptr_equal(arch_phys_to_virt(bufs[i].phys + off), va);
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(bufs); i += 2) {
    arch_dma_free(&bufs[i]);
  }
  for (size_t i = 1; i < RL_ARRAY_SIZE(bufs); i += 2) {
    assert_int_equal(arch_virt_to_phys(bufs[i].cpu), bufs[i].phys);
  }
  for (size_t i = 1; i < RL_ARRAY_SIZE(bufs); i += 2) {
    arch_dma_free(&bufs[i]);
  }
}

/* ---- the write-back cache model ---------------------------------------- */

/* The device's view of `len` bytes at offset `off` of `b`. */
static uint8_t *dev_at(const struct arch_dma_buf *b, size_t off, size_t len) {
  void *p = NULL;
  assert_int_equal(host_dma_device_ptr(b->phys + off, len, &p), RL_OK);
  return p;
}

static uint8_t *cpu_at(const struct arch_dma_buf *b, size_t off) {
  return (uint8_t *)b->cpu + off;
}

static void assert_all(const uint8_t *p, size_t len, uint8_t v) {
  for (size_t i = 0; i < len; i++) {
    if (p[i] != v) {
      fail_msg("byte %zu is %#x, expected %#x", i, p[i], v);
    }
  }
}

/* Model off: one view; the device pointer is the CPU pointer. */
static void test_model_off_one_view(void **state) {
  (void)state;
  struct arch_dma_buf b;
  assert_int_equal(arch_dma_alloc(2, &b), RL_OK);
  assert_ptr_equal(dev_at(&b, 0, b.size), b.cpu);
  assert_ptr_equal(dev_at(&b, 100, 28), cpu_at(&b, 100));
  cpu_at(&b, 5)[0] = 0x11;
  assert_int_equal(dev_at(&b, 5, 1)[0], 0x11);
  dev_at(&b, 4000, 1)[0] = 0x22;
  assert_int_equal(cpu_at(&b, 4000)[0], 0x22);
  /* Cache ops only count, even outside DMA memory. */
  int x = 0;
  arch_cache_clean(&x, sizeof(x));
  arch_cache_invalidate(&x, sizeof(x));
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN), 1);
  assert_int_equal(host_cache_count(HOST_CACHE_INVALIDATE), 1);
  arch_dma_free(&b);
}

static void test_device_ptr_args(void **state) {
  (void)state;
  struct arch_dma_buf b;
  void *p = NULL;
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  for (int on = 0; on <= 1; on++) {
    assert_int_equal(host_cache_model(on != 0, 64), RL_OK);
    assert_int_equal(host_dma_device_ptr(b.phys, 0, &p), RL_ERR_INVALID);
    assert_int_equal(host_dma_device_ptr(b.phys, 1, NULL), RL_ERR_INVALID);
    assert_int_equal(host_dma_device_ptr(b.phys + b.size - 4, 5, &p),
                     RL_ERR_OUT_OF_RANGE);
    assert_int_equal(host_dma_device_ptr(b.phys - 1, 1, &p),
                     RL_ERR_OUT_OF_RANGE);
    assert_int_equal(host_dma_device_ptr((paddr_t)(uintptr_t)b.cpu, 1, &p),
                     RL_ERR_OUT_OF_RANGE);
    assert_int_equal(host_dma_device_ptr(b.phys, b.size, &p), RL_OK);
    assert_true((p == b.cpu) == (on == 0));
  }
  assert_int_equal(host_cache_model(true, 0), RL_ERR_INVALID);
  assert_int_equal(host_cache_model(true, 32), RL_ERR_INVALID);
  assert_int_equal(host_cache_model(true, 96), RL_ERR_INVALID);
  assert_int_equal(host_cache_model(true, 256), RL_ERR_INVALID);
  arch_dma_free(&b);
}

/* Nothing moves without a cache op; a clean moves whole lines CPU to
 * device, only the lines the range touches, and never the other way. */
static void clean_lines(size_t line) {
  struct arch_dma_buf b;
  assert_int_equal(host_cache_model(true, line), RL_OK);
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  uint8_t *dev = dev_at(&b, 0, b.size);
  assert_ptr_not_equal(dev, b.cpu);
  assert_all(dev, b.size, 0); /* zeroed, like the CPU's */
  memset(b.cpu, 0xc1, b.size);
  assert_all(dev, b.size, 0);
  dev[3 * line] = 0xd0; /* the device writes; the CPU does not see it */
  assert_int_equal(cpu_at(&b, 3 * line)[0], 0xc1);

  /* One byte in line 1: all of line 1, nothing of lines 0 and 2. */
  arch_cache_clean(cpu_at(&b, line + line / 2), 1);
  assert_all(dev, line, 0);
  assert_all(dev + line, line, 0xc1);
  assert_all(dev + 2 * line, line, 0);
  /* The last byte of a line, and the first of the next: two lines. */
  arch_cache_clean(cpu_at(&b, 5 * line - 1), 2);
  assert_int_equal(dev[3 * line], 0xd0);
  assert_all(dev + 3 * line + 1, line - 1, 0);
  assert_all(dev + 4 * line, 2 * line, 0xc1);
  assert_all(dev + 6 * line, line, 0);
  /* The CPU's view is untouched by a clean. */
  dev[line] = 0xd1;
  arch_cache_clean(cpu_at(&b, 2 * line), line);
  assert_all(cpu_at(&b, 0), b.size, 0xc1);
  assert_int_equal(dev[line], 0xd1);
  assert_int_equal(dev[3 * line], 0xd0);
  assert_all(dev + 2 * line, line, 0xc1);
  /* A line-sized range at a line boundary is exactly that line; the last
   * line of the allocation works too. */
  arch_cache_clean(cpu_at(&b, b.size - line), line);
  assert_all(dev + b.size - line, line, 0xc1);
  assert_all(dev + b.size - 2 * line, line, 0);
  arch_dma_free(&b);
}

static void test_clean_lines_64(void **state) {
  (void)state;
  clean_lines(64);
}

static void test_clean_lines_128(void **state) {
  (void)state;
  clean_lines(128);
}

/* An invalidate moves whole lines device to CPU and throws away what the
 * CPU wrote there without a clean. */
static void invalidate_lines(size_t line) {
  struct arch_dma_buf b;
  assert_int_equal(host_cache_model(true, line), RL_OK);
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  uint8_t *dev = dev_at(&b, 0, b.size);
  memset(dev, 0xd5, b.size);     /* the device wrote everything */
  memset(b.cpu, 0xc5, 4 * line); /* the CPU wrote lines 0..3 */
  assert_all(cpu_at(&b, 4 * line), line, 0);
  arch_cache_invalidate(cpu_at(&b, 2 * line + 7), 1);
  assert_all(cpu_at(&b, 0), 2 * line, 0xc5);
  assert_all(cpu_at(&b, 2 * line), line, 0xd5); /* CPU write discarded */
  assert_all(cpu_at(&b, 3 * line), line, 0xc5);
  assert_all(cpu_at(&b, 4 * line), line, 0);
  /* The device's view is untouched by an invalidate. */
  assert_all(dev, b.size, 0xd5);
  /* Clean then invalidate: the CPU's line wins in both views. */
  dev[line + 1] = 0xd6;
  arch_cache_clean_invalidate(cpu_at(&b, line), 1);
  assert_all(dev + line, line, 0xc5);
  assert_all(cpu_at(&b, line), line, 0xc5);
  assert_int_equal(dev[0], 0xd5);
  assert_int_equal(dev[2 * line], 0xd5);
  arch_dma_free(&b);
}

static void test_invalidate_lines_64(void **state) {
  (void)state;
  invalidate_lines(64);
}

static void test_invalidate_lines_128(void **state) {
  (void)state;
  invalidate_lines(128);
}

/* The DMA sync calls do the maintenance each direction needs when the
 * device is not coherent, and move nothing when it is. */
static void test_model_sync(void **state) {
  (void)state;
  struct arch_dma_buf b;
  assert_int_equal(host_cache_model(true, 64), RL_OK);
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  uint8_t *dev = dev_at(&b, 0, b.size);
  uint8_t *cpu = b.cpu;

  /* Coherent: nothing moves either way. */
  memset(cpu, 0xc0, 64);
  dev[64] = 0xd0;
  for (int d = ARCH_DMA_TO_DEVICE; d <= ARCH_DMA_BIDIRECTIONAL; d++) {
    arch_dma_sync_for_device(&coherent, cpu, 128, (enum arch_dma_dir)d);
    arch_dma_sync_for_cpu(&coherent, cpu, 128, (enum arch_dma_dir)d);
  }
  assert_all(dev, 64, 0);
  assert_int_equal(cpu[64], 0);

#ifndef CONFIG_DMA_NONCOHERENT
  /* Every device is driven as coherent: nothing moves for this one. */
  for (int d = ARCH_DMA_TO_DEVICE; d <= ARCH_DMA_BIDIRECTIONAL; d++) {
    arch_dma_sync_for_device(&noncoherent, cpu, 128, (enum arch_dma_dir)d);
    arch_dma_sync_for_cpu(&noncoherent, cpu, 128, (enum arch_dma_dir)d);
  }
  assert_all(dev, 64, 0);
  assert_int_equal(cpu[64], 0);
#else
  /* TO_DEVICE: a clean; for_cpu after it needs and does nothing. */
  arch_dma_sync_for_device(&noncoherent, cpu + 10, 4, ARCH_DMA_TO_DEVICE);
  assert_all(dev, 64, 0xc0);
  dev[0] = 0xd1;
  arch_dma_sync_for_cpu(&noncoherent, cpu + 10, 4, ARCH_DMA_TO_DEVICE);
  assert_int_equal(cpu[0], 0xc0);

  /* FROM_DEVICE: before, clean + invalidate (the CPU's writes reach the
   * device and no dirty line is left to overwrite it); after, an
   * invalidate (the device's writes reach the CPU). */
  memset(cpu + 128, 0xc2, 64);
  arch_dma_sync_for_device(&noncoherent, cpu + 128, 64, ARCH_DMA_FROM_DEVICE);
  assert_all(dev + 128, 64, 0xc2);
  memset(dev + 128, 0xd2, 64);
  assert_all(cpu + 128, 64, 0xc2);
  arch_dma_sync_for_cpu(&noncoherent, cpu + 128, 64, ARCH_DMA_FROM_DEVICE);
  assert_all(cpu + 128, 64, 0xd2);

  /* BIDIRECTIONAL: the same two. */
  memset(cpu + 256, 0xc3, 64);
  arch_dma_sync_for_device(&noncoherent, cpu + 256, 64, ARCH_DMA_BIDIRECTIONAL);
  assert_all(dev + 256, 64, 0xc3);
  memset(dev + 256, 0xd3, 64);
  arch_dma_sync_for_cpu(&noncoherent, cpu + 256, 64, ARCH_DMA_BIDIRECTIONAL);
  assert_all(cpu + 256, 64, 0xd3);

  /* Length 0 touches no line. */
  cpu[512] = 0xc4;
  arch_dma_sync_for_device(&noncoherent, cpu + 512, 0, ARCH_DMA_TO_DEVICE);
  arch_cache_clean(cpu + 512, 0);
  assert_int_equal(dev[512], 0);
#endif
  arch_dma_free(&b);
}

/* On with live allocations: each gets a device copy equal to its CPU
 * copy; new ones get a zeroed one; off frees them and the device's view
 * is the CPU's again (device writes that were never invalidated are lost,
 * CPU writes never cleaned stay). */
static void test_model_on_off_live(void **state) {
  (void)state;
  struct arch_dma_buf a, b;
  assert_int_equal(arch_dma_alloc(2, &a), RL_OK);
  memset(a.cpu, 0xa1, a.size);
  assert_int_equal(host_cache_model(true, 128), RL_OK);
  uint8_t *dev = dev_at(&a, 0, a.size);
  assert_ptr_not_equal(dev, a.cpu);
  assert_all(dev, a.size, 0xa1);
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  assert_all(dev_at(&b, 0, b.size), b.size, 0);
  assert_int_equal(host_dma_live_count(), 2);

  memset(dev, 0xd1, 256);           /* device writes, not invalidated */
  memset(cpu_at(&a, 512), 0xc1, 8); /* CPU writes, not cleaned */
  /* On again (another line size): the copies stay as they are. */
  assert_int_equal(host_cache_model(true, 64), RL_OK);
  assert_ptr_equal(dev_at(&a, 0, 1), dev);
  assert_int_equal(dev[0], 0xd1);
  arch_cache_clean(cpu_at(&a, 0), 1); /* one 64-byte line now */
  assert_all(dev, 64, 0xa1);
  assert_all(dev + 64, 192, 0xd1);

  assert_int_equal(host_cache_model(false, 0), RL_OK);
  assert_ptr_equal(dev_at(&a, 0, a.size), a.cpu);
  assert_all(cpu_at(&a, 0), 512, 0xa1);
  assert_all(cpu_at(&a, 512), 8, 0xc1);
  /* Free with the model off, and with it on (the device copy goes too:
   * ASan would report a leak). */
  arch_dma_free(&a);
  assert_int_equal(host_cache_model(true, 64), RL_OK);
  assert_ptr_not_equal(dev_at(&b, 0, 1), b.cpu);
  arch_dma_free(&b);
  assert_int_equal(host_dma_live_count(), 0);
}

/* With the model on, a cache op outside one DMA allocation is a test
 * bug: it aborts. */
static void cache_op_outside(void) {
  int x = 0;
  if (host_cache_model(true, 64) != RL_OK) {
    _exit(102);
  }
  arch_cache_clean(&x, sizeof(x));
}

static void cache_op_past_end(void) {
  struct arch_dma_buf b;
  if (host_cache_model(true, 128) != RL_OK || arch_dma_alloc(1, &b) != RL_OK) {
    _exit(103);
  }
  arch_cache_invalidate((uint8_t *)b.cpu + b.size - 1, 2);
}

static void cache_op_freed(void) {
  struct arch_dma_buf b;
  if (host_cache_model(true, 64) != RL_OK || arch_dma_alloc(1, &b) != RL_OK) {
    _exit(104);
  }
  void *old = b.cpu;
  arch_dma_free(&b);
  arch_cache_clean_invalidate(old, 1);
}

static void test_model_outside_aborts(void **state) {
  (void)state;
  void (*fns[])(void) = {cache_op_outside, cache_op_past_end, cache_op_freed};
  for (size_t i = 0; i < RL_ARRAY_SIZE(fns); i++) {
    int st = run_child(fns[i]);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_alloc_zeroed_aligned, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_translation_round_trip, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loud_variants_abort, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sync_counts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many, setup, teardown),
      cmocka_unit_test_setup_teardown(test_model_off_one_view, setup, teardown),
      cmocka_unit_test_setup_teardown(test_device_ptr_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_clean_lines_64, setup, teardown),
      cmocka_unit_test_setup_teardown(test_clean_lines_128, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalidate_lines_64, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_invalidate_lines_128, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_model_sync, setup, teardown),
      cmocka_unit_test_setup_teardown(test_model_on_off_live, setup, teardown),
      cmocka_unit_test_setup_teardown(test_model_outside_aborts, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("dma_host", tests, NULL, NULL);
}
