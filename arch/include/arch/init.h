/* Bringing the architecture up (contract): what the kernel's entry calls,
 * in this order, once the final page tables are active. */
#ifndef ARCH_INIT_H
#define ARCH_INIT_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>

/* Set-up from the device tree: the UART that replaces the early one, the
 * interrupt controller, the timer, power control, cache maintenance. */
rl_status arch_console_init(const struct fdt *fdt);
rl_status arch_irq_init(const struct fdt *fdt);
rl_status arch_time_init(const struct fdt *fdt);
rl_status arch_power_init(const struct fdt *fdt);
rl_status arch_cache_init(const struct fdt *fdt);

/* Name of the architecture for the banner ("aarch64"). */
const char *arch_name(void);

#endif
