/* The DMA allocator (mm/dma.c) on the kernel's page source
 * (mm/dma_pages.c) on the host: page_alloc over a buffer standing in for
 * RAM, with stub translation, cache and panic (this test does not link
 * the host arch layer). */
/* cmocka.h needs these first, in this order. */
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

#include <arch/barrier.h>
#include <arch/cache.h>
#include <arch/dma.h>
#include <lib/log.h>

#include <mm/page_alloc.h>

#define RAM_BASE 0x80000000ULL
#define RAM_PAGES 64

static uint8_t *ram;
static bool translate_fails;
static unsigned long cache_calls;
static const void *cache_va;
static size_t cache_len;
static jmp_buf panic_env;
static bool panic_armed;
static char panic_msg[256];

/* Runs `stmt`, which must panic. */
#define EXPECT_PANIC(stmt)                                                     \
  do {                                                                         \
    panic_armed = true;                                                        \
    panic_msg[0] = '\0';                                                       \
    if (setjmp(panic_env) == 0) {                                              \
      stmt;                                                                    \
      fail_msg("no panic from %s", #stmt);                                     \
    }                                                                          \
  } while (0)

static void *ram_phys_to_virt(paddr_t pa) {
  if (pa < RAM_BASE || pa - RAM_BASE >= RAM_PAGES * RL_PAGE_SIZE) {
    return NULL;
  }
  return ram + (pa - RAM_BASE);
}

/* Stubs of the arch functions mm/dma.c calls. */
rl_status arch_phys_to_virt_checked(paddr_t pa, void **out) {
  void *va = ram_phys_to_virt(pa);
  if (va == NULL || translate_fails) {
    return RL_ERR_OUT_OF_RANGE;
  }
  *out = va;
  return RL_OK;
}

void arch_cache_clean_invalidate(const void *va, size_t len) {
  cache_calls++;
  cache_va = va;
  cache_len = len;
}

/* mm/dma.c's non-coherent syncs call these; no case here does. */
void arch_cache_clean(const void *va, size_t len) {
  (void)va;
  (void)len;
  fail_msg("unexpected arch_cache_clean");
}
void arch_cache_invalidate(const void *va, size_t len) {
  (void)va;
  (void)len;
  fail_msg("unexpected arch_cache_invalidate");
}
/* The host's <arch/barrier.h> counts into this (arch/host defines it). */
_Thread_local unsigned long arch_host_barriers[6];

void panic(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive
  (void)vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
  va_end(ap);
  if (!panic_armed) {
    (void)fprintf(stderr, "unexpected panic: %s\n", panic_msg);
    abort();
  }
  panic_armed = false;
  longjmp(panic_env, 1);
}

static int setup(void **state) {
  (void)state;
  ram = aligned_alloc(RL_PAGE_SIZE, RAM_PAGES * RL_PAGE_SIZE);
  assert_non_null(ram);
  memset(ram, 0xee, RAM_PAGES * RL_PAGE_SIZE);
  page_alloc_reset();
  assert_int_equal(page_alloc_add_range(RAM_BASE, RAM_PAGES * RL_PAGE_SIZE),
                   RL_OK);
  assert_int_equal(page_alloc_init(ram_phys_to_virt), RL_OK);
  translate_fails = false;
  cache_calls = 0;
  panic_armed = false;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  page_alloc_reset();
  free(ram);
  return 0;
}

static void test_alloc_free(void **state) {
  (void)state;
  uint64_t free0 = page_alloc_free_pages();
  struct arch_dma_buf b;
  assert_int_equal(arch_dma_alloc(3, &b), RL_OK);
  assert_int_equal(b.phys, RAM_BASE + RL_PAGE_SIZE); /* after the bitmap */
  assert_ptr_equal(b.cpu, ram + RL_PAGE_SIZE);
  assert_int_equal(b.size, 3 * RL_PAGE_SIZE);
  for (size_t i = 0; i < b.size; i++) {
    assert_int_equal(((uint8_t *)b.cpu)[i], 0);
  }
  /* The page after it was not touched. */
  assert_int_equal(ram[4 * RL_PAGE_SIZE], 0xee);
  assert_int_equal(cache_calls, 1);
  assert_ptr_equal(cache_va, b.cpu);
  assert_int_equal(cache_len, b.size);
  assert_int_equal(page_alloc_free_pages(), free0 - 3);

  arch_dma_free(&b);
  assert_null(b.cpu);
  assert_int_equal(b.size, 0);
  assert_int_equal(page_alloc_free_pages(), free0);
}

static void test_errors(void **state) {
  (void)state;
  struct arch_dma_buf b = {0};
  uint64_t free0 = page_alloc_free_pages();
  assert_int_equal(arch_dma_alloc(0, &b), RL_ERR_INVALID);
  assert_int_equal(arch_dma_alloc(1, NULL), RL_ERR_INVALID);
  assert_int_equal(arch_dma_alloc(SIZE_MAX, &b), RL_ERR_NO_MEMORY);
  assert_int_equal(arch_dma_alloc(RAM_PAGES, &b), RL_ERR_NO_MEMORY);
  /* Translation failure gives the pages back. */
  translate_fails = true;
  assert_int_equal(arch_dma_alloc(2, &b), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(page_alloc_free_pages(), free0);
  translate_fails = false;
  /* Zeroed buffers are ignored; bad ones panic. */
  arch_dma_free(NULL);
  arch_dma_free(&b);
  struct arch_dma_buf bad = {ram + RL_PAGE_SIZE, RAM_BASE + RL_PAGE_SIZE,
                             RL_PAGE_SIZE};
  EXPECT_PANIC(arch_dma_free(&bad)); /* never allocated */
  assert_non_null(strstr(panic_msg, "arch_dma_free"));
  assert_non_null(strstr(panic_msg, "RL_ERR_INVALID"));
  struct arch_dma_buf odd = {ram + RL_PAGE_SIZE, RAM_BASE + RL_PAGE_SIZE, 5};
  EXPECT_PANIC(arch_dma_free(&odd)); /* size not whole pages */
  assert_int_equal(page_alloc_free_pages(), free0);

  struct arch_dma_buf ok, copy;
  assert_int_equal(arch_dma_alloc(1, &ok), RL_OK);
  copy = ok;
  arch_dma_free(&ok);
  EXPECT_PANIC(arch_dma_free(&copy)); /* double free */
  assert_int_equal(page_alloc_free_pages(), free0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_alloc_free, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
  };
  return cmocka_run_group_tests_name("dma_kernel", tests, NULL, NULL);
}
