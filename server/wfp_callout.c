/*
 * WFP connection redirection: callout drivers
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
 * A product's own WFP callout driver as the redirector.  fwpkclnt.sys, in
 * the winedevice process that runs the driver, keeps the driver's
 * sublayers and filters here through an AFD socket of its own, the engine
 * socket, and keeps IOCTL_AFD_WINE_WFP_ENGINE_GET_CLASSIFY requests pending
 * on it.  When a Wine process connects a TCP socket and a filter at
 * ALE_CONNECT_REDIRECT matches, the connect() fails with
 * STATUS_MORE_PROCESSING_REQUIRED, which ntdll never lets a program see:
 * the filter goes to the engine socket that registered its callout, and
 * ntdll waits (IOCTL_AFD_WINE_WFP_CLASSIFY_WAIT) until every filter of the
 * classification has been visited, then connects again.  That second
 * connect() finds the outcome and goes where the callouts sent it.
 *
 * Nothing here costs a connect() anything while no driver has a filter at
 * a connect-redirect layer.  A driver that does not answer within
 * CLASSIFY_TIMEOUT_MS is taken to have permitted the connection
 * unmodified, and the wineserver says so once.
 */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winternl.h"
#define USE_WS_PREFIX
#include "winsock2.h"
#include "wine/afd.h"

#include "file.h"
#include "object.h"
#include "process.h"
#include "request.h"
#include "thread.h"
#include "wfp_callout.h"
#include "wfp_filter.h"
#include "wfp_redirect.h"

/* ntstatus.h values that Wine's header does not have */
#ifndef STATUS_FWP_CALLOUT_NOT_FOUND
#define STATUS_FWP_CALLOUT_NOT_FOUND    ((NTSTATUS)0xC0220001)
#define STATUS_FWP_FILTER_NOT_FOUND     ((NTSTATUS)0xC0220003)
#define STATUS_FWP_SUBLAYER_NOT_FOUND   ((NTSTATUS)0xC0220007)
#define STATUS_FWP_ALREADY_EXISTS       ((NTSTATUS)0xC0220009)
#define STATUS_FWP_IN_USE               ((NTSTATUS)0xC022000A)
#endif

#define CLASSIFY_TIMEOUT_MS     5000
#define MAX_CLIENTS             64
#define MAX_CALLOUTS            1024
#define MAX_REQUESTS            1024    /* classifications in flight */
#define MAX_WAITERS             16      /* GET_CLASSIFY requests pending per engine socket */
#define MAX_CONTEXT_SIZE        4096    /* localRedirectContextSize */
#define MAX_APP_ID_SIZE         WFP_FILTER_MAX_BLOB

struct callout_client;

/* a GET_CLASSIFY that waits for a request */
struct waiter
{
    struct callout_client *client;
    struct async          *async;
};

struct callout_client
{
    struct list      entry;
    struct wfp_conn *conn;                  /* the engine socket's */
    struct list      queue;                 /* requests to hand out */
    struct waiter    waiters[MAX_WAITERS];
};

struct callout
{
    uint8_t                key[16];
    struct callout_client *client;
};

struct classify_request
{
    struct list            entry;           /* in a client's queue, or in the list of requests asked */
    uint64_t               id;
    struct wfp_conn       *conn;            /* the connecting socket's; NULL once it is closed */
    struct callout_client *client;          /* being asked, or NULL */
    struct async          *waiter;          /* ntdll's IOCTL_AFD_WINE_WFP_CLASSIFY_WAIT */
    struct timeout_user   *timeout;
    int                    done;
    struct wfp_classify    cursor;
    struct wfp_classify_values values;
    uint8_t                app_id[MAX_APP_ID_SIZE];
    uint32_t               process_id;
    struct wfp_endpoint    original;        /* where the program connected */
    struct wfp_endpoint    destination;     /* where it goes now */
    struct wfp_endpoint    local;
    /* the filter being asked about */
    uint64_t               filter_id;
    uint64_t               filter_context;
    uint8_t                callout_key[16];
    uint32_t               rights;
    /* the last modification */
    uint64_t               modifier_filter;
    struct wfp_callout_outcome outcome;
    /* the records the socket carries, for the callout's metadata */
    uint8_t               *records;
    uint16_t               records_size;
};

