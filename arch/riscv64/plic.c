/* PLIC (RISC-V PLIC spec 1.0.0 §3-§8): priority per source, enable bits,
 * threshold and claim/complete per context. The S-mode context of this
 * hart is found from the PLIC node's interrupts-extended: the entry whose
 * phandle is this hart's interrupt controller and whose cause is 9
 * (supervisor external interrupt). */
#include <arch/common/arch_common.h>
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/vm.h>
#include <lib/log.h>

#include "riscv.h"

#define PLIC_PRIORITY 0x000000
#define PLIC_ENABLE 0x002000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_THRESHOLD 0x0
#define PLIC_CLAIM 0x4

#define MAX_IRQS 1024
#define IRQ_S_EXTERNAL 9

static volatile uint8_t *plic;
static uint64_t plic_size;
static unsigned context;
static unsigned nr_irqs;

static rl_status find_context(const struct fdt *fdt, int node, unsigned *out) {
  /* This hart's interrupt controller: /cpus/cpu@N/interrupt-controller. */
  int cpus, cpu, intc;
  rl_status st = fdt_path(fdt, "/cpus", &cpus);
  uint32_t want = 0;
  for (st = st == RL_OK ? fdt_first_child(fdt, cpus, &cpu) : st; st == RL_OK;
       st = fdt_next_sibling(fdt, cpu, &cpu)) {
    uint64_t hart, size;
    if (fdt_get_reg(fdt, cpu, 0, &hart, &size) != RL_OK ||
        hart != riscv_hart_id()) {
      continue;
    }
    if (fdt_first_child(fdt, cpu, &intc) == RL_OK &&
        fdt_get_u32(fdt, intc, "phandle", &want) == RL_OK) {
      break;
    }
  }
  if (st != RL_OK) {
    return st;
  }
  struct fdt_prop prop;
  if ((st = fdt_get_prop(fdt, node, "interrupts-extended", &prop)) != RL_OK) {
    return st;
  }
  const uint8_t *cells = (const uint8_t *)prop.data;
  for (uint32_t i = 0; i + 8 <= prop.len; i += 8) {
    if (fdt_be32(cells + i) == want &&
        fdt_be32(cells + i + 4) == IRQ_S_EXTERNAL) {
      *out = i / 8;
      return RL_OK;
    }
  }
  return RL_ERR_NOT_FOUND;
}

static volatile uint8_t *ctx_reg(unsigned reg) {
  return plic + PLIC_CONTEXT + (uint64_t)context * PLIC_CONTEXT_STRIDE + reg;
}

rl_status arch_irq_init(const struct fdt *fdt) {
  static const char *const compat[] = {"riscv,plic0", "sifive,plic-1.0.0"};
  int node = -1;
  uint64_t pa;
  uint32_t ndev = 0;
  volatile void *va;
  rl_status st = dt_map_compatible(fdt, compat, RL_ARRAY_SIZE(compat), 0, &node,
                                   &pa, &plic_size, &va);
  if (st != RL_OK ||
      (st = fdt_get_u32(fdt, node, "riscv,ndev", &ndev)) != RL_OK ||
      (st = find_context(fdt, node, &context)) != RL_OK) {
    return st;
  }
  nr_irqs = ndev + 1 < MAX_IRQS ? ndev + 1 : MAX_IRQS;
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
  klog(LOG_INFO, "irq: PLIC %#llx, %u sources, S-mode context %u\n",
       (unsigned long long)pa, nr_irqs - 1, context);
  return RL_OK;
}

rl_status arch_irq_from_dt(const uint32_t *cells, size_t ncells,
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

static rl_status set_enable(unsigned irq, bool on) {
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

rl_status arch_irq_enable(unsigned irq) { return set_enable(irq, true); }
rl_status arch_irq_disable(unsigned irq) { return set_enable(irq, false); }

void arch_irq_eoi(unsigned irq) { arch_mmio_write32(ctx_reg(PLIC_CLAIM), irq); }

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
