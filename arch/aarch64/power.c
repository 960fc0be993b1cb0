/* Power off: PSCI SYSTEM_OFF (PSCI 1.1 §5.10, function 0x84000008) through
 * the conduit the device tree's psci node names; a failure status goes
 * through Arm semihosting SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit
 * and the status as subcode, which QEMU turns into its exit code. Entered
 * at EL3 (-machine virt,secure=on) QEMU offers no PSCI (no /psci node):
 * every power off then goes through semihosting. */
#include <arch/common/arch_common.h>
#include <arch/irq.h>
#include <arch/power.h>
#include <lib/log.h>
#include <ringlight/config.h>

#include "aarch64.h"

#define PSCI_SYSTEM_OFF 0x84000008u
#define SEMIHOST_SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

enum psci_conduit { PSCI_HVC, PSCI_SMC, PSCI_NONE };

static enum psci_conduit conduit = PSCI_HVC;
static volatile bool semihosting_pending;

rl_status arch_power_init(const struct fdt *fdt) {
  int node;
  const char *method;
  rl_status st = fdt_path(fdt, "/psci", &node);
  if (st == RL_ERR_NOT_FOUND || (st == RL_OK && !fdt_node_enabled(fdt, node))) {
    conduit = PSCI_NONE;
    klog(LOG_INFO, "power: no PSCI in the device tree: power off through "
                   "semihosting\n");
    return RL_OK;
  }
  if (st == RL_OK) {
    st = fdt_get_str(fdt, node, "method", &method);
  }
  if (st != RL_OK) {
    return st;
  }
  conduit = method[0] == 's' ? PSCI_SMC : PSCI_HVC;
  return RL_OK;
}

bool aarch64_semihosting_trapped(void) { return semihosting_pending; }

void aarch64_psci_off(void) {
  register uint64_t x0 __asm__("x0") = PSCI_SYSTEM_OFF;
  if (conduit == PSCI_SMC) {
    __asm__ volatile("smc #0" : "+r"(x0)::"memory");
  } else if (conduit == PSCI_HVC) {
    __asm__ volatile("hvc #0" : "+r"(x0)::"memory");
  } else {
    kprintf("power: no PSCI and no semihosting: halted\n");
  }
  for (;;) {
    __asm__ volatile("wfi");
  }
}

void arch_poweroff(int status) {
  (void)arch_irq_save();
#ifdef CONFIG_AARCH64_SEMIHOSTING_EXIT
  if (status != 0 || conduit == PSCI_NONE) {
    static uint64_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint64_t)(status & 0xff);
    semihosting_pending = true;
    register uint64_t x0 __asm__("x0") = SEMIHOST_SYS_EXIT;
    register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
  }
#endif
  aarch64_psci_off();
}
