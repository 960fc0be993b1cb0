/* GICv2 (Arm GIC architecture v2, §4): distributor and CPU interface from
 * the device tree's arm,cortex-a15-gic / arm,gic-400 node. */
#include <arch/common/arch_common.h>
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/vm.h>
#include <lib/log.h>

#include "aarch64.h"

#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010

#define MAX_IRQS 1020 /* INTIDs 1020-1023 are special */
#define SPURIOUS 1023

static volatile uint8_t *gicd;
static volatile uint8_t *gicc;
static unsigned nr_irqs;

rl_status arch_irq_init(const struct fdt *fdt) {
  static const char *const compat[] = {"arm,cortex-a15-gic", "arm,gic-400"};
  int node = -1;
  uint64_t dpa, dsize, cpa, csize;
  volatile void *d, *c;
  rl_status st = dt_map_compatible(fdt, compat, RL_ARRAY_SIZE(compat), 0, &node,
                                   &dpa, &dsize, &d);
  if (st == RL_ERR_NOT_FOUND) {
    int v3;
    if (fdt_find_compatible(fdt, -1, "arm,gic-v3", &v3) == RL_OK) {
      klog(LOG_ERROR, "GICv3 found: only GICv2 is supported "
                      "(use -machine virt,gic-version=2)\n");
      return RL_ERR_NOT_SUPPORTED;
    }
  }
  if (st != RL_OK || (st = fdt_get_reg(fdt, node, 1, &cpa, &csize)) != RL_OK ||
      (st = arch_ioremap(cpa, RL_MAX(csize, 0x2000), &c)) != RL_OK) {
    return st;
  }
  gicd = (volatile uint8_t *)d;
  gicc = (volatile uint8_t *)c;
  nr_irqs = ((arch_mmio_read32(gicd + GICD_TYPER) & 0x1f) + 1) * 32;
  if (nr_irqs > MAX_IRQS) {
    nr_irqs = MAX_IRQS;
  }
  arch_mmio_write32(gicd + GICD_CTLR, 0);
  for (unsigned i = 0; i < nr_irqs; i += 32) {
    arch_mmio_write32(gicd + GICD_ICENABLER + i / 8, 0xffffffffu);
  }
  for (unsigned i = 0; i < nr_irqs; i += 4) {
    arch_mmio_write32(gicd + GICD_IPRIORITYR + i, 0xa0a0a0a0u);
    if (i >= 32) {
      arch_mmio_write32(gicd + GICD_ITARGETSR + i, 0x01010101u);
    }
  }
  arch_mmio_write32(gicd + GICD_CTLR, 1);
  arch_mmio_write32(gicc + GICC_PMR, 0xf0);
  arch_mmio_write32(gicc + GICC_CTLR, 1);
  klog(LOG_INFO,
       "irq: GICv2 distributor %#llx, cpu interface %#llx, %u lines\n",
       (unsigned long long)dpa, (unsigned long long)cpa, nr_irqs);
  return RL_OK;
}

rl_status arch_irq_from_dt(const uint32_t *cells, size_t ncells,
                           unsigned *irq) {
  if (ncells != 3) {
    return RL_ERR_BAD_FORMAT;
  }
  /* Binding: <type number flags>, type 0 = SPI (INTID 32+n), 1 = PPI
   * (INTID 16+n). */
  uint64_t id;
  if (cells[0] == 0) {
    id = 32ull + cells[1];
  } else if (cells[0] == 1 && cells[1] < 16) {
    id = 16ull + cells[1];
  } else {
    return RL_ERR_BAD_FORMAT;
  }
  if (id >= MAX_IRQS) {
    return RL_ERR_OUT_OF_RANGE;
  }
  *irq = (unsigned)id;
  if (gicd != NULL && id >= 32) {
    /* Edge (flags 1 or 2) or level: GICD_ICFGR, 2 bits per line. */
    volatile uint8_t *cfg = gicd + GICD_ICFGR + (id / 16) * 4;
    uint32_t shift = (uint32_t)(id % 16) * 2 + 1;
    uint32_t v = arch_mmio_read32(cfg);
    if (cells[2] & 3) {
      v |= 1u << shift;
    } else {
      v &= ~(1u << shift);
    }
    arch_mmio_write32(cfg, v);
  }
  return RL_OK;
}

rl_status arch_irq_enable(unsigned irq) {
  if (irq >= nr_irqs || gicd == NULL) {
    return RL_ERR_INVALID;
  }
  arch_mmio_write32(gicd + GICD_ISENABLER + (size_t)(irq / 32) * 4,
                    1u << (irq % 32));
  return RL_OK;
}

rl_status arch_irq_disable(unsigned irq) {
  if (irq >= nr_irqs || gicd == NULL) {
    return RL_ERR_INVALID;
  }
  arch_mmio_write32(gicd + GICD_ICENABLER + (size_t)(irq / 32) * 4,
                    1u << (irq % 32));
  return RL_OK;
}

void arch_irq_eoi(unsigned irq) { arch_mmio_write32(gicc + GICC_EOIR, irq); }

void aarch64_gic_dispatch(void) {
  for (;;) {
    uint32_t iar = arch_mmio_read32(gicc + GICC_IAR);
    unsigned id = iar & 0x3ff;
    if (id >= SPURIOUS - 3) {
      return; /* 1020..1023: nothing (more) pending */
    }
    bool handled = irq_table_dispatch(id);
    arch_mmio_write32(gicc + GICC_EOIR, iar);
    if (!handled) {
      panic("unexpected interrupt %u (no handler registered)", id);
    }
  }
}

unsigned long arch_irq_save(void) {
  unsigned long daif;
  __asm__ volatile("mrs %0, daif\n msr daifset, #2" : "=r"(daif)::"memory");
  return daif;
}

void arch_irq_restore(unsigned long state) {
  __asm__ volatile("msr daif, %0" ::"r"(state) : "memory");
}

void arch_irq_enable_local(void) {
  __asm__ volatile("msr daifclr, #2" ::: "memory");
}
