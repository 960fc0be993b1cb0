/* The input event interface's subscriber table (input.h). */
#include <lib/input/input.h>

struct handler {
  input_handler_fn *fn;
  void *ctx;
};

static struct handler handlers[INPUT_MAX_HANDLERS];

const char *input_kind_name(enum input_kind kind) {
  switch (kind) {
  case INPUT_KIND_KEYBOARD:
    return "keyboard";
  case INPUT_KIND_MOUSE:
    return "mouse";
  case INPUT_KIND_TABLET:
    return "tablet";
  case INPUT_KIND_OTHER:
    break;
  }
  return "other";
}

rl_status input_subscribe(input_handler_fn *fn, void *ctx) {
  struct handler *free_slot = NULL;
  for (unsigned i = 0; i < INPUT_MAX_HANDLERS; i++) {
    if (handlers[i].fn == fn && handlers[i].ctx == ctx) {
      return RL_OK;
    }
    if (handlers[i].fn == NULL && free_slot == NULL) {
      free_slot = &handlers[i];
    }
  }
  if (fn == NULL) {
    return RL_ERR_INVALID;
  }
  if (free_slot == NULL) {
    return RL_ERR_NO_SPACE;
  }
  free_slot->fn = fn;
  free_slot->ctx = ctx;
  return RL_OK;
}

/* A function pointer cannot point to const. */
// cppcheck-suppress constParameter
void input_unsubscribe(input_handler_fn *fn, const void *ctx) {
  for (unsigned i = 0; i < INPUT_MAX_HANDLERS; i++) {
    if (handlers[i].fn == fn && handlers[i].ctx == ctx) {
      handlers[i].fn = NULL;
      handlers[i].ctx = NULL;
    }
  }
}

void input_deliver(const struct input_source *src,
                   const struct input_event *ev) {
  for (unsigned i = 0; i < INPUT_MAX_HANDLERS; i++) {
    if (handlers[i].fn != NULL) {
      handlers[i].fn(src, ev, handlers[i].ctx);
    }
  }
}
