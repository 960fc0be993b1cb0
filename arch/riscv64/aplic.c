/* APLIC (RISC-V AIA 1.0 §4) for the S-level interrupt domain, in direct
 * mode (per-hart IDC: idelivery, ithreshold, claimi; §4.8) or in MSI mode
 * forwarding to this hart's S-level IMSIC interrupt file (§4.9, §3).
 *
 * The S-level domain is a child of OpenSBI's M-level domain: M-mode
 * delegates each source (sourcecfg.D in the parent, QEMU's
 * riscv,delegate) and, in MSI mode, programs the MSI address
 * (smsiaddrcfg exists only in the M-level root domain). Both are checked
 * here: a source that does not stick in sourcecfg was not delegated, and
 * a genmsi test message must reach the interrupt file. The irq number the
 * core sees is the APLIC source number; in MSI mode each source sends its
 * own number as EIID, so the IMSIC identity is the same number. */
#include <arch/common/arch_common.h>
#include <arch/mmio.h>
#include <arch/time.h>
#include <arch/vm.h>
#include <lib/fmt.h>
#include <lib/log.h>

#include "irq_dt.h"
#include "riscv.h"

#define APLIC_DOMAINCFG 0x0000
#define APLIC_DOMAINCFG_IE (1u << 8)
#define APLIC_DOMAINCFG_DM (1u << 2)
#define APLIC_SOURCECFG(i) (0x0004 + ((size_t)(i)-1) * 4)
#define APLIC_IN_CLRIP(w) (0x1d00 + (size_t)(w)*4)
#define APLIC_CLRIE(w) (0x1f00 + (size_t)(w)*4)
#define APLIC_SETIENUM 0x1edc
#define APLIC_CLRIENUM 0x1fdc
#define APLIC_SETIPNUM_LE 0x2000
#define APLIC_GENMSI 0x3000
#define APLIC_GENMSI_BUSY (1u << 12)
#define APLIC_TARGET(i) (0x3004 + ((size_t)(i)-1) * 4)
#define APLIC_TARGET_HART_SHIFT 18
#define APLIC_IDC(h) (0x4000 + (size_t)(h)*32)
#define APLIC_IDC_IDELIVERY 0x00
#define APLIC_IDC_IFORCE 0x04
#define APLIC_IDC_ITHRESHOLD 0x08
#define APLIC_IDC_CLAIMI 0x1c
#define APLIC_CLAIMI_ID(v) (((v) >> 16) & 0x3ffu)
#define APLIC_MAX_SOURCES 1023u

/* IMSIC interrupt-file registers behind siselect (CSR 0x150) / sireg
 * (0x151) (AIA §2.3, §3.8); stopei is CSR 0x15c. */
#define IMSIC_EIDELIVERY 0x70
#define IMSIC_EITHRESHOLD 0x72
#define IMSIC_EIP0 0x80
#define IMSIC_EIE0 0xc0
#define IMSIC_MAX_IDS 2047u

#define GENMSI_TIMEOUT_MS 10u

static volatile uint8_t *aplic;
static uint64_t aplic_size;
static struct riscv_irqchip_dt chip;
static paddr_t aplic_pa;
static uint8_t modes[APLIC_MAX_SOURCES + 1]; /* sourcecfg.SM per source */

static uint32_t reg_read(size_t off) { return arch_mmio_read32(aplic + off); }
static void reg_write(size_t off, uint32_t v) {
  arch_mmio_write32(aplic + off, v);
}

/* Interrupt-file register `reg` (AIA §3.8: on RV64 only the even eipN /
 * eieN exist, each holding 64 identities). */
static unsigned long imsic_read(unsigned long reg) {
  csr_write(0x150, reg);
  return csr_read(0x151);
}
static void imsic_write(unsigned long reg, unsigned long v) {
  csr_write(0x150, reg);
  csr_write(0x151, v);
}
static void imsic_set(unsigned long reg, unsigned long bits) {
  csr_write(0x150, reg);
  csr_set(0x151, bits);
}
static void imsic_clear(unsigned long reg, unsigned long bits) {
  csr_write(0x150, reg);
  csr_clear(0x151, bits);
}
static unsigned long imsic_word(unsigned id) {
  return (unsigned long)(id / 64) * 2;
}

static bool is_msi(void) { return chip.kind == RISCV_IRQCHIP_APLIC_MSI; }

