/* MSIs on riscv64: not driven yet. With `aia=aplic-imsic` the PCI bridge
 * names the IMSIC as its msi-parent (RISC-V AIA §3); a later change can
 * hand out S-level interrupt identities the way aplic.c does for the
 * APLIC's MSIs. Until then the virtio-pci transport uses INTx. */
#include <arch/msi.h>
#include <lib/fmt.h>

rl_status arch_msi_alloc(const struct fdt *fdt, int ctrl, unsigned count,
                         struct arch_msi_vector *out, char *why,
                         size_t why_size) {
  (void)fdt;
  (void)ctrl;
  (void)count;
  (void)out;
  (void)rl_snprintf(why, why_size, "no IMSIC MSI support yet");
  return RL_ERR_NOT_SUPPORTED;
}

void arch_msi_free(const struct arch_msi_vector *v, unsigned count) {
  (void)v;
  (void)count;
}
