/* Page allocator: ranges, reservations, alignment, exhaustion, errors,
 * and a randomized run checked against a simple model. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include <mm/page_alloc.h>

#define PG ((uint64_t)RL_PAGE_SIZE)
#define TOP_PAGE 0xfffffffffffff000ULL /* last page below 2^64 */

/* A window of fake physical memory the bitmaps can live in. */
static struct {
  paddr_t base;
  size_t len;
  uint8_t *buf;
  paddr_t asked;
  unsigned calls;
  size_t skew; /* added to the pointer (misalignment test) */
} win;

static void *win_phys_to_virt(paddr_t pa) {
  win.calls++;
  win.asked = pa;
  if (pa < win.base || pa - win.base >= win.len) {
    return NULL;
  }
  return win.buf + (pa - win.base) + win.skew;
}

static void win_map(paddr_t base, size_t pages) {
  free(win.buf);
  win.base = base;
  win.len = pages * RL_PAGE_SIZE;
  win.buf = aligned_alloc(RL_PAGE_SIZE, win.len);
  assert_non_null(win.buf);
  memset(win.buf, 0xff, win.len); /* init must clear what it uses */
  win.calls = 0;
  win.skew = 0;
}

static int setup(void **state) {
  (void)state;
  page_alloc_reset();
  memset(&win, 0, sizeof(win));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(win.buf);
  win.buf = NULL;
  page_alloc_reset();
  return 0;
}

static paddr_t must_alloc(size_t count, size_t align) {
  paddr_t pa = 0;
  assert_int_equal(page_alloc(count, align, &pa), RL_OK);
  return pa;
}

static void test_basic(void **state) {
  (void)state;
  const paddr_t base = 0x80000000;
  win_map(base, 1);
  assert_int_equal(page_alloc_add_range(base, 256 * PG), RL_OK);
  assert_int_equal(page_alloc_total_pages(), 256);
  assert_int_equal(page_alloc_free_pages(), 0);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  /* 256 bits of bitmap: one page, at the start of the range. */
  assert_int_equal(win.calls, 1);
  assert_int_equal(win.asked, base);
  assert_int_equal(page_alloc_total_pages(), 256);
  assert_int_equal(page_alloc_free_pages(), 255);
  /* Only the 32 bytes of bitmap were written. */
  for (size_t i = 32; i < RL_PAGE_SIZE; i++) {
    assert_int_equal(win.buf[i], 0xff);
  }

  /* Every page once, lowest first, then exhaustion. */
  for (uint64_t i = 1; i < 256; i++) {
    assert_int_equal(must_alloc(1, 1), base + i * PG);
  }
  paddr_t pa = 0x1234;
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(pa, 0x1234);
  assert_int_equal(page_alloc_free_pages(), 0);
  for (uint64_t i = 1; i < 256; i++) {
    assert_int_equal(page_free(base + i * PG, 1), RL_OK);
  }
  assert_int_equal(page_alloc_free_pages(), 255);
  /* Freed memory is reused; a run fits again. */
  assert_int_equal(must_alloc(255, 1), base + PG);
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(page_free(base + PG, 255), RL_OK);
  assert_int_equal(page_alloc(256, 1, &pa), RL_ERR_NO_MEMORY);
}

