/*
 * WFP connection redirect records of the server's sockets
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
 * The server side of SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS and of the
 * queries, without a redirector.  On Windows the records are opaque to
 * programs: a proxy reads them from a connection that WFP redirected to
 * it, and puts them on its own outbound socket so that the connection it
 * makes is not redirected again.  Here nothing redirects, so the only
 * records are those that a program SET: they are kept as they are, and a
 * socket of this wineserver that accepts the connection they went out on
 * gets them, which is what lets proxies chain.  A redirector (rules,
 * netfilter) serves the same codes before this code does, see
 * wfp_redirect.c.
 *
 * Sockets that never SET records cost nothing: no state, and accept looks
 * at the table of connected sockets with records only while it has any.
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

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h */
#define LINUX_SO_ORIGINAL_DST       80
#define LINUX_IP6T_SO_ORIGINAL_DST  80

struct wfp_socket
{
    struct list         entry;          /* in the connected table, while listed */
    unsigned int        listed : 1;
    int                 unix_fd;        /* of the socket, while listed */
    union wfp_unix_addr local;          /* the local address it was listed by */
    void               *records;        /* what SET gave, or what the connecting side had */
    data_size_t         records_size;
    UINT64              endpoint_handle;
};

/* Connected sockets with records, by local port: an accepted socket's
 * peer is one of them when both ends belong to this wineserver. */
#define CONNECTED_BUCKETS 64

static struct list connected_table[CONNECTED_BUCKETS];
static unsigned int connected_count;

static int is_tcp( const struct wfp_sock_info *sock )
{
    return sock->type == WS_SOCK_STREAM && (sock->family == WS_AF_INET || sock->family == WS_AF_INET6);
}

/* A redirector answers the queries on a connected UDP socket for its flow.
 * sock.c leaves such a socket SOCK_CONNECTIONLESS: ask the kernel. */
int wfp_sock_is_connected_udp( const struct wfp_sock_info *sock )
{
    union wfp_unix_addr peer;
    socklen_t len = sizeof(peer);

    return sock->type == WS_SOCK_DGRAM && (sock->family == WS_AF_INET || sock->family == WS_AF_INET6) &&
           !getpeername( sock->unix_fd, &peer.addr, &len );
}


unsigned short wfp_addr_port( const union wfp_unix_addr *addr )
{
    return ntohs( addr->addr.sa_family == AF_INET ? addr->in.sin_port : addr->in6.sin6_port );
}

