/* Bitmap page allocator (see page_alloc.h). Everything is kept as page
 * frame numbers (pfn = address >> RL_PAGE_SHIFT), so a range ending at
 * 2^64 has end pfn 2^52 and nothing overflows. */
#include <mm/page_alloc.h>

#define PAGE_MASK ((uint64_t)RL_PAGE_SIZE - 1)
#define WORD_BITS 64u

struct pa_range {
  uint64_t first; /* first pfn */
  uint64_t pages;
  uint64_t *map; /* bit set: not free */
};

struct pa_resv {
  uint64_t first; /* pfns [first, end) */
  uint64_t end;
};

static struct pa_range ranges[PAGE_ALLOC_MAX_RANGES];
static size_t nranges;
static struct pa_resv resv[PAGE_ALLOC_MAX_RESERVATIONS];
static size_t nresv;
static uint64_t meta_first, meta_pages; /* the bitmaps' own pages */
static uint64_t total_pages, free_pages;
static bool ready;

/* floor((start + size) / page) and ceil(...), with start + size <= 2^64. */
static uint64_t pfn_end_down(uint64_t start, uint64_t size) {
  return (start >> RL_PAGE_SHIFT) + (size >> RL_PAGE_SHIFT) +
         (((start & PAGE_MASK) + (size & PAGE_MASK)) >> RL_PAGE_SHIFT);
}

static uint64_t pfn_end_up(uint64_t start, uint64_t size) {
  return (start >> RL_PAGE_SHIFT) + (size >> RL_PAGE_SHIFT) +
         (((start & PAGE_MASK) + (size & PAGE_MASK) + PAGE_MASK) >>
          RL_PAGE_SHIFT);
}

/* Common argument checks for add_range and reserve. */
static rl_status check_span(uint64_t start, uint64_t size) {
  if (ready || size == 0) {
    return RL_ERR_INVALID;
  }
  /* The last byte, start + size - 1, must not wrap. */
  if (size - 1 > UINT64_MAX - start) {
    return RL_ERR_OUT_OF_RANGE;
  }
  return RL_OK;
}

static bool spans_overlap(uint64_t a, uint64_t a_end, uint64_t b,
                          uint64_t b_end) {
  return a < b_end && b < a_end;
}

static void set_bits(uint64_t *map, uint64_t from, uint64_t n, bool value) {
  while (n > 0) {
    unsigned bit = (unsigned)(from % WORD_BITS);
    uint64_t k = RL_MIN((uint64_t)(WORD_BITS - bit), n);
    uint64_t mask =
        k == WORD_BITS ? ~(uint64_t)0 : (((uint64_t)1 << k) - 1) << bit;
    if (value) {
      map[from / WORD_BITS] |= mask;
    } else {
      map[from / WORD_BITS] &= ~mask;
    }
    from += k;
    n -= k;
  }
}

/* First index in [from, end) whose bit equals `value`, else `end`. */
static uint64_t find_bit(const uint64_t *map, uint64_t from, uint64_t end,
                         bool value) {
  while (from < end) {
    uint64_t w = map[from / WORD_BITS];
    if (!value) {
      w = ~w;
    }
    w >>= from % WORD_BITS;
    if (w != 0) {
      uint64_t i = from + (uint64_t)__builtin_ctzll(w);
      return RL_MIN(i, end);
    }
    from = (from | (WORD_BITS - 1)) + 1;
  }
  return end;
}

