/* The kernel's <string.h>: the few functions the kernel uses, with their
 * standard names (the compiler may emit calls to memset, memcpy, memmove
 * and memcmp on its own). Kernel builds only; the host uses its libc. */
#ifndef RINGLIGHT_LIBC_STRING_H
#define RINGLIGHT_LIBC_STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

#endif
