/*
 * The UDP flows a process's sockets have seen, for WFP redirect control data
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin St, Fifth Floor, Boston, MA 02110-1301, USA
 */

/*
 * Windows gives a UDP socket that asked for it the redirect records and
 * context of a flow with the flow's first datagram only.  Datagrams go from
 * the kernel to the application without the wineserver, so the receiving
 * process itself remembers which flows (peer, local address) each socket
 * has seen, and asks the server only about new ones.  A flow is new again
 * after WFP_FLOW_IDLE_MS without a datagram.  When a socket or the process
 * has too many, the one idle longest goes: at worst its next datagram
 * carries the control data again, nothing is lost.  Plain C without Wine's
 * headers, so that it is unit-tested natively; the caller locks.
 */

#if 0
#pragma makedep unix
#endif

#include <stdlib.h>
#include <string.h>

#include "wfp_flows.h"

#define FLOW_BUCKETS    1024
#define SOCKET_BUCKETS  256

struct flow_socket;

struct flow
{
    struct flow              *hash_next;
    struct flow              *prev, *next;            /* all flows, the longest idle first */
    struct flow              *socket_prev, *socket_next;  /* the socket's, likewise */
    struct flow_socket       *socket;
    struct wfp_flow_endpoint  peer, local;
    uint64_t                  last;
};

struct flow_socket
{
    struct flow_socket *hash_next;
    uint64_t            handle;
    unsigned int        count;
    struct flow        *oldest, *newest;
};

struct wfp_flows
{
    unsigned int        per_socket, max, count;
    uint64_t            idle_ms;
    struct flow        *oldest, *newest;
    struct flow        *buckets[FLOW_BUCKETS];
    struct flow_socket *sockets[SOCKET_BUCKETS];
};

static unsigned int hash_bytes( unsigned int hash, const void *data, size_t size )
{
    const uint8_t *p = data;

    while (size--) hash = (hash ^ *p++) * 16777619u;  /* FNV-1a */
    return hash;
}

static unsigned int hash_endpoint( unsigned int hash, const struct wfp_flow_endpoint *ep )
{
    hash = hash_bytes( hash, &ep->family, sizeof(ep->family) );
    hash = hash_bytes( hash, &ep->port, sizeof(ep->port) );
    return hash_bytes( hash, ep->addr, ep->family == 4 ? 4 : 16 );
}

static unsigned int hash_flow( uint64_t handle, const struct wfp_flow_endpoint *peer,
                               const struct wfp_flow_endpoint *local )
{
    return hash_endpoint( hash_endpoint( hash_bytes( 2166136261u, &handle, sizeof(handle) ), peer ), local )
           % FLOW_BUCKETS;
}

static int endpoint_equal( const struct wfp_flow_endpoint *a, const struct wfp_flow_endpoint *b )
{
    return a->family == b->family && a->port == b->port && !memcmp( a->addr, b->addr, a->family == 4 ? 4 : 16 );
}

struct wfp_flows *wfp_flows_create( unsigned int per_socket, unsigned int max, uint64_t idle_ms )
{
    struct wfp_flows *flows;

    if (!per_socket || !max || !(flows = calloc( 1, sizeof(*flows) ))) return NULL;
    flows->per_socket = per_socket;
    flows->max = max;
    flows->idle_ms = idle_ms;
    return flows;
}

static void unlist_flow( struct wfp_flows *flows, struct flow *flow )
{
    struct flow_socket *socket = flow->socket;

    if (flow->prev) flow->prev->next = flow->next;
    else flows->oldest = flow->next;
    if (flow->next) flow->next->prev = flow->prev;
    else flows->newest = flow->prev;
    if (flow->socket_prev) flow->socket_prev->socket_next = flow->socket_next;
    else socket->oldest = flow->socket_next;
    if (flow->socket_next) flow->socket_next->socket_prev = flow->socket_prev;
    else socket->newest = flow->socket_prev;
}

/* the socket's record stays, even when it has no flow left */
static void free_flow( struct wfp_flows *flows, struct flow *flow )
{
    struct flow_socket *socket = flow->socket;
    struct flow **p;

    for (p = &flows->buckets[hash_flow( socket->handle, &flow->peer, &flow->local )]; *p != flow; p = &(*p)->hash_next)
        ;
    *p = flow->hash_next;
    unlist_flow( flows, flow );
    flows->count--;
    socket->count--;
    free( flow );
}

