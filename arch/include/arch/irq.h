/* Interrupts (contract): GICv2 or GICv3 on aarch64, PLIC on riscv64.
 *
 * Device tree interrupt specifiers are turned into one number per
 * controller (GIC INTID, PLIC source) by arch_irq_from_dt. Handlers run in
 * interrupt context with interrupts masked; end of interrupt is signalled
 * by the dispatcher after the handler returns. */
#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H

#include <ringlight/status.h>
#include <ringlight/types.h>

typedef void (*arch_irq_handler)(void *ctx);

/* Turns `ncells` cells of an `interrupts` property into an irq number. */
rl_status arch_irq_from_dt(const uint32_t *cells, size_t ncells, unsigned *irq);
/* Up to ARCH_IRQ_SHARERS handlers share a line (PCI INTx): each runs on
 * every interrupt of the line and checks its own device. RL_ERR_BUSY for
 * the same handler and ctx twice, RL_ERR_NO_SPACE past the limit. */
#define ARCH_IRQ_SHARERS 4
rl_status arch_irq_register(unsigned irq, arch_irq_handler handler, void *ctx);
/* Removes what arch_irq_register added; the last one disables the line. */
rl_status arch_irq_unregister(unsigned irq, arch_irq_handler handler,
                              const void *ctx);
rl_status arch_irq_enable(unsigned irq);
rl_status arch_irq_disable(unsigned irq);
/* Signal end of interrupt (the dispatcher does this after each handler). */
void arch_irq_eoi(unsigned irq);

/* CPU-local masking. save returns the previous state for restore. */
unsigned long arch_irq_save(void);
void arch_irq_restore(unsigned long state);
void arch_irq_enable_local(void);

/* Count of interrupts taken per irq number (0 for out of range). */
unsigned long arch_irq_count(unsigned irq);

#endif
