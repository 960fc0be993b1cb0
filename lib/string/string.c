/* String functions for the kernel. Built with -fno-builtin,
 * so the loops below are not turned back into calls to themselves. */
#include <string.h>

#include <stdint.h>

/* Whole 8-byte words once both pointers are aligned: the framebuffer and
 * DMA pages are megabytes, and byte loops cost eight times the
 * iterations (under emulation, most of the boot). */
typedef uint64_t __attribute__((may_alias)) word_t;

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n > 0 && ((uintptr_t)d & 7) != 0) {
    *d++ = (unsigned char)c;
    n--;
  }
  word_t pattern = 0x0101010101010101ull * (unsigned char)c;
  for (; n >= 8; n -= 8, d += 8) {
    *(word_t *)d = pattern;
  }
  while (n-- > 0) {
    *d++ = (unsigned char)c;
  }
  return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
    while (n > 0 && ((uintptr_t)d & 7) != 0) {
      *d++ = *s++;
      n--;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8) {
      *(word_t *)d = *(const word_t *)s;
    }
  }
  while (n-- > 0) {
    *d++ = *s++;
  }
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  /* Compare as integers: the pointers may be into different objects. */
  if ((uintptr_t)d - (uintptr_t)s >= n) {
    /* No overlap where a forward copy would clobber the source. */
    while (n-- > 0) {
      *d++ = *s++;
    }
  } else {
    d += n;
    s += n;
    while (n-- > 0) {
      *--d = *--s;
    }
  }
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a;
  const unsigned char *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) {
      return x[i] < y[i] ? -1 : 1;
    }
  }
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n] != '\0') {
    n++;
  }
  return n;
}

size_t strnlen(const char *s, size_t max) {
  size_t n = 0;
  while (n < max && s[n] != '\0') {
    n++;
  }
  return n;
}

int strcmp(const char *a, const char *b) {
  const unsigned char *x = (const unsigned char *)a;
  const unsigned char *y = (const unsigned char *)b;
  while (*x != '\0' && *x == *y) {
    x++;
    y++;
  }
  return (*x > *y) - (*x < *y);
}

int strncmp(const char *a, const char *b, size_t n) {
  const unsigned char *x = (const unsigned char *)a;
  const unsigned char *y = (const unsigned char *)b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) {
      return x[i] < y[i] ? -1 : 1;
    }
    if (x[i] == '\0') {
      break;
    }
  }
  return 0;
}

char *strchr(const char *s, int c) {
  char ch = (char)c;
  for (;; s++) {
    if (*s == ch) {
      return (char *)s;
    }
    if (*s == '\0') {
      return NULL;
    }
  }
}
