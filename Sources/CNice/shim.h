#include <agent.h>
#include <glib.h>
#include <gio/gio.h>
