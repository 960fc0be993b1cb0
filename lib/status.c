/* Names of the status codes. */
#include <ringlight/status.h>

const char *rl_status_str(rl_status status) {
  switch (status) {
  case RL_OK:
    return "RL_OK";
  case RL_ERR_INVALID:
    return "RL_ERR_INVALID";
  case RL_ERR_NO_MEMORY:
    return "RL_ERR_NO_MEMORY";
  case RL_ERR_TIMEOUT:
    return "RL_ERR_TIMEOUT";
  case RL_ERR_IO:
    return "RL_ERR_IO";
  case RL_ERR_NOT_FOUND:
    return "RL_ERR_NOT_FOUND";
  case RL_ERR_OUT_OF_RANGE:
    return "RL_ERR_OUT_OF_RANGE";
  case RL_ERR_BAD_FORMAT:
    return "RL_ERR_BAD_FORMAT";
  case RL_ERR_NOT_SUPPORTED:
    return "RL_ERR_NOT_SUPPORTED";
  case RL_ERR_BUSY:
    return "RL_ERR_BUSY";
  case RL_ERR_BROKEN:
    return "RL_ERR_BROKEN";
  case RL_ERR_NO_SPACE:
    return "RL_ERR_NO_SPACE";
  default:
    return "RL_ERR_UNKNOWN";
  }
}