static struct wfp_engine engine;
static int engine_ready;
static struct list clients = LIST_INIT( clients );
static unsigned int client_count;
static struct callout callouts[MAX_CALLOUTS];
static unsigned int callout_count;
static struct list asked = LIST_INIT( asked );
static unsigned int request_count;
static uint64_t next_request_id = 1;

static struct wfp_engine *get_engine(void)
{
    if (!engine_ready)
    {
        wfp_engine_init( &engine );
        engine_ready = 1;
    }
    return &engine;
}

static void set_engine_error( enum wfp_engine_result result, unsigned int not_found )
{
    switch (result)
    {
    case WFP_ENGINE_OK:             break;
    case WFP_ENGINE_NOT_FOUND:      set_error( not_found ); break;
    case WFP_ENGINE_ALREADY_EXISTS: set_error( STATUS_FWP_ALREADY_EXISTS ); break;
    case WFP_ENGINE_IN_USE:         set_error( STATUS_FWP_IN_USE ); break;
    case WFP_ENGINE_TOO_MANY:       set_error( STATUS_INSUFFICIENT_RESOURCES ); break;
    case WFP_ENGINE_INVALID:        set_error( STATUS_INVALID_PARAMETER ); break;
    case WFP_ENGINE_NO_MEMORY:      set_error( STATUS_NO_MEMORY ); break;
    }
}

static struct callout *find_callout( const uint8_t key[16] )
{
    unsigned int i;

    for (i = 0; i < callout_count; i++)
        if (!memcmp( callouts[i].key, key, 16 )) return &callouts[i];
    return NULL;
}

static struct callout_client *get_client( struct wfp_conn **slot )
{
    struct callout_client *client;
    struct wfp_conn *wfp;

    if (*slot && (*slot)->callout_client) return (*slot)->callout_client;
    if (client_count >= MAX_CLIENTS)
    {
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return NULL;
    }
    if (!(wfp = wfp_conn_get( slot )) || !(client = mem_alloc( sizeof(*client) )))
    {
        set_error( STATUS_NO_MEMORY );
        return NULL;
    }
    memset( client, 0, sizeof(*client) );
    wfp_conn_free_hook = wfp_callout_conn_freed;
    client->conn = wfp;
    list_init( &client->queue );
    list_add_tail( &clients, &client->entry );
    client_count++;
    wfp->callout_client = client;
    return client;
}

/*
 * Classifications.
 */

static void finish_request( struct classify_request *request );
static void advance( struct classify_request *request );

static void free_request( struct classify_request *request )
{
    list_remove( &request->entry );
    if (request->timeout) remove_timeout_user( request->timeout );
    if (request->waiter)
    {
        async_set_completion_callback( request->waiter, NULL, NULL );
        async_request_complete( request->waiter, STATUS_SUCCESS, 0, 0, NULL );
        release_object( request->waiter );
    }
    if (request->conn) request->conn->callout_request = NULL;
    free( request->outcome.context );
    free( request->records );
    free( request );
    request_count--;
}

static void waiter_done( void *private )
{
    struct classify_request *request = private;

    release_object( request->waiter );
    request->waiter = NULL;
}

static void request_timeout( void *private )
{
    struct classify_request *request = private;
    static int reported;

    request->timeout = NULL;
    if (!reported++)
        fprintf( stderr, "wineserver: a WFP callout did not classify a connection within %u ms; the connection "
                 "goes on unredirected\n", CLASSIFY_TIMEOUT_MS );
    /* permitted as it was before the callouts were asked */
    request->destination = request->original;
    free( request->outcome.context );
    memset( &request->outcome, 0, sizeof(request->outcome) );
    request->cursor.done = 1;
    request->cursor.action = WFP_ACTION_PERMIT;
    finish_request( request );
}

static size_t endpoint_to_win( const struct wfp_endpoint *endpoint, BYTE out[28] )
{
    memset( out, 0, 28 );
    return wfp_endpoint_to_win_sockaddr( endpoint, endpoint->family == 6, out, 28 );
}

