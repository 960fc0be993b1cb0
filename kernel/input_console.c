/* Input to the display (input_console.h).
 *
 * Pointers: every tablet and mouse has its own tracker (lib/input
 * pointer.c); each batch of events that ends in SYN_REPORT and moved it
 * becomes one MOVE_CURSOR on the bound scanout of the first GPU, scaled
 * to that scanout's current size (asked at every batch, so a display
 * change is followed). QEMU's tablet can be bound to a head (display=,
 * head=), but nothing of that reaches the guest: the scanout is the
 * configured one.
 *
 * Keyboards: characters of a US layout are echoed on every GPU's console
 * (not logged, so the log stays the log); Backspace erases, Enter ends
 * the line, which then goes to the serial log as `input: "<line>"`.
 * Caps Lock's LED follows its state on devices with a status queue. A
 * log line printed while a line is typed ends the typed row first; the
 * next key shows the line again below the log. */
#include <drivers/gpu/gpu.h>
#include <kernel/boot.h>
#include <kernel/input_console.h>
#include <lib/fmt.h>
#include <lib/input/input.h>
#include <lib/log.h>
#include <ringlight/config.h>

#define MAX_POINTERS 4
#define LINE_MAX 128

static struct {
  const struct input_source *src;
  struct input_pointer p;
} pointers[MAX_POINTERS];
/* The cursor's position, shared by every pointer: a mouse moves on from
 * where a tablet put it. */
static uint32_t cursor_x, cursor_y;
static bool cursor_placed;
static unsigned scanout = CONFIG_INPUT_TABLET_SCANOUT;
static struct input_keyboard keyboard;
static char line[LINE_MAX];
static size_t line_len;

static struct input_pointer *pointer_of(const struct input_source *src) {
  for (unsigned i = 0; i < MAX_POINTERS; i++) {
    if (pointers[i].src == src) {
      return &pointers[i].p;
    }
  }
  for (unsigned i = 0; i < MAX_POINTERS; i++) {
    if (pointers[i].src == NULL) {
      pointers[i].src = src;
      return &pointers[i].p;
    }
  }
  return NULL;
}

static void pointer_event(const struct input_source *src,
                          const struct input_event *ev) {
  struct input_pointer *p = pointer_of(src);
  if (p == NULL) {
    return;
  }
  struct gpu *g = gpu_get(0);
  struct fb_surface *s = gpu_surface(g, scanout);
  uint32_t w = s != NULL ? s->width : 0, h = s != NULL ? s->height : 0;
  uint32_t x, y;
  p->x = cursor_x;
  p->y = cursor_y;
  p->placed = cursor_placed;
  if (input_pointer_feed(p, src, ev, w, h, &x, &y)) {
    cursor_x = x;
    cursor_y = y;
    cursor_placed = true;
    rl_status st = gpu_move_cursor_on(g, scanout, x, y);
    if (st != RL_OK) {
      klog(LOG_DEBUG, "input: %s: cursor not moved: %s\n", src->name,
           rl_status_str(st));
    }
  }
}

static void echo(const char *text, size_t len) {
  for (unsigned i = 0; i < gpu_count(); i++) {
    gpu_console_echo(gpu_get(i), text, len);
  }
}

/* A log line printed while a line is being typed would land in the middle
 * of it: this sink (added before the GPUs' consoles, so it runs first)
 * ends the typed row before the log text, and the next key shows the
 * line again below the log. */
static bool line_broken;

static void log_sink(const char *text, size_t len, void *ctx) {
  (void)text;
  (void)ctx;
  if (len > 0 && line_len > 0 && !line_broken) {
    echo("\n", 1);
    line_broken = true;
  }
}

static void key_event(const struct input_source *src,
                      const struct input_event *ev) {
  if (ev->type != EV_KEY) {
    return;
  }
  if (line_broken) {
    line_broken = false;
    echo(line, line_len);
  }
  bool caps_changed = false;
  char c = input_key_char(&keyboard, ev->code, ev->value, &caps_changed);
  if (caps_changed && src->set_led != NULL) {
    (void)src->set_led(src, LED_CAPSL, keyboard.caps);
  }
  if (c == 0) {
    return;
  }
  if (c == '\b') {
    if (line_len > 0) {
      line_len--;
      echo("\b", 1);
    }
    return;
  }
  if (c == '\n') {
    echo("\n", 1);
    line[line_len] = '\0';
    kprintf_serial("input: \"%s\"\n", line);
    line_len = 0;
    return;
  }
  if (line_len + 1 < LINE_MAX) {
    line[line_len++] = c;
    echo(&c, 1);
  }
}

static void input_event(const struct input_source *src,
                        const struct input_event *ev, void *ctx) {
  (void)ctx;
  switch (src->kind) {
  case INPUT_KIND_TABLET:
  case INPUT_KIND_MOUSE:
    pointer_event(src, ev);
    break;
  case INPUT_KIND_KEYBOARD:
    key_event(src, ev);
    break;
  case INPUT_KIND_OTHER:
    break;
  }
}

void input_console_add_sink(void) {
  if (klog_add_sink(log_sink, NULL) != RL_OK) {
    klog(LOG_WARN, "input: no log sink free: log lines may split a typed "
                   "line on screen\n");
  }
}

void input_console_init(const struct fdt *fdt) {
  char arg[32];
  const char *args = boot_args(fdt);
  for (unsigned i = 0; i < 16; i++) {
    (void)rl_snprintf(arg, sizeof(arg), "ringlight.input_scanout=%u", i);
    if (boot_args_have(args, arg)) {
      scanout = i;
    }
  }
  rl_status st = input_subscribe(input_event, NULL);
  if (st != RL_OK) {
    klog(LOG_WARN, "input: not wired to the display: %s\n", rl_status_str(st));
    return;
  }
  klog(LOG_INFO, "input: pointers move the cursor on scanout %u\n", scanout);
}