/* The info line (klog_later: none is formatted before the first picture). */
static void log_aplic(const void *ctx) {
  (void)ctx;
  if (is_msi()) {
    klog(LOG_INFO,
         "irq: APLIC %#llx, %u sources, MSI mode to IMSIC hart index %u "
         "(%u identities)\n",
         (unsigned long long)aplic_pa, chip.nsources, chip.index, chip.nids);
  } else {
    klog(LOG_INFO, "irq: APLIC %#llx, %u sources, direct mode, IDC %u\n",
         (unsigned long long)aplic_pa, chip.nsources, chip.index);
  }
}

/* A genmsi message (AIA §4.5.17) to identity `eiid` of this hart's
 * interrupt file proves that M-mode set the MSI address. This runs
 * before arch_time_init, so the deadline is counted in time CSR ticks at
 * the tree's timebase-frequency. */
static rl_status msi_selftest(const struct fdt *fdt, unsigned eiid) {
  int cpus;
  uint32_t hz;
  rl_status st = fdt_path(fdt, "/cpus", &cpus);
  if (st != RL_OK ||
      (st = fdt_get_u32(fdt, cpus, "timebase-frequency", &hz)) != RL_OK) {
    return st;
  }
  unsigned long bit = 1ul << (eiid % 64);
  imsic_clear(IMSIC_EIP0 + imsic_word(eiid), bit);
  reg_write(APLIC_GENMSI, (chip.index << APLIC_TARGET_HART_SHIFT) | eiid);
  uint64_t start = arch_time_raw();
  uint64_t limit = hz / 1000 * GENMSI_TIMEOUT_MS + 1;
  bool arrived = false;
  while (!arrived && arch_time_raw() - start < limit) {
    arrived = (imsic_read(IMSIC_EIP0 + imsic_word(eiid)) & bit) != 0 &&
              (reg_read(APLIC_GENMSI) & APLIC_GENMSI_BUSY) == 0;
  }
  imsic_clear(IMSIC_EIP0 + imsic_word(eiid), bit);
  return arrived ? RL_OK : RL_ERR_TIMEOUT;
}

static rl_status imsic_init(void) {
  if (chip.nids < chip.nsources + 1 || chip.nids > IMSIC_MAX_IDS) {
    klog(LOG_ERROR,
         "irq: IMSIC has %u identities, the APLIC %u sources: "
         "not enough to give each source its own\n",
         chip.nids, chip.nsources);
    return RL_ERR_NOT_SUPPORTED;
  }
  imsic_write(IMSIC_EIDELIVERY, 0);
  imsic_write(IMSIC_EITHRESHOLD, 0);
  for (unsigned id = 0; id <= chip.nids; id += 64) {
    imsic_write(IMSIC_EIE0 + imsic_word(id), 0);
    imsic_write(IMSIC_EIP0 + imsic_word(id), 0);
  }
  return RL_OK;
}

rl_status riscv_aplic_init(const struct fdt *fdt,
                           const struct riscv_irqchip_dt *dt) {
  uint64_t pa;
  volatile void *va;
  chip = *dt;
  if (chip.nsources == 0 || chip.nsources > APLIC_MAX_SOURCES) {
    return RL_ERR_BAD_FORMAT;
  }
  rl_status st = fdt_get_reg(fdt, chip.node, 0, &pa, &aplic_size);
  if (st != RL_OK || (st = arch_ioremap(pa, aplic_size, &va)) != RL_OK) {
    return st;
  }
  uint64_t need =
      is_msi() ? APLIC_TARGET(chip.nsources) + 4 : APLIC_IDC(chip.index + 1);
  if (aplic_size < need) {
    return RL_ERR_BAD_FORMAT;
  }
  aplic = (volatile uint8_t *)va;

  /* §4.5.1: interrupts off while the domain is set up. DM may be
   * read-only (it is in QEMU): check that the mode the tree describes
   * stuck. */
  uint32_t mode = is_msi() ? APLIC_DOMAINCFG_DM : 0;
  reg_write(APLIC_DOMAINCFG, mode);
  uint32_t dm = reg_read(APLIC_DOMAINCFG) & APLIC_DOMAINCFG_DM;
  if (dm != mode) {
    klog(LOG_ERROR,
         "irq: APLIC %#llx is in %s delivery mode, the device "
         "tree describes %s\n",
         (unsigned long long)pa, dm ? "MSI" : "direct",
         is_msi() ? "MSI" : "direct");
    return RL_ERR_NOT_SUPPORTED;
  }
  for (unsigned w = 0; w <= chip.nsources / 32; w++) {
    reg_write(APLIC_CLRIE(w), 0xffffffffu);
  }
  for (unsigned i = 1; i <= chip.nsources; i++) {
    reg_write(APLIC_SOURCECFG(i), 0); /* inactive until enabled */
  }
  if (is_msi()) {
    if ((st = imsic_init()) != RL_OK) {
      return st;
    }
  } else {
    /* §4.8.1: deliver to this hart, no threshold, nothing forced. */
    reg_write(APLIC_IDC(chip.index) + APLIC_IDC_IFORCE, 0);
    reg_write(APLIC_IDC(chip.index) + APLIC_IDC_ITHRESHOLD, 0);
    reg_write(APLIC_IDC(chip.index) + APLIC_IDC_IDELIVERY, 1);
  }
  reg_write(APLIC_DOMAINCFG, mode | APLIC_DOMAINCFG_IE);
  if ((reg_read(APLIC_DOMAINCFG) & APLIC_DOMAINCFG_IE) == 0) {
    return RL_ERR_IO;
  }
  if (is_msi()) {
    st = msi_selftest(fdt, chip.nids);
    if (st == RL_ERR_TIMEOUT) {
      klog(LOG_ERROR,
           "irq: APLIC %#llx in MSI mode: a test MSI (genmsi) did not reach "
           "this hart's IMSIC: the M-level firmware did not set the APLIC's "
           "S-level MSI address (smsiaddrcfg); use -M virt,aia=aplic or the "
           "default PLIC\n",
           (unsigned long long)pa);
      return RL_ERR_NOT_SUPPORTED;
    }
    if (st != RL_OK) {
      return st;
    }
    imsic_write(IMSIC_EIDELIVERY, 1);
  }
  csr_set(sie, SIE_SEIE);
  aplic_pa = pa;
  klog_later(log_aplic, NULL);
  return RL_OK;
}