/* the request as the engine socket's GET_CLASSIFY returns it */
static void *build_message( const struct classify_request *request, data_size_t *size )
{
    struct afd_wfp_classify_request *msg;
    struct wfp_records records;
    unsigned int hops = 0, i;
    ULONG *hop_services;
    BYTE *data;

    if (request->records && wfp_records_read( request->records, request->records_size, &records ) == WFP_RECORDS_OK)
        hops = records.hop_count;
    *size = sizeof(*msg) + hops * sizeof(ULONG) + request->values.app_id_size + request->records_size;
    if (!(msg = mem_alloc( *size ))) return NULL;
    memset( msg, 0, sizeof(*msg) );
    msg->id = request->id;
    msg->filter_id = request->filter_id;
    msg->filter_context = request->filter_context;
    memcpy( &msg->callout_key, request->callout_key, 16 );
    msg->layer = request->cursor.layer;
    msg->rights = request->rights;
    msg->process_id = request->process_id;
    msg->protocol = request->values.protocol;
    msg->flags = request->values.flags;
    msg->hop_count = hops;
    endpoint_to_win( &request->local, msg->local );
    endpoint_to_win( &request->destination, msg->remote );
    endpoint_to_win( &request->original, msg->original );
    msg->previous_filter_id = request->modifier_filter;
    msg->previous_redirected = request->outcome.service != 0;
    msg->app_id_size = request->values.app_id_size;
    msg->records_size = request->records_size;
    hop_services = (ULONG *)(msg + 1);
    for (i = 0; i < hops; i++)
        hop_services[i] = (records.hops[i].service_kind << 16) | records.hops[i].service_id;
    data = (BYTE *)(hop_services + hops);
    memcpy( data, request->app_id, request->values.app_id_size );
    if (request->records_size) memcpy( data + request->values.app_id_size, request->records, request->records_size );
    return msg;
}

/* a waiting GET_CLASSIFY was cancelled (CancelIo, or its handle closed) */
static void waiter_cancelled( void *private )
{
    struct waiter *waiter = private;

    release_object( waiter->async );
    waiter->async = NULL;
}

static struct async *take_waiter( struct callout_client *client )
{
    unsigned int i;

    for (i = 0; i < MAX_WAITERS; i++)
    {
        struct async *async = client->waiters[i].async;
        if (!async) continue;
        client->waiters[i].async = NULL;
        async_set_completion_callback( async, NULL, NULL );
        return async;
    }
    return NULL;
}

/* hand the request to its client: to a pending GET_CLASSIFY, or into the
 * queue for the next one */
static void deliver( struct classify_request *request, struct callout_client *client )
{
    struct async *async;
    data_size_t size;
    void *msg;

    request->client = client;
    list_remove( &request->entry );
    if (!(async = take_waiter( client )))
    {
        list_add_tail( &client->queue, &request->entry );
        return;
    }
    list_add_tail( &asked, &request->entry );
    if ((msg = build_message( request, &size )))
        async_request_complete( async, STATUS_SUCCESS, size, size, msg );
    else
        async_terminate( async, STATUS_NO_MEMORY );
    release_object( async );
}

/* visit the filters until a callout must be asked, or the end */
static void advance( struct classify_request *request )
{
    const struct wfp_filter *filter;
    struct callout *callout;
    uint32_t rights;

    while ((filter = wfp_classify_next( &request->cursor, &rights )))
    {
        if (!(callout = find_callout( filter->callout_key )))
        {
            wfp_classify_unregistered( &request->cursor, filter );
            continue;
        }
        request->filter_id = filter->id;
        request->filter_context = filter->context;
        memcpy( request->callout_key, filter->callout_key, 16 );
        request->rights = rights;
        deliver( request, callout->client );
        return;
    }
    finish_request( request );
}

/* every filter was visited: wake ntdll, which connects again */
static void finish_request( struct classify_request *request )
{
    request->done = 1;
    request->client = NULL;
    list_remove( &request->entry );
    list_add_tail( &asked, &request->entry );
    if (request->timeout)
    {
        remove_timeout_user( request->timeout );
        request->timeout = NULL;
    }
    if (request->waiter)
    {
        struct async *waiter = request->waiter;
        request->waiter = NULL;
        async_set_completion_callback( waiter, NULL, NULL );
        async_request_complete( waiter, STATUS_SUCCESS, 0, 0, NULL );
        release_object( waiter );
    }
    if (!request->conn) free_request( request );
}

static struct classify_request *find_request( uint64_t id )
{
    struct classify_request *request;

