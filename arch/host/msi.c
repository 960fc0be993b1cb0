/* The host's fake MSI controller (arch/msi.h; arch_host.h). */
#include <arch/irq.h>
#include <arch/msi.h>
#include <lib/fmt.h>

#include "arch_host.h"

static bool taken[HOST_MSI_IRQ_COUNT];
static bool off;
static unsigned long stray;
static uint32_t last_devid;

rl_status arch_msi_alloc(const struct fdt *fdt, int ctrl, uint32_t devid,
                         unsigned count, struct arch_msi_vector *out, char *why,
                         size_t why_size) {
  if (off) {
    (void)rl_snprintf(why, why_size, "host: MSIs off");
    return RL_ERR_NOT_SUPPORTED;
  }
  if (!fdt_has_prop(fdt, ctrl, "msi-controller")) {
    (void)rl_snprintf(why, why_size, "%s is no MSI controller",
                      fdt_node_name(fdt, ctrl));
    return RL_ERR_NOT_SUPPORTED;
  }
  last_devid = devid;
  unsigned got = 0;
  for (unsigned i = 0; i < HOST_MSI_IRQ_COUNT && got < count; i++) {
    if (!taken[i]) {
      taken[i] = true;
      out[got++] = (struct arch_msi_vector){.address = HOST_MSI_DOORBELL,
                                            .data = HOST_MSI_IRQ_BASE + i,
                                            .irq = HOST_MSI_IRQ_BASE + i};
    }
  }
  if (got < count) {
    arch_msi_free(out, got);
    (void)rl_snprintf(why, why_size, "host: %u of %u vectors free", got, count);
    return RL_ERR_NO_SPACE;
  }
  return RL_OK;
}

void arch_msi_free(const struct arch_msi_vector *v, unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    if (v[i].irq >= HOST_MSI_IRQ_BASE &&
        v[i].irq < HOST_MSI_IRQ_BASE + HOST_MSI_IRQ_COUNT) {
      (void)arch_irq_disable(v[i].irq);
      taken[v[i].irq - HOST_MSI_IRQ_BASE] = false;
    }
  }
}

void host_msi_write(uint64_t address, uint32_t data) {
  if (address != HOST_MSI_DOORBELL || data < HOST_MSI_IRQ_BASE ||
      data >= HOST_MSI_IRQ_BASE + HOST_MSI_IRQ_COUNT ||
      !taken[data - HOST_MSI_IRQ_BASE] || host_irq_raise(data) != RL_OK) {
    stray++;
  }
}

unsigned long host_msi_stray(void) { return stray; }

uint32_t host_msi_last_devid(void) { return last_devid; }

void host_msi_set_available(bool on) { off = !on; }

unsigned host_msi_allocated(void) {
  unsigned n = 0;
  for (unsigned i = 0; i < HOST_MSI_IRQ_COUNT; i++) {
    n += taken[i] ? 1 : 0;
  }
  return n;
}

void host_msi_reset(void) {
  for (unsigned i = 0; i < HOST_MSI_IRQ_COUNT; i++) {
    taken[i] = false;
  }
  off = false;
  stray = 0;
  last_devid = 0;
}