static void test_call_order_and_args(void **state) {
  (void)state;
  paddr_t pa;
  win_map(0x100000, 1);
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_INVALID);
  assert_int_equal(page_free(0x100000, 1), RL_ERR_INVALID);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x100000, 0), RL_ERR_INVALID);
  assert_int_equal(page_alloc_reserve(0x100000, 0), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x100000, 64 * PG), RL_OK);
  assert_int_equal(page_alloc_init(NULL), RL_ERR_INVALID);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x10000000, PG), RL_ERR_INVALID);
  assert_int_equal(page_alloc_reserve(0x100000, PG), RL_ERR_INVALID);

  assert_int_equal(page_alloc(0, 1, &pa), RL_ERR_INVALID);
  assert_int_equal(page_alloc(1, 0, &pa), RL_ERR_INVALID);
  assert_int_equal(page_alloc(1, 3, &pa), RL_ERR_INVALID);
  assert_int_equal(page_alloc(1, 6, &pa), RL_ERR_INVALID);
  assert_int_equal(page_alloc(1, 1, NULL), RL_ERR_INVALID);
  assert_int_equal(page_alloc(64, 1, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(page_alloc(SIZE_MAX, 1, &pa), RL_ERR_NO_MEMORY);

  page_alloc_reset();
  assert_int_equal(page_alloc_total_pages(), 0);
  assert_int_equal(page_alloc_free_pages(), 0);
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_INVALID);
  /* Usable again after reset. */
  win_map(0x100000, 1);
  assert_int_equal(page_alloc_add_range(0x100000, 2 * PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(must_alloc(1, 1), 0x101000);
}

static void test_range_limits(void **state) {
  (void)state;
  /* Overlapping ranges are refused, touching ones are fine. */
  assert_int_equal(page_alloc_add_range(0x10000, 16 * PG), RL_OK);
  assert_int_equal(page_alloc_add_range(0x10000 + 15 * PG, 2 * PG),
                   RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x8000, 9 * PG), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x0, 0x100000), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x10000 + 16 * PG, PG), RL_OK);
  assert_int_equal(page_alloc_add_range(0x10000 - PG, PG), RL_OK);
  /* Up to the limit, then no space. */
  for (unsigned i = 3; i < PAGE_ALLOC_MAX_RANGES; i++) {
    assert_int_equal(page_alloc_add_range(0x1000000ULL * i, PG), RL_OK);
  }
  assert_int_equal(page_alloc_add_range(0x40000000, PG), RL_ERR_NO_SPACE);
  assert_int_equal(page_alloc_total_pages(), 18 + PAGE_ALLOC_MAX_RANGES - 3);
}

static void test_unaligned_ranges(void **state) {
  (void)state;
  /* Rounded inward: 0x2000..0x6000. */
  assert_int_equal(page_alloc_add_range(0x1234, 0x5000), RL_OK);
  assert_int_equal(page_alloc_total_pages(), 4);
  /* No whole page inside. */
  assert_int_equal(page_alloc_add_range(0x100001, 0x1000), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x100800, 0x1000), RL_ERR_INVALID);
  assert_int_equal(page_alloc_add_range(0x100000, 0xfff), RL_ERR_INVALID);
  /* Exactly one page once rounded. */
  assert_int_equal(page_alloc_add_range(0x200fff, 0x1002), RL_OK);
  assert_int_equal(page_alloc_total_pages(), 5);
  /* The rounded-off page 0x6000 may start another range. */
  assert_int_equal(page_alloc_add_range(0x6000, 0x1000), RL_OK);
  win_map(0x2000, 1);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(win.asked, 0x2000);
  assert_int_equal(page_alloc_free_pages(), 5);
  /* Contiguous across the two touching ranges is not promised: they are
   * separate ranges, so a 4-page run does not fit. */
  paddr_t pa;
  assert_int_equal(must_alloc(3, 1), 0x3000);
  assert_int_equal(must_alloc(1, 1), 0x6000);
  assert_int_equal(must_alloc(1, 1), 0x201000);
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_NO_MEMORY);
  /* Unaligned free address. */
  assert_int_equal(page_free(0x3800, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(0x3000, 3), RL_OK);
}