    LIST_FOR_EACH_ENTRY( request, &asked, struct classify_request, entry )
        if (request->id == id) return request;
    return NULL;
}

/* a client went: what it was asked about goes on without it */
static void drop_client( struct callout_client *client )
{
    struct classify_request *request, *next;
    struct async *async;
    unsigned int i;

    wfp_engine_remove_owner( get_engine(), (uintptr_t)client );
    for (i = callout_count; i--;)
        if (callouts[i].client == client) callouts[i] = callouts[--callout_count];
    while ((async = take_waiter( client )))
    {
        async_terminate( async, STATUS_CANCELLED );
        release_object( async );
    }
    /* its filters are gone with it, so the cursors go past them */
    LIST_FOR_EACH_ENTRY_SAFE( request, next, &client->queue, struct classify_request, entry )
    {
        request->client = NULL;
        list_remove( &request->entry );
        list_add_tail( &asked, &request->entry );
        advance( request );
    }
    LIST_FOR_EACH_ENTRY_SAFE( request, next, &asked, struct classify_request, entry )
        if (request->client == client)
        {
            request->client = NULL;
            advance( request );
        }
    list_remove( &client->entry );
    client_count--;
    free( client );
}

void wfp_callout_conn_freed( struct wfp_conn *wfp )
{
    if (wfp->callout_client)
    {
        drop_client( wfp->callout_client );
        wfp->callout_client = NULL;
    }
    if (wfp->callout_request)
    {
        struct classify_request *request = wfp->callout_request;
        request->conn = NULL;
        wfp->callout_request = NULL;
        /* an answer may still be on its way; it finds nobody */
        if (request->done || !request->client) free_request( request );
    }
}

static int layer_of( const struct wfp_endpoint *dst )
{
    return dst->family == 6 ? WFP_LAYER_CONNECT_REDIRECT_V6 : WFP_LAYER_CONNECT_REDIRECT_V4;
}

