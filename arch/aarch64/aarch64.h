/* Internal to arch/aarch64. */
#ifndef ARCH_AARCH64_H
#define ARCH_AARCH64_H

#include <ringlight/types.h>

void aarch64_gic_dispatch(void);
bool aarch64_semihosting_trapped(void);
RL_NORETURN void aarch64_psci_off(void);

#endif
