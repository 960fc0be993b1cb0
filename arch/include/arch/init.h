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

/* Before the above, where the architecture can: arch_time_ns and
 * arch_idle_until without the interrupt controller and the timer's
 * interrupt, so drivers can probe first (arch_irq_enable answers
 * RL_ERR_BUSY until arch_irq_init; the kernel enables their lines after
 * it). RL_ERR_NOT_SUPPORTED where waits need arch_time_init (riscv64): the
 * kernel then sets everything up first. */
rl_status arch_time_early(void);

/* The raw counter (arch_time_raw) at the entry code's milestones, for
 * the kernel's boot-phase stamps: the first instruction, .bss zeroed, the
 * MMU on (written by start.S, read once by kernel_main). */
enum { ARCH_BOOT_ENTRY, ARCH_BOOT_BSS, ARCH_BOOT_MMU, ARCH_BOOT_STAMPS };
extern uint64_t arch_boot_raw[ARCH_BOOT_STAMPS];

/* Name of the architecture for the banner ("aarch64"). */
const char *arch_name(void);

#endif
