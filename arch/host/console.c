/* Host console: standard output. */
#include <arch/console.h>

#include <stdio.h>

void arch_console_putc(char c) { (void)fputc(c, stdout); }

void arch_console_write(const char *s, size_t len) {
  (void)fwrite(s, 1, len, stdout);
}