rl_status page_alloc_add_range(paddr_t start, uint64_t size) {
  rl_status st = check_span(start, size);
  if (st != RL_OK) {
    return st;
  }
  uint64_t first = (start >> RL_PAGE_SHIFT) + ((start & PAGE_MASK) != 0);
  uint64_t end = pfn_end_down(start, size);
  if (first >= end) {
    return RL_ERR_INVALID;
  }
  for (size_t i = 0; i < nranges; i++) {
    if (spans_overlap(first, end, ranges[i].first,
                      ranges[i].first + ranges[i].pages)) {
      return RL_ERR_INVALID;
    }
  }
  if (nranges == PAGE_ALLOC_MAX_RANGES) {
    return RL_ERR_NO_SPACE;
  }

  /* Keep the ranges sorted by address. */
  size_t at = nranges;
  while (at > 0 && ranges[at - 1].first > first) {
    ranges[at] = ranges[at - 1];
    at--;
  }
  ranges[at] = (struct pa_range){first, end - first, NULL};
  nranges++;
  total_pages += end - first;
  return RL_OK;
}

rl_status page_alloc_reserve(paddr_t start, uint64_t size) {
  rl_status st = check_span(start, size);
  if (st != RL_OK) {
    return st;
  }
  uint64_t first = start >> RL_PAGE_SHIFT;
  uint64_t end = pfn_end_up(start, size);
  /* Merge into an entry it touches or overlaps. */
  for (size_t i = 0; i < nresv; i++) {
    if (first <= resv[i].end && resv[i].first <= end) {
      resv[i].first = RL_MIN(resv[i].first, first);
      resv[i].end = RL_MAX(resv[i].end, end);
      return RL_OK;
    }
  }
  if (nresv == PAGE_ALLOC_MAX_RESERVATIONS) {
    return RL_ERR_NO_SPACE;
  }
  resv[nresv++] = (struct pa_resv){first, end};
  return RL_OK;
}

/* The reservation overlapping [first, first + n), or NULL. */
static const struct pa_resv *resv_hit(uint64_t first, uint64_t n) {
  for (size_t i = 0; i < nresv; i++) {
    if (spans_overlap(first, first + n, resv[i].first, resv[i].end)) {
      return &resv[i];
    }
  }
  return NULL;
}

/* Lowest run of `need` pages in a range that no reservation touches. */
static bool find_meta_run(uint64_t need, uint64_t *out) {
  for (size_t i = 0; i < nranges; i++) {
    uint64_t p = ranges[i].first;
    uint64_t end = p + ranges[i].pages;
    while (end - p >= need) {
      const struct pa_resv *r = resv_hit(p, need);
      if (r == NULL) {
        *out = p;
        return true;
      }
      if (r->end >= end) {
        break;
      }
      p = r->end;
    }
  }
  return false;
}

rl_status page_alloc_init(void *(*phys_to_virt)(paddr_t)) {
  if (ready || phys_to_virt == NULL || nranges == 0) {
    return RL_ERR_INVALID;
  }

  /* At most 2^46 words per range, so the sum cannot overflow. */
  uint64_t words = 0;
  for (size_t i = 0; i < nranges; i++) {
    words += (ranges[i].pages + WORD_BITS - 1) / WORD_BITS;
  }
  uint64_t need = (words * sizeof(uint64_t) + PAGE_MASK) >> RL_PAGE_SHIFT;
  if (words > SIZE_MAX / sizeof(uint64_t)) {
    return RL_ERR_NO_MEMORY;
  }

  uint64_t run;
  if (!find_meta_run(need, &run)) {
    return RL_ERR_NO_MEMORY;
  }
  uint64_t *map = phys_to_virt((paddr_t)run << RL_PAGE_SHIFT);
  if (map == NULL || ((uintptr_t)map & (sizeof(uint64_t) - 1)) != 0) {
    return RL_ERR_INVALID;
  }

  for (uint64_t w = 0; w < words; w++) {
    map[w] = 0;
  }
  for (size_t i = 0; i < nranges; i++) {
    ranges[i].map = map;
    map += (ranges[i].pages + WORD_BITS - 1) / WORD_BITS;
  }

  meta_first = run;
  meta_pages = need;
  free_pages = 0;
  for (size_t i = 0; i < nranges; i++) {
    struct pa_range *r = &ranges[i];
    uint64_t end = r->first + r->pages;
    for (size_t j = 0; j <= nresv; j++) {
      /* The reservations, then the bookkeeping run as one more. */
      uint64_t a = j < nresv ? resv[j].first : meta_first;
      uint64_t b = j < nresv ? resv[j].end : meta_first + meta_pages;
      if (!spans_overlap(a, b, r->first, end)) {
        continue;
      }
      uint64_t lo = RL_MAX(a, r->first);
      uint64_t hi = RL_MIN(b, end);
      set_bits(r->map, lo - r->first, hi - lo, true);
    }
    /* Count the free pages left. */
    uint64_t p = 0;
    while (p < r->pages) {
      uint64_t f = find_bit(r->map, p, r->pages, false);
      uint64_t u = find_bit(r->map, f, r->pages, true);
      free_pages += u - f;
      p = u;
    }
  }
  ready = true;
  return RL_OK;
}