int wfp_addr_equal( const union wfp_unix_addr *a, const union wfp_unix_addr *b )
{
    if (a->addr.sa_family != b->addr.sa_family) return 0;
    if (a->addr.sa_family == AF_INET)
        return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    return a->in6.sin6_port == b->in6.sin6_port && !memcmp( &a->in6.sin6_addr, &b->in6.sin6_addr, 16 ) &&
           a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

static const unsigned char v4mapped_prefix[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};

/* An IPv4 connection has the same addresses on an IPv4 socket and on a
 * dual-stack one: v4-mapped addresses are taken as IPv4. */
int wfp_addr_from_unix( union wfp_unix_addr *addr, const struct sockaddr *unix_addr, socklen_t len )
{
    struct sockaddr_in6 in6;

    if (unix_addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
    {
        memmove( &addr->in, unix_addr, sizeof(addr->in) );
        return 1;
    }
    if (unix_addr->sa_family != AF_INET6 || len < sizeof(struct sockaddr_in6)) return 0;
    memcpy( &in6, unix_addr, sizeof(in6) );
    if (memcmp( &in6.sin6_addr, v4mapped_prefix, sizeof(v4mapped_prefix) ))
    {
        addr->in6 = in6;
        return 1;
    }
    memset( &addr->in, 0, sizeof(addr->in) );
    addr->in.sin_family = AF_INET;
    addr->in.sin_port = in6.sin6_port;
    memcpy( &addr->in.sin_addr, &in6.sin6_addr.s6_addr[12], 4 );
    return 1;
}

static struct list *connected_bucket( unsigned short port )
{
    static int initialized;
    unsigned int i;

    if (!initialized)
    {
        for (i = 0; i < CONNECTED_BUCKETS; i++) list_init( &connected_table[i] );
        initialized = 1;
    }
    return &connected_table[port % CONNECTED_BUCKETS];
}

static void unlist( struct wfp_socket *wfp )
{
    if (!wfp->listed) return;
    list_remove( &wfp->entry );
    wfp->listed = 0;
    connected_count--;
}

static struct wfp_socket *get_state( struct wfp_socket **slot )
{
    if (!*slot) *slot = calloc( 1, sizeof(**slot) );
    return *slot;
}

void wfp_socket_free( struct wfp_socket *wfp )
{
    if (!wfp) return;
    unlist( wfp );
    free( wfp->records );
    free( wfp );
}

/* A socket takes over the connection of another (AcceptEx of a connection
 * that WSAAccept deferred); its endpoint handle stays its own. */
void wfp_socket_move( struct wfp_socket **to, struct wfp_socket **from )
{
    UINT64 handle = *to ? (*to)->endpoint_handle : 0;

    wfp_socket_free( *to );
    *to = *from;
    *from = NULL;
    if (handle && get_state( to )) (*to)->endpoint_handle = handle;
}

/* Answer with data.  Completing the async, rather than only setting the
 * reply data, makes the completion (IOCP packet, APC, overlapped result)
 * carry the size too, as it does on Windows. */
void wfp_reply_data( struct async *async, const void *data, data_size_t size )
{
    async_request_complete_alloc( async, STATUS_SUCCESS, size, size, data );
    set_error( STATUS_PENDING );
}

int wfp_sock_can_query( const struct wfp_sock_info *sock )
{
    /* ws2_32 tells programs WSAENOPROTOOPT */
    if (!is_tcp( sock ))
    {
        set_error( STATUS_NOT_SUPPORTED );
        return 0;
    }
    if (!sock->connected)
    {
        set_error( STATUS_INVALID_CONNECTION );
        return 0;
    }
    return 1;
}

int wfp_sock_can_set( const struct wfp_sock_info *sock, data_size_t size )
{
    /* UDP flows carry their records in control messages, not in this ioctl */
    if (!is_tcp( sock ) || sock->listening || !size || size > WINE_AFD_WFP_MAX_RECORDS_INPUT)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return 0;
    }
    /* the records must be there when the connection is classified */
    if (sock->connecting || sock->connected)
    {
        set_error( STATUS_CONNECTION_ACTIVE );
        return 0;
    }
    return 1;
}

/* After connect() gave the socket its local address: a socket with
 * records can be found by the socket that accepts its connection.  It
 * stays listed until it is closed or connects again, even if the connect
 * fails; the accept checks that it is still the peer. */
void wfp_sock_connected( struct wfp_socket *wfp, int unix_fd, const struct sockaddr *local, socklen_t len )
{
    if (!wfp || !wfp->records) return;
    unlist( wfp );
    if (!wfp_addr_from_unix( &wfp->local, local, len )) return;
    wfp->unix_fd = unix_fd;
    list_add_tail( connected_bucket( wfp_addr_port( &wfp->local ) ), &wfp->entry );
    wfp->listed = 1;
    connected_count++;
}

/* Is the socket at the other end of this connection the one listed? */
static int is_peer( const struct wfp_socket *connecting, const union wfp_unix_addr *local,
                    const union wfp_unix_addr *peer )
{
    union wfp_unix_addr addr;
    socklen_t len = sizeof(addr);

    if (!wfp_addr_equal( &connecting->local, peer )) return 0;
    /* the port may have gone to another connection since */
    return !getpeername( connecting->unix_fd, &addr.addr, &len ) && wfp_addr_from_unix( &addr, &addr.addr, len ) &&
           wfp_addr_equal( &addr, local );
}

/* A socket was accepted: if its peer is a socket of this wineserver that
 * has records, they are the records of this connection too.  AcceptEx
 * may accept into a socket that had records of its own (SET): they are
 * not this connection's. */
void wfp_sock_accepted( struct wfp_socket **slot, int unix_fd )
{
    union wfp_unix_addr local, peer;
    struct wfp_socket *wfp, *connecting;
    socklen_t len;
    void *records;

    if (*slot)
    {
        unlist( *slot );
        free( (*slot)->records );
        (*slot)->records = NULL;
        (*slot)->records_size = 0;
    }
    if (!connected_count) return;
    len = sizeof(peer);
    if (getpeername( unix_fd, &peer.addr, &len ) || !wfp_addr_from_unix( &peer, &peer.addr, len )) return;
    len = sizeof(local);
    if (getsockname( unix_fd, &local.addr, &len ) || !wfp_addr_from_unix( &local, &local.addr, len )) return;

    LIST_FOR_EACH_ENTRY( connecting, connected_bucket( wfp_addr_port( &peer ) ), struct wfp_socket, entry )
    {
        if (!is_peer( connecting, &local, &peer )) continue;
        if (!(records = malloc( connecting->records_size ))) return;
        if (!(wfp = get_state( slot )))
        {
            free( records );
            return;
        }
        memcpy( records, connecting->records, connecting->records_size );
        wfp->records = records;
        wfp->records_size = connecting->records_size;
        return;
    }
}

static void set_redirect_records( struct wfp_socket **slot, const struct wfp_sock_info *sock )
{
    data_size_t size = get_req_data_size();
    struct wfp_socket *wfp;
    void *records;

    if (!wfp_sock_can_set( sock, size )) return;
    if (!(records = malloc( size )) || !(wfp = get_state( slot )))
    {
        free( records );
        set_error( STATUS_NO_MEMORY );
        return;
    }
    memcpy( records, get_req_data(), size );
    free( wfp->records );
    wfp->records = records;
    wfp->records_size = size;
}

/* A connection without records gives WSAEINVAL, which is how shipped
 * proxies (rama) tell a connection that was not redirected.  Records come
 * with a context only from a redirector: FWP_E_NOT_FOUND otherwise, which
 * WFPSampler tolerates. */
static const void *query_data( struct wfp_socket *wfp, const struct wfp_sock_info *sock, unsigned int code,
                               data_size_t *size )
{
    if (!wfp_sock_can_query( sock )) return NULL;
    if (!wfp || !wfp->records)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return NULL;
    }
    if (code != IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS)
    {
        set_error( STATUS_FWP_NOT_FOUND );
        return NULL;
    }
    *size = wfp->records_size;
    return wfp->records;
}

