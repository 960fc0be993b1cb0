/* Host interrupts: a table of handlers that tests fire with
 * host_irq_raise. Device tree specifiers: one cell (PLIC style, the
 * number itself) or three (GIC style: SPI n is 32 + n, PPI n is 16 + n). */
#include <arch/irq.h>

#include "arch_host.h"
#include "host_internal.h"

struct host_irq {
  struct {
    arch_irq_handler fn;
    void *ctx;
  } on[ARCH_IRQ_SHARERS];
  bool enabled;
  bool pending;
  unsigned long count;
  unsigned long eoi;
};

static struct host_irq irqs[HOST_IRQ_COUNT];
static bool masked;

rl_status arch_irq_from_dt(const uint32_t *cells, size_t ncells,
                           unsigned *irq) {
  uint64_t n;
  if (cells == NULL || irq == NULL) {
    return RL_ERR_INVALID;
  }
  if (ncells == 1) {
    n = cells[0];
  } else if (ncells == 3) {
    if (cells[0] == 0) {
      n = 32 + (uint64_t)cells[1];
    } else if (cells[0] == 1) {
      n = 16 + (uint64_t)cells[1];
    } else {
      return RL_ERR_BAD_FORMAT;
    }
  } else {
    return RL_ERR_BAD_FORMAT;
  }
  if (n >= HOST_IRQ_COUNT) {
    return RL_ERR_OUT_OF_RANGE;
  }
  *irq = (unsigned)n;
  return RL_OK;
}

static bool has_handler(unsigned irq) {
  for (unsigned i = 0; i < ARCH_IRQ_SHARERS; i++) {
    if (irqs[irq].on[i].fn != NULL) {
      return true;
    }
  }
  return false;
}

rl_status arch_irq_register(unsigned irq, arch_irq_handler handler, void *ctx) {
  if (irq >= HOST_IRQ_COUNT) {
    return RL_ERR_OUT_OF_RANGE;
  }
  if (handler == NULL) {
    return RL_ERR_INVALID;
  }
  int free_slot = -1;
  for (int i = ARCH_IRQ_SHARERS - 1; i >= 0; i--) {
    if (irqs[irq].on[i].fn == handler && irqs[irq].on[i].ctx == ctx) {
      return RL_ERR_BUSY;
    }
    if (irqs[irq].on[i].fn == NULL) {
      free_slot = i;
    }
  }
  if (free_slot < 0) {
    return RL_ERR_NO_SPACE;
  }
  irqs[irq].on[free_slot].fn = handler;
  irqs[irq].on[free_slot].ctx = ctx;
  return RL_OK;
}

rl_status arch_irq_unregister(unsigned irq, arch_irq_handler handler,
                              const void *ctx) {
  if (irq >= HOST_IRQ_COUNT) {
    return RL_ERR_OUT_OF_RANGE;
  }
  rl_status st = RL_ERR_NOT_FOUND;
  for (unsigned i = 0; i < ARCH_IRQ_SHARERS; i++) {
    if (irqs[irq].on[i].fn == handler && irqs[irq].on[i].ctx == ctx) {
      irqs[irq].on[i].fn = NULL;
      irqs[irq].on[i].ctx = NULL;
      st = RL_OK;
    }
  }
  if (st == RL_OK && !has_handler(irq)) {
    irqs[irq].enabled = false;
  }
  return st;
}

/* Runs the line's handlers the way the kernel's dispatcher does. */
static void dispatch(unsigned irq) {
  bool was_masked = masked;
  irqs[irq].pending = false;
  irqs[irq].count++;
  masked = true;
  for (unsigned i = 0; i < ARCH_IRQ_SHARERS; i++) {
    if (irqs[irq].on[i].fn != NULL) {
      irqs[irq].on[i].fn(irqs[irq].on[i].ctx);
    }
  }
  arch_irq_eoi(irq);
  masked = was_masked;
}

bool host_irq_deliver_pending(void) {
  bool ran = false;
  for (unsigned i = 0; i < HOST_IRQ_COUNT && !masked; i++) {
    if (irqs[i].pending && irqs[i].enabled && has_handler(i)) {
      dispatch(i);
      ran = true;
    }
  }
  return ran;
}

rl_status arch_irq_enable(unsigned irq) {
  if (irq >= HOST_IRQ_COUNT) {
    return RL_ERR_OUT_OF_RANGE;
  }
  irqs[irq].enabled = true;
  host_irq_deliver_pending();
  return RL_OK;
}

rl_status arch_irq_disable(unsigned irq) {
  if (irq >= HOST_IRQ_COUNT) {
    return RL_ERR_OUT_OF_RANGE;
  }
  irqs[irq].enabled = false;
  return RL_OK;
}

void arch_irq_eoi(unsigned irq) {
  if (irq < HOST_IRQ_COUNT) {
    irqs[irq].eoi++;
  }
}

unsigned long arch_irq_save(void) {
  unsigned long state = masked ? 1 : 0;
  masked = true;
  return state;
}

void arch_irq_restore(unsigned long state) {
  masked = state != 0;
  host_irq_deliver_pending();
}

void arch_irq_enable_local(void) {
  masked = false;
  host_irq_deliver_pending();
}

unsigned long arch_irq_count(unsigned irq) {
  return irq < HOST_IRQ_COUNT ? irqs[irq].count : 0;
}

rl_status host_irq_raise(unsigned irq) {
  if (irq >= HOST_IRQ_COUNT) {
    return RL_ERR_OUT_OF_RANGE;
  }
  if (!has_handler(irq)) {
    return RL_ERR_NOT_FOUND;
  }
  if (!irqs[irq].enabled || masked) {
    irqs[irq].pending = true;
    return RL_OK;
  }
  dispatch(irq);
  return RL_OK;
}

bool host_irq_is_enabled(unsigned irq) {
  return irq < HOST_IRQ_COUNT && irqs[irq].enabled;
}

bool host_irq_is_pending(unsigned irq) {
  return irq < HOST_IRQ_COUNT && irqs[irq].pending;
}

unsigned long host_irq_eoi_count(unsigned irq) {
  return irq < HOST_IRQ_COUNT ? irqs[irq].eoi : 0;
}

bool host_irq_masked(void) { return masked; }

void host_irq_reset(void) {
  for (unsigned i = 0; i < HOST_IRQ_COUNT; i++) {
    irqs[i] = (struct host_irq){0};
  }
  masked = false;
}
