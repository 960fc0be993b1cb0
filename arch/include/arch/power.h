/* Power off (contract): ends the QEMU run with a status.
 * aarch64: PSCI SYSTEM_OFF for success; semihosting SYS_EXIT for a failure
 *          code (falls back to SYSTEM_OFF). riscv64: the sifive,test syscon
 *          (0x5555 pass, code << 16 | 0x3333 fail). */
#ifndef ARCH_POWER_H
#define ARCH_POWER_H

#include <ringlight/types.h>

/* status 0: pass; anything else: fail with that exit code (1..255). */
RL_NORETURN void arch_poweroff(int status);

#endif
