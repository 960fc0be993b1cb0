/* Power off through QEMU's sifive,test syscon (from the device tree, or
 * its fixed address before the tree is read): 0x5555 = pass,
 * (code << 16) | 0x3333 = fail with exit code; SBI SRST
 * (SBI v1.0 §10) as a fallback when the node is absent. */
#include <arch/common/arch_common.h>
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/power.h>
#include <arch/vm.h>

#include "riscv.h"

#define TEST_PASS 0x5555u
#define TEST_FAIL 0x3333u
#define SBI_EXT_SRST 0x53525354ul

static volatile uint32_t *test_dev;

rl_status arch_power_init(const struct fdt *fdt) {
  static const char *const compat[] = {"sifive,test0"};
  int node;
  uint64_t pa, size;
  volatile void *va;
  rl_status st = dt_map_compatible(fdt, compat, 1, 0, &node, &pa, &size, &va);
  if (st == RL_OK && size < 4) {
    st = RL_ERR_BAD_FORMAT;
  }
  if (st == RL_OK) {
    test_dev = (volatile uint32_t *)va;
  }
  return st;
}

/* Before the device tree is read (a panic on a broken tree), QEMU virt's
 * fixed test device, like the early console. */
#define EARLY_TEST_DEV 0x100000ull

void arch_poweroff(int status) {
  (void)arch_irq_save();
  volatile void *early;
  if (test_dev == NULL && arch_ioremap(EARLY_TEST_DEV, 4, &early) == RL_OK) {
    test_dev = (volatile uint32_t *)early;
  }
  if (test_dev != NULL) {
    uint32_t v = status == 0 ? TEST_PASS
                             : (((uint32_t)status & 0xffff) << 16) | TEST_FAIL;
    arch_mmio_write32(test_dev, v);
  }
  /* SRST shutdown; reason 0 = none, 1 = system failure. */
  (void)sbi_call(SBI_EXT_SRST, 0, 0, status == 0 ? 0 : 1, 0);
  for (;;) {
    __asm__ volatile("wfi");
  }
}