rl_status riscv_aplic_from_dt(const uint32_t *cells, size_t ncells,
                              unsigned *irq) {
  uint32_t mode;
  unsigned source;
  rl_status st = riscv_aplic_spec(cells, ncells, chip.nsources, &source, &mode);
  if (st == RL_OK) {
    modes[source] = (uint8_t)mode;
    *irq = source;
  }
  return st;
}

/* Identities above the APLIC's sources, for devices' own MSIs (msi.c);
 * the top one is the genmsi self-test's. */
static uint64_t msi_ids_used[(IMSIC_MAX_IDS + 1) / 64];
static paddr_t msi_file; /* this hart's S-level interrupt file */

static bool device_msi(unsigned irq) {
  return is_msi() && irq > chip.nsources && irq < chip.nids &&
         ((msi_ids_used[irq / 64] >> (irq % 64)) & 1u) != 0;
}

rl_status riscv_aplic_set_enable(unsigned irq, bool on) {
  if (aplic != NULL && device_msi(irq)) {
    /* A device's MSI: only the interrupt file's enable bit (AIA §3.8). */
    if (on) {
      imsic_set(IMSIC_EIE0 + imsic_word(irq), 1ul << (irq % 64));
    } else {
      imsic_clear(IMSIC_EIE0 + imsic_word(irq), 1ul << (irq % 64));
    }
    return RL_OK;
  }
  if (aplic == NULL || irq == 0 || irq > chip.nsources) {
    return RL_ERR_INVALID;
  }
  if (!on) {
    reg_write(APLIC_CLRIENUM, irq);
    return RL_OK;
  }
  uint32_t mode = modes[irq] ? modes[irq] : APLIC_SM_EDGE_RISE;
  reg_write(APLIC_SOURCECFG(irq), mode);
  if (reg_read(APLIC_SOURCECFG(irq)) != mode) {
    /* §4.5.2: sourcecfg is read-only zero for a source the parent
     * domain did not delegate. */
    klog(LOG_ERROR,
         "irq: APLIC source %u is not delegated to the S-level "
         "domain by the M-level firmware\n",
         irq);
    return RL_ERR_NOT_SUPPORTED;
  }
  uint32_t target = (uint32_t)chip.index << APLIC_TARGET_HART_SHIFT;
  /* MSI: guest index 0 (the S-level file), EIID = source (§4.5.16);
   * direct: priority 1, the highest (§4.5.16). */
  reg_write(APLIC_TARGET(irq), target | (is_msi() ? irq : 1u));
  if (is_msi()) {
    imsic_set(IMSIC_EIE0 + imsic_word(irq), 1ul << (irq % 64));
  }
  reg_write(APLIC_SETIENUM, irq);
  return RL_OK;
}

/* A level source still asserted after its handler gets its pending bit
 * set again: in MSI mode the APLIC sends one message per pending edge of
 * the rectified input (§4.9.2). */
