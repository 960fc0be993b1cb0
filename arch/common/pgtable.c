#include "pgtable.h"

#include <arch/vm.h>
#include <string.h>

#define PT_ENTRIES 512
#define PT_POOL_PAGES 96

/* Not zeroed at entry (the linker scripts' .noinit): pt_alloc_table
 * zeroes each table it hands out. */
static uint64_t pt_pool[PT_POOL_PAGES][PT_ENTRIES]
    __attribute__((aligned(4096), section(".bss.noinit.pt_pool")));
static unsigned pt_pool_used;

static uint64_t *table_va(paddr_t pa) {
  return (uint64_t *)(uintptr_t)(pa + ARCH_DIRECT_MAP_BASE);
}

rl_status pt_alloc_table(uint64_t **table, paddr_t *pa) {
  if (pt_pool_used >= PT_POOL_PAGES) {
    return RL_ERR_NO_MEMORY;
  }
  uint64_t *t = pt_pool[pt_pool_used++];
  memset(t, 0, sizeof(pt_pool[0]));
  *table = t;
  /* The pool lies in the kernel image, inside the direct map. */
  *pa = (paddr_t)((uintptr_t)t - ARCH_DIRECT_MAP_BASE);
  return RL_OK;
}

static unsigned level_shift(int level) {
  return 12u + 9u * (unsigned)(3 - level);
}

static unsigned pt_index(uint64_t va, int level) {
  return (unsigned)((va >> level_shift(level)) & (PT_ENTRIES - 1));
}

static rl_status map_one(uint64_t *root, uint64_t va, paddr_t pa,
                         uint64_t remaining, enum pt_prot prot,
                         uint64_t *mapped) {
  uint64_t *table = root;
  for (int level = 1; level <= 3; level++) {
    uint64_t block = (uint64_t)1 << level_shift(level);
    uint64_t *pte = &table[pt_index(va, level)];
    bool fits = RL_IS_ALIGNED(va, block) && RL_IS_ALIGNED(pa, block) &&
                remaining >= block;
    if (fits && level > 1) {
      /* Level 1 leaves (1 GiB) are used only by the boot tables. */
      uint64_t want = arch_pt_leaf(pa, level, prot);
      if (arch_pt_is_valid(*pte) && *pte != want) {
        return RL_ERR_BUSY;
      }
      *pte = want;
      *mapped = block;
      return RL_OK;
    }
    if (level == 3) {
      return RL_ERR_INVALID; /* unaligned: caller's bug */
    }
    if (!arch_pt_is_valid(*pte)) {
      uint64_t *next;
      paddr_t next_pa;
      rl_status st = pt_alloc_table(&next, &next_pa);
      if (st != RL_OK) {
        return st;
      }
      *pte = arch_pt_table(next_pa);
    } else if (!arch_pt_is_table(*pte, level)) {
      /* A larger leaf covers this address: accept only an exact match. */
      uint64_t off = va & (block - 1);
      if (arch_pt_addr(*pte) + off == pa &&
          arch_pt_leaf(arch_pt_addr(*pte), level, prot) == *pte) {
        uint64_t left = block - off;
        *mapped = RL_MIN(left, remaining);
        return RL_OK;
      }
      return RL_ERR_BUSY;
    }
    table = table_va(arch_pt_addr(*pte));
  }
  return RL_ERR_INVALID;
}

rl_status pt_map(uint64_t *root, uint64_t va, paddr_t pa, uint64_t size,
                 enum pt_prot prot) {
  if (!RL_IS_ALIGNED(va, RL_PAGE_SIZE) || !RL_IS_ALIGNED(pa, RL_PAGE_SIZE) ||
      !RL_IS_ALIGNED(size, RL_PAGE_SIZE)) {
    return RL_ERR_INVALID;
  }
  while (size > 0) {
    uint64_t mapped = 0;
    rl_status st = map_one(root, va, pa, size, prot, &mapped);
    if (st != RL_OK) {
      return st;
    }
    va += mapped;
    pa += mapped;
    size -= mapped;
  }
  return RL_OK;
}
