/* Internal to arch/aarch64. */
#ifndef ARCH_AARCH64_H
#define ARCH_AARCH64_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

void aarch64_gic_dispatch(void);
bool aarch64_semihosting_trapped(void);
RL_NORETURN void aarch64_psci_off(void);

/* The exception level QEMU entered the kernel at (start.S). */
extern uint64_t aarch64_entry_el;
/* SCR_EL3 as start.S left it when entered at EL3 (NS: bit 0), else 0. */
extern uint64_t aarch64_entry_scr;

/* One GIC driver (gic.c: GICv2, gicv3.c: GICv3) behind arch/irq.h. */
struct gic_ops {
  const char *name;
  unsigned nr_irqs; /* INTIDs 0 .. nr_irqs - 1 */
  void (*enable)(unsigned irq, bool on);
  void (*set_edge)(unsigned irq, bool edge);
  uint32_t (*ack)(void); /* the acknowledge register's value */
  void (*eoi)(uint32_t ack);
};

#define GIC_MAX_IRQS 1020 /* INTIDs 1020-1023 are special */
#define GIC_PRIORITY 0xa0 /* every line: one level, no preemption */
#define GIC_PRIORITY_MASK 0xf0

/* Edge-triggered (true) or level: a line the GIC driver knows, else
 * RL_ERR_INVALID (msi_v2m.c). */
rl_status aarch64_gic_set_edge(unsigned irq, bool edge);

rl_status gicv3_init(const struct fdt *fdt, int node,
                     const struct gic_ops **ops);
/* The boot CPU's redistributor (RD_base), NULL without a GICv3; its
 * GICR_TYPER.Processor_Number; GICD_TYPER (gicv3.c, for the ITS). */
volatile uint8_t *gicv3_redistributor(void);
unsigned gicv3_processor_number(void);
uint32_t gicv3_dist_typer(void);

/* LPIs the ITS hands out are arch irqs GIC_LPI_IRQ_BASE + n for INTID
 * 8192 + n (gicv3_its.c); the irq table covers them. */
#define GIC_LPI_IRQ_BASE 1024
#define GIC_LPI_COUNT 64
struct arch_msi_vector;
rl_status gicv3_its_alloc(const struct fdt *fdt, int ctrl, uint32_t devid,
                          unsigned count, struct arch_msi_vector *out,
                          char *why, size_t why_size);
void gicv3_its_free(const struct arch_msi_vector *v, unsigned count);
/* The LPI's enable bit in its configuration byte (RL_ERR_INVALID for an
 * LPI not handed out). */
rl_status gicv3_its_enable(unsigned lpi, bool on);

/* Entered at EL3: asks the EL3 monitor (el3.S) to hand the GIC's
 * interrupts to the non-secure side. `cpu_pa` is the GICv2 CPU interface
 * or the GICv3 redistributor (RD_base) of this CPU. */
rl_status aarch64_el3_gic_nonsecure(unsigned version, paddr_t dist_pa,
                                    paddr_t cpu_pa);

#endif
