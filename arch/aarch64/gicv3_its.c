/* MSIs on a GICv3 through its ITS ("arm,gic-v3-its"; Arm GIC architecture
 * v3/v4, IHI 0069: LPIs §5.1, the ITS §5.3, commands §5.3.x, registers
 * §12.19). A device writes an EventID to GITS_TRANSLATER; the ITS looks up
 * its DeviceID (the PCI requester id through the bridge's msi-map) in the
 * device table, the event in that device's ITT, and raises the LPI mapped
 * there on the collection (redistributor) it names.
 *
 * Set up once, at the first vector asked for:
 * - the boot CPU's redistributor: LPI configuration table (a byte per LPI:
 *   priority, enable) and pending table, then GICR_CTLR.EnableLPIs;
 * - the ITS: device and collection tables (flat), a 4 KiB command queue,
 *   collection 0 mapped to this CPU (MAPC), then GITS_CTLR.Enabled.
 * Per device id, on its first vector: an ITT of ITS_EVENTS events (MAPD).
 * Per vector: a free LPI of the ITS_LPIS this driver hands out, mapped with
 * MAPTI, disabled in its configuration byte until arch_irq_enable.
 *
 * Tables and commands are cleaned to the point of coherency whatever the
 * shareability fields read back (only at set-up and enable: cheap). The
 * command queue is waited on with a deadline (an ITS has no completion
 * interrupt; QEMU's runs each command on the CWRITER write). */
#include <arch/cache.h>
#include <arch/dma.h>
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/msi.h>
#include <arch/time.h>
#include <arch/vm.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <string.h>

#include "aarch64.h"

/* ITS registers (§12.19). */
#define GITS_CTLR 0x0000
#define GITS_TYPER 0x0008
#define GITS_CBASER 0x0080
#define GITS_CWRITER 0x0088
#define GITS_CREADR 0x0090
#define GITS_BASER(n) (0x0100 + 8 * (n))
#define GITS_TRANSLATER 0x10040 /* in the second 64 KiB frame */
#define GITS_SIZE 0x20000
#define GITS_CTLR_ENABLED (1u << 0)
#define GITS_CTLR_QUIESCENT (1u << 31)
#define GITS_CREADR_STALLED 1u

/* GITS_BASER<n> fields. */
#define BASER_VALID (1ull << 63)
#define BASER_TYPE(v) (((v) >> 56) & 7u)
#define BASER_TYPE_DEVICE 1u
#define BASER_TYPE_COLLECTION 4u
#define BASER_ENTRY_SIZE(v) ((unsigned)(((v) >> 48) & 0x1fu) + 1)
#define BASER_PAGE_SIZE_MASK (3ull << 8) /* 0: 4 KiB */
/* Normal inner write-back read/write-allocate (7 << 59), inner
 * shareable (1 << 10): the same for CBASER, BASER and the GICR bases. */
#define ITS_CACHE_ATTRS ((7ull << 59) | (1ull << 10))
#define GICR_CACHE_ATTRS ((7ull << 7) | (1ull << 10))

/* Redistributor LPI registers (§12.11). */
#define GICR_CTLR 0x0000
#define GICR_TYPER 0x0008
#define GICR_PROPBASER 0x0070
#define GICR_PENDBASER 0x0078
#define GICR_CTLR_ENABLE_LPIS 1u
#define GICR_TYPER_PLPIS 1u
#define GICD_TYPER_LPIS (1u << 17)

/* Commands (§5.3): 32 bytes, the command number in byte 0. */
#define CMD_SYNC 0x05
#define CMD_MAPD 0x08
#define CMD_MAPC 0x09
#define CMD_MAPTI 0x0a
#define CMD_INV 0x0c
#define CMD_DISCARD 0x0f
#define CMD_SIZE 32
#define CMDQ_BYTES 4096
#define CMD_WAIT_NS 100000000ull /* 100 ms for a command queue to drain */

#define LPI_FIRST 8192         /* §5.1: LPIs start at INTID 8192 */
#define LPI_ID_BITS 14         /* INTIDs below 16384: 8192 LPIs */
#define ITS_LPIS GIC_LPI_COUNT /* handed out, arch irqs GIC_LPI_IRQ_BASE.. */
#define ITS_DEVICES 16         /* device ids with vectors at once */
#define ITS_EVENT_BITS 5       /* events per device: 32 */
#define ITS_EVENTS (1u << ITS_EVENT_BITS)
#define PAGE ((size_t)4096)

