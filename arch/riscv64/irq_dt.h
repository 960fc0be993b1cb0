/* Which interrupt controller delivers this hart's supervisor external
 * interrupts, read from the device tree only (no MMIO): the PLIC, an
 * APLIC in direct mode, or an APLIC in MSI mode behind an IMSIC. Portable
 * C on the device tree reader, so host tests run it on QEMU's trees. */
#ifndef ARCH_RISCV64_IRQ_DT_H
#define ARCH_RISCV64_IRQ_DT_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

/* Supervisor external interrupt (privileged spec §4.1.3, scause 9). */
#define RISCV_IRQ_S_EXTERNAL 9

enum riscv_irqchip_kind {
  RISCV_IRQCHIP_PLIC,
  RISCV_IRQCHIP_APLIC_DIRECT, /* APLIC with IDCs (RISC-V AIA §4.8) */
  RISCV_IRQCHIP_APLIC_MSI,    /* APLIC forwarding to an IMSIC (AIA §4.9) */
};

struct riscv_irqchip_dt {
  enum riscv_irqchip_kind kind;
  int node;          /* the PLIC or APLIC node */
  unsigned index;    /* PLIC context, APLIC IDC / IMSIC hart index */
  uint32_t nsources; /* riscv,ndev / riscv,num-sources */
  int imsic;         /* APLIC_MSI: the msi-parent IMSIC node, else -1 */
  uint32_t nids;     /* APLIC_MSI: the IMSIC's riscv,num-ids */
};

/* The phandle of hart `hart`'s interrupt-controller node (the child of
 * its /cpus/cpu@N node). */
rl_status riscv_hart_intc_phandle(const struct fdt *fdt, unsigned long hart,
                                  uint32_t *phandle);

/* Position of (intc, RISCV_IRQ_S_EXTERNAL) among the (phandle, cause)
 * pairs of `node`'s interrupts-extended. */
rl_status riscv_s_external_index(const struct fdt *fdt, int node, uint32_t intc,
                                 unsigned *index);

/* The controller for hart `hart`: a PLIC ("riscv,plic0",
 * "sifive,plic-1.0.0") as before; otherwise the enabled "riscv,aplic"
 * domain that targets this hart's S-level external interrupt, directly
 * (interrupts-extended) or through an IMSIC (msi-parent whose
 * interrupts-extended names it). OpenSBI marks the M-level domain and
 * IMSIC disabled. RL_ERR_NOT_FOUND when there is none. */
rl_status riscv_irqchip_find(const struct fdt *fdt, unsigned long hart,
                             struct riscv_irqchip_dt *out);

/* APLIC source modes (AIA §4.5.2, sourcecfg.SM). */
#define APLIC_SM_EDGE_RISE 4u
#define APLIC_SM_EDGE_FALL 5u
#define APLIC_SM_LEVEL_HIGH 6u
#define APLIC_SM_LEVEL_LOW 7u

/* An APLIC interrupt specifier (#interrupt-cells = 2: source, Linux IRQ
 * type 1 edge rising, 2 edge falling, 4 level high, 8 level low) to the
 * source number and the sourcecfg source mode. */
rl_status riscv_aplic_spec(const uint32_t *cells, size_t ncells,
                           uint32_t nsources, unsigned *source, uint32_t *mode);

#endif
