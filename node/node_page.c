/*  node_page.c — the marketplace web page (node_page.h). */
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "node_page.h"

struct _node_page_t {
    node_bus_t *bus;                 /* borrowed */
};

node_page_t *
node_page_new (node_bus_t *bus)
{
    node_page_t *self = (node_page_t *) calloc (1, sizeof (node_page_t));
    if (self)
        self->bus = bus;
    return self;
}

void
node_page_destroy (node_page_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
node_page_handle (node_page_t *self, const node_page_request_t *req,
                  node_page_response_t *resp)
{
    (void) self;
    (void) req;
    static const char text [] = "not found\n";
    resp->status = 404;
    resp->content_type = "text/plain; charset=utf-8";
    resp->body = strdup (text);
    if (!resp->body)
        return HEARTH_ENOMEM;
    resp->body_len = sizeof text - 1;
    return HEARTH_OK;
}
