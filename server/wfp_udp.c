/*
 * WFP redirect records of UDP flows
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
 * WFP redirect records of UDP flows.  Windows delivers a flow's records
 * and context as control data of its first datagram, to a socket that
 * turned IP(V6)_WFP_REDIRECT_RECORDS or _CONTEXT on, and a proxy puts
 * records on its own outbound flow with a WSASendMsg control message.
 * Without a redirector the only records are those that a program gave
 * this way: they are kept as they are, per sending socket and
 * destination, and a UDP socket of this wineserver gets them with the
 * first datagram it reads of that flow.  Datagrams do not pass through
 * the wineserver: ntdll notices new flows and asks (IOCTL_AFD_WINE_GET_WFP_FLOW).
 *
 * Sockets that never used either cost nothing: no state, no table entry.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winternl.h"
#include "winerror.h"
#define USE_WS_PREFIX
#include "winsock2.h"
#include "ws2tcpip.h"
#include "wine/afd.h"
#include "wine/list.h"

#include "file.h"
#include "object.h"
#include "request.h"
#include "wfp.h"

/* A flow to which WSASendMsg gave records */
struct wfp_flow
{
    struct list         entry;          /* in its socket's flows, the oldest first */
    struct list         table_entry;    /* in flow_table, by destination port */
    struct wfp_udp     *udp;
    union wfp_unix_addr destination;
    void               *records;
    data_size_t         records_size;
};

struct wfp_udp
{
    int                 unix_fd;        /* of the socket */
    struct list         flows;
    unsigned int        count;
};

/* A socket keeps the records of its most recent flows; the server as a
 * whole refuses more than FLOWS_MAX (WSAENOBUFS). */
#define FLOWS_PER_SOCKET 256
#define FLOWS_MAX        16384
#define FLOW_BUCKETS     64

static struct list flow_table[FLOW_BUCKETS];
static unsigned int flow_count;

static int is_udp( const struct wfp_sock_info *sock )
{
    return sock->type == WS_SOCK_DGRAM && (sock->family == WS_AF_INET || sock->family == WS_AF_INET6);
}

static void free_flow( struct wfp_flow *flow )
{
    list_remove( &flow->entry );
    list_remove( &flow->table_entry );
    flow->udp->count--;
    flow_count--;
    free( flow->records );
    free( flow );
}

void wfp_udp_free( struct wfp_udp *udp )
{
    struct wfp_flow *flow, *next;

    if (!udp) return;
    LIST_FOR_EACH_ENTRY_SAFE( flow, next, &udp->flows, struct wfp_flow, entry ) free_flow( flow );
    free( udp );
}

static struct list *flow_bucket( unsigned short port )
{
    static int initialized;
    unsigned int i;

    if (!initialized)
    {
        for (i = 0; i < FLOW_BUCKETS; i++) list_init( &flow_table[i] );
        initialized = 1;
    }
    return &flow_table[port % FLOW_BUCKETS];
}

/* A Windows address as the flows keep it; a zero family is none. */
static int addr_from_win( union wfp_unix_addr *addr, const BYTE *win, unsigned int size )
{
    struct WS_sockaddr_in in;
    struct WS_sockaddr_in6 in6;
    union wfp_unix_addr unix_addr;

    memset( &unix_addr, 0, sizeof(unix_addr) );
    memcpy( &in, win, sizeof(in) );
    if (in.sin_family == WS_AF_INET)
    {
        unix_addr.in.sin_family = AF_INET;
        unix_addr.in.sin_port = in.sin_port;
        memcpy( &unix_addr.in.sin_addr, &in.sin_addr, 4 );
        return wfp_addr_from_unix( addr, &unix_addr.addr, sizeof(unix_addr.in) );
    }
    if (in.sin_family != WS_AF_INET6 || size < sizeof(in6)) return 0;
    memcpy( &in6, win, sizeof(in6) );
    unix_addr.in6.sin6_family = AF_INET6;
    unix_addr.in6.sin6_port = in6.sin6_port;
    memcpy( &unix_addr.in6.sin6_addr, &in6.sin6_addr, 16 );
    unix_addr.in6.sin6_scope_id = in6.sin6_scope_id;
    return wfp_addr_from_unix( addr, &unix_addr.addr, sizeof(unix_addr.in6) );
}

static int addr_is_any( const union wfp_unix_addr *addr )
{
    static const struct in6_addr any6;

    if (addr->addr.sa_family == AF_INET) return addr->in.sin_addr.s_addr == htonl( INADDR_ANY );
    return !memcmp( &addr->in6.sin6_addr, &any6, sizeof(any6) );
}

/* A socket that asked for IP(V6)_WFP_REDIRECT_RECORDS or _CONTEXT gets
 * IP_ORIGDSTADDR control data with each datagram, which ntdll reads as
 * "this socket asked" and as the local address of the flow; Wine maps no
 * Windows option to it, so it is never the program's own. */
void wfp_udp_deliver( int unix_fd, unsigned short family, int deliver )
{
#ifdef IP_RECVORIGDSTADDR
    int value = !!deliver;

    /* a dual-stack socket receives IPv4 datagrams as well */
    setsockopt( unix_fd, SOL_IP, IP_RECVORIGDSTADDR, &value, sizeof(value) );
    if (family == WS_AF_INET6) setsockopt( unix_fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, &value, sizeof(value) );
#endif
}

/* WSASendMsg: records for the flow to a destination, or to the connected
 * peer.  ws2_32 checked the control data; the records are opaque here. */
