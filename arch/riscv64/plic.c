/* PLIC (RISC-V PLIC spec 1.0.0 §3-§8): priority per source, enable bits,
 * threshold and claim/complete per context. The S-mode context of this
 * hart is found from the PLIC node's interrupts-extended (irq_dt.c): the
 * entry whose phandle is this hart's interrupt controller and whose cause
 * is 9 (supervisor external interrupt). */
#include <arch/common/arch_common.h>
#include <arch/mmio.h>
#include <arch/vm.h>
#include <lib/log.h>

#include "irq_dt.h"
#include "riscv.h"

#define PLIC_PRIORITY 0x000000
#define PLIC_ENABLE 0x002000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_THRESHOLD 0x0
#define PLIC_CLAIM 0x4

#define MAX_IRQS 1024

static volatile uint8_t *plic;
static uint64_t plic_size;
static unsigned context;
static unsigned nr_irqs;
static paddr_t plic_pa;

/* The info line (klog_later: none is formatted before the first picture). */
static void log_plic(const void *ctx) {
  (void)ctx;
  klog(LOG_INFO, "irq: PLIC %#llx, %u sources, S-mode context %u\n",
       (unsigned long long)plic_pa, nr_irqs - 1, context);
}

static volatile uint8_t *ctx_reg(unsigned reg) {
  return plic + PLIC_CONTEXT + (uint64_t)context * PLIC_CONTEXT_STRIDE + reg;
}

rl_status riscv_plic_init(const struct fdt *fdt,
                          const struct riscv_irqchip_dt *dt) {
  uint64_t pa;
  volatile void *va;
  rl_status st = fdt_get_reg(fdt, dt->node, 0, &pa, &plic_size);
  if (st != RL_OK || (st = arch_ioremap(pa, plic_size, &va)) != RL_OK) {
    return st;
  }
  context = dt->index;
  nr_irqs = dt->nsources + 1 < MAX_IRQS ? dt->nsources + 1 : MAX_IRQS;
  uint64_t need = PLIC_CONTEXT + ((uint64_t)context + 1) * PLIC_CONTEXT_STRIDE;
  if (plic_size < need) {
    return RL_ERR_BAD_FORMAT;
  }
  plic = (volatile uint8_t *)va;
  for (unsigned i = 0; i < nr_irqs; i += 32) {
    arch_mmio_write32(
        plic + PLIC_ENABLE + (uint64_t)context * PLIC_ENABLE_STRIDE + i / 8, 0);
  }
  arch_mmio_write32(ctx_reg(PLIC_THRESHOLD), 0);
  csr_set(sie, SIE_SEIE);
  plic_pa = pa;
  klog_later(log_plic, NULL);
  return RL_OK;
}

rl_status riscv_plic_from_dt(const uint32_t *cells, size_t ncells,
                             unsigned *irq) {
  if (ncells != 1) {
    return RL_ERR_BAD_FORMAT;
  }
  if (cells[0] == 0 || cells[0] >= MAX_IRQS) {
    return RL_ERR_OUT_OF_RANGE;
  }
  *irq = cells[0];
  return RL_OK;
}

rl_status riscv_plic_set_enable(unsigned irq, bool on) {
  if (plic == NULL || irq == 0 || irq >= nr_irqs) {
    return RL_ERR_INVALID;
  }
  volatile uint8_t *en = plic + PLIC_ENABLE +
                         (uint64_t)context * PLIC_ENABLE_STRIDE +
                         (size_t)(irq / 32) * 4;
  uint32_t v = arch_mmio_read32(en);
  v = on ? v | (1u << (irq % 32)) : v & ~(1u << (irq % 32));
  if (on) {
    arch_mmio_write32(plic + PLIC_PRIORITY + (size_t)irq * 4, 1);
  }
  arch_mmio_write32(en, v);
  return RL_OK;
}

void riscv_plic_eoi(unsigned irq) {
  arch_mmio_write32(ctx_reg(PLIC_CLAIM), irq);
}

void riscv_plic_dispatch(void) {
  for (;;) {
    uint32_t id = arch_mmio_read32(ctx_reg(PLIC_CLAIM));
    if (id == 0) {
      return;
    }
    bool handled = irq_table_dispatch(id);
    arch_mmio_write32(ctx_reg(PLIC_CLAIM), id);
    if (!handled) {
      panic("unexpected interrupt %u (no handler registered)", id);
    }
  }
}
