/* The interrupt handler table shared by the GIC and PLIC drivers:
 * registration, dispatch with a count per line, and the counts. */
#include <arch/irq.h>
#include <lib/log.h>

#include "arch_common.h"

/* A line may be shared (PCI INTx): every handler on it runs, each
 * checking its own device (virtio 1.2 §4.1.4.5: the ISR says whose). */
static struct {
  struct {
    arch_irq_handler fn;
    void *ctx;
  } on[ARCH_IRQ_SHARERS];
  unsigned long count;
} handlers[ARCH_IRQ_TABLE_SIZE];

rl_status arch_irq_register(unsigned irq, arch_irq_handler handler, void *ctx) {
  if (irq == 0 || irq >= ARCH_IRQ_TABLE_SIZE || handler == NULL) {
    return RL_ERR_INVALID;
  }
  int free_slot = -1;
  for (int i = ARCH_IRQ_SHARERS - 1; i >= 0; i--) {
    if (handlers[irq].on[i].fn == handler && handlers[irq].on[i].ctx == ctx) {
      return RL_ERR_BUSY;
    }
    if (handlers[irq].on[i].fn == NULL) {
      free_slot = i;
    }
  }
  if (free_slot < 0) {
    return RL_ERR_NO_SPACE;
  }
  /* Published with the line masked here: the dispatcher may run. */
  unsigned long flags = arch_irq_save();
  handlers[irq].on[free_slot].ctx = ctx;
  handlers[irq].on[free_slot].fn = handler;
  arch_irq_restore(flags);
  return RL_OK;
}

rl_status arch_irq_unregister(unsigned irq, arch_irq_handler handler,
                              const void *ctx) {
  if (irq >= ARCH_IRQ_TABLE_SIZE) {
    return RL_ERR_INVALID;
  }
  bool others = false;
  rl_status st = RL_ERR_NOT_FOUND;
  unsigned long flags = arch_irq_save();
  for (unsigned i = 0; i < ARCH_IRQ_SHARERS; i++) {
    if (handlers[irq].on[i].fn == handler && handlers[irq].on[i].ctx == ctx) {
      handlers[irq].on[i].fn = NULL;
      handlers[irq].on[i].ctx = NULL;
      st = RL_OK;
    } else if (handlers[irq].on[i].fn != NULL) {
      others = true;
    }
  }
  arch_irq_restore(flags);
  if (st == RL_OK && !others) {
    (void)arch_irq_disable(irq); /* nobody left to quiet a level line */
  }
  return st;
}

unsigned long arch_irq_count(unsigned irq) {
  return irq < ARCH_IRQ_TABLE_SIZE ? handlers[irq].count : 0;
}

bool irq_table_dispatch(unsigned irq) {
  if (irq >= ARCH_IRQ_TABLE_SIZE) {
    return false;
  }
  bool ran = false;
  for (unsigned i = 0; i < ARCH_IRQ_SHARERS; i++) {
    if (handlers[irq].on[i].fn != NULL) {
      if (!ran) {
        handlers[irq].count++;
      }
      ran = true;
      handlers[irq].on[i].fn(handlers[irq].on[i].ctx);
    }
  }
  return ran;
}
