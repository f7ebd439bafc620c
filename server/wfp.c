/*
 * WFP connection redirection for the server's sockets
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
 * The server side of SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS and its
 * siblings.  Records come from two places:
 *
 *  - SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, on a proxy's outbound socket;
 *  - Linux netfilter: an accepted TCP connection whose conntrack original
 *    destination is neither of its own endpoints was redirected (nftables
 *    or iptables redirect/dnat), which is what a WFP callout at
 *    ALE_CONNECT_REDIRECT does on Windows.  This is looked at the first
 *    time somebody asks, never at accept time, so that sockets nobody
 *    asks about cost nothing.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winternl.h"
#include "winerror.h"
#define USE_WS_PREFIX
#include "winsock2.h"
#include "wine/afd.h"

#include "file.h"
#include "object.h"
#include "process.h"
#include "request.h"
#include "thread.h"
#include "wfp.h"

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h */
#define LINUX_SO_ORIGINAL_DST       80
#define LINUX_IP6T_SO_ORIGINAL_DST  80

/* NtStatusToWSAError in ws2_32 turns this into WSAENOPROTOOPT. */
#define STATUS_WSAENOPROTOOPT  (0xc0010000 | WSAENOPROTOOPT)

static int is_tcp( const struct wfp_sock_info *sock )
{
    return sock->type == WS_SOCK_STREAM && (sock->family == WS_AF_INET || sock->family == WS_AF_INET6);
}

static const uint8_t *get_key(void)
{
    static uint8_t key[WFP_RECORDS_KEY_SIZE];
    static int loaded, reported;
    char dir[256], error[512];

    if (loaded) return key;
    if (wfp_key_load( wfp_key_default_dir( dir, sizeof(dir) ), key, error, sizeof(error) ))
    {
        loaded = 1;
        return key;
    }
    if (!reported++) fprintf( stderr, "wineserver: WFP redirect records are unavailable: %s\n", error );
    return NULL;
}

/* Answer with data.  Completing the async, rather than only setting the
 * reply data, makes the completion (IOCP packet, APC, overlapped result)
 * carry the size too, as it does on Windows. */
static void reply_data( struct async *async, const void *data, data_size_t size )
{
    async_request_complete_alloc( async, STATUS_SUCCESS, size, size, data );
    set_error( STATUS_PENDING );
}

static uint64_t unix_time_ms(void)
{
    static const timeout_t ticks_1601_to_1970 = (timeout_t)86400 * (369 * 365 + 89) * TICKS_PER_SEC;
    return (current_time - ticks_1601_to_1970) / (TICKS_PER_SEC / 1000);
}

static uint64_t new_flow_id(void)
{
    static uint64_t counter;
    uint64_t id;

    /* unpredictable if the kernel gives random bytes, unique either way */
    if (getrandom( &id, sizeof(id), GRND_NONBLOCK ) != sizeof(id)) id = 0;
    return id ^ ++counter;
}

/* Was this accepted connection redirected by netfilter?  If so, give the
 * socket a one-hop chain that says so. */
static void check_netfilter_redirect( struct wfp_socket *wfp, const struct wfp_sock_info *sock,
                                      const uint8_t *key )
{
    union { struct sockaddr addr; struct sockaddr_in in; struct sockaddr_in6 in6; } local, peer, orig;
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer), orig_len;
    struct wfp_hop hop;
    int ret;

    wfp->redirect_checked = 1;

    if (getsockname( sock->unix_fd, &local.addr, &local_len ) ||
        getpeername( sock->unix_fd, &peer.addr, &peer_len )) return;
    memset( &hop, 0, sizeof(hop) );
    if (!wfp_endpoint_from_sockaddr( &local.addr, local_len, &hop.original_dst ) ||
        !wfp_endpoint_from_sockaddr( &peer.addr, peer_len, &hop.original_src )) return;

    /* conntrack is per address family; a v4-mapped socket has an IPv4 flow */
    if (hop.original_dst.family == 4)
    {
        orig_len = sizeof(orig.in);
        ret = getsockopt( sock->unix_fd, SOL_IP, LINUX_SO_ORIGINAL_DST, &orig.in, &orig_len );
    }
    else
    {
        orig_len = sizeof(orig.in6);
        ret = getsockopt( sock->unix_fd, SOL_IPV6, LINUX_IP6T_SO_ORIGINAL_DST, &orig.in6, &orig_len );
    }
    /* ENOENT: no conntrack entry; ENOPROTOOPT: no conntrack at all */
    if (ret) return;

    {
        struct wfp_endpoint local_ep = hop.original_dst;

        if (!wfp_endpoint_from_sockaddr( &orig.addr, orig_len, &hop.original_dst )) return;
        /* The original destination of a connection nobody redirected is
         * our own address (or, seen from a connecting socket, the peer's). */
        if (wfp_endpoint_equal( &hop.original_dst, &local_ep ) ||
            wfp_endpoint_equal( &hop.original_dst, &hop.original_src )) return;
    }

    hop.service_kind = WFP_SERVICE_NETFILTER;
    hop.protocol = IPPROTO_TCP;
    hop.service_id = 0;
    hop.target_pid = current->process->id;
    hop.flow_id = new_flow_id();
    hop.time_ms = unix_time_ms();
    if (wfp_socket_add_hop( wfp, NULL, &hop, key ) != WFP_STORE_OK) return;

    if (debug_level)
        fprintf( stderr, "wfp: connection on fd %d was redirected by netfilter (original port %u)\n",
                 sock->unix_fd, hop.original_dst.port );
}