/* One 64 KiB-aligned area holds every table (§12.11.33: the pending table
 * is 64 KiB aligned): page 0 the pending table (16384 bits), pages 1-2 the
 * configuration table (a byte per LPI), then the command queue, the
 * device table, the collection table, and an ITT page per device. */
#define AREA_PENDING 0
#define AREA_PROP 1
#define AREA_CMDQ 3
#define AREA_DEVICES 4
#define AREA_COLLECTIONS 5
#define AREA_ITT 6
#define AREA_PAGES (AREA_ITT + ITS_DEVICES)

static struct {
  int node;         /* 0: not set up */
  rl_status failed; /* set-up failed once: refused since, same reason */
  char failed_why[64];
  paddr_t pa;
  volatile uint8_t *base;
  struct arch_dma_buf buf;
  uint8_t *area; /* 64 KiB aligned inside buf */
  paddr_t area_pa;
  unsigned cmd_wr;
  unsigned itt_entry;
  unsigned dev_bits;
  struct {
    bool used;
    uint32_t devid;
    uint32_t events; /* bitmap of events in use */
  } dev[ITS_DEVICES];
  struct {
    bool used;
    uint8_t dev; /* index in dev[] */
    uint8_t event;
  } lpi[ITS_LPIS];
} its;

static uint64_t read64(volatile uint8_t *r) {
  return arch_mmio_read32(r) | (uint64_t)arch_mmio_read32(r + 4) << 32;
}

static void write64(volatile uint8_t *r, uint64_t v) {
  arch_mmio_write32(r, (uint32_t)v);
  arch_mmio_write32(r + 4, (uint32_t)(v >> 32));
}

static uint8_t *page(unsigned n) { return its.area + (size_t)n * PAGE; }
static paddr_t page_pa(unsigned n) { return its.area_pa + (paddr_t)n * PAGE; }

/* Queues one command and waits until the ITS has read it (§12.19.7:
 * CREADR reaches CWRITER). A stalled queue or the deadline: an error
 * naming the command and both offsets. */
static rl_status its_cmd(const uint64_t dw[4]) {
  uint8_t *q = page(AREA_CMDQ);
  unsigned next = (its.cmd_wr + CMD_SIZE) % CMDQ_BYTES;
  uint64_t deadline = arch_deadline_in(CMD_WAIT_NS);
  /* Full when the write offset would meet the read offset. */
  while ((arch_mmio_read32(its.base + GITS_CREADR) & ~31u) == next) {
    if (arch_deadline_passed(deadline)) {
      return RL_ERR_TIMEOUT;
    }
  }
  memcpy(q + its.cmd_wr, dw, CMD_SIZE);
  arch_cache_clean(q + its.cmd_wr, CMD_SIZE);
  its.cmd_wr = next;
  write64(its.base + GITS_CWRITER, next);
  for (;;) {
    uint32_t rd = arch_mmio_read32(its.base + GITS_CREADR);
    if ((rd & ~31u) == next) {
      return RL_OK;
    }
    if ((rd & GITS_CREADR_STALLED) != 0 || arch_deadline_passed(deadline)) {
      klog(LOG_ERROR,
           "irq: ITS %#llx: command %#x %s (CREADR %#x, CWRITER %#x)\n",
           (unsigned long long)its.pa, (unsigned)(dw[0] & 0xff),
           (rd & GITS_CREADR_STALLED) != 0 ? "stalled the queue"
                                           : "not read within 100 ms",
           rd, next);
      return RL_ERR_TIMEOUT;
    }
  }
}

/* SYNC on collection 0's redistributor: everything before it is done. */
static rl_status its_sync(void) {
  uint64_t dw[4] = {CMD_SYNC, 0, (uint64_t)gicv3_processor_number() << 16, 0};
  return its_cmd(dw);
}

