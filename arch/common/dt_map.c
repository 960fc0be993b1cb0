/* Finds the first enabled node compatible with one of `compat` and maps
 * its index-th register range as device memory. */
#include <arch/vm.h>

#include "arch_common.h"

rl_status dt_find_enabled(const struct fdt *fdt, const char *compat,
                          int *node) {
  int at = -1;
  rl_status st;
  /* A disabled node is not ours: with -machine virt,secure=on QEMU adds
   * secure-only devices (a second PL011, its GPIO) with status
   * "disabled" and secure-status "okay" (devicetree spec 0.4 §2.3.4). */
  while ((st = fdt_find_compatible(fdt, at, compat, &at)) == RL_OK) {
    if (fdt_node_enabled(fdt, at)) {
      *node = at;
      return RL_OK;
    }
  }
  return st;
}

rl_status dt_map_compatible(const struct fdt *fdt, const char *const *compat,
                            size_t ncompat, unsigned index, int *node,
                            paddr_t *pa, uint64_t *size, volatile void **va) {
  rl_status st = RL_ERR_NOT_FOUND;
  for (size_t i = 0; i < ncompat && st != RL_OK; i++) {
    st = dt_find_enabled(fdt, compat[i], node);
  }
  if (st == RL_OK) {
    st = fdt_get_reg(fdt, *node, index, pa, size);
  }
  if (st == RL_OK) {
    st = arch_ioremap(*pa, *size, va);
  }
  return st;
}
