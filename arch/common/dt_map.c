/* Finds the first node compatible with one of `compat` and maps its
 * index-th register range as device memory. */
#include <arch/vm.h>

#include "arch_common.h"

rl_status dt_map_compatible(const struct fdt *fdt, const char *const *compat,
                            size_t ncompat, unsigned index, int *node,
                            paddr_t *pa, uint64_t *size, volatile void **va) {
  rl_status st = RL_ERR_NOT_FOUND;
  for (size_t i = 0; i < ncompat && st != RL_OK; i++) {
    st = fdt_find_compatible(fdt, -1, compat[i], node);
  }
  if (st == RL_OK) {
    st = fdt_get_reg(fdt, *node, index, pa, size);
  }
  if (st == RL_OK) {
    st = arch_ioremap(*pa, *size, va);
  }
  return st;
}