static void drop_socket( struct wfp_flows *flows, struct flow_socket *socket )
{
    struct flow_socket **p;

    for (p = &flows->sockets[socket->handle % SOCKET_BUCKETS]; *p != socket; p = &(*p)->hash_next)
        ;
    *p = socket->hash_next;
    free( socket );
}

static void remove_flow( struct wfp_flows *flows, struct flow *flow )
{
    struct flow_socket *socket = flow->socket;

    free_flow( flows, flow );
    if (!socket->count) drop_socket( flows, socket );
}

/* the flow was just used: it becomes the newest of both lists */
static void append_flow( struct wfp_flows *flows, struct flow *flow )
{
    struct flow_socket *socket = flow->socket;

    flow->next = NULL;
    flow->prev = flows->newest;
    if (flows->newest) flows->newest->next = flow;
    else flows->oldest = flow;
    flows->newest = flow;

    flow->socket_next = NULL;
    flow->socket_prev = socket->newest;
    if (socket->newest) socket->newest->socket_next = flow;
    else socket->oldest = flow;
    socket->newest = flow;
}

static void touch_flow( struct wfp_flows *flows, struct flow *flow, uint64_t now_ms )
{
    unlist_flow( flows, flow );
    append_flow( flows, flow );
    flow->last = now_ms;
}

static struct flow_socket *get_socket( struct wfp_flows *flows, uint64_t handle )
{
    struct flow_socket *socket;

    for (socket = flows->sockets[handle % SOCKET_BUCKETS]; socket; socket = socket->hash_next)
        if (socket->handle == handle) return socket;
    if (!(socket = calloc( 1, sizeof(*socket) ))) return NULL;
    socket->handle = handle;
    socket->hash_next = flows->sockets[handle % SOCKET_BUCKETS];
    flows->sockets[handle % SOCKET_BUCKETS] = socket;
    return socket;
}

/* 1 if this socket saw the flow within the idle time, else 0, and the
 * flow is noted as seen now either way */
int wfp_flows_seen( struct wfp_flows *flows, uint64_t handle, const struct wfp_flow_endpoint *peer,
                    const struct wfp_flow_endpoint *local, uint64_t now_ms )
{
    unsigned int bucket = hash_flow( handle, peer, local );
    struct flow_socket *socket;
    struct flow *flow;

    /* flows idle too long are over; the longest idle come first */
    while (flows->oldest && now_ms - flows->oldest->last >= flows->idle_ms) remove_flow( flows, flows->oldest );

    for (flow = flows->buckets[bucket]; flow; flow = flow->hash_next)
    {
        if (flow->socket->handle != handle || !endpoint_equal( &flow->peer, peer ) ||
            !endpoint_equal( &flow->local, local ))
            continue;
        touch_flow( flows, flow, now_ms );
        return 1;
    }

    if (flows->count >= flows->max) remove_flow( flows, flows->oldest );

    if (!(socket = get_socket( flows, handle ))) return 0;
    if (socket->count >= flows->per_socket) free_flow( flows, socket->oldest );
    if (!(flow = malloc( sizeof(*flow) )))
    {
        if (!socket->count) drop_socket( flows, socket );
        return 0;
    }
    memset( flow, 0, sizeof(*flow) );
    flow->socket = socket;
    flow->peer = *peer;
    flow->local = *local;
    flow->last = now_ms;
    flow->hash_next = flows->buckets[bucket];
    flows->buckets[bucket] = flow;
    append_flow( flows, flow );
    socket->count++;
    flows->count++;
    return 0;
}

/* the handle was closed: a new socket may get its value */
void wfp_flows_forget_socket( struct wfp_flows *flows, uint64_t handle )
{
    struct flow_socket *socket;

    for (socket = flows->sockets[handle % SOCKET_BUCKETS]; socket; socket = socket->hash_next)
        if (socket->handle == handle) break;
    while (socket && socket->count > 1) remove_flow( flows, socket->oldest );
    if (socket) remove_flow( flows, socket->oldest );
}

unsigned int wfp_flows_count( const struct wfp_flows *flows )
{
    return flows->count;
}

void wfp_flows_destroy( struct wfp_flows *flows )
{
    while (flows->oldest) remove_flow( flows, flows->oldest );
    free( flows );
}
