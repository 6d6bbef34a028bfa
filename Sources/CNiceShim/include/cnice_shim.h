// Non-variadic entry points for the GObject calls Swift cannot make directly
// (g_object_set and g_signal_connect are variadic or macros).
#ifndef CNICE_SHIM_H
#define CNICE_SHIM_H

#include <agent.h>

/// The libnice signals wg-ice listens to; every callback receives the `context` given to wgice_connect_signals.
typedef struct {
    void (*new_candidate)(void *context, NiceCandidate *candidate);
    void (*gathering_done)(void *context, guint stream_id);
    void (*state_changed)(void *context, guint stream_id, guint component_id, guint state);
    void (*selected_pair)(void *context, guint stream_id, guint component_id,
                          NiceCandidate *local, NiceCandidate *remote);
} WgIceCallbacks;

void wgice_set_bool(NiceAgent *agent, const char *property, gboolean value);
void wgice_set_uint(NiceAgent *agent, const char *property, guint value);
guint wgice_get_uint(NiceAgent *agent, const char *property);
void wgice_set_string(NiceAgent *agent, const char *property, const char *value);

/// Connects the callbacks (the table is copied).
void wgice_connect_signals(NiceAgent *agent, const WgIceCallbacks *callbacks, void *context);
/// Disconnects every handler wgice_connect_signals connected.
void wgice_disconnect_signals(NiceAgent *agent);

#endif
