/* GICv3 (Arm GIC architecture v3/v4, IHI 0069): the distributor routes
 * every SPI to the boot CPU by affinity, the boot CPU's redistributor
 * (found by GICR_TYPER.Affinity = MPIDR_EL1) holds its SGIs and PPIs (the
 * timer), and the CPU interface is the system registers ICC_*_EL1.
 * Everything is non-secure Group 1. */
#include <arch/common/arch_common.h>
#include <arch/mmio.h>
#include <arch/vm.h>
#include <lib/log.h>

#include "aarch64.h"
#include "gicv3_dt.h"

/* Distributor (§12.9). */
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0c00
#define GICD_IROUTER 0x6000
#define GICD_PIDR2 0xffe8
#define CTLR_ENABLE_GRP1 (1u << 1) /* EnableGrp1 (DS=1) / EnableGrp1A (NS) */
#define CTLR_ARE (1u << 4)         /* ARE (DS=1) / ARE_NS (NS view) */
#define CTLR_RWP (1u << 31)

/* Redistributor (§12.10, §12.11): RD_base frame, then SGI_base. */
#define GICR_CTLR 0x0000
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xffe8
#define TYPER_VLPIS (1u << 1)
#define TYPER_LAST (1u << 4)
#define WAKER_PROCESSOR_SLEEP (1u << 1)
#define WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_CTLR_RWP (1u << 3)
#define SGI_BASE 0x10000
#define GICR_IGROUPR0 (SGI_BASE + 0x0080)
#define GICR_ISENABLER0 (SGI_BASE + 0x0100)
#define GICR_ICENABLER0 (SGI_BASE + 0x0180)
#define GICR_IPRIORITYR (SGI_BASE + 0x0400)
#define GICR_ICFGR1 (SGI_BASE + 0x0c04)

/* CPU interface system registers (§12.2), by encoding: assemblers that
 * target armv8.0 need not know the names. */
#define ICC_PMR_EL1 "S3_0_C4_C6_0"
#define ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define ICC_BPR1_EL1 "S3_0_C12_C12_3"
#define ICC_CTLR_EL1 "S3_0_C12_C12_4"
#define ICC_SRE_EL1 "S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"

#define MAX_REDIST_SCAN 4096 /* redistributors looked at, at most */

static volatile uint8_t *gicd;
static volatile uint8_t *gicr; /* the boot CPU's RD_base */

/* Bounded by the generic counter (timebase is not set up yet). */
static uint64_t counter(void) {
  uint64_t v;
  __asm__ volatile("isb\n mrs %0, cntvct_el0" : "=r"(v)::"memory");
  return v;
}

static uint64_t counter_after_ms(unsigned ms) {
  uint64_t freq;
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
  return counter() + (freq / 1000 + 1) * ms;
}

/* Waits until (read32(reg) & bit) == 0, at most `ms` milliseconds. */
static bool wait_clear(volatile uint8_t *reg, uint32_t bit, unsigned ms) {
  uint64_t deadline = counter_after_ms(ms);
  for (unsigned spins = 0; spins < 10000000u; spins++) {
    if ((arch_mmio_read32(reg) & bit) == 0) {
      return true;
    }
    if (counter() > deadline) {
      break;
    }
  }
  return (arch_mmio_read32(reg) & bit) == 0;
}

static uint64_t spi_route; /* GICD_IROUTER value: the boot CPU */

static void v3_enable(unsigned irq, bool on) {
  uint32_t bit = 1u << (irq % 32);
  if (on) {
    /* The line's priority (and an SPI's route) are set when it is
     * enabled, not for every line at init: under emulation each register
     * write exits to the emulator (about 600 for QEMU's 288 lines).
     * IPRIORITYR is byte-accessible (GICv3 architecture specification
     * §12.9.18, §12.11.20). */
    arch_mmio_write8(
        (irq < 32 ? gicr + GICR_IPRIORITYR : gicd + GICD_IPRIORITYR) + irq,
        GIC_PRIORITY);
    if (irq >= 32) {
      volatile uint8_t *r = gicd + GICD_IROUTER + (size_t)irq * 8;
      arch_mmio_write32(r, (uint32_t)spi_route);
      arch_mmio_write32(r + 4, (uint32_t)(spi_route >> 32));
    }
  }
  if (irq < 32) {
    arch_mmio_write32(gicr + (on ? GICR_ISENABLER0 : GICR_ICENABLER0), bit);
  } else {
    arch_mmio_write32(gicd + (on ? GICD_ISENABLER : GICD_ICENABLER) +
                          (size_t)(irq / 32) * 4,
                      bit);
  }
}

static void v3_set_edge(unsigned irq, bool edge) {
  volatile uint8_t *cfg;
  if (irq < 16) {
    return; /* SGIs are always edge */
  }
  /* GICD_ICFGR<n> / GICR_ICFGR1: 2 bits per line, the upper one: edge. */
  cfg = irq < 32 ? gicr + GICR_ICFGR1
                 : gicd + GICD_ICFGR + (size_t)(irq / 16) * 4;
  uint32_t bit = 1u << ((irq % 16) * 2 + 1);
  uint32_t v = arch_mmio_read32(cfg);
  arch_mmio_write32(cfg, edge ? v | bit : v & ~bit);
}

