/*
 * WFP redirect records and context as control data of UDP datagrams
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
 * A UDP socket with IP(V6)_WFP_REDIRECT_RECORDS or _CONTEXT on gets, with
 * the first datagram of each flow that WSARecvMsg returns, the flow's
 * records and context as control messages (types 60 and 70 at IPPROTO_IP,
 * or IPPROTO_IPV6 for IPv6 flows).  The wineserver turned on
 * IP_ORIGDSTADDR for such sockets (server/wfp.c), so its message in the
 * Unix control data marks them and gives the local end of the flow;
 * everything else about the datagram is as before.  A new flow costs one
 * request to the server, later datagrams of it none (wfp_flows.c).
 */

#if 0
#pragma makedep unix
#endif

#include "config.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winioctl.h"
#define USE_WS_PREFIX
#include "winsock2.h"
#include "mswsock.h"
#include "ws2tcpip.h"
#include "wine/afd.h"

#include "unix_private.h"
#include "wfp_flows.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

/* IP(V6)_WFP_REDIRECT_RECORDS and _CONTEXT as control message types */
#define WFP_CMSG_RECORDS  60
#define WFP_CMSG_CONTEXT  70

static pthread_mutex_t flows_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct wfp_flows *flows;

static const unsigned char v4mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};

/* the flow's key, and the address the server is asked about */
static BOOL endpoint_from_unix( const struct sockaddr *addr, socklen_t len, struct wfp_flow_endpoint *ep,
                                BYTE win[28] )
{
    struct WS_sockaddr_in6 in6 = {0};
    struct WS_sockaddr_in in = {0};

    memset( ep, 0, sizeof(*ep) );
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
    {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

        ep->family = 4;
        ep->port = ntohs( sin->sin_port );
        memcpy( ep->addr, &sin->sin_addr, 4 );
        in.sin_family = WS_AF_INET;
        in.sin_port = sin->sin_port;
        memcpy( &in.sin_addr, &sin->sin_addr, 4 );
        memcpy( win, &in, sizeof(in) );
        return TRUE;
    }
    if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
    {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;

        ep->port = ntohs( sin6->sin6_port );
        if (!memcmp( &sin6->sin6_addr, v4mapped, sizeof(v4mapped) ))
        {
            ep->family = 4;
            memcpy( ep->addr, sin6->sin6_addr.s6_addr + 12, 4 );
        }
        else
        {
            ep->family = 6;
            memcpy( ep->addr, &sin6->sin6_addr, 16 );
        }
        in6.sin6_family = WS_AF_INET6;
        in6.sin6_port = sin6->sin6_port;
        memcpy( &in6.sin6_addr, &sin6->sin6_addr, 16 );
        in6.sin6_scope_id = sin6->sin6_scope_id;
        memcpy( win, &in6, sizeof(in6) );
        return TRUE;
    }
    return FALSE;
}

static UINT64 now_ms(void)
{
    struct timespec ts;

    clock_gettime( CLOCK_MONOTONIC, &ts );
    return ts.tv_sec * (UINT64)1000 + ts.tv_nsec / 1000000;
}

/* Is this the first datagram of its flow on this socket? */
static BOOL is_new_flow( HANDLE handle, const struct wfp_flow_endpoint *peer, const struct wfp_flow_endpoint *local )
{
    BOOL seen = FALSE;

    pthread_mutex_lock( &flows_mutex );
    if (!flows) flows = wfp_flows_create( WFP_FLOWS_PER_SOCKET, WFP_FLOWS_MAX, WFP_FLOW_IDLE_MS );
    if (flows) seen = wfp_flows_seen( flows, (ULONG_PTR)handle, peer, local, now_ms() );
    pthread_mutex_unlock( &flows_mutex );
    return !seen;
}

/* NtClose: a new socket may get the handle value */
void wfp_close_handle( HANDLE handle )
{
    if (!__atomic_load_n( &flows, __ATOMIC_RELAXED )) return;
    pthread_mutex_lock( &flows_mutex );
    wfp_flows_forget_socket( flows, (ULONG_PTR)handle );
    pthread_mutex_unlock( &flows_mutex );
}

