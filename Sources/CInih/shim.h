#define INI_HANDLER_LINENO 1
#include <ini.h>