static void msi_retrigger(unsigned irq) {
  if (modes[irq] != APLIC_SM_LEVEL_HIGH && modes[irq] != APLIC_SM_LEVEL_LOW) {
    return;
  }
  if (reg_read(APLIC_IN_CLRIP(irq / 32)) & (1u << (irq % 32))) {
    reg_write(APLIC_SETIPNUM_LE, irq);
  }
}

void riscv_aplic_dispatch(void) {
  for (;;) {
    unsigned id;
    if (is_msi()) {
      unsigned long top;
      /* §3.9: reading stopei with a write claims the top identity. */
      __asm__ volatile("csrrw %0, 0x15c, zero" : "=r"(top)::"memory");
      id = (unsigned)(top >> 16) & IMSIC_MAX_IDS;
    } else {
      /* §4.8.1.5: claimi returns topi and clears the pending bit. */
      id = APLIC_CLAIMI_ID(reg_read(APLIC_IDC(chip.index) + APLIC_IDC_CLAIMI));
    }
    if (id == 0) {
      return;
    }
    bool handled = irq_table_dispatch(id);
    if (!handled) {
      panic("unexpected interrupt %u (no handler registered)", id);
    }
    if (is_msi() && id <= chip.nsources) {
      msi_retrigger(id);
    }
  }
}

/* AIA §3.6: hart index i's S-level interrupt file is 4 KiB (times
 * 2^guest-index-bits with guest files) after the previous one, from the
 * IMSIC node's first reg; a device writes the identity there
 * (seteipnum_le at offset 0). */
static rl_status msi_file_addr(const struct fdt *fdt, char *why,
                               size_t why_size) {
  uint64_t base, size;
  uint32_t guest_bits = 0;
  rl_status st = fdt_get_reg(fdt, chip.imsic, 0, &base, &size);
  if (st != RL_OK) {
    (void)rl_snprintf(why, why_size, "IMSIC node has no reg");
    return st;
  }
  if (fdt_has_prop(fdt, chip.imsic, "riscv,guest-index-bits") &&
      (fdt_get_u32(fdt, chip.imsic, "riscv,guest-index-bits", &guest_bits) !=
           RL_OK ||
       guest_bits > 6)) {
    (void)rl_snprintf(why, why_size, "IMSIC riscv,guest-index-bits is bad");
    return RL_ERR_BAD_FORMAT;
  }
  uint64_t stride = (uint64_t)0x1000 << guest_bits;
  uint64_t off = (uint64_t)chip.index * stride;
  if (off + 0x1000 > size) {
    (void)rl_snprintf(why, why_size,
                      "hart index %u's interrupt file is past the IMSIC's "
                      "first reg (groups: not yet)",
                      chip.index);
    return RL_ERR_NOT_SUPPORTED;
  }
  msi_file = base + off;
  return RL_OK;
}

rl_status riscv_aplic_msi_alloc(const struct fdt *fdt, int ctrl, unsigned count,
                                struct arch_msi_vector *out, char *why,
                                size_t why_size) {
  if (aplic == NULL || !is_msi() || ctrl != chip.imsic) {
    (void)rl_snprintf(why, why_size,
                      "MSI controller %s is not the S-level IMSIC this "
                      "kernel's interrupts go to",
                      fdt_node_name(fdt, ctrl));
    return RL_ERR_NOT_SUPPORTED;
  }
  rl_status st;
  if (msi_file == 0 && (st = msi_file_addr(fdt, why, why_size)) != RL_OK) {
    return st;
  }
  unsigned got = 0;
  for (unsigned id = chip.nsources + 1; id < chip.nids && got < count; id++) {
    if (((msi_ids_used[id / 64] >> (id % 64)) & 1u) == 0) {
      msi_ids_used[id / 64] |= (uint64_t)1 << (id % 64);
      imsic_clear(IMSIC_EIE0 + imsic_word(id), 1ul << (id % 64));
      out[got++] =
          (struct arch_msi_vector){.address = msi_file, .data = id, .irq = id};
    }
  }
  if (got < count) {
    riscv_aplic_msi_free(out, got);
    (void)rl_snprintf(why, why_size, "IMSIC: %u of %u identities free", got,
                      count);
    return RL_ERR_NO_SPACE;
  }
  return RL_OK;
}

void riscv_aplic_msi_free(const struct arch_msi_vector *v, unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    if (device_msi(v[i].irq)) {
      imsic_clear(IMSIC_EIE0 + imsic_word(v[i].irq), 1ul << (v[i].irq % 64));
      msi_ids_used[v[i].irq / 64] &= ~((uint64_t)1 << (v[i].irq % 64));
    }
  }
}
