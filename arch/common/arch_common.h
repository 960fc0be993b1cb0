/* Hooks between arch/common and each architecture folder; not part of
 * the arch contract seen by the rest of the kernel. */
#ifndef ARCH_COMMON_H
#define ARCH_COMMON_H

#include <devicetree/fdt.h>
#include <ringlight/types.h>

/* Physical address of the hard-coded early UART. */
paddr_t arch_early_console_pa(void);

/* The init functions each architecture implements (arch/init.h). */
#include <arch/init.h>

/* The interrupt handler table (irq_table.c) behind arch_irq_register and
 * arch_irq_count; the controller driver dispatches through it. False when
 * no handler is registered for `irq`. */
/* GIC: INTIDs 0-1019 and 64 LPIs from 1024 (aarch64.h); PLIC/APLIC
 * sources and IMSIC identities below 1024. */
#define ARCH_IRQ_TABLE_SIZE 1088
bool irq_table_dispatch(unsigned irq);

/* The counter's frequency (timebase.c), which arch_time_ns and
 * arch_time_raw_to_ns use with the arch's arch_time_raw. */
void timebase_set(uint64_t hz);
uint64_t timebase_hz(void);
uint64_t timebase_ns_to_ticks(uint64_t ns);

/* The first enabled node (status absent or "okay") compatible with
 * `compat`, after none (dt_map.c). */
rl_status dt_find_enabled(const struct fdt *fdt, const char *compat, int *node);

/* The first enabled node compatible with one of `compat`, its index-th
 * reg mapped as device memory (dt_map.c). */
rl_status dt_map_compatible(const struct fdt *fdt, const char *const *compat,
                            size_t ncompat, unsigned index, int *node,
                            paddr_t *pa, uint64_t *size, volatile void **va);

#endif