static void set_app_id( struct classify_request *request, const struct process *process )
{
    data_size_t i, len = process->image ? process->imagelen / sizeof(WCHAR) : 0;

    /* lower case, with its terminator, as FwpmGetAppIdFromFileName0 gives it */
    if ((len + 1) * 2 > sizeof(request->app_id)) len = 0;
    if (!len) return;
    for (i = 0; i < len; i++)
    {
        WCHAR c = process->image[i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        request->app_id[2 * i] = c;
        request->app_id[2 * i + 1] = c >> 8;
    }
    request->app_id[2 * len] = request->app_id[2 * len + 1] = 0;
    request->values.app_id = request->app_id;
    request->values.app_id_size = (len + 1) * 2;
}

/*
 * The local address and port of the layer.  Windows has bound the socket
 * and chosen its route by then (the layer has the local interface, and
 * WFPSampler's callout hands localAddressAndPort to its proxy as the
 * original source), so bind an unbound socket to the wildcard address, as
 * connect() would, and take the source address of the route to the
 * destination.  The connect() that follows keeps the port.
 */
static void get_local_endpoint( int unix_fd, const struct sockaddr *dst, socklen_t dst_len, int family,
                                struct wfp_endpoint *local )
{
    union
    {
        struct sockaddr addr;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } name;
    struct wfp_endpoint found;
    socklen_t len = sizeof(name);
    int probe;

    local->family = family;
    if (getsockname( unix_fd, &name.addr, &len ) || !wfp_endpoint_from_sockaddr( &name.addr, len, &found )) return;
    if (!found.port)
    {
        memset( &name, 0, sizeof(name) );
        name.addr.sa_family = dst->sa_family;
        len = dst->sa_family == AF_INET6 ? sizeof(name.in6) : sizeof(name.in);
        if (bind( unix_fd, &name.addr, len )) return;
        len = sizeof(name);
        if (getsockname( unix_fd, &name.addr, &len ) || !wfp_endpoint_from_sockaddr( &name.addr, len, &found ))
            return;
    }
    local->port = found.port;
    if (found.family == family && memcmp( found.addr, &in6addr_any, family == 6 ? 16 : 4 ))
    {
        memcpy( local->addr, found.addr, sizeof(local->addr) );
        local->scope_id = found.scope_id;
        return;
    }
    /* bound to the wildcard address: the route's source, as a UDP socket connected there has it */
    if ((probe = socket( dst->sa_family, SOCK_DGRAM, 0 )) == -1) return;
    len = sizeof(name);
    if (!connect( probe, dst, dst_len ) && !getsockname( probe, &name.addr, &len ) &&
        wfp_endpoint_from_sockaddr( &name.addr, len, &found ) && found.family == family)
    {
        memcpy( local->addr, found.addr, sizeof(local->addr) );
        local->scope_id = found.scope_id;
    }
    close( probe );
}

static void start_classify( struct wfp_conn *wfp, struct process *process, int unix_fd,
                            const struct sockaddr *addr, socklen_t len, const struct wfp_endpoint *dst )
{
    struct classify_request *request;

    if (request_count >= MAX_REQUESTS)
    {
        fprintf( stderr, "wineserver: %u connections wait for WFP callouts; refusing another\n", MAX_REQUESTS );
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return;
    }
    if (!(request = mem_alloc( sizeof(*request) ))) return;
    memset( request, 0, sizeof(*request) );
    wfp_conn_free_hook = wfp_callout_conn_freed;
    list_init( &request->entry );
    list_add_tail( &asked, &request->entry );
    request_count++;
    request->id = next_request_id++;
    request->conn = wfp;
    wfp->callout_request = request;
    request->process_id = process->id;
    request->original = request->destination = *dst;
    get_local_endpoint( unix_fd, addr, len, dst->family, &request->local );
    request->values.addr_len = dst->family == 6 ? 16 : 4;
    request->values.protocol = IPPROTO_TCP;
    memcpy( request->values.remote_addr, dst->addr, request->values.addr_len );
    request->values.remote_port = dst->port;
    memcpy( request->values.local_addr, request->local.addr, request->values.addr_len );
    request->values.local_port = request->local.port;
    set_app_id( request, process );
    if (wfp->records && (request->records = malloc( wfp->records_size )))
    {
        memcpy( request->records, wfp->records, wfp->records_size );
        request->records_size = wfp->records_size;
    }
    request->timeout = add_timeout_user( -(timeout_t)CLASSIFY_TIMEOUT_MS * (TICKS_PER_SEC / 1000),
                                         request_timeout, request );
    wfp_classify_start( &request->cursor, &engine, layer_of( dst ), &request->values );
    advance( request );
    if (!request->done) set_error( STATUS_MORE_PROCESSING_REQUIRED );
}

int wfp_callout_connect( struct wfp_conn **slot, struct process *process, int unix_fd, struct sockaddr *addr,
                         socklen_t *len, socklen_t max_len )
{
    struct classify_request *request;
    struct wfp_endpoint dst;
    struct wfp_conn *wfp;

    /* what a callout decided about an earlier connect() of the socket */
    if ((wfp = *slot))
    {
        wfp->connect_callout_service = 0;
        wfp->connect_callout_target = 0;
        free( wfp->connect_context );
        wfp->connect_context = NULL;
        wfp->connect_context_size = 0;
    }
    if (!engine_ready || !(wfp_engine_layer_count( &engine, WFP_LAYER_CONNECT_REDIRECT_V4 ) +
                           wfp_engine_layer_count( &engine, WFP_LAYER_CONNECT_REDIRECT_V6 )))
    {
        if (*slot && (*slot)->callout_request) free_request( (*slot)->callout_request );
        return 1;
    }
    if (!wfp_endpoint_from_sockaddr( addr, *len, &dst )) return 1;

    if ((wfp = *slot) && (request = wfp->callout_request))
    {
        if (!request->done)
        {
            /* a second connect() while the first is classified */
            set_error( STATUS_MORE_PROCESSING_REQUIRED );
            return 0;
        }
        if (wfp_endpoint_equal( &request->original, &dst ))
        {
            int ret = 1;

            if (wfp_classify_action( &request->cursor ) == WFP_ACTION_BLOCK)
            {
                set_error( STATUS_ACCESS_DENIED );
                ret = 0;
            }
            else if (!wfp_endpoint_equal( &request->destination, &dst ) &&
                     wfp_endpoint_to_unix( &request->destination, addr->sa_family, addr, len, max_len ))
            {
                /* for wfp_redirect_connect, which leaves the note */
                wfp->connect_callout_original = dst;
                wfp->connect_context = request->outcome.context;
                wfp->connect_context_size = request->outcome.context_size;
                request->outcome.context = NULL;
                /* with no redirect handle the hop still needs a service */
                wfp->connect_callout_service = request->outcome.service ? request->outcome.service : 0xffff;
                wfp->connect_callout_target = request->outcome.target_pid;
                if (debug_level)
                    fprintf( stderr, "wfp: a callout redirected a connection from port %u to port %u\n", dst.port,
                             request->destination.port );
            }
            free_request( request );
            return ret;
        }
        free_request( request );
    }

    if (!(wfp = wfp_conn_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return 0;
    }
    start_classify( wfp, process, unix_fd, addr, *len, &dst );
    request = wfp->callout_request;
    if (request && request->done)
    {
        /* decided without a callout: connect now */
        return wfp_callout_connect( slot, process, unix_fd, addr, len, max_len );
    }
    return 0;
}

/*
 * The engine socket's requests.
 */

static void add_sublayer( struct wfp_conn **slot )
{
    const struct afd_wfp_sublayer_params *params = get_req_data();
    struct callout_client *client;

    if (get_req_data_size() != sizeof(*params))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!(client = get_client( slot ))) return;
    set_engine_error( wfp_engine_add_sublayer( get_engine(), (const uint8_t *)&params->key, params->weight,
                                               (uintptr_t)client ), STATUS_FWP_SUBLAYER_NOT_FOUND );
}

static void delete_sublayer( void )
{
    const GUID *key = get_req_data();

    if (get_req_data_size() != sizeof(*key))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    set_engine_error( wfp_engine_delete_sublayer( get_engine(), (const uint8_t *)key ),
                      STATUS_FWP_SUBLAYER_NOT_FOUND );
}

static int read_value( struct wfp_value *value, const BYTE *addr, const struct afd_wfp_condition *cond,
                       uint64_t num, const BYTE *blobs, data_size_t blobs_size )
{
    memset( value, 0, sizeof(*value) );
    value->kind = cond->kind;
    value->num = num;
    value->addr_len = cond->addr_len;
    if (cond->kind == WFP_VALUE_ADDR)
    {
        if (cond->addr_len != 4 && cond->addr_len != 16) return 0;
        memcpy( value->addr, addr, 16 );
        memcpy( value->mask, cond->mask, 16 );
    }
    else if (cond->kind == WFP_VALUE_BLOB)
    {
        if (cond->blob_offset > blobs_size || cond->blob_size > blobs_size - cond->blob_offset) return 0;
        value->blob = (uint8_t *)blobs + cond->blob_offset;
        value->blob_size = cond->blob_size;
    }
    else if (cond->kind != WFP_VALUE_UINT) return 0;
    return 1;
}

static void add_filter( struct wfp_conn **slot, struct async *async )
{
    const struct afd_wfp_filter_params *params = get_req_data();
    data_size_t size = get_req_data_size(), blobs_size;
    struct wfp_condition conditions[WFP_FILTER_MAX_CONDITIONS];
    const struct afd_wfp_condition *conds;
    struct callout_client *client;
    struct wfp_filter filter;
    const BYTE *blobs;
    ULONGLONG id = 0;
    unsigned int i;

    if (size < sizeof(*params) || get_reply_max_size() < sizeof(id))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (params->condition_count > WFP_FILTER_MAX_CONDITIONS)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if ((size - sizeof(*params)) / sizeof(*conds) < params->condition_count)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    conds = (const struct afd_wfp_condition *)(params + 1);
    blobs = (const BYTE *)(conds + params->condition_count);
    blobs_size = size - sizeof(*params) - params->condition_count * sizeof(*conds);

    memset( &filter, 0, sizeof(filter) );
    for (i = 0; i < params->condition_count; i++)
    {
        conditions[i].field = conds[i].field;
        conditions[i].match = conds[i].match;
        if (!read_value( &conditions[i].value, conds[i].addr, &conds[i], conds[i].num, blobs, blobs_size ) ||
            !read_value( &conditions[i].high, conds[i].addr_high, &conds[i], conds[i].high, blobs, blobs_size ))
        {
            set_error( STATUS_INVALID_PARAMETER );
            return;
        }
    }
    if (!(client = get_client( slot ))) return;
    memcpy( filter.key, &params->key, 16 );
    memcpy( filter.sublayer_key, &params->sublayer_key, 16 );
    memcpy( filter.callout_key, &params->callout_key, 16 );
    filter.layer = params->layer < WFP_LAYER_COUNT ? params->layer : WFP_LAYER_OTHER;
    filter.action = params->action;
    filter.flags = params->flags;
    if (!wfp_filter_weight( params->weight_type, params->weight, params->condition_count, &filter.weight ))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    filter.context = params->context;
    filter.owner = (uintptr_t)client;
    filter.condition_count = params->condition_count;
    filter.conditions = conditions;
    set_engine_error( wfp_engine_add_filter( get_engine(), &filter, &id ), STATUS_FWP_SUBLAYER_NOT_FOUND );
    if (get_error()) return;
    if (debug_level) fprintf( stderr, "wfp: a driver added filter %llu at layer %u\n", (unsigned long long)id,
                              filter.layer );
    wfp_reply_data( async, &id, sizeof(id) );
}

static void delete_filter( void )
{
    const struct afd_wfp_delete_filter_params *params = get_req_data();

    if (get_req_data_size() != sizeof(*params))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (params->id)
        set_engine_error( wfp_engine_delete_filter( get_engine(), params->id ), STATUS_FWP_FILTER_NOT_FOUND );
    else
        set_engine_error( wfp_engine_delete_filter_by_key( get_engine(), (const uint8_t *)&params->key ),
                          STATUS_FWP_FILTER_NOT_FOUND );
}

static void register_callout( struct wfp_conn **slot )
{
    const struct afd_wfp_callout_params *params = get_req_data();
    struct callout_client *client;
    struct callout *callout;

    if (get_req_data_size() != sizeof(*params))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!(client = get_client( slot ))) return;
    callout = find_callout( (const uint8_t *)&params->key );
    if (!params->registered)
    {
        if (!callout || callout->client != client) set_error( STATUS_FWP_CALLOUT_NOT_FOUND );
        else *callout = callouts[--callout_count];
        return;
    }
    if (callout)
    {
        set_error( STATUS_FWP_ALREADY_EXISTS );
        return;
    }
    if (callout_count >= MAX_CALLOUTS)
    {
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return;
    }
    callout = &callouts[callout_count++];
    memcpy( callout->key, &params->key, 16 );
    callout->client = client;
}

