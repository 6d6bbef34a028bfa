#include "cnice_shim.h"

void wgice_set_bool(NiceAgent *agent, const char *property, gboolean value) {
    g_object_set(G_OBJECT(agent), property, value, NULL);
}

void wgice_set_uint(NiceAgent *agent, const char *property, guint value) {
    g_object_set(G_OBJECT(agent), property, value, NULL);
}

guint wgice_get_uint(NiceAgent *agent, const char *property) {
    guint value = 0;
    g_object_get(G_OBJECT(agent), property, &value, NULL);
    return value;
}

void wgice_set_string(NiceAgent *agent, const char *property, const char *value) {
    g_object_set(G_OBJECT(agent), property, value, NULL);
}

// GObject passes the user data last; these trampolines put the context first and drop the agent.
typedef struct {
    WgIceCallbacks callbacks;
    void *context;
} Binding;

static void on_new_candidate(NiceAgent *agent, NiceCandidate *candidate, Binding *b) {
    (void)agent;
    b->callbacks.new_candidate(b->context, candidate);
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, Binding *b) {
    (void)agent;
    b->callbacks.gathering_done(b->context, stream_id);
}

static void on_state_changed(NiceAgent *agent, guint stream_id, guint component_id, guint state, Binding *b) {
    (void)agent;
    b->callbacks.state_changed(b->context, stream_id, component_id, state);
}

static void on_selected_pair(NiceAgent *agent, guint stream_id, guint component_id,
                             NiceCandidate *local, NiceCandidate *remote, Binding *b) {
    (void)agent;
    b->callbacks.selected_pair(b->context, stream_id, component_id, local, remote);
}

static void free_binding(gpointer data, GClosure *closure) {
    (void)closure;
    g_free(data);
}

static void connect_one(NiceAgent *agent, const char *signal, GCallback handler,
                        const WgIceCallbacks *callbacks, void *context) {
    Binding *b = g_new(Binding, 1);
    b->callbacks = *callbacks;
    b->context = context;
    g_signal_connect_data(agent, signal, handler, b, free_binding, 0);
}

void wgice_connect_signals(NiceAgent *agent, const WgIceCallbacks *callbacks, void *context) {
    connect_one(agent, "new-candidate-full", G_CALLBACK(on_new_candidate), callbacks, context);
    connect_one(agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), callbacks, context);
    connect_one(agent, "component-state-changed", G_CALLBACK(on_state_changed), callbacks, context);
    connect_one(agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), callbacks, context);
}

void wgice_disconnect_signals(NiceAgent *agent) {
    // Each Binding is its own user data, so match on the handler functions instead.
    g_signal_handlers_disconnect_matched(agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_new_candidate, NULL);
    g_signal_handlers_disconnect_matched(agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_gathering_done, NULL);
    g_signal_handlers_disconnect_matched(agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_state_changed, NULL);
    g_signal_handlers_disconnect_matched(agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_selected_pair, NULL);
}