static void query_redirect( struct wfp_socket *wfp, const struct wfp_sock_info *sock, unsigned int code,
                            struct async *async )
{
    const void *data;
    data_size_t size;

    if (!(data = query_data( wfp, sock, code, &size ))) return;
    /* ws2_32 asks for the size with QUERY_WFP_REDIRECT_SIZE when this fails */
    if (get_reply_max_size() < size)
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    wfp_reply_data( async, data, size );
}

/* The code that a QUERY_WFP_REDIRECT_SIZE asks about; 0 with the error
 * set if the request is not one. */
int wfp_sock_size_query( unsigned int *code )
{
    if (get_req_data_size() != sizeof(*code) || get_reply_max_size() < sizeof(DWORD))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return 0;
    }
    memcpy( code, get_req_data(), sizeof(*code) );
    if (*code != IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS && *code != IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_CONTEXT)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return 0;
    }
    return 1;
}

static void query_redirect_size( struct wfp_socket *wfp, const struct wfp_sock_info *sock, struct async *async )
{
    unsigned int code;
    data_size_t size;
    DWORD reply;

    if (!wfp_sock_size_query( &code )) return;
    if (!query_data( wfp, sock, code, &size )) return;
    reply = size;
    wfp_reply_data( async, &reply, sizeof(reply) );
}

