/* lib/string/string.c under kstr_* names. Its own #include <string.h>
 * finds lib/string/string.h because that directory comes first on this
 * file's include path (see BUILD.gn). */
#define memset kstr_memset
#define memcpy kstr_memcpy
#define memmove kstr_memmove
#define memcmp kstr_memcmp
#define strlen kstr_strlen
#define strnlen kstr_strnlen
#define strcmp kstr_strcmp
#define strncmp kstr_strncmp
#define strchr kstr_strchr

#include "lib/string/string.c" // NOLINT(bugprone-suspicious-include)
