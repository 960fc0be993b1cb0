/* Bringing the architecture up (contract): what the kernel's entry calls,
 * in this order, once the final page tables are active. */
#ifndef ARCH_INIT_H
#define ARCH_INIT_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

/* Set-up from the device tree: the UART that replaces the early one, the
 * interrupt controller, the timer, power control, cache maintenance. */
rl_status arch_console_init(const struct fdt *fdt);
rl_status arch_irq_init(const struct fdt *fdt);
rl_status arch_time_init(const struct fdt *fdt);
rl_status arch_power_init(const struct fdt *fdt);
rl_status arch_cache_init(const struct fdt *fdt);

/* The raw counter (arch_time_raw) at the entry code's milestones, for
 * the kernel's boot-phase stamps: the first instruction, .bss zeroed, the
 * MMU on (written by start.S, read once by kernel_main). */
enum { ARCH_BOOT_ENTRY, ARCH_BOOT_BSS, ARCH_BOOT_MMU, ARCH_BOOT_STAMPS };
extern uint64_t arch_boot_raw[ARCH_BOOT_STAMPS];

/* Name of the architecture for the banner ("aarch64"). */
const char *arch_name(void);

#endif