/* The handle names the socket's endpoint to WFP; unique in this wineserver. */
static void query_endpoint_handle( struct wfp_socket **slot, struct async *async )
{
    static UINT64 last_handle;
    struct wfp_socket *wfp;

    if (get_reply_max_size() < sizeof(wfp->endpoint_handle))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!(wfp = get_state( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    if (!wfp->endpoint_handle) wfp->endpoint_handle = ++last_handle;
    wfp_reply_data( async, &wfp->endpoint_handle, sizeof(wfp->endpoint_handle) );
}

/* getsockopt(SOL_IP, SO_ORIGINAL_DST) and (SOL_IPV6, IP6T_SO_ORIGINAL_DST):
 * where the client meant to connect before netfilter redirected it here,
 * from conntrack.  A connection that was not redirected, or that has no
 * conntrack entry, gives WSAEINVAL, as a query for its records does. */
static void get_original_dst( const struct wfp_sock_info *sock, unsigned int code, struct async *async )
{
    union wfp_unix_addr local, orig;
    socklen_t len = sizeof(local);
    int ret = -1, v4;

    if (!wfp_sock_can_query( sock )) return;
    if (getsockname( sock->unix_fd, &local.addr, &len ) || !wfp_addr_from_unix( &local, &local.addr, len ))
    {
        file_set_error();
        return;
    }
    /* conntrack is per address family; a v4-mapped socket has an IPv4 flow */
    v4 = local.addr.sa_family == AF_INET;
#ifdef __linux__
    if (v4)
    {
        len = sizeof(orig.in);
        ret = getsockopt( sock->unix_fd, SOL_IP, LINUX_SO_ORIGINAL_DST, &orig.in, &len );
    }
    else
    {
        len = sizeof(orig.in6);
        ret = getsockopt( sock->unix_fd, SOL_IPV6, LINUX_IP6T_SO_ORIGINAL_DST, &orig.in6, &len );
    }
#endif
    /* ENOENT: no conntrack entry; ENOPROTOOPT: no conntrack at all */
    if (ret || !wfp_addr_from_unix( &orig, &orig.addr, len ) || wfp_addr_equal( &orig, &local ) ||
        (code == IOCTL_AFD_WINE_GET_SO_ORIGINAL_DST && !v4))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }

    if (code == IOCTL_AFD_WINE_GET_SO_ORIGINAL_DST)
    {
        struct WS_sockaddr_in addr = {0};

        addr.sin_family = WS_AF_INET;
        addr.sin_port = orig.in.sin_port;
        memcpy( &addr.sin_addr, &orig.in.sin_addr, 4 );
        if (get_reply_max_size() < sizeof(addr)) set_error( STATUS_BUFFER_TOO_SMALL );
        else wfp_reply_data( async, &addr, sizeof(addr) );
    }
    else
    {
        struct WS_sockaddr_in6 addr = {0};

        addr.sin6_family = WS_AF_INET6;
        if (orig.addr.sa_family == AF_INET)
        {
            addr.sin6_port = orig.in.sin_port;
            memcpy( &addr.sin6_addr, v4mapped_prefix, sizeof(v4mapped_prefix) );
            memcpy( (char *)&addr.sin6_addr + 12, &orig.in.sin_addr, 4 );
        }
        else
        {
            addr.sin6_port = orig.in6.sin6_port;
            memcpy( &addr.sin6_addr, &orig.in6.sin6_addr, 16 );
            addr.sin6_scope_id = orig.in6.sin6_scope_id;
        }
        if (get_reply_max_size() < sizeof(addr)) set_error( STATUS_BUFFER_TOO_SMALL );
        else wfp_reply_data( async, &addr, sizeof(addr) );
    }
}

void wfp_sock_ioctl( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code,
                     struct async *async )
{
    switch (code)
    {
    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS:
    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_CONTEXT:
        query_redirect( *slot, sock, code, async );
        return;

    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_SIZE:
        query_redirect_size( *slot, sock, async );
        return;

    case IOCTL_AFD_WINE_SET_WFP_REDIRECT_RECORDS:
        set_redirect_records( slot, sock );
        return;

    case IOCTL_AFD_WINE_QUERY_WFP_ALE_ENDPOINT_HANDLE:
        query_endpoint_handle( slot, async );
        return;

    case IOCTL_AFD_WINE_GET_SO_ORIGINAL_DST:
    case IOCTL_AFD_WINE_GET_IP6T_SO_ORIGINAL_DST:
        get_original_dst( sock, code, async );
        return;

    default:
        set_error( STATUS_NOT_SUPPORTED );
        return;
    }
}
