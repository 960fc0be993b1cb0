/* Tick <-> nanosecond conversion for a counter of known frequency (the
 * generic timer, the riscv time CSR), without 64-bit overflow. */
#include <arch/init.h>
#include <arch/time.h>

#include "arch_common.h"

static uint64_t freq;

uint64_t arch_boot_raw[ARCH_BOOT_STAMPS]; /* written by start.S */

void timebase_set(uint64_t hz) { freq = hz; }

uint64_t timebase_hz(void) { return freq; }

uint64_t arch_time_raw_to_ns(uint64_t t) {
  if (freq == 0) {
    return 0;
  }
  return (t / freq) * 1000000000ull + (t % freq) * 1000000000ull / freq;
}

uint64_t timebase_ns_to_ticks(uint64_t ns) {
  return (ns / 1000000000ull) * freq +
         (ns % 1000000000ull) * freq / 1000000000ull;
}

uint64_t arch_time_ns(void) { return arch_time_raw_to_ns(arch_time_raw()); }