static uint32_t v3_ack(void) {
  uint64_t iar;
  /* The dsb orders the acknowledge before the handler's device accesses
   * (as Linux's gic_read_iar). */
  __asm__ volatile("mrs %0, " ICC_IAR1_EL1 "\n dsb sy" : "=r"(iar)::"memory");
  return (uint32_t)iar;
}

static void v3_eoi(uint32_t ack) {
  __asm__ volatile("msr " ICC_EOIR1_EL1 ", %0\n isb" ::"r"((uint64_t)ack)
                   : "memory");
}

static struct gic_ops v3_ops = {
    .name = "GICv3",
    .enable = v3_enable,
    .set_edge = v3_set_edge,
    .ack = v3_ack,
    .eoi = v3_eoi,
};

volatile uint8_t *gicv3_redistributor(void) { return gicr; }

unsigned gicv3_processor_number(void) {
  /* GICR_TYPER.Processor_Number, bits [23:8]. */
  return (arch_mmio_read32(gicr + GICR_TYPER) >> 8) & 0xffffu;
}

uint32_t gicv3_dist_typer(void) { return arch_mmio_read32(gicd + GICD_TYPER); }

/* MPIDR_EL1 affinity as GICR_TYPER[63:32] has it: Aff3.Aff2.Aff1.Aff0. */
static uint32_t mpidr_affinity(uint64_t mpidr) {
  return (uint32_t)(((mpidr >> 8) & 0xff000000u) | (mpidr & 0x00ffffffu));
}

/* GICD_IROUTER<n> (§12.9.22): Aff3 in bits 39:32, Aff2.Aff1.Aff0 below,
 * Interrupt_Routing_Mode 0 (this PE only). */
static uint64_t irouter_value(uint64_t mpidr) {
  return (mpidr & 0xff00ffffffull);
}

/* The redistributor whose GICR_TYPER.Affinity is `aff`: walks each region
 * frame by frame until GICR_TYPER.Last (§12.11.37). */
static rl_status find_redistributor(const struct gicv3_dt *dt, uint32_t aff,
                                    paddr_t *pa_out,
                                    volatile uint8_t **va_out) {
  unsigned scanned = 0;
  for (unsigned r = 0; r < dt->nredist; r++) {
    const struct gicv3_region *reg = &dt->redist[r];
    uint64_t off = 0;
    while (off + GICV3_REDIST_SIZE <= reg->size &&
           scanned++ < MAX_REDIST_SCAN) {
      volatile void *va;
      rl_status st = arch_ioremap(reg->pa + off, GICV3_REDIST_SIZE, &va);
      if (st != RL_OK) {
        klog(LOG_WARN, "irq: GICv3 redistributor region %#llx: %s\n",
             (unsigned long long)reg->pa, rl_status_str(st));
        break;
      }
      volatile uint8_t *rd = (volatile uint8_t *)va;
      uint32_t typer_lo = arch_mmio_read32(rd + GICR_TYPER);
      uint32_t typer_hi = arch_mmio_read32(rd + GICR_TYPER + 4);
      if (typer_hi == aff) {
        *pa_out = reg->pa + off;
        *va_out = rd;
        return RL_OK;
      }
      if (typer_lo & TYPER_LAST) {
        break;
      }
      /* GICv4 (VLPIS) adds the two VLPI frames (§9.4). */
      off += dt->stride != 0            ? dt->stride
             : (typer_lo & TYPER_VLPIS) ? 2 * GICV3_REDIST_SIZE
                                        : GICV3_REDIST_SIZE;
    }
  }
  return RL_ERR_NOT_FOUND;
}

static rl_status cpu_interface_init(void) {
  uint64_t sre;
  /* ICC_SRE_EL1.SRE (§12.2.23): the system-register interface. A higher
   * EL that keeps it off (ICC_SRE_EL2/EL3.Enable 0) makes it read 0. */
  __asm__ volatile("mrs %0, " ICC_SRE_EL1 : "=r"(sre));
  __asm__ volatile("msr " ICC_SRE_EL1 ", %0\n isb" ::"r"(sre | 1) : "memory");
  __asm__ volatile("mrs %0, " ICC_SRE_EL1 : "=r"(sre));
  if ((sre & 1) == 0) {
    klog(LOG_ERROR, "irq: GICv3 system-register interface disabled "
                    "(ICC_SRE_EL1.SRE reads 0)\n");
    return RL_ERR_NOT_SUPPORTED;
  }
  uint64_t pmr = GIC_PRIORITY_MASK, zero = 0, one = 1;
  __asm__ volatile("msr " ICC_PMR_EL1 ", %0\n"
                   "msr " ICC_BPR1_EL1 ", %1\n"
                   "msr " ICC_CTLR_EL1 ", %1\n" /* EOImode 0: EOI drops and
                                                   deactivates */
                   "msr " ICC_IGRPEN1_EL1 ", %2\n"
                   "isb" ::"r"(pmr),
                   "r"(zero), "r"(one)
                   : "memory");
  return RL_OK;
}

