/* MSIs on riscv64 (arch/msi.h): with `aia=aplic-imsic` the PCI bridge's
 * msi-parent is the S-level IMSIC the APLIC already forwards to (RISC-V
 * AIA §3): a vector is an identity above the APLIC's sources in this
 * hart's interrupt file (aplic.c). With the PLIC or a direct-mode APLIC
 * there is no MSI controller in the tree. */
#include <arch/msi.h>

#include "riscv.h"

rl_status arch_msi_alloc(const struct fdt *fdt, int ctrl, uint32_t devid,
                         unsigned count, struct arch_msi_vector *out, char *why,
                         size_t why_size) {
  (void)devid; /* the IMSIC has no per-device tables */
  return riscv_aplic_msi_alloc(fdt, ctrl, count, out, why, why_size);
}

void arch_msi_free(const struct arch_msi_vector *v, unsigned count) {
  riscv_aplic_msi_free(v, count);
}
