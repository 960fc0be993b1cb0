/* Boot-time helpers of kernel_main (kernel/boot.c, kernel/selftest.c). */
#ifndef KERNEL_BOOT_H
#define KERNEL_BOOT_H

#include <arch/vm.h>
#include <devicetree/fdt.h>

#define BOOT_MAX_RAM 8

struct boot_info {
  struct arch_mem_range ram[BOOT_MAX_RAM];
  size_t ram_count;
  uint64_t ram_bytes;
};

/* RAM ranges: every node with device_type = "memory", each reg pair. */
rl_status boot_read_memory(const struct fdt *fdt, struct boot_info *info);
/* Reserves the memory reservation block and /reserved-memory children. */
rl_status boot_reserve_firmware(const struct fdt *fdt);
void boot_print_banner(const struct boot_info *info, paddr_t dtb_pa);
/* True when /chosen/bootargs contains `word` as a whole word. */
bool boot_arg_present(const struct fdt *fdt, const char *word);
/* /chosen/bootargs, or "" (one lookup for many words). */
const char *boot_args(const struct fdt *fdt);
/* True when `args` contains `word` as a whole word. */
bool boot_args_have(const char *args, const char *word);
rl_status boot_dma_selftest(void);
/* Idles to a 250 us deadline and checks the timer interrupt woke it. */
rl_status boot_time_selftest(void);
/* Test-only (CONFIG_TEST_GPU_DAMAGE_PATTERN): presents the damage pattern
 * on scanout 0 alone, after everything pending (kernel/damage_pattern.c). */
rl_status boot_damage_pattern(void);

/* Boot-phase stamps (kernel/stamp.c): boot_stamp() keeps the raw counter
 * now under `name` (a string literal), boot_stamp_ns() a time already in
 * nanoseconds; boot_stamps_print() logs them all on one line, in
 * microseconds since the machine started (QEMU starts the counters at 0
 * and stops them while paused: emulated time since resume). The entry
 * code's own stamps (arch_boot_raw) come first. */
void boot_stamp(const char *name);
void boot_stamp_ns(const char *name, uint64_t ns);
void boot_stamps_print(void);

#endif