static void set_flow_records( struct wfp_udp **slot, const struct wfp_sock_info *sock )
{
    const struct afd_wfp_flow_records_params *params = get_req_data();
    data_size_t size = get_req_data_size();
    union wfp_unix_addr destination;
    struct wfp_udp *udp;
    struct wfp_flow *flow;
    socklen_t len = sizeof(destination);
    void *records;

    if (!is_udp( sock ) || size <= sizeof(*params) || size - sizeof(*params) > WINE_AFD_WFP_MAX_RECORDS_INPUT)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    size -= sizeof(*params);
    if (!addr_from_win( &destination, params->destination, sizeof(params->destination) ) &&
        (getpeername( sock->unix_fd, &destination.addr, &len ) ||
         !wfp_addr_from_unix( &destination, &destination.addr, len )))
    {
        /* the send itself would fail the same way */
        set_error( STATUS_INVALID_CONNECTION );
        return;
    }
    if (!*slot && (*slot = calloc( 1, sizeof(**slot) ))) list_init( &(*slot)->flows );
    if (!(udp = *slot) || !(records = malloc( size )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    memcpy( records, params + 1, size );

    LIST_FOR_EACH_ENTRY( flow, &udp->flows, struct wfp_flow, entry )
    {
        if (!wfp_addr_equal( &flow->destination, &destination )) continue;
        free( flow->records );
        flow->records = records;
        flow->records_size = size;
        list_remove( &flow->entry );
        list_add_tail( &udp->flows, &flow->entry );
        return;
    }
    if (udp->count >= FLOWS_PER_SOCKET)
        free_flow( LIST_ENTRY( list_head( &udp->flows ), struct wfp_flow, entry ) );
    if (flow_count >= FLOWS_MAX || !(flow = malloc( sizeof(*flow) )))
    {
        free( records );
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return;
    }
    flow->udp = udp;
    flow->destination = destination;
    flow->records = records;
    flow->records_size = size;
    list_add_tail( &udp->flows, &flow->entry );
    list_add_tail( flow_bucket( wfp_addr_port( &destination ) ), &flow->table_entry );
    udp->count++;
    udp->unix_fd = sock->unix_fd;
    flow_count++;
}

/* Did this socket send the datagram that came from peer?  It is bound to
 * the peer's address, or to the wildcard address with the peer's port. */
static int is_sender( const struct wfp_udp *udp, const union wfp_unix_addr *peer )
{
    union wfp_unix_addr addr;
    socklen_t len = sizeof(addr);

    if (getsockname( udp->unix_fd, &addr.addr, &len ) || !wfp_addr_from_unix( &addr, &addr.addr, len )) return 0;
    if (wfp_addr_port( &addr ) != wfp_addr_port( peer )) return 0;
    return addr_is_any( &addr ) || wfp_addr_equal( &addr, peer );
}

/* The input of IOCTL_AFD_WINE_GET_WFP_FLOW: the flow of a datagram that
 * ntdll read; 0 with the error set if it is not one. */
int wfp_udp_flow_params( const struct wfp_sock_info *sock, union wfp_unix_addr *peer, union wfp_unix_addr *local )
{
    const struct afd_wfp_flow_params *params = get_req_data();

    if (!is_udp( sock ) || get_req_data_size() != sizeof(*params) ||
        !addr_from_win( peer, params->peer, sizeof(params->peer) ) ||
        !addr_from_win( local, params->local, sizeof(params->local) ))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return 0;
    }
    return 1;
}

/* The records that WSASendMsg gave the flow from sender to destination,
 * if a socket of this wineserver sent it. */
const void *wfp_udp_flow_records( const union wfp_unix_addr *destination, const union wfp_unix_addr *sender,
                                  data_size_t *size )
{
    const struct wfp_flow *flow;

    if (!flow_count) return NULL;
    LIST_FOR_EACH_ENTRY( flow, flow_bucket( wfp_addr_port( destination ) ), struct wfp_flow, table_entry )
    {
        if (!wfp_addr_equal( &flow->destination, destination ) || !is_sender( flow->udp, sender )) continue;
        *size = flow->records_size;
        return flow->records;
    }
    return NULL;
}

/* The output of IOCTL_AFD_WINE_GET_WFP_FLOW: an internal request of
 * ntdll's, answered at once. */
void wfp_udp_reply_flow( const void *records, data_size_t records_size, const void *context,
                         data_size_t context_size )
{
    struct afd_wfp_flow_output *output;
    data_size_t size = offsetof( struct afd_wfp_flow_output, data ) + records_size + context_size;

    if (get_reply_max_size() < size)
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    if (!(output = calloc( 1, size )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    output->records_size = records_size;
    output->context_size = context_size;
    if (records_size) memcpy( output->data, records, records_size );
    if (context_size) memcpy( output->data + records_size, context, context_size );
    set_reply_data_ptr( output, size );
}

/* ntdll saw the first datagram of a flow on a socket that asked for the
 * options: the records it is to deliver, if any.  Without a redirector a
 * flow never has a context. */
static void get_flow( const struct wfp_sock_info *sock )
{
    union wfp_unix_addr peer, local;
    const void *records = NULL;
    data_size_t size = 0;

    if (!wfp_udp_flow_params( sock, &peer, &local )) return;
    if (sock->deliver_records) records = wfp_udp_flow_records( &local, &peer, &size );
    wfp_udp_reply_flow( records, records ? size : 0, NULL, 0 );
}

void wfp_udp_ioctl( struct wfp_udp **udp, const struct wfp_sock_info *sock, unsigned int code,
                    struct async *async )
{
    switch (code)
    {
    case IOCTL_AFD_WINE_SET_WFP_FLOW_RECORDS:
        set_flow_records( udp, sock );
        return;

    case IOCTL_AFD_WINE_GET_WFP_FLOW:
        get_flow( sock );
        return;

    default:
        set_error( STATUS_NOT_SUPPORTED );
        return;
    }
}
