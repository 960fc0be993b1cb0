/* The kernel's string functions, built for the host under kstr_* names
 * (kstring.c) so they can be tested next to the host's libc. */
#ifndef TESTS_UNIT_LIB_KSTRING_H
#define TESTS_UNIT_LIB_KSTRING_H

#define memset kstr_memset
#define memcpy kstr_memcpy
#define memmove kstr_memmove
#define memcmp kstr_memcmp
#define strlen kstr_strlen
#define strnlen kstr_strnlen
#define strcmp kstr_strcmp
#define strncmp kstr_strncmp
#define strchr kstr_strchr

/* lib/string/string.h, declaring the renamed functions. */
#include "lib/string/string.h"

#undef memset
#undef memcpy
#undef memmove
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr

#endif