static rl_status its_table(unsigned type, unsigned area, unsigned ids_needed,
                           const char **what) {
  for (unsigned n = 0; n < 8; n++) {
    volatile uint8_t *r = its.base + GITS_BASER(n);
    uint64_t v = read64(r);
    if (BASER_TYPE(v) != type) {
      continue;
    }
    if ((uint64_t)BASER_ENTRY_SIZE(v) * ids_needed > PAGE) {
      *what = "a table entry too large for one page";
      return RL_ERR_NOT_SUPPORTED;
    }
    /* Flat, 4 KiB pages, one page (Size 0), §12.19.1. */
    write64(r, BASER_VALID | ITS_CACHE_ATTRS | page_pa(area) |
                   (v & (0x1full << 48)) | (uint64_t)type << 56);
    if ((read64(r) & (BASER_VALID | BASER_PAGE_SIZE_MASK)) != BASER_VALID) {
      *what = "a table that takes no 4 KiB pages";
      return RL_ERR_NOT_SUPPORTED;
    }
    return RL_OK;
  }
  *what = type == BASER_TYPE_DEVICE ? "no device table register"
                                    : "no collection table register";
  return RL_ERR_NOT_SUPPORTED;
}

static rl_status redist_lpis(const char **what) {
  volatile uint8_t *rd = gicv3_redistributor();
  if ((gicv3_dist_typer() & GICD_TYPER_LPIS) == 0 ||
      (arch_mmio_read32(rd + GICR_TYPER) & GICR_TYPER_PLPIS) == 0) {
    *what = "the GIC implements no LPIs";
    return RL_ERR_NOT_SUPPORTED;
  }
  /* IDbits of GICD_TYPER: the INTID bits minus one. */
  if (((gicv3_dist_typer() >> 19) & 0x1fu) + 1 < LPI_ID_BITS) {
    *what = "the GIC has fewer than 14 INTID bits";
    return RL_ERR_NOT_SUPPORTED;
  }
  if ((arch_mmio_read32(rd + GICR_CTLR) & GICR_CTLR_ENABLE_LPIS) != 0) {
    *what = "LPIs already enabled by an earlier stage";
    return RL_ERR_NOT_SUPPORTED;
  }
  /* Every LPI disabled at GIC_PRIORITY (§5.1.1: priority bits [7:2]). */
  memset(page(AREA_PROP), GIC_PRIORITY & 0xfc, 2 * PAGE);
  arch_cache_clean(page(AREA_PROP), 2 * PAGE);
  write64(rd + GICR_PROPBASER,
          page_pa(AREA_PROP) | GICR_CACHE_ATTRS | (LPI_ID_BITS - 1));
  /* The pending table is zero (arch_dma_alloc): PTZ, bit 62. */
  write64(rd + GICR_PENDBASER,
          page_pa(AREA_PENDING) | GICR_CACHE_ATTRS | (1ull << 62));
  arch_mmio_write32(rd + GICR_CTLR,
                    arch_mmio_read32(rd + GICR_CTLR) | GICR_CTLR_ENABLE_LPIS);
  return RL_OK;
}

