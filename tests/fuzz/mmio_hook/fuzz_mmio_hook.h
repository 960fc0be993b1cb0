/* What the hooked accessors (arch_impl/mmio.h here) call: fuzz_mmio.c's
 * register file. `width` is 1, 2 or 4 bytes. */
#ifndef TESTS_FUZZ_FUZZ_MMIO_HOOK_H
#define TESTS_FUZZ_FUZZ_MMIO_HOOK_H

#include <stdint.h>

uint32_t fuzz_mmio_read(const volatile void *addr, unsigned width);
void fuzz_mmio_write(volatile void *addr, unsigned width, uint32_t value);

#endif
