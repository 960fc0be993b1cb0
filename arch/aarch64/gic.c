/* Interrupt controller: the driver is picked by the device tree's
 * compatible — GICv2 (Arm GIC architecture v2, §4: distributor and
 * memory-mapped CPU interface, arm,cortex-a15-gic / arm,gic-400, below)
 * or GICv3 (arm,gic-v3, gicv3.c). Both sit behind arch/irq.h unchanged. */
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

#define SPURIOUS 1023
#define SMC_GIC_NONSECURE 0xc2000001u /* el3.S */

uint64_t aarch64_entry_el;
uint64_t aarch64_entry_scr;

static const struct gic_ops *gic;
static volatile uint8_t *gicd;
static volatile uint8_t *gicc;

/* Triggers arch_irq_from_dt read before arch_irq_init (the drivers probed
 * before the controller, arch_time_early): applied once it is up. */
static uint32_t early_known[GIC_MAX_IRQS / 32 + 1];
static uint32_t early_edge[GIC_MAX_IRQS / 32 + 1];

static void apply_early_triggers(void) {
  for (unsigned id = 0; id < gic->nr_irqs; id++) {
    uint32_t bit = 1u << (id % 32);
    if ((early_known[id / 32] & bit) != 0) {
      gic->set_edge(id, (early_edge[id / 32] & bit) != 0);
    }
  }
}

rl_status aarch64_el3_gic_nonsecure(unsigned version, paddr_t dist_pa,
                                    paddr_t cpu_pa) {
  register uint64_t x0 __asm__("x0") = SMC_GIC_NONSECURE;
  register uint64_t x1 __asm__("x1") = version;
  register uint64_t x2 __asm__("x2") = dist_pa;
  register uint64_t x3 __asm__("x3") = cpu_pa;
  __asm__ volatile("smc #0"
                   : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                   :
                   : "x4", "x5", "x6", "x7", "x8", "cc", "memory");
  if (x0 == 0) {
    return RL_OK;
  }
  klog(LOG_ERROR, "irq: EL3 monitor refused GICv%u set-up (%lld)\n", version,
       (long long)x0);
  return (int64_t)x0 == -3 ? RL_ERR_TIMEOUT : RL_ERR_IO;
}

static void v2_enable(unsigned irq, bool on) {
  if (on) {
    /* The line's priority and target CPU are set when it is enabled,
     * not for every line at init: under emulation each register write
     * exits to the emulator (136 for QEMU's 288 lines). Both registers
     * are byte-accessible (GICv2 architecture specification §4.3.11,
     * §4.3.12); ITARGETSR of SGIs and PPIs is read-only. */
    arch_mmio_write8(gicd + GICD_IPRIORITYR + irq, GIC_PRIORITY);
    if (irq >= 32) {
      arch_mmio_write8(gicd + GICD_ITARGETSR + irq, 0x01);
    }
  }
  arch_mmio_write32(gicd + (on ? GICD_ISENABLER : GICD_ICENABLER) +
                        (size_t)(irq / 32) * 4,
                    1u << (irq % 32));
}

static void v2_set_edge(unsigned irq, bool edge) {
  if (irq < 32) {
    return; /* SGIs and PPIs: fixed on QEMU's GICv2 */
  }
  /* GICD_ICFGR, 2 bits per line, the upper one: edge. */
  volatile uint8_t *cfg = gicd + GICD_ICFGR + (size_t)(irq / 16) * 4;
  uint32_t bit = 1u << ((irq % 16) * 2 + 1);
  uint32_t v = arch_mmio_read32(cfg);
  arch_mmio_write32(cfg, edge ? v | bit : v & ~bit);
}

static uint32_t v2_ack(void) { return arch_mmio_read32(gicc + GICC_IAR); }

static void v2_eoi(uint32_t ack) { arch_mmio_write32(gicc + GICC_EOIR, ack); }

static struct gic_ops v2_ops = {
    .name = "GICv2",
    .enable = v2_enable,
    .set_edge = v2_set_edge,
    .ack = v2_ack,
    .eoi = v2_eoi,
};

static rl_status gicv2_init(const struct fdt *fdt, int node, paddr_t dpa,
                            uint64_t dsize) {
  uint64_t cpa, csize;
  volatile void *d, *c;
  rl_status st = arch_ioremap(dpa, dsize, &d);
  if (st != RL_OK || (st = fdt_get_reg(fdt, node, 1, &cpa, &csize)) != RL_OK ||
      (st = arch_ioremap(cpa, RL_MAX(csize, 0x2000), &c)) != RL_OK) {
    return st;
  }
  if (aarch64_entry_el == 3 &&
      (st = aarch64_el3_gic_nonsecure(2, dpa, cpa)) != RL_OK) {
    return st;
  }
  gicd = (volatile uint8_t *)d;
  gicc = (volatile uint8_t *)c;
  unsigned nr = ((arch_mmio_read32(gicd + GICD_TYPER) & 0x1f) + 1) * 32;
  v2_ops.nr_irqs = RL_MIN(nr, GIC_MAX_IRQS);
  arch_mmio_write32(gicd + GICD_CTLR, 0);
  /* Every line disabled; each is set up when enabled (v2_enable). */
  for (unsigned i = 0; i < v2_ops.nr_irqs; i += 32) {
    arch_mmio_write32(gicd + GICD_ICENABLER + i / 8, 0xffffffffu);
  }
  arch_mmio_write32(gicd + GICD_CTLR, 1);
  arch_mmio_write32(gicc + GICC_PMR, GIC_PRIORITY_MASK);
  arch_mmio_write32(gicc + GICC_CTLR, 1);
  klog(LOG_INFO,
       "irq: GICv2 distributor %#llx, cpu interface %#llx, %u lines\n",
       (unsigned long long)dpa, (unsigned long long)cpa, v2_ops.nr_irqs);
  gic = &v2_ops;
  return RL_OK;
}

