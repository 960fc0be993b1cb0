/* Data cache maintenance by VA to the point of coherency (Arm ARM
 * D7.5.9): DC CVAC / IVAC / CIVAC over each line, the line size from
 * CTR_EL0.DminLine, then DSB SY so the maintenance completes. */
#include <arch/cache.h>
#include <arch/common/arch_common.h>

static uintptr_t line_size(void) {
  uint64_t ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  return (uintptr_t)4 << ((ctr >> 16) & 0xf);
}

size_t arch_cache_writeback_granule(void) {
  uint64_t ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  /* CTR_EL0.CWG, bits [27:24]: log2 of the granule in 4-byte words; 0
   * means not given (up to 2 KiB by the architecture; 128 covers every
   * known core). */
  unsigned cwg = (unsigned)((ctr >> 24) & 0xf);
  size_t granule = cwg == 0 ? 128 : (size_t)4 << cwg;
  size_t line = (size_t)line_size();
  granule = granule > line ? granule : line;
  return granule < 64 ? 64 : granule;
}

rl_status arch_cache_init(const struct fdt *fdt) {
  (void)fdt;
  return RL_OK;
}

#define CACHE_OP(name, insn)                                                   \
  void name(const void *va, size_t len) {                                      \
    uintptr_t line = line_size();                                              \
    uintptr_t p = (uintptr_t)va & ~(line - 1);                                 \
    uintptr_t end = (uintptr_t)va + len;                                       \
    for (; p < end; p += line) {                                               \
      __asm__ volatile("dc " insn ", %0" ::"r"(p) : "memory");                 \
    }                                                                          \
    __asm__ volatile("dsb sy" ::: "memory");                                   \
  }

CACHE_OP(arch_cache_clean, "cvac")
CACHE_OP(arch_cache_invalidate, "ivac")
CACHE_OP(arch_cache_clean_invalidate, "civac")