/* The redirect state of a connected TCP socket, looking at netfilter the
 * first time; NULL with the error set if there is none to have. */
static struct wfp_socket *connection_state( struct wfp_socket **slot, const struct wfp_sock_info *sock,
                                            const uint8_t **key )
{
    struct wfp_socket *wfp;

    if (!is_tcp( sock ))
    {
        set_error( STATUS_WSAENOPROTOOPT );
        return NULL;
    }
    if (!sock->connected)
    {
        set_error( STATUS_INVALID_CONNECTION );
        return NULL;
    }
    if (!(*key = get_key()))
    {
        set_error( STATUS_ACCESS_DENIED );
        return NULL;
    }
    if (!(wfp = wfp_socket_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return NULL;
    }
    if (!wfp->redirect_checked && !wfp->records) check_netfilter_redirect( wfp, sock, *key );
    return wfp;
}

/* The bytes that a QUERY_RECORDS or QUERY_CONTEXT answers with. */
static const void *query_data( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code,
                               uint8_t context[WFP_CONTEXT_DEFAULT_SIZE], data_size_t *size )
{
    struct wfp_socket *wfp;
    const uint8_t *key;
    struct wfp_hop hop;

    if (!(wfp = connection_state( slot, sock, &key ))) return NULL;

    if (code == IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS)
    {
        if (!wfp->records)
        {
            set_error( STATUS_FWP_NOT_FOUND );
            return NULL;
        }
        *size = wfp->records_size;
        return wfp->records;
    }

    /* A context describes the redirection that brought an accepted
     * connection here; an outbound socket's records have none. */
    if (!wfp->inbound || !wfp_socket_last_hop( wfp, key, &hop ) ||
        !(*size = wfp_context_default( &hop, context, WFP_CONTEXT_DEFAULT_SIZE )))
    {
        set_error( STATUS_FWP_NOT_FOUND );
        return NULL;
    }
    return context;
}

static void query_redirect( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code,
                            struct async *async )
{
    uint8_t context[WFP_CONTEXT_DEFAULT_SIZE];
    const void *data;
    data_size_t size;

    if (!(data = query_data( slot, sock, code, context, &size ))) return;
    /* ws2_32 asks for the size with QUERY_WFP_REDIRECT_SIZE when this fails */
    if (get_reply_max_size() < size)
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    reply_data( async, data, size );
}

static void query_redirect_size( struct wfp_socket **slot, const struct wfp_sock_info *sock,
                                 struct async *async )
{
    uint8_t context[WFP_CONTEXT_DEFAULT_SIZE];
    unsigned int code;
    data_size_t size;
    DWORD reply;

    if (get_req_data_size() != sizeof(code) || get_reply_max_size() < sizeof(reply))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    memcpy( &code, get_req_data(), sizeof(code) );
    if (code != IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS && code != IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_CONTEXT)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!query_data( slot, sock, code, context, &size )) return;
    reply = size;
    reply_data( async, &reply, sizeof(reply) );
}