static void get_classify( struct wfp_conn **slot, struct async *async )
{
    struct callout_client *client;
    struct classify_request *request;
    unsigned int i;

    if (get_reply_max_size() < sizeof(struct afd_wfp_classify_request) + WFP_RECORDS_MAX_SIZE + MAX_APP_ID_SIZE +
                               WFP_RECORDS_MAX_HOPS * sizeof(ULONG))
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    if (!(client = get_client( slot ))) return;
    if (!list_empty( &client->queue ))
    {
        data_size_t size;
        void *msg;

        request = LIST_ENTRY( list_head( &client->queue ), struct classify_request, entry );
        list_remove( &request->entry );
        list_add_tail( &asked, &request->entry );
        if (!(msg = build_message( request, &size ))) return;
        async_request_complete( async, STATUS_SUCCESS, size, size, msg );
        set_error( STATUS_PENDING );
        return;
    }
    for (i = 0; i < MAX_WAITERS; i++)
        if (!client->waiters[i].async) break;
    if (i == MAX_WAITERS)
    {
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return;
    }
    client->waiters[i].client = client;
    client->waiters[i].async = (struct async *)grab_object( async );
    async_set_completion_callback( async, waiter_cancelled, &client->waiters[i] );
    set_error( STATUS_PENDING );
}

