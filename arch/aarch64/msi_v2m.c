/* MSIs on aarch64 (arch/msi.h): through a GICv2m frame
 * ("arm,gic-v2m-frame", Arm Server Base System Architecture, appendix E
 * "GICv2m"), here: a device's write of an SPI's INTID to the frame's
 * MSI_SETSPI_NS register raises that SPI; MSI_TYPER names the frame's
 * SPIs. A GICv3 ITS ("arm,gic-v3-its") is gicv3_its.c. */
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/msi.h>
#include <arch/vm.h>
#include <lib/fmt.h>
#include <lib/log.h>

#include "aarch64.h"

#define V2M_MSI_TYPER 0x008
#define V2M_MSI_SETSPI_NS 0x040
#define V2M_FRAME_SIZE 0x1000
#define V2M_MAX_SPIS 1024

/* The frame in use (QEMU's virt has one). */
static struct {
  int node; /* 0: none yet */
  paddr_t pa;
  unsigned base; /* first INTID */
  unsigned count;
  uint32_t used[V2M_MAX_SPIS / 32];
} v2m;

static rl_status v2m_open(const struct fdt *fdt, int ctrl, char *why,
                          size_t why_size) {
  if (v2m.node == ctrl) {
    return RL_OK;
  }
  if (v2m.node != 0) {
    (void)rl_snprintf(why, why_size, "a second GICv2m frame is not supported");
    return RL_ERR_NOT_SUPPORTED;
  }
  uint64_t pa, size;
  volatile void *va;
  rl_status st = fdt_get_reg(fdt, ctrl, 0, &pa, &size);
  if (st == RL_OK) {
    st = arch_ioremap(pa, RL_MAX(size, V2M_FRAME_SIZE), &va);
  }
  if (st != RL_OK) {
    (void)rl_snprintf(why, why_size, "GICv2m frame unusable: %s",
                      rl_status_str(st));
    return st;
  }
  /* MSI_TYPER: [25:16] the first SPI's INTID, [9:0] how many. */
  uint32_t typer = arch_mmio_read32((volatile uint8_t *)va + V2M_MSI_TYPER);
  unsigned base = (typer >> 16) & 0x3ffu;
  unsigned count = typer & 0x3ffu;
  if (base < 32 || count == 0 || base + count > GIC_MAX_IRQS) {
    (void)rl_snprintf(why, why_size, "GICv2m MSI_TYPER %#x names no SPIs",
                      typer);
    return RL_ERR_BAD_FORMAT;
  }
  v2m.node = ctrl;
  v2m.pa = pa;
  v2m.base = base;
  v2m.count = RL_MIN(count, (unsigned)V2M_MAX_SPIS);
  klog(LOG_INFO, "irq: GICv2m frame %#llx: SPIs %u-%u for MSIs\n",
       (unsigned long long)pa, base, base + v2m.count - 1);
  return RL_OK;
}

static bool used(unsigned i) { return (v2m.used[i / 32] >> (i % 32)) & 1u; }

static void mark(unsigned i, bool on) {
  if (on) {
    v2m.used[i / 32] |= 1u << (i % 32);
  } else {
    v2m.used[i / 32] &= ~(1u << (i % 32));
  }
}

rl_status arch_msi_alloc(const struct fdt *fdt, int ctrl, uint32_t devid,
                         unsigned count, struct arch_msi_vector *out, char *why,
                         size_t why_size) {
  if (fdt_is_compatible(fdt, ctrl, "arm,gic-v3-its")) {
    return gicv3_its_alloc(fdt, ctrl, devid, count, out, why, why_size);
  }
  if (!fdt_is_compatible(fdt, ctrl, "arm,gic-v2m-frame")) {
    (void)rl_snprintf(why, why_size,
                      "MSI controller %s is no GICv2m frame or GICv3 ITS",
                      fdt_node_name(fdt, ctrl));
    return RL_ERR_NOT_SUPPORTED;
  }
  rl_status st = v2m_open(fdt, ctrl, why, why_size);
  if (st != RL_OK) {
    return st;
  }
  unsigned got = 0;
  for (unsigned i = 0; i < v2m.count && got < count; i++) {
    if (!used(i)) {
      unsigned intid = v2m.base + i;
      /* The frame's SPIs are edge-triggered: a write is one event. */
      if ((st = aarch64_gic_set_edge(intid, true)) != RL_OK) {
        break;
      }
      (void)arch_irq_disable(intid);
      mark(i, true);
      out[got++] = (struct arch_msi_vector){
          .address = v2m.pa + V2M_MSI_SETSPI_NS, .data = intid, .irq = intid};
    }
  }
  if (got < count) {
    arch_msi_free(out, got);
    (void)rl_snprintf(why, why_size, "GICv2m: %u of %u SPIs free", got, count);
    return st != RL_OK ? st : RL_ERR_NO_SPACE;
  }
  return RL_OK;
}

void arch_msi_free(const struct arch_msi_vector *v, unsigned count) {
  gicv3_its_free(v, count); /* the LPIs among them */
  for (unsigned i = 0; i < count; i++) {
    if (v[i].irq >= v2m.base && v[i].irq < v2m.base + v2m.count) {
      (void)arch_irq_disable(v[i].irq);
      mark(v[i].irq - v2m.base, false);
    }
  }
}
