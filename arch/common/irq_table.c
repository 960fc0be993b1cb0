/* The interrupt handler table shared by the GIC and PLIC drivers:
 * registration, dispatch with a count per line, and the counts. */
#include <arch/irq.h>
#include <lib/log.h>

#include "arch_common.h"

static struct {
  arch_irq_handler fn;
  void *ctx;
  unsigned long count;
} handlers[ARCH_IRQ_TABLE_SIZE];

rl_status arch_irq_register(unsigned irq, arch_irq_handler handler, void *ctx) {
  if (irq == 0 || irq >= ARCH_IRQ_TABLE_SIZE || handler == NULL) {
    return RL_ERR_INVALID;
  }
  if (handlers[irq].fn != NULL) {
    return RL_ERR_BUSY;
  }
  handlers[irq].fn = handler;
  handlers[irq].ctx = ctx;
  return RL_OK;
}

unsigned long arch_irq_count(unsigned irq) {
  return irq < ARCH_IRQ_TABLE_SIZE ? handlers[irq].count : 0;
}

bool irq_table_dispatch(unsigned irq) {
  if (irq >= ARCH_IRQ_TABLE_SIZE || handlers[irq].fn == NULL) {
    return false;
  }
  handlers[irq].count++;
  handlers[irq].fn(handlers[irq].ctx);
  return true;
}