static int valid_win_endpoint( const BYTE *win, struct wfp_endpoint *endpoint )
{
    return wfp_endpoint_from_win( win, 28, endpoint ) && endpoint->port;
}

static int is_loopback( const struct wfp_endpoint *endpoint )
{
    static const uint8_t loopback6[16] = { [15] = 1 };

    if (endpoint->family == 4) return endpoint->addr[0] == 127;
    return !memcmp( endpoint->addr, loopback6, sizeof(loopback6) );
}

static void complete_classify( struct wfp_conn **slot )
{
    const struct afd_wfp_classify_result *result = get_req_data();
    data_size_t size = get_req_data_size();
    struct classify_request *request;
    const struct wfp_filter *filter;
    struct callout_client *client;
    struct wfp_endpoint remote;
    uint32_t action, rights;

    if (size < sizeof(*result) || size - sizeof(*result) < result->context_size)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!(client = get_client( slot ))) return;
    if (!(request = find_request( result->id )) || request->client != client || request->done)
    {
        /* it timed out, or its socket went */
        set_error( STATUS_NOT_FOUND );
        return;
    }

    action = result->action;
    rights = result->rights;
    if (result->flags & WINE_AFD_WFP_CLASSIFY_MODIFIED)
    {
        /* only a callout with the right may change the connection; a bad
         * destination or context is a permit of the unchanged one */
        if (!(request->rights & WFP_RIGHT_ACTION_WRITE))
            fprintf( stderr, "wineserver: a WFP callout modified a connection it had no right to\n" );
        else if (!valid_win_endpoint( result->remote, &remote ) || remote.family != request->original.family)
            fprintf( stderr, "wineserver: a WFP callout redirected a connection to an invalid address\n" );
        else if (result->context_size > MAX_CONTEXT_SIZE)
            fprintf( stderr, "wineserver: a WFP callout gave a redirect context of %u bytes (at most %u)\n",
                     (unsigned int)result->context_size, MAX_CONTEXT_SIZE );
        else if (is_loopback( &remote ) && !result->target_pid)
        {
            static int reported;

            /* FWPS_CONNECT_REQUEST0: localRedirectTargetPID "must be set for
             * loopback redirect changes to be accepted by the engine" */
            if (!reported++)
                fprintf( stderr, "wineserver: a WFP callout redirected a connection to a loopback address without "
                         "localRedirectTargetPID; the connection is blocked, as on Windows\n" );
            action = WFP_ACTION_BLOCK;
            rights &= ~WFP_RIGHT_ACTION_WRITE;
        }
        else
        {
            uint8_t *context = NULL;

            if (result->context_size && !(context = memdup( result + 1, result->context_size ))) return;
            free( request->outcome.context );
            request->destination = remote;
            request->outcome.context = context;
            request->outcome.context_size = result->context_size;
            request->outcome.service = result->redirect_service;
            request->outcome.target_pid = result->target_pid;
            request->modifier_filter = request->filter_id;
            if (debug_level)
                fprintf( stderr, "wfp: callout of filter %llu redirected a connection to port %u\n",
                         (unsigned long long)request->filter_id, remote.port );
        }
    }
    request->client = NULL;
    filter = wfp_engine_find_filter( &engine, request->filter_id );
    if (filter) wfp_classify_set_result( &request->cursor, filter, action, rights );
    advance( request );
}