rl_status page_alloc(size_t count, size_t align_pages, paddr_t *out) {
  if (!ready || out == NULL || count == 0 || align_pages == 0 ||
      (align_pages & (align_pages - 1)) != 0) {
    return RL_ERR_INVALID;
  }
  if ((uint64_t)count > free_pages) {
    return RL_ERR_NO_MEMORY;
  }

  uint64_t n = count;
  uint64_t align = align_pages;
  for (size_t i = 0; i < nranges; i++) {
    struct pa_range *r = &ranges[i];
    uint64_t end = r->first + r->pages;
    uint64_t p = r->first; /* invariant: p <= end */
    for (;;) {
      uint64_t rem = p & (align - 1);
      if (rem != 0) {
        if (align - rem > end - p) {
          break;
        }
        p += align - rem;
      }
      if (end - p < n) {
        break;
      }
      uint64_t rel = p - r->first;
      uint64_t used = find_bit(r->map, rel, rel + n, true);
      if (used == rel + n) {
        set_bits(r->map, rel, n, true);
        free_pages -= n;
        *out = (paddr_t)p << RL_PAGE_SHIFT;
        return RL_OK;
      }
      /* Skip the used run and try after it. */
      p = r->first + find_bit(r->map, used, r->pages, false);
    }
  }
  return RL_ERR_NO_MEMORY;
}

rl_status page_free(paddr_t start, size_t count) {
  if (!ready || count == 0 || (start & PAGE_MASK) != 0) {
    return RL_ERR_INVALID;
  }
  uint64_t p = start >> RL_PAGE_SHIFT;
  uint64_t n = count;
  for (size_t i = 0; i < nranges; i++) {
    struct pa_range *r = &ranges[i];
    if (p < r->first || p - r->first >= r->pages) {
      continue;
    }
    uint64_t rel = p - r->first;
    if (n > r->pages - rel) {
      return RL_ERR_INVALID; /* runs past the range */
    }
    if (find_bit(r->map, rel, rel + n, false) != rel + n) {
      return RL_ERR_INVALID; /* part of it is free already */
    }
    if (resv_hit(p, n) != NULL ||
        spans_overlap(p, p + n, meta_first, meta_first + meta_pages)) {
      return RL_ERR_INVALID; /* never allocatable */
    }
    set_bits(r->map, rel, n, false);
    free_pages += n;
    return RL_OK;
  }
  return RL_ERR_INVALID;
}

uint64_t page_alloc_total_pages(void) { return total_pages; }

uint64_t page_alloc_free_pages(void) { return free_pages; }

void page_alloc_reset(void) {
  for (size_t i = 0; i < PAGE_ALLOC_MAX_RANGES; i++) {
    ranges[i] = (struct pa_range){0, 0, NULL};
  }
  for (size_t i = 0; i < PAGE_ALLOC_MAX_RESERVATIONS; i++) {
    resv[i] = (struct pa_resv){0, 0};
  }
  nranges = 0;
  nresv = 0;
  meta_first = 0;
  meta_pages = 0;
  total_pages = 0;
  free_pages = 0;
  ready = false;
}
