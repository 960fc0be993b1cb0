/* Console output (contract): the UART found in the device tree, or the
 * hard-coded early UART before the device tree is read. */
#ifndef ARCH_CONSOLE_H
#define ARCH_CONSOLE_H

#include <stddef.h>

void arch_console_putc(char c);
void arch_console_write(const char *s, size_t len);

#endif