static void classify_wait( struct wfp_conn **slot, struct async *async )
{
    struct classify_request *request = *slot ? (*slot)->callout_request : NULL;

    if (!request || request->done || request->waiter) return;
    request->waiter = (struct async *)grab_object( async );
    async_set_completion_callback( async, waiter_done, request );
    set_error( STATUS_PENDING );
}

int wfp_callout_ioctl( struct wfp_conn **slot, const struct wfp_sock_info *sock, unsigned int code,
                       struct async *async )
{
    switch (code)
    {
    case IOCTL_AFD_WINE_WFP_ENGINE_ADD_SUBLAYER:
        add_sublayer( slot );
        return 1;
    case IOCTL_AFD_WINE_WFP_ENGINE_DELETE_SUBLAYER:
        delete_sublayer();
        return 1;
    case IOCTL_AFD_WINE_WFP_ENGINE_ADD_FILTER:
        add_filter( slot, async );
        return 1;
    case IOCTL_AFD_WINE_WFP_ENGINE_DELETE_FILTER:
        delete_filter();
        return 1;
    case IOCTL_AFD_WINE_WFP_ENGINE_CALLOUT:
        register_callout( slot );
        return 1;
    case IOCTL_AFD_WINE_WFP_ENGINE_GET_CLASSIFY:
        get_classify( slot, async );
        return 1;
    case IOCTL_AFD_WINE_WFP_ENGINE_COMPLETE_CLASSIFY:
        complete_classify( slot );
        return 1;
    case IOCTL_AFD_WINE_WFP_CLASSIFY_WAIT:
        classify_wait( slot, async );
        return 1;
    }
    return 0;
}
