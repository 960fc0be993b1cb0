/* Message-signalled interrupts (contract): vectors from the MSI
 * controller the device tree names for a PCI host bridge (its msi-map or
 * msi-parent, found by pci_msi_controller).
 *
 * A vector is what a device writes (`data` to `address`, PCI 3.0 §6.8)
 * and the irq number whose handlers run when it does: register and enable
 * it with arch/irq.h as any other line. aarch64: GICv2m frames (one SPI
 * per vector, edge-triggered) or a GICv3 ITS (one LPI per vector, the
 * event id as data, `devid` naming the device's table). riscv64:
 * identities of the S-level IMSIC (aia=aplic-imsic). Host: a fake
 * controller for unit tests (arch_host.h). */
#ifndef ARCH_MSI_H
#define ARCH_MSI_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

struct arch_msi_vector {
  uint64_t address; /* the doorbell, as the device sees memory */
  uint32_t data;
  unsigned irq; /* arch_irq_* number */
};

/* `count` vectors from controller node `ctrl` for the device whose MSI
 * writes carry `devid` (the PCI requester id through the bridge's msi-map,
 * pci_msi_controller; only an ITS uses it), all or none, their lines
 * configured (edge) and disabled. RL_ERR_NOT_SUPPORTED with a reason in
 * `why` when the controller is not one this arch drives; RL_ERR_NO_SPACE
 * when it has too few free. */
rl_status arch_msi_alloc(const struct fdt *fdt, int ctrl, uint32_t devid,
                         unsigned count, struct arch_msi_vector *out, char *why,
                         size_t why_size);
/* Gives back what arch_msi_alloc returned (lines disabled first). */
void arch_msi_free(const struct arch_msi_vector *v, unsigned count);

#endif