static rl_status its_open(const struct fdt *fdt, int ctrl, char *why,
                          size_t why_size) {
  if (its.node == ctrl) {
    return RL_OK;
  }
  if (its.failed != RL_OK) {
    (void)rl_snprintf(why, why_size, "%s", its.failed_why);
    return its.failed;
  }
  if (its.node != 0) {
    (void)rl_snprintf(why, why_size, "a second ITS is not supported");
    return RL_ERR_NOT_SUPPORTED;
  }
  const char *what = NULL;
  uint64_t pa, size;
  volatile void *va;
  rl_status st;
  if (gicv3_redistributor() == NULL) {
    what = "the interrupt controller is no GICv3";
    st = RL_ERR_NOT_SUPPORTED;
  } else if ((st = fdt_get_reg(fdt, ctrl, 0, &pa, &size)) != RL_OK ||
             size < GITS_SIZE ||
             (st = arch_ioremap(pa, GITS_SIZE, &va)) != RL_OK) {
    what = "its registers unusable";
    st = st != RL_OK ? st : RL_ERR_BAD_FORMAT;
  } else if ((st = arch_dma_alloc(AREA_PAGES + 16, &its.buf)) != RL_OK) {
    what = "no memory for its tables";
  }
  if (st == RL_OK) {
    its.pa = pa;
    its.base = (volatile uint8_t *)va;
    /* 64 KiB aligned inside the allocation (16 spare pages). */
    paddr_t aligned = (its.buf.phys + 0xffffu) & ~(paddr_t)0xffffu;
    its.area = (uint8_t *)its.buf.cpu + (aligned - its.buf.phys);
    its.area_pa = aligned;
    uint64_t typer = read64(its.base + GITS_TYPER);
    /* GITS_TYPER (§12.19.22): ITT_entry_size [7:4], Devbits [17:13],
     * PTA bit 19 (collections by redistributor address, not used). */
    its.itt_entry = (unsigned)((typer >> 4) & 0xfu) + 1;
    its.dev_bits = (unsigned)((typer >> 13) & 0x1fu) + 1;
    if ((typer & 1u) == 0) {
      what = "the ITS takes no physical LPIs";
      st = RL_ERR_NOT_SUPPORTED;
    } else if ((typer & (1u << 19)) != 0) {
      what = "collections by redistributor address (PTA)";
      st = RL_ERR_NOT_SUPPORTED;
    } else if ((uint64_t)its.itt_entry * ITS_EVENTS > PAGE) {
      what = "ITT entries too large";
      st = RL_ERR_NOT_SUPPORTED;
    } else if ((arch_mmio_read32(its.base + GITS_CTLR) & GITS_CTLR_ENABLED) !=
               0) {
      what = "the ITS is already enabled by an earlier stage";
      st = RL_ERR_NOT_SUPPORTED;
    }
  }
  if (st == RL_OK) {
    /* Tables cover device ids 0-511 and 16 collections: one page each
     * (zeroed and cleaned by arch_dma_alloc). */
    st = its_table(BASER_TYPE_DEVICE, AREA_DEVICES, 512, &what);
  }
  if (st == RL_OK) {
    st = its_table(BASER_TYPE_COLLECTION, AREA_COLLECTIONS, 16, &what);
  }
  if (st == RL_OK) {
    st = redist_lpis(&what);
  }
  if (st == RL_OK) {
    /* §12.19.6: one 4 KiB page of commands (Size 0), then enabled. */
    write64(its.base + GITS_CBASER,
            BASER_VALID | ITS_CACHE_ATTRS | page_pa(AREA_CMDQ));
    write64(its.base + GITS_CWRITER, 0);
    its.cmd_wr = 0;
    arch_mmio_write32(its.base + GITS_CTLR, GITS_CTLR_ENABLED);
    /* MAPC (§5.3.10): collection 0 -> this CPU, by processor number. */
    uint64_t mapc[4] = {
        CMD_MAPC, 0, 1ull << 63 | (uint64_t)gicv3_processor_number() << 16, 0};
    if ((st = its_cmd(mapc)) != RL_OK || (st = its_sync()) != RL_OK) {
      what = "its command queue does not answer";
    }
  }
  if (st != RL_OK) {
    its.failed = st;
    (void)rl_snprintf(its.failed_why, sizeof(its.failed_why), "GICv3 ITS: %s",
                      what);
    (void)rl_snprintf(why, why_size, "%s", its.failed_why);
    return st;
  }
  its.node = ctrl;
  klog(LOG_INFO,
       "irq: GICv3 ITS %#llx: LPIs %u-%u for MSIs (device ids of %u bits, "
       "%u events each)\n",
       (unsigned long long)pa, LPI_FIRST, LPI_FIRST + ITS_LPIS - 1,
       its.dev_bits, ITS_EVENTS);
  return RL_OK;
}

/* The dev[] slot of `devid`, mapped with MAPD (§5.3.9) on first use. */
static rl_status its_device(uint32_t devid, unsigned *slot) {
  unsigned free_slot = ITS_DEVICES;
  for (unsigned i = 0; i < ITS_DEVICES; i++) {
    if (its.dev[i].used && its.dev[i].devid == devid) {
      *slot = i;
      return RL_OK;
    }
    if (!its.dev[i].used && free_slot == ITS_DEVICES) {
      free_slot = i;
    }
  }
  if (free_slot == ITS_DEVICES || devid >= 512 ||
      (its.dev_bits < 32 && devid >> its.dev_bits != 0)) {
    return RL_ERR_NO_SPACE;
  }
  uint64_t mapd[4] = {CMD_MAPD | (uint64_t)devid << 32, ITS_EVENT_BITS - 1,
                      1ull << 63 | page_pa(AREA_ITT + free_slot), 0};
  rl_status st = its_cmd(mapd);
  if (st == RL_OK) {
    its.dev[free_slot].used = true;
    its.dev[free_slot].devid = devid;
    its.dev[free_slot].events = 0;
    *slot = free_slot;
  }
  return st;
}

