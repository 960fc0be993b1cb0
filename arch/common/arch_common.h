/* Hooks between arch/common and each architecture folder; not part of
 * the arch contract seen by the rest of the kernel. */
#ifndef ARCH_COMMON_H
#define ARCH_COMMON_H

#include <devicetree/fdt.h>
#include <ringlight/types.h>

/* Physical address of the hard-coded early UART. */
paddr_t arch_early_console_pa(void);

/* Per-architecture set-up from the device tree, called by kernel_main in
 * this order once the final tables are active. */
rl_status arch_console_init(const struct fdt *fdt);
rl_status arch_irq_init(const struct fdt *fdt);
rl_status arch_time_init(const struct fdt *fdt);
rl_status arch_power_init(const struct fdt *fdt);
rl_status arch_cache_init(const struct fdt *fdt);

/* Name of the architecture for the banner. */
const char *arch_name(void);

#endif
