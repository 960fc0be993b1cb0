/* Host build of mm/heap.h: calloc and free. */
#include <mm/heap.h>
#include <stdlib.h>

void *rl_zalloc(size_t size) { return size == 0 ? NULL : calloc(1, size); }

void rl_free(void *p) { free(p); }
