/* riscv64 interrupts: the controller is chosen by the device tree
 * (irq_dt.c: a PLIC, else an APLIC in direct or MSI mode) and reached
 * through the arch contract (<arch/irq.h>); local masking is sstatus.SIE. */
#include <arch/init.h>
#include <arch/irq.h>
#include <lib/log.h>

#include "irq_dt.h"
#include "riscv.h"

static enum riscv_irqchip_kind kind;
static bool ready;

rl_status arch_irq_init(const struct fdt *fdt) {
  struct riscv_irqchip_dt dt;
  rl_status st = riscv_irqchip_find(fdt, riscv_hart_id(), &dt);
  if (st != RL_OK) {
    return st;
  }
  kind = dt.kind;
  st = kind == RISCV_IRQCHIP_PLIC ? riscv_plic_init(fdt, &dt)
                                  : riscv_aplic_init(fdt, &dt);
  ready = st == RL_OK;
  return st;
}

rl_status arch_irq_from_dt(const uint32_t *cells, size_t ncells,
                           unsigned *irq) {
  if (!ready) {
    return RL_ERR_INVALID;
  }
  return kind == RISCV_IRQCHIP_PLIC ? riscv_plic_from_dt(cells, ncells, irq)
                                    : riscv_aplic_from_dt(cells, ncells, irq);
}

rl_status arch_irq_enable(unsigned irq) {
  if (!ready) {
    return RL_ERR_INVALID;
  }
  return kind == RISCV_IRQCHIP_PLIC ? riscv_plic_set_enable(irq, true)
                                    : riscv_aplic_set_enable(irq, true);
}

rl_status arch_irq_disable(unsigned irq) {
  if (!ready) {
    return RL_ERR_INVALID;
  }
  return kind == RISCV_IRQCHIP_PLIC ? riscv_plic_set_enable(irq, false)
                                    : riscv_aplic_set_enable(irq, false);
}

/* The APLIC's claimi and the IMSIC's stopei claim and complete in one
 * step (RISC-V AIA §4.8.1.5, §3.9): nothing to signal afterwards. */
void arch_irq_eoi(unsigned irq) {
  if (ready && kind == RISCV_IRQCHIP_PLIC) {
    riscv_plic_eoi(irq);
  }
}

void riscv_external_dispatch(void) {
  if (!ready) {
    panic("external interrupt before the interrupt controller is set up");
  }
  if (kind == RISCV_IRQCHIP_PLIC) {
    riscv_plic_dispatch();
  } else {
    riscv_aplic_dispatch();
  }
}

unsigned long arch_irq_save(void) {
  unsigned long s;
  __asm__ volatile("csrrci %0, sstatus, 2" : "=r"(s)::"memory");
  return s & SSTATUS_SIE;
}

void arch_irq_restore(unsigned long state) {
  if (state & SSTATUS_SIE) {
    csr_set(sstatus, SSTATUS_SIE);
  } else {
    csr_clear(sstatus, SSTATUS_SIE);
  }
}

void arch_irq_enable_local(void) { csr_set(sstatus, SSTATUS_SIE); }