rl_status gicv3_init(const struct fdt *fdt, int node,
                     const struct gic_ops **ops) {
  struct gicv3_dt dt;
  volatile void *d;
  rl_status st = gicv3_dt_parse(fdt, node, &dt);
  if (st != RL_OK) {
    klog(LOG_ERROR, "irq: GICv3 node %s: %s\n", fdt_node_name(fdt, node),
         rl_status_str(st));
    return st;
  }
  if ((st = arch_ioremap(dt.dist.pa, GICV3_DIST_SIZE, &d)) != RL_OK) {
    return st;
  }
  gicd = (volatile uint8_t *)d;
  uint32_t rev = (arch_mmio_read32(gicd + GICD_PIDR2) >> 4) & 0xf;
  if (rev != 3 && rev != 4) {
    klog(LOG_ERROR, "irq: GICv3 distributor %#llx: GICD_PIDR2.ArchRev %u\n",
         (unsigned long long)dt.dist.pa, rev);
    return RL_ERR_NOT_SUPPORTED;
  }
  uint64_t mpidr;
  __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
  uint32_t aff = mpidr_affinity(mpidr);
  paddr_t rd_pa = 0;
  volatile uint8_t *rd = NULL;
  if ((st = find_redistributor(&dt, aff, &rd_pa, &rd)) != RL_OK) {
    klog(LOG_ERROR,
         "irq: GICv3: no redistributor with affinity %#x "
         "(MPIDR_EL1 %#llx)\n",
         aff, (unsigned long long)mpidr);
    return st;
  }
  gicr = rd;
  if (aarch64_entry_el == 3 &&
      (st = aarch64_el3_gic_nonsecure(3, dt.dist.pa, rd_pa)) != RL_OK) {
    return st;
  }

  /* Distributor (§12.9.4): off, then affinity routing before the groups
   * are enabled again. */
  arch_mmio_write32(gicd + GICD_CTLR, 0);
  if (!wait_clear(gicd + GICD_CTLR, CTLR_RWP, 100)) {
    return RL_ERR_TIMEOUT;
  }
  arch_mmio_write32(gicd + GICD_CTLR, CTLR_ARE);
  if (!wait_clear(gicd + GICD_CTLR, CTLR_RWP, 100)) {
    return RL_ERR_TIMEOUT;
  }
  unsigned nr = ((arch_mmio_read32(gicd + GICD_TYPER) & 0x1f) + 1) * 32;
  v3_ops.nr_irqs = RL_MIN(nr, GIC_MAX_IRQS);
  /* Every SPI off and in Group 1; each is set up when enabled
   * (v3_enable). */
  spi_route = irouter_value(mpidr);
  for (unsigned i = 32; i < v3_ops.nr_irqs; i += 32) {
    arch_mmio_write32(gicd + GICD_ICENABLER + i / 8, 0xffffffffu);
    arch_mmio_write32(gicd + GICD_IGROUPR + i / 8, 0xffffffffu);
  }
  if (!wait_clear(gicd + GICD_CTLR, CTLR_RWP, 100)) {
    return RL_ERR_TIMEOUT;
  }
  arch_mmio_write32(gicd + GICD_CTLR, CTLR_ARE | CTLR_ENABLE_GRP1);
  if (!wait_clear(gicd + GICD_CTLR, CTLR_RWP, 100)) {
    return RL_ERR_TIMEOUT;
  }

  /* Redistributor: awake (§12.11.42: clear ProcessorSleep, then wait for
   * ChildrenAsleep to clear), SGIs/PPIs off and in Group 1 (priorities:
   * v3_enable). */
  uint32_t waker = arch_mmio_read32(gicr + GICR_WAKER);
  arch_mmio_write32(gicr + GICR_WAKER, waker & ~WAKER_PROCESSOR_SLEEP);
  if (!wait_clear(gicr + GICR_WAKER, WAKER_CHILDREN_ASLEEP, 100)) {
    klog(LOG_ERROR,
         "irq: GICv3 redistributor %#llx did not wake "
         "(GICR_WAKER %#x)\n",
         (unsigned long long)rd_pa, arch_mmio_read32(gicr + GICR_WAKER));
    return RL_ERR_TIMEOUT;
  }
  arch_mmio_write32(gicr + GICR_ICENABLER0, 0xffffffffu);
  arch_mmio_write32(gicr + GICR_IGROUPR0, 0xffffffffu);
  if (!wait_clear(gicr + GICR_CTLR, GICR_CTLR_RWP, 100)) {
    return RL_ERR_TIMEOUT;
  }

  if ((st = cpu_interface_init()) != RL_OK) {
    return st;
  }
  klog(LOG_INFO,
       "irq: GICv%u distributor %#llx, redistributor %#llx (affinity %#x, "
       "awake), %u lines, %u redistributor region(s), system-register "
       "CPU interface\n",
       rev, (unsigned long long)dt.dist.pa, (unsigned long long)rd_pa, aff,
       v3_ops.nr_irqs, dt.nredist);
  *ops = &v3_ops;
  return RL_OK;
}
