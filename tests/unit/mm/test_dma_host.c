/* The host arch layer's DMA memory: zeroed, page aligned, physical
 * addresses that are not pointers, exact translation both ways, and sync
 * calls counted only for non-coherent devices. */
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

#include <arch/dma.h>

#include "arch_host.h"

static int setup(void **state) {
  (void)state;
  host_cache_reset_counts();
  return 0;
}

static int teardown(void **state) {
  (void)state;
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
    for (size_t j = 0; j < b->size; j++)
      assert_int_equal(p[j], 0);
    memset(b->cpu, 0xa5, b->size); /* all of it is writable */
  }
  assert_int_equal(host_dma_live_count(), RL_ARRAY_SIZE(sizes));
  /* Physical ranges never overlap or touch. */
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++)
    for (size_t j = 0; j < RL_ARRAY_SIZE(sizes); j++)
      if (i != j)
        assert_true(bufs[i].phys + bufs[i].size < bufs[j].phys ||
                    bufs[j].phys + bufs[j].size < bufs[i].phys);
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
    if (freopen("/dev/null", "w", stderr) == NULL)
      _exit(100);
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
  if (arch_dma_alloc(1, &b) != RL_OK)
    _exit(101);
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

static void test_sync_counts(void **state) {
  (void)state;
  struct arch_dma_buf b;
  assert_int_equal(arch_dma_alloc(1, &b), RL_OK);
  unsigned long base = arch_dma_sync_count();
  assert_int_equal(base, 0);

  /* Coherent: a barrier only, nothing counted. */
  for (int d = ARCH_DMA_TO_DEVICE; d <= ARCH_DMA_BIDIRECTIONAL; d++) {
    arch_dma_sync_for_device(b.cpu, b.size, (enum arch_dma_dir)d, true);
    arch_dma_sync_for_cpu(b.cpu, b.size, (enum arch_dma_dir)d, true);
  }
  assert_int_equal(arch_dma_sync_count(), 0);
  for (int op = 0; op < HOST_CACHE_OP_COUNT; op++)
    assert_int_equal(host_cache_count((enum host_cache_op)op), 0);

  /* Not coherent: the cache operation each direction needs. */
  arch_dma_sync_for_device(b.cpu, b.size, ARCH_DMA_TO_DEVICE, false);
  assert_int_equal(arch_dma_sync_count(), 1);
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN), 1);
  arch_dma_sync_for_device(b.cpu, b.size, ARCH_DMA_FROM_DEVICE, false);
  arch_dma_sync_for_device(b.cpu, b.size, ARCH_DMA_BIDIRECTIONAL, false);
  assert_int_equal(arch_dma_sync_count(), 3);
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN_INVALIDATE), 2);
  arch_dma_sync_for_cpu(b.cpu, b.size, ARCH_DMA_FROM_DEVICE, false);
  arch_dma_sync_for_cpu(b.cpu, b.size, ARCH_DMA_BIDIRECTIONAL, false);
  assert_int_equal(arch_dma_sync_count(), 5);
  assert_int_equal(host_cache_count(HOST_CACHE_INVALIDATE), 2);
  /* The CPU reading back what it wrote for the device needs nothing. */
  arch_dma_sync_for_cpu(b.cpu, b.size, ARCH_DMA_TO_DEVICE, false);
  assert_int_equal(arch_dma_sync_count(), 5);

  host_cache_reset_counts();
  assert_int_equal(arch_dma_sync_count(), 0);
  assert_int_equal(host_cache_count(HOST_CACHE_CLEAN), 0);
  assert_int_equal(host_cache_count(HOST_CACHE_OP_COUNT), 0);
  arch_dma_free(&b);
}

/* Many live allocations: translation stays exact for each. */
static void test_many(void **state) {
  (void)state;
  struct arch_dma_buf bufs[200];
  for (size_t i = 0; i < RL_ARRAY_SIZE(bufs); i++)
    assert_int_equal(arch_dma_alloc(1 + i % 3, &bufs[i]), RL_OK);
  for (size_t i = 0; i < RL_ARRAY_SIZE(bufs); i++) {
    size_t off = (i * 97) % bufs[i].size;
    uint8_t *va = (uint8_t *)bufs[i].cpu + off;
    assert_int_equal(arch_virt_to_phys(va), bufs[i].phys + off);
    assert_ptr_equal(arch_phys_to_virt(bufs[i].phys + off), va);
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(bufs); i += 2)
    arch_dma_free(&bufs[i]);
  for (size_t i = 1; i < RL_ARRAY_SIZE(bufs); i += 2)
    assert_int_equal(arch_virt_to_phys(bufs[i].cpu), bufs[i].phys);
  for (size_t i = 1; i < RL_ARRAY_SIZE(bufs); i += 2)
    arch_dma_free(&bufs[i]);
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
  };
  return cmocka_run_group_tests_name("dma_host", tests, NULL, NULL);
}