/* The LPI's configuration byte: enabled or not, then INV (§5.3.12) so
 * the redistributor reads it again. */
static rl_status lpi_config(unsigned i, bool on) {
  uint8_t *cfg = page(AREA_PROP) + i;
  *cfg = (uint8_t)((GIC_PRIORITY & 0xfc) | (on ? 1u : 0u));
  arch_cache_clean(cfg, 1);
  uint64_t inv[4] = {CMD_INV | (uint64_t)its.dev[its.lpi[i].dev].devid << 32,
                     its.lpi[i].event, 0, 0};
  rl_status st = its_cmd(inv);
  return st == RL_OK ? its_sync() : st;
}

rl_status gicv3_its_enable(unsigned lpi, bool on) {
  if (lpi >= ITS_LPIS || !its.lpi[lpi].used) {
    return RL_ERR_INVALID;
  }
  return lpi_config(lpi, on);
}

static void its_free_one(unsigned i) {
  if (!its.lpi[i].used) {
    return;
  }
  (void)lpi_config(i, false);
  unsigned d = its.lpi[i].dev;
  /* DISCARD (§5.3.4): the mapping goes, a pending LPI is dropped. */
  uint64_t discard[4] = {CMD_DISCARD | (uint64_t)its.dev[d].devid << 32,
                         its.lpi[i].event, 0, 0};
  (void)its_cmd(discard);
  (void)its_sync();
  its.dev[d].events &= ~(1u << its.lpi[i].event);
  its.lpi[i].used = false;
}

rl_status gicv3_its_alloc(const struct fdt *fdt, int ctrl, uint32_t devid,
                          unsigned count, struct arch_msi_vector *out,
                          char *why, size_t why_size) {
  rl_status st = its_open(fdt, ctrl, why, why_size);
  if (st != RL_OK) {
    return st;
  }
  unsigned d;
  if ((st = its_device(devid, &d)) != RL_OK) {
    (void)rl_snprintf(why, why_size, "GICv3 ITS: device id %#x unmappable",
                      devid);
    return st;
  }
  unsigned got = 0;
  for (unsigned i = 0; i < ITS_LPIS && got < count && st == RL_OK; i++) {
    if (its.lpi[i].used) {
      continue;
    }
    unsigned e = 0;
    while (e < ITS_EVENTS && (its.dev[d].events >> e & 1u) != 0) {
      e++;
    }
    if (e == ITS_EVENTS) {
      break;
    }
    /* MAPTI (§5.3.11): event e of the device -> LPI, collection 0. */
    uint64_t mapti[4] = {CMD_MAPTI | (uint64_t)devid << 32,
                         e | (uint64_t)(LPI_FIRST + i) << 32, 0, 0};
    if ((st = its_cmd(mapti)) != RL_OK) {
      break;
    }
    its.dev[d].events |= 1u << e;
    its.lpi[i].used = true;
    its.lpi[i].dev = (uint8_t)d;
    its.lpi[i].event = (uint8_t)e;
    out[got++] = (struct arch_msi_vector){.address = its.pa + GITS_TRANSLATER,
                                          .data = e,
                                          .irq = GIC_LPI_IRQ_BASE + i};
    st = lpi_config(i, false);
  }
  if (got < count || st != RL_OK) {
    gicv3_its_free(out, got);
    (void)rl_snprintf(why, why_size, "GICv3 ITS: %u of %u LPIs set up (%s)",
                      got, count, rl_status_str(st));
    return st != RL_OK ? st : RL_ERR_NO_SPACE;
  }
  return RL_OK;
}

void gicv3_its_free(const struct arch_msi_vector *v, unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    if (v[i].irq >= GIC_LPI_IRQ_BASE &&
        v[i].irq < GIC_LPI_IRQ_BASE + ITS_LPIS) {
      its_free_one(v[i].irq - GIC_LPI_IRQ_BASE);
    }
  }
}