static void set_redirect_records( struct wfp_socket **slot, const struct wfp_sock_info *sock )
{
    enum wfp_records_status status;
    struct wfp_socket *wfp;
    const uint8_t *key;
    data_size_t size = get_req_data_size();

    /* UDP flows carry their records in control messages, not in this ioctl */
    if (!is_tcp( sock ) || sock->listening || !size || size > WINE_AFD_WFP_MAX_RECORDS_INPUT)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    /* the records must be there when the connection is classified */
    if (sock->connecting || sock->connected)
    {
        set_error( STATUS_CONNECTION_ACTIVE );
        return;
    }
    if (!(key = get_key()))
    {
        set_error( STATUS_ACCESS_DENIED );
        return;
    }
    if (!(wfp = wfp_socket_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }

    switch (wfp_socket_set_records( wfp, get_req_data(), size, key, &status ))
    {
    case WFP_STORE_OK:
        wfp->redirect_checked = 1;   /* an outbound socket: nothing to ask netfilter */
        break;
    case WFP_STORE_NO_MEMORY:
        set_error( STATUS_NO_MEMORY );
        break;
    default:
        if (debug_level) fprintf( stderr, "wfp: refusing records: %s\n", wfp_records_status_name( status ) );
        set_error( STATUS_INVALID_PARAMETER );
        break;
    }
}

static void query_endpoint_handle( struct wfp_socket **slot, struct async *async )
{
    static uint64_t last_handle;
    struct wfp_socket *wfp;

    if (get_reply_max_size() < sizeof(wfp->endpoint_handle))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!(wfp = wfp_socket_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    if (!wfp->endpoint_handle) wfp->endpoint_handle = ++last_handle;
    reply_data( async, &wfp->endpoint_handle, sizeof(wfp->endpoint_handle) );
}

/* IP_WFP_REDIRECT_RECORDS and IP_WFP_REDIRECT_CONTEXT (and the IPV6_ twins)
 * ask for the records of a datagram flow as control data.  Windows keeps
 * them as boolean options of datagram sockets and refuses them on TCP. */
static void get_ip_redirect_option( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code,
                                    struct async *async )
{
    DWORD value = 0;

    if (is_tcp( sock ))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (get_reply_max_size() < sizeof(value))
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    if (*slot)
        value = code == IOCTL_AFD_WINE_GET_IP_WFP_REDIRECT_RECORDS ? (*slot)->ip_redirect_records
                                                                   : (*slot)->ip_redirect_context;
    reply_data( async, &value, sizeof(value) );
}

static void set_ip_redirect_option( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code )
{
    struct wfp_socket *wfp;
    DWORD value;

    if (is_tcp( sock ))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (get_req_data_size() < sizeof(value))
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    memcpy( &value, get_req_data(), sizeof(value) );
    if (!value && !*slot) return;   /* the default; no need for state */
    if (!(wfp = wfp_socket_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    if (code == IOCTL_AFD_WINE_SET_IP_WFP_REDIRECT_RECORDS) wfp->ip_redirect_records = !!value;
    else wfp->ip_redirect_context = !!value;
}

/* getsockopt(SOL_IP, SO_ORIGINAL_DST) and (SOL_IPV6, IP6T_SO_ORIGINAL_DST):
 * where the client meant to connect before it was redirected here. */
static void get_original_dst( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code,
                              struct async *async )
{
    uint8_t addr[WFP_SOCKADDR_IN6_SIZE];
    struct wfp_socket *wfp;
    const uint8_t *key;
    struct wfp_hop hop;
    size_t size;

    if (!(wfp = connection_state( slot, sock, &key ))) return;
    if (!wfp->inbound || !wfp_socket_last_hop( wfp, key, &hop ))
    {
        set_error( STATUS_FWP_NOT_FOUND );
        return;
    }
    /* an IPv6 original destination has no SOCKADDR_IN form */
    if (!(size = wfp_endpoint_to_win_sockaddr( &hop.original_dst, code == IOCTL_AFD_WINE_GET_IP6T_SO_ORIGINAL_DST,
                                               addr, sizeof(addr) )))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (get_reply_max_size() < size)
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    reply_data( async, addr, size );
}

void wfp_sock_ioctl( struct wfp_socket **slot, const struct wfp_sock_info *sock, unsigned int code,
                     struct async *async )
{
    switch (code)
    {
    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS:
    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_CONTEXT:
        query_redirect( slot, sock, code, async );
        return;

    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_SIZE:
        query_redirect_size( slot, sock, async );
        return;

    case IOCTL_AFD_WINE_SET_WFP_REDIRECT_RECORDS:
        set_redirect_records( slot, sock );
        return;

    case IOCTL_AFD_WINE_QUERY_WFP_ALE_ENDPOINT_HANDLE:
        query_endpoint_handle( slot, async );
        return;

    case IOCTL_AFD_WINE_GET_IP_WFP_REDIRECT_RECORDS:
    case IOCTL_AFD_WINE_GET_IP_WFP_REDIRECT_CONTEXT:
        get_ip_redirect_option( slot, sock, code, async );
        return;

    case IOCTL_AFD_WINE_SET_IP_WFP_REDIRECT_RECORDS:
    case IOCTL_AFD_WINE_SET_IP_WFP_REDIRECT_CONTEXT:
        set_ip_redirect_option( slot, sock, code );
        return;

    case IOCTL_AFD_WINE_GET_SO_ORIGINAL_DST:
    case IOCTL_AFD_WINE_GET_IP6T_SO_ORIGINAL_DST:
        get_original_dst( slot, sock, code, async );
        return;

    default:
        set_error( STATUS_NOT_SUPPORTED );
        return;
    }
}