static void test_reservations(void **state) {
  (void)state;
  const paddr_t a = 0x40000000; /* range A: 64 pages */
  const paddr_t b = 0x50000000; /* range B: 64 pages */
  win_map(a, 64);
  assert_int_equal(page_alloc_add_range(a, 64 * PG), RL_OK);
  assert_int_equal(page_alloc_add_range(b, 64 * PG), RL_OK);
  /* Over A's start edge: pages 0 and 1 of A. */
  assert_int_equal(page_alloc_reserve(a - 3 * PG, 5 * PG), RL_OK);
  /* Over A's end edge, unaligned (rounded outward): pages 62, 63. */
  assert_int_equal(page_alloc_reserve(a + 62 * PG + 0x10, PG + 0x100), RL_OK);
  /* Inside A, one byte: page 10. */
  assert_int_equal(page_alloc_reserve(a + 10 * PG + 0xfff, 1), RL_OK);
  /* Outside both ranges. */
  assert_int_equal(page_alloc_reserve(0x60000000, 100 * PG), RL_OK);
  assert_int_equal(page_alloc_reserve(0x0, PG), RL_OK);
  /* All of B and beyond it on both sides. */
  assert_int_equal(page_alloc_reserve(b - PG, 66 * PG), RL_OK);
  /* Two touching reservations in A (pages 20..23), merged into one. */
  assert_int_equal(page_alloc_reserve(a + 20 * PG, 2 * PG), RL_OK);
  assert_int_equal(page_alloc_reserve(a + 22 * PG, 2 * PG), RL_OK);
  /* Overlapping twice the same page (page 30). */
  assert_int_equal(page_alloc_reserve(a + 30 * PG, PG), RL_OK);
  assert_int_equal(page_alloc_reserve(a + 30 * PG + 5, 10), RL_OK);

  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  /* Bookkeeping: the first free page, A's page 2. */
  assert_int_equal(win.asked, a + 2 * PG);
  assert_int_equal(page_alloc_total_pages(), 128);
  /* 128 - B(64) - A(2 + 2 + 1 + 4 + 1) - bookkeeping(1) */
  assert_int_equal(page_alloc_free_pages(), 128 - 64 - 10 - 1);

  /* Every page handed out is in A and not reserved. */
  uint64_t n = page_alloc_free_pages();
  for (uint64_t i = 0; i < n; i++) {
    paddr_t pa = must_alloc(1, 1);
    uint64_t pg = (pa - a) / PG;
    assert_true(pa >= a && pg < 64);
    assert_true(pg >= 3 && pg != 10 && !(pg >= 20 && pg < 24) && pg != 30 &&
                pg < 62);
  }
  paddr_t pa;
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_NO_MEMORY);

  /* Reserved and bookkeeping pages cannot be freed. */
  assert_int_equal(page_free(a, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(a + 2 * PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(a + 10 * PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(a + 9 * PG, 2), RL_ERR_INVALID);
  assert_int_equal(page_free(b + 5 * PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(a + 63 * PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_alloc_free_pages(), 0);
  assert_int_equal(page_free(a + 9 * PG, 1), RL_OK);
  assert_int_equal(page_alloc_free_pages(), 1);
}

static void test_reservation_limit(void **state) {
  (void)state;
  /* Separate reservations use one slot each; touching ones share. */
  for (unsigned i = 0; i < PAGE_ALLOC_MAX_RESERVATIONS; i++) {
    assert_int_equal(page_alloc_reserve(0x100000ULL * (i + 1), PG), RL_OK);
  }
  assert_int_equal(page_alloc_reserve(0x100000ULL * 100, PG), RL_ERR_NO_SPACE);
  assert_int_equal(page_alloc_reserve(0x100000ULL + PG, PG), RL_OK);
  assert_int_equal(page_alloc_reserve(0x100000ULL - PG, PG), RL_OK);
}

static void test_alignment(void **state) {
  (void)state;
  const paddr_t base = 0x80000000;
  win_map(base, 1);
  assert_int_equal(page_alloc_add_range(base, 1024 * PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(must_alloc(1, 1), base + PG);
  /* 16 pages aligned (64 KiB): skips pages 2..15. */
  assert_int_equal(must_alloc(4, 16), base + 16 * PG);
  assert_int_equal(must_alloc(1, 2), base + 2 * PG);
  assert_int_equal(must_alloc(1, 1), base + 3 * PG);
  assert_int_equal(must_alloc(2, 4), base + 4 * PG);
  /* 512-page (2 MiB) alignment: the range is 2 MiB aligned. */
  assert_int_equal(must_alloc(1, 512), base + 512 * PG);
  paddr_t pa;
  assert_int_equal(page_alloc(1, 1024, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(page_alloc(600, 512, &pa), RL_ERR_NO_MEMORY);
  /* Huge alignments do not overflow. */
  assert_int_equal(page_alloc(1, (size_t)1 << 40, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(page_alloc(1, (size_t)1 << 63, &pa), RL_ERR_NO_MEMORY);
}

static void test_alignment_at_zero(void **state) {
  (void)state;
  /* pfn 0 is aligned to everything. A one-page range at 0, and a range
   * whose size needs two bitmap pages, so they go there. */
  const paddr_t big = 0x100000;
  win_map(big, 2);
  assert_int_equal(page_alloc_add_range(0, PG), RL_OK);
  assert_int_equal(page_alloc_add_range(big, 40000 * PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(win.asked, big);
  assert_int_equal(page_alloc_free_pages(), 40001 - 2);
  assert_int_equal(must_alloc(1, (size_t)1 << 63), 0);
  paddr_t pa;
  assert_int_equal(page_alloc(1, (size_t)1 << 63, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(page_alloc(1, (size_t)1 << 40, &pa), RL_ERR_NO_MEMORY);
  /* 0x100000 is 256-page aligned but holds the bitmaps. */
  assert_int_equal(must_alloc(1, 256), big + 256 * PG);
  assert_int_equal(must_alloc(2, 1), big + 2 * PG);
  assert_int_equal(page_free(0, 1), RL_OK);
  assert_int_equal(must_alloc(1, 1), 0);
}

static void test_fragmentation(void **state) {
  (void)state;
  const paddr_t base = 0x100000;
  win_map(base, 1);
  assert_int_equal(page_alloc_add_range(base, 65 * PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  for (uint64_t i = 1; i <= 64; i++) {
    assert_int_equal(must_alloc(1, 1), base + i * PG);
  }
  /* Free every other page: 32 free, no two adjacent. */
  for (uint64_t i = 1; i <= 64; i += 2) {
    assert_int_equal(page_free(base + i * PG, 1), RL_OK);
  }
  assert_int_equal(page_alloc_free_pages(), 32);
  paddr_t pa;
  assert_int_equal(page_alloc(2, 1, &pa), RL_ERR_NO_MEMORY);
  /* Free page 40: pages 39, 40, 41 free together. */
  assert_int_equal(page_free(base + 40 * PG, 1), RL_OK);
  assert_int_equal(page_alloc(4, 1, &pa), RL_ERR_NO_MEMORY);
  assert_int_equal(must_alloc(3, 1), base + 39 * PG);
  assert_int_equal(must_alloc(1, 1), base + 1 * PG);
  /* A multi-page run may be freed in parts. */
  assert_int_equal(page_free(base + 40 * PG, 2), RL_OK);
  assert_int_equal(page_free(base + 39 * PG, 1), RL_OK);
  assert_int_equal(must_alloc(3, 1), base + 39 * PG);
}

static void test_bad_frees(void **state) {
  (void)state;
  const paddr_t base = 0x200000;
  win_map(base, 1);
  assert_int_equal(page_alloc_add_range(base, 32 * PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  paddr_t p = must_alloc(4, 1);
  assert_int_equal(p, base + PG);
  uint64_t nfree = page_alloc_free_pages();

  assert_int_equal(page_free(p, 0), RL_ERR_INVALID);
  assert_int_equal(page_free(p + 1, 1), RL_ERR_INVALID);
  /* Never added: below, above, far away, top of the address space. */
  assert_int_equal(page_free(base - PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(base + 32 * PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(0, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(TOP_PAGE, 1), RL_ERR_INVALID);
  /* Past the range end (and past 2^64 in page count). */
  assert_int_equal(page_free(p, 40), RL_ERR_INVALID);
  assert_int_equal(page_free(p, SIZE_MAX), RL_ERR_INVALID);
  /* Partly free: refused as a whole, nothing changes. */
  assert_int_equal(page_free(p + 3 * PG, 2), RL_ERR_INVALID);
  assert_int_equal(page_free(p - PG, 2), RL_ERR_INVALID); /* bookkeeping */
  assert_int_equal(page_alloc_free_pages(), nfree);
  assert_int_equal(page_free(p, 4), RL_OK);
  /* Double free. */
  assert_int_equal(page_free(p, 4), RL_ERR_INVALID);
  assert_int_equal(page_free(p + PG, 1), RL_ERR_INVALID);
  assert_int_equal(page_alloc_free_pages(), nfree + 4);
}

/* Several ranges, the first too small (after reservations) for the
 * bitmaps, which then need two pages in the second. */
static void test_bookkeeping(void **state) {
  (void)state;
  const paddr_t small = 0x1000000;
  const paddr_t big = 0x10000000;
  const uint64_t big_pages = 40000; /* 625 words */
  win_map(big, 2);
  /* Added out of order: ranges are kept sorted. */
  assert_int_equal(page_alloc_add_range(big, big_pages * PG), RL_OK);
  assert_int_equal(page_alloc_add_range(small, 2 * PG), RL_OK);
  assert_int_equal(page_alloc_reserve(small, PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  /* (625 + 1) words = 5008 bytes: two pages, at the start of `big`. */
  assert_int_equal(win.asked, big);
  assert_int_equal(page_alloc_total_pages(), big_pages + 2);
  assert_int_equal(page_alloc_free_pages(), big_pages + 2 - 1 - 2);
  for (size_t i = 5008; i < 2 * RL_PAGE_SIZE; i++) {
    assert_int_equal(win.buf[i], 0xff);
  }
  /* Lowest address first: the small range's free page. */
  assert_int_equal(must_alloc(1, 1), small + PG);
  assert_int_equal(must_alloc(1, 1), big + 2 * PG);
  assert_int_equal(page_free(big + PG, 1), RL_ERR_INVALID);
  /* A run as long as the rest of the big range. */
  assert_int_equal(must_alloc(big_pages - 3, 1), big + 3 * PG);
  assert_int_equal(page_alloc_free_pages(), 0);
}

static void test_init_failures(void **state) {
  (void)state;
  const paddr_t base = 0x300000;
  assert_int_equal(page_alloc_add_range(base, 8 * PG), RL_OK);
  /* Everything reserved: no room for the bitmap. */
  assert_int_equal(page_alloc_reserve(base, 8 * PG), RL_OK);
  win_map(base, 8);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_ERR_NO_MEMORY);
  page_alloc_reset();

  /* The translation fails or gives a misaligned pointer. */
  assert_int_equal(page_alloc_add_range(base, 8 * PG), RL_OK);
  win_map(0x9000000, 1);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_ERR_INVALID);
  win_map(base, 1);
  win.skew = 4;
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_ERR_INVALID);
  win.skew = 0;
  /* Still not initialized, and it may be retried. */
  paddr_t pa;
  assert_int_equal(page_alloc(1, 1, &pa), RL_ERR_INVALID);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(page_alloc_free_pages(), 7);

  /* A range of 2^52 - 1 pages needs 2^37 pages of bitmap: the window
   * cannot translate it, so init fails before touching memory. */
  page_alloc_reset();
  assert_int_equal(page_alloc_add_range(1, UINT64_MAX), RL_OK);
  assert_int_equal(page_alloc_total_pages(), ((uint64_t)1 << 52) - 1);
  win_map(0x9000000, 1);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_ERR_INVALID);
  assert_int_equal(win.asked, PG);
}

static void test_top_of_address_space(void **state) {
  (void)state;
  /* Spans passing 2^64. */
  assert_int_equal(page_alloc_add_range(TOP_PAGE, 2 * PG), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(page_alloc_add_range(UINT64_MAX, 2), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(page_alloc_add_range(1, UINT64_MAX), RL_OK);
  page_alloc_reset();
  assert_int_equal(page_alloc_add_range(UINT64_MAX, UINT64_MAX),
                   RL_ERR_OUT_OF_RANGE);
  assert_int_equal(page_alloc_reserve(TOP_PAGE, PG + 1), RL_ERR_OUT_OF_RANGE);
  assert_int_equal(page_alloc_reserve(UINT64_MAX, UINT64_MAX),
                   RL_ERR_OUT_OF_RANGE);
  /* No whole page in the last byte. */
  assert_int_equal(page_alloc_add_range(UINT64_MAX, 1), RL_ERR_INVALID);

  /* The last 256 pages, ending exactly at 2^64. */
  const paddr_t base = 0ULL - 256 * PG;
  win_map(base, 1);
  assert_int_equal(page_alloc_add_range(base, 256 * PG), RL_OK);
  /* Up to the last byte, rounded outward to the last page. */
  assert_int_equal(page_alloc_reserve(UINT64_MAX, 1), RL_OK);
  assert_int_equal(page_alloc_reserve(TOP_PAGE - PG, PG), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  assert_int_equal(win.asked, base);
  assert_int_equal(page_alloc_free_pages(), 256 - 3);
  assert_int_equal(must_alloc(1, 128), base + 128 * PG);
  assert_int_equal(must_alloc(125, 1), base + PG);
  paddr_t pa;
  assert_int_equal(page_alloc(1, 1, &pa), RL_OK);
  assert_int_equal(pa, base + 126 * PG);
  /* Drain and check the last usable page. */
  paddr_t last = pa;
  while (page_alloc(1, 1, &pa) == RL_OK) {
    last = pa;
  }
  assert_int_equal(last, TOP_PAGE - 2 * PG);
  assert_int_equal(page_free(TOP_PAGE, 1), RL_ERR_INVALID);
  assert_int_equal(page_free(TOP_PAGE, 2), RL_ERR_INVALID);
  assert_int_equal(page_free(TOP_PAGE - 2 * PG, 3), RL_ERR_INVALID);
  assert_int_equal(page_free(TOP_PAGE - 2 * PG, 1), RL_OK);
  assert_int_equal(must_alloc(1, 1), TOP_PAGE - 2 * PG);
}

/* Random allocations and frees against a model: results must be the
 * lowest aligned free run, never overlap, and NO_MEMORY only when the
 * model has no such run. */
#define M_PAGES 700
#define M_BASE 0x7ff00000ULL
static bool model[M_PAGES]; /* true: not free */

static uint32_t rng_state = 12345;
static uint32_t rng(void) {
  rng_state = rng_state * 1103515245u + 12345u;
  return rng_state >> 8;
}

static bool model_find(size_t count, size_t align, uint64_t *out) {
  for (uint64_t p = 0; p + count <= M_PAGES; p++) {
    if (((M_BASE / PG) + p) % align != 0) {
      continue;
    }
    bool ok = true;
    for (uint64_t i = 0; i < count && ok; i++) {
      ok = !model[p + i];
    }
    if (ok) {
      *out = p;
      return true;
    }
  }
  return false;
}

static void test_random_against_model(void **state) {
  (void)state;
  struct {
    paddr_t pa;
    size_t count;
  } live[400];
  size_t nlive = 0;

  win_map(M_BASE, 1);
  assert_int_equal(page_alloc_add_range(M_BASE, M_PAGES * PG), RL_OK);
  assert_int_equal(page_alloc_reserve(M_BASE + 100 * PG, 37 * PG), RL_OK);
  assert_int_equal(page_alloc_reserve(M_BASE + 600 * PG + 1, 1), RL_OK);
  assert_int_equal(page_alloc_init(win_phys_to_virt), RL_OK);
  memset(model, 0, sizeof(model));
  model[0] = true; /* bookkeeping */
  for (int i = 100; i < 137; i++) {
    model[i] = true;
  }
  model[600] = true;

  for (int step = 0; step < 20000; step++) {
    if (nlive < RL_ARRAY_SIZE(live) && (nlive == 0 || rng() % 100 < 55)) {
      size_t count = 1 + rng() % (rng() % 4 == 0 ? 40 : 6);
      size_t align = (size_t)1 << (rng() % 5);
      uint64_t want;
      bool fits = model_find(count, align, &want);
      paddr_t pa = 0;
      rl_status st = page_alloc(count, align, &pa);
      if (!fits) {
        assert_int_equal(st, RL_ERR_NO_MEMORY);
        continue;
      }
      assert_int_equal(st, RL_OK);
      assert_int_equal(pa, M_BASE + want * PG);
      for (size_t i = 0; i < count; i++) {
        model[want + i] = true;
      }
      live[nlive].pa = pa;
      live[nlive].count = count;
      nlive++;
    } else {
      size_t k = rng() % nlive;
      uint64_t first = (live[k].pa - M_BASE) / PG;
      assert_int_equal(page_free(live[k].pa, live[k].count), RL_OK);
      assert_int_equal(page_free(live[k].pa, live[k].count), RL_ERR_INVALID);
      for (size_t i = 0; i < live[k].count; i++) {
        model[first + i] = false;
      }
      live[k] = live[--nlive];
    }
    uint64_t model_free = 0;
    for (size_t i = 0; i < M_PAGES; i++) {
      model_free += !model[i];
    }
    assert_int_equal(page_alloc_free_pages(), model_free);
  }
  while (nlive > 0) {
    nlive--;
    assert_int_equal(page_free(live[nlive].pa, live[nlive].count), RL_OK);
  }
  assert_int_equal(page_alloc_free_pages(), M_PAGES - 1 - 37 - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_call_order_and_args, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_range_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unaligned_ranges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reservations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reservation_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alignment_at_zero, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fragmentation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_frees, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bookkeeping, setup, teardown),
      cmocka_unit_test_setup_teardown(test_init_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_top_of_address_space, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_random_against_model, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("page_alloc", tests, NULL, NULL);
}
