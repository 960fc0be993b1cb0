/* Host console: standard output. */
#include <arch/console.h>

#include <stdio.h>

void arch_console_putc(char c) { fputc(c, stdout); }

void arch_console_write(const char *s, size_t len) {
  fwrite(s, 1, len, stdout);
}