/* The server writes its answer only into memory that Windows code could
 * see, not into ntdll's own heap; one buffer is kept for the next flow. */
static struct afd_wfp_flow_output *spare_output;

static struct afd_wfp_flow_output *get_output_buffer(void)
{
    void *output = InterlockedExchangePointer( (void **)&spare_output, NULL );
    SIZE_T size = WINE_AFD_WFP_FLOW_OUTPUT_MAX;

    if (!output && NtAllocateVirtualMemory( NtCurrentProcess(), &output, 0, &size, MEM_COMMIT, PAGE_READWRITE ))
        return NULL;
    return output;
}

static void put_output_buffer( struct afd_wfp_flow_output *output )
{
    void *addr = output;
    SIZE_T size = 0;

    if (InterlockedCompareExchangePointer( (void **)&spare_output, output, NULL ))
        NtFreeVirtualMemory( NtCurrentProcess(), &addr, &size, MEM_RELEASE );
}

/* one control message at *ptr, if *size leaves room for it */
static WSACMSGHDR *put_message( WSACMSGHDR *ptr, ULONG *size, int level, int type, const BYTE *data, ULONG len )
{
    ULONG space = WSA_CMSG_SPACE( len );

    if (*size < space) return NULL;
    memset( ptr, 0, space );
    ptr->cmsg_len = WSA_CMSG_LEN( len );
    ptr->cmsg_level = level;
    ptr->cmsg_type = type;
    memcpy( WSA_CMSG_DATA( ptr ), data, len );
    *size -= space;
    return (WSACMSGHDR *)((BYTE *)ptr + space);
}

/* convert_control_headers met the IP_ORIGDSTADDR or IPV6_ORIGDSTADDR
 * message of a datagram: the messages to put in its place at ptr, NULL if
 * they do not fit in *size */
WSACMSGHDR *wfp_control_messages( HANDLE handle, const struct msghdr *hdr, const struct cmsghdr *cmsg,
                                  WSACMSGHDR *ptr, ULONG *size )
{
    struct afd_wfp_flow_params params;
    struct afd_wfp_flow_output *output;
    struct wfp_flow_endpoint peer, local;
    IO_STATUS_BLOCK io;
    NTSTATUS status;
    int level;

    memset( &params, 0, sizeof(params) );
    if (!hdr->msg_name ||
        !endpoint_from_unix( hdr->msg_name, hdr->msg_namelen, &peer, params.peer ) ||
        !endpoint_from_unix( (const struct sockaddr *)CMSG_DATA( cmsg ),
                             cmsg->cmsg_len - CMSG_LEN( 0 ), &local, params.local ))
        return ptr;
    if (!is_new_flow( handle, &peer, &local )) return ptr;

    if (!(output = get_output_buffer())) return ptr;
    status = NtDeviceIoControlFile( handle, NULL, NULL, NULL, &io, IOCTL_AFD_WINE_GET_WFP_FLOW,
                                    &params, sizeof(params), output, WINE_AFD_WFP_FLOW_OUTPUT_MAX );
    if (status || io.Information < offsetof( struct afd_wfp_flow_output, data ) ||
        output->records_size > io.Information - offsetof( struct afd_wfp_flow_output, data ) ||
        output->context_size > io.Information - offsetof( struct afd_wfp_flow_output, data ) - output->records_size)
    {
        if (status) WARN( "socket %p: status %#x\n", handle, (int)status );
        put_output_buffer( output );
        return ptr;
    }
    TRACE( "socket %p: new flow, %u bytes of records, %u of context\n", handle,
           output->records_size, output->context_size );
    /* a dual-stack socket gets IPv4 flows at the IPv4 level */
    level = local.family == 4 ? WS_IPPROTO_IP : WS_IPPROTO_IPV6;
    if (ptr && output->records_size)
        ptr = put_message( ptr, size, level, WFP_CMSG_RECORDS, output->data, output->records_size );
    if (ptr && output->context_size)
        ptr = put_message( ptr, size, level, WFP_CMSG_CONTEXT, output->data + output->records_size,
                           output->context_size );
    put_output_buffer( output );
    return ptr;
}
