/* Basic types and compiler helpers shared by kernel and host builds. */
#ifndef RINGLIGHT_TYPES_H
#define RINGLIGHT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A physical (bus) address, as given to devices. Never a pointer. */
typedef uint64_t paddr_t;

#define RL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RL_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define RL_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define RL_IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)
#define RL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RL_MAX(a, b) ((a) > (b) ? (a) : (b))

#define RL_PAGE_SHIFT 12
#define RL_PAGE_SIZE ((size_t)1 << RL_PAGE_SHIFT)

#define RL_UNUSED __attribute__((unused))
#define RL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RL_NORETURN _Noreturn

#endif