rl_status arch_irq_init(const struct fdt *fdt) {
  static const char *const v2[] = {"arm,cortex-a15-gic", "arm,gic-400"};
  uint64_t mpidr;
  __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
  const char *state = "";
  if (aarch64_entry_el == 3) {
    state = (aarch64_entry_scr & 1) != 0 ? " (non-secure: SCR_EL3.NS 1)"
                                         : " (secure: SCR_EL3.NS 0)";
  }
  klog(LOG_INFO, "cpu: MPIDR %#llx, entered at EL%llu, running at EL1%s\n",
       (unsigned long long)mpidr, (unsigned long long)aarch64_entry_el, state);
  int node;
  rl_status st = RL_ERR_NOT_FOUND;
  for (size_t i = 0; i < RL_ARRAY_SIZE(v2) && st != RL_OK; i++) {
    st = dt_find_enabled(fdt, v2[i], &node);
  }
  if (st == RL_OK) {
    uint64_t pa, size;
    st = fdt_get_reg(fdt, node, 0, &pa, &size);
    if (st == RL_OK) {
      st = gicv2_init(fdt, node, pa, size);
    }
  } else if (st == RL_ERR_NOT_FOUND &&
             (st = dt_find_enabled(fdt, "arm,gic-v3", &node)) == RL_OK) {
    st = gicv3_init(fdt, node, &gic);
  } else if (st == RL_ERR_NOT_FOUND) {
    klog(LOG_ERROR, "irq: no arm,gic-v3, arm,cortex-a15-gic or arm,gic-400 "
                    "node in the device tree\n");
  }
  if (st == RL_OK) {
    apply_early_triggers();
  }
  return st;
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
  if (id >= GIC_MAX_IRQS) {
    return RL_ERR_OUT_OF_RANGE;
  }
  *irq = (unsigned)id;
  /* Flags 1 (rising) or 2 (falling): edge; 4 or 8: level. */
  bool edge = (cells[2] & 3) != 0;
  if (gic != NULL && id < gic->nr_irqs) {
    gic->set_edge((unsigned)id, edge);
  } else if (gic == NULL) {
    uint32_t bit = 1u << (id % 32);
    early_known[id / 32] |= bit;
    early_edge[id / 32] =
        edge ? early_edge[id / 32] | bit : early_edge[id / 32] & ~bit;
  }
  return RL_OK;
}

rl_status aarch64_gic_set_edge(unsigned irq, bool edge) {
  if (gic == NULL || irq < 32 || irq >= gic->nr_irqs) {
    return RL_ERR_INVALID;
  }
  gic->set_edge(irq, edge);
  return RL_OK;
}

_Static_assert(GIC_LPI_IRQ_BASE >= GIC_MAX_IRQS &&
                   GIC_LPI_IRQ_BASE + GIC_LPI_COUNT <= ARCH_IRQ_TABLE_SIZE,
               "LPIs outside the irq table");

static bool is_lpi(unsigned irq) {
  return irq >= GIC_LPI_IRQ_BASE && irq < GIC_LPI_IRQ_BASE + GIC_LPI_COUNT;
}

rl_status arch_irq_enable(unsigned irq) {
  if (is_lpi(irq)) {
    return gicv3_its_enable(irq - GIC_LPI_IRQ_BASE, true);
  }
  if (gic == NULL) {
    return RL_ERR_BUSY; /* before arch_irq_init (arch/init.h) */
  }
  if (irq >= gic->nr_irqs) {
    return RL_ERR_INVALID;
  }
  gic->enable(irq, true);
  return RL_OK;
}

rl_status arch_irq_disable(unsigned irq) {
  if (is_lpi(irq)) {
    return gicv3_its_enable(irq - GIC_LPI_IRQ_BASE, false);
  }
  if (gic == NULL || irq >= gic->nr_irqs) {
    return RL_ERR_INVALID;
  }
  gic->enable(irq, false);
  return RL_OK;
}

void arch_irq_eoi(unsigned irq) {
  gic->eoi(is_lpi(irq) ? 8192 + (irq - GIC_LPI_IRQ_BASE) : irq);
}

void aarch64_gic_dispatch(void) {
  for (;;) {
    uint32_t ack = gic->ack();
    unsigned id = ack & 0xffffffu; /* GICv2: 10 bits and the source CPU */
    if (gic == &v2_ops) {
      id &= 0x3ffu;
    }
    if (id >= SPURIOUS - 3 && id <= SPURIOUS) {
      return; /* 1020..1023: nothing (more) pending */
    }
    /* An LPI (INTID 8192 + n, GICv3 only) is arch irq
     * GIC_LPI_IRQ_BASE + n. */
    unsigned irq = id;
    if (id >= 8192) {
      irq = id - 8192 < GIC_LPI_COUNT ? GIC_LPI_IRQ_BASE + (id - 8192) : 0;
    }
    bool handled = irq != 0 && irq_table_dispatch(irq);
    gic->eoi(ack);
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
