/* The kernel's wiring of input to the display (kernel/input_console.c):
 * tablets and mice move the first GPU's cursor, keyboards type on its
 * text console. The GPU driver and the input driver never see each
 * other; both meet here, through lib/input's event interface. */
#ifndef KERNEL_INPUT_CONSOLE_H
#define KERNEL_INPUT_CONSOLE_H

#include <devicetree/fdt.h>

/* Adds the log sink that ends a half-typed row before a log line: before
 * the GPUs' consoles add theirs (sinks run in the order added). */
void input_console_add_sink(void);
/* Subscribes to the input events; the scanout pointers map to is
 * CONFIG_INPUT_TABLET_SCANOUT unless the boot arguments say
 * ringlight.input_scanout=N. Before the input devices are probed (the
 * GPUs may come first). */
void input_console_init(const struct fdt *fdt);

#endif
