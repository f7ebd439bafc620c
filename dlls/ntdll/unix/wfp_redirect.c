/*
 * UDP datagrams sent by WFP redirection rules
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
 * A 'udp' rule of the wineserver sends a flow's datagrams to a proxy.
 * They never pass through the wineserver, so the rewriting is done here,
 * as netfilter's conntrack does it for a 'redirect' rule: the destination
 * of each datagram the program sends (sendto, WSASendTo, WSASendMsg, or
 * connect() for the datagrams that follow), and the source of each reply
 * from the proxy, which the program must see come from where it sent.
 *
 * The wineserver is asked once per flow (IOCTL_AFD_WINE_WFP_UDP_REDIRECT),
 * and again every REFRESH_MS while it lasts, which keeps its note of the
 * flow alive for the proxy; the answer is kept here, per socket handle.
 * While the wineserver has no UDP rule at all, a process asks at most once
 * per NO_RULES_MS, and sockets pay a clock read per datagram sent.
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
#include "ws2tcpip.h"
#include "wine/afd.h"
#include "wine/list.h"

#include "unix_private.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

#define FLOW_IDLE_MS    60000   /* Windows keeps a UDP flow for about a minute */
#define REFRESH_MS      30000   /* a redirected flow is asked about again */
#define UNMATCHED_MS    1000    /* ... and one that no rule matched, so that new rules apply */
#define NO_RULES_MS     1000
#define FLOWS_MAX       4096    /* per process; the least recently used goes */
#define FLOW_BUCKETS    256

union flow_addr
{
    struct sockaddr     addr;
    struct sockaddr_in  in;
    struct sockaddr_in6 in6;
};

struct udp_flow
{
    struct list     entry;      /* in its socket's bucket */
    struct list     lru;        /* the most recently used first */
    ULONG_PTR       socket;
    union flow_addr original;   /* where the program sends */
    union flow_addr proxy;      /* where the rule sends it; family 0 if no rule does */
    BOOL            connected;  /* connect()ed there: lasts until the socket connects elsewhere */
    UINT64          used_ms;
    UINT64          asked_ms;
};

static pthread_mutex_t flows_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct list buckets[FLOW_BUCKETS];
static struct list lru = LIST_INIT( lru );
static unsigned int flow_count, redirected_count;
static UINT64 no_rules_until;

static UINT64 now_ms(void)
{
    struct timespec ts;

    clock_gettime( CLOCK_MONOTONIC, &ts );
    return ts.tv_sec * (UINT64)1000 + ts.tv_nsec / 1000000;
}

static struct list *socket_bucket( ULONG_PTR socket )
{
    static BOOL initialized;
    unsigned int i;

    if (!initialized)
    {
        for (i = 0; i < FLOW_BUCKETS; i++) list_init( &buckets[i] );
        initialized = TRUE;
    }
    return &buckets[(socket >> 2) % FLOW_BUCKETS];
}

/* an IPv4 or IPv6 address and port, as the kernel takes it; 0 otherwise */
static socklen_t addr_len( const struct sockaddr *addr, socklen_t len )
{
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) return sizeof(struct sockaddr_in);
    if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) return sizeof(struct sockaddr_in6);
    return 0;
}

static BOOL addr_equal( const union flow_addr *a, const struct sockaddr *b )
{
    const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;
    const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;

    if (a->addr.sa_family != b->sa_family) return FALSE;
    if (a->addr.sa_family == AF_INET)
        return a->in.sin_port == b4->sin_port && a->in.sin_addr.s_addr == b4->sin_addr.s_addr;
    return a->in6.sin6_port == b6->sin6_port && a->in6.sin6_scope_id == b6->sin6_scope_id &&
           !memcmp( &a->in6.sin6_addr, &b6->sin6_addr, sizeof(b6->sin6_addr) );
}

static void set_addr( union flow_addr *to, const struct sockaddr *addr, socklen_t len )
{
    memset( to, 0, sizeof(*to) );
    if (len) memcpy( to, addr, len );
}

/* a SOCKADDR_IN or SOCKADDR_IN6 to the kernel's form; 0 if it is neither */
static socklen_t addr_from_win( const BYTE *win, unsigned int size, union flow_addr *addr )
{
    struct WS_sockaddr_in6 in6;
    struct WS_sockaddr_in in;

    memset( addr, 0, sizeof(*addr) );
    if (size < sizeof(in)) return 0;
    memcpy( &in, win, sizeof(in) );
    if (in.sin_family == WS_AF_INET)
    {
        addr->in.sin_family = AF_INET;
        addr->in.sin_port = in.sin_port;
        memcpy( &addr->in.sin_addr, &in.sin_addr, 4 );
        return sizeof(addr->in);
    }
    if (in.sin_family != WS_AF_INET6 || size < sizeof(in6)) return 0;
    memcpy( &in6, win, sizeof(in6) );
    addr->in6.sin6_family = AF_INET6;
    addr->in6.sin6_port = in6.sin6_port;
    memcpy( &addr->in6.sin6_addr, &in6.sin6_addr, 16 );
    addr->in6.sin6_scope_id = in6.sin6_scope_id;
    return sizeof(addr->in6);
}

static void addr_to_win( const struct sockaddr *addr, BYTE win[28] )
{
    struct WS_sockaddr_in6 in6 = {0};
    struct WS_sockaddr_in in = {0};

    memset( win, 0, 28 );
    if (addr->sa_family == AF_INET)
    {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

        in.sin_family = WS_AF_INET;
        in.sin_port = sin->sin_port;
        memcpy( &in.sin_addr, &sin->sin_addr, 4 );
        memcpy( win, &in, sizeof(in) );
    }
    else
    {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;

        in6.sin6_family = WS_AF_INET6;
        in6.sin6_port = sin6->sin6_port;
        memcpy( &in6.sin6_addr, &sin6->sin6_addr, 16 );
        in6.sin6_scope_id = sin6->sin6_scope_id;
        memcpy( win, &in6, sizeof(in6) );
    }
}

static void free_flow( struct udp_flow *flow )
{
    list_remove( &flow->entry );
    list_remove( &flow->lru );
    if (flow->proxy.addr.sa_family) redirected_count--;
    flow_count--;
    free( flow );
}

static struct udp_flow *find_flow( ULONG_PTR socket, const struct sockaddr *original )
{
    struct udp_flow *flow;

    LIST_FOR_EACH_ENTRY( flow, socket_bucket( socket ), struct udp_flow, entry )
        if (flow->socket == socket && addr_equal( &flow->original, original )) return flow;
    return NULL;
}

/* The server's answer is written only into memory that Windows code
 * could see, as for wfp_control_messages(); one buffer is kept. */
static struct afd_wfp_udp_redirect_output *spare_output;

/* Where do the rules send the datagrams of this socket to original?
 * STATUS_SUCCESS with *proxy_len 0 if nowhere else, and *no_rules set if
 * the wineserver has no UDP rule at all. */
static NTSTATUS ask_server( HANDLE handle, const struct sockaddr *original, union flow_addr *proxy,
                            socklen_t *proxy_len, BOOL *no_rules )
{
    struct afd_wfp_udp_redirect_params params;
    struct afd_wfp_udp_redirect_output *output;
    SIZE_T size = sizeof(*output);
    IO_STATUS_BLOCK io;
    NTSTATUS status;

    *proxy_len = 0;
    *no_rules = FALSE;
    addr_to_win( original, params.destination );
    output = InterlockedExchangePointer( (void **)&spare_output, NULL );
    if (!output && (status = NtAllocateVirtualMemory( NtCurrentProcess(), (void **)&output, 0, &size,
                                                       MEM_COMMIT, PAGE_READWRITE )))
        return status;
    status = NtDeviceIoControlFile( handle, NULL, NULL, NULL, &io, IOCTL_AFD_WINE_WFP_UDP_REDIRECT,
                                    &params, sizeof(params), output, sizeof(*output) );
    if (!status && io.Information == sizeof(*output))
    {
        *no_rules = !!(output->flags & WINE_AFD_WFP_UDP_NO_RULES);
        if ((output->flags & WINE_AFD_WFP_UDP_REDIRECTED) &&
            (!(*proxy_len = addr_from_win( output->proxy, sizeof(output->proxy), proxy )) ||
             proxy->addr.sa_family != original->sa_family))
            status = STATUS_INVALID_ADDRESS_COMPONENT;
    }
    else if (!status) status = STATUS_INVALID_PARAMETER;
    else if (status == STATUS_NOT_SUPPORTED || status == STATUS_INVALID_DEVICE_REQUEST)
    {
        /* a wineserver without the redirector (an older one still running) */
        *no_rules = TRUE;
        status = STATUS_SUCCESS;
    }
    if (InterlockedCompareExchangePointer( (void **)&spare_output, output, NULL ))
    {
        size = 0;
        NtFreeVirtualMemory( NtCurrentProcess(), (void **)&output, &size, MEM_RELEASE );
    }
    return status;
}

static void forget_all(void)
{
    struct udp_flow *flow, *next;

    LIST_FOR_EACH_ENTRY_SAFE( flow, next, &lru, struct udp_flow, lru ) free_flow( flow );
}

/* The flow of socket to original, as the wineserver answered; NULL if
 * there is no memory for it. */
static struct udp_flow *keep_flow( ULONG_PTR socket, const struct sockaddr *original, socklen_t original_len,
                                   const union flow_addr *proxy, socklen_t proxy_len, UINT64 now )
{
    struct udp_flow *flow;

    if (!(flow = find_flow( socket, original )))
    {
        if (flow_count >= FLOWS_MAX) free_flow( LIST_ENTRY( list_tail( &lru ), struct udp_flow, lru ) );
        if (!(flow = calloc( 1, sizeof(*flow) ))) return NULL;
        flow->socket = socket;
        set_addr( &flow->original, original, original_len );
        list_add_tail( socket_bucket( socket ), &flow->entry );
        list_add_head( &lru, &flow->lru );
        flow_count++;
    }
    if (flow->proxy.addr.sa_family) redirected_count--;
    set_addr( &flow->proxy, &proxy->addr, proxy_len );
    if (flow->proxy.addr.sa_family) redirected_count++;
    flow->asked_ms = flow->used_ms = now;
    return flow;
}

static void use_flow( struct udp_flow *flow, UINT64 now )
{
    flow->used_ms = now;
    list_remove( &flow->lru );
    list_add_head( &lru, &flow->lru );
}

/* try_send(): the destination of a datagram, which a rule may send to a
 * proxy.  A failure fails the send: a proxy is never bypassed. */
NTSTATUS wfp_redirect_send( HANDLE handle, struct sockaddr *addr, socklen_t *len )
{
    ULONG_PTR socket = (ULONG_PTR)handle;
    union flow_addr proxy;
    socklen_t original_len, proxy_len;
    struct udp_flow *flow;
    NTSTATUS status;
    BOOL no_rules;
    UINT64 now = now_ms();

    if (now < __atomic_load_n( &no_rules_until, __ATOMIC_RELAXED )) return STATUS_SUCCESS;
    if (!(original_len = addr_len( addr, *len ))) return STATUS_SUCCESS;

    pthread_mutex_lock( &flows_mutex );
    if ((flow = find_flow( socket, addr )) &&
        (flow->connected || (flow->proxy.addr.sa_family ? now - flow->asked_ms < REFRESH_MS &&
                                                          now - flow->used_ms < FLOW_IDLE_MS
                                                        : now - flow->asked_ms < UNMATCHED_MS)))
    {
        use_flow( flow, now );
        if (flow->proxy.addr.sa_family)
        {
            memcpy( addr, &flow->proxy, original_len );
            *len = original_len;
        }
        pthread_mutex_unlock( &flows_mutex );
        return STATUS_SUCCESS;
    }
    pthread_mutex_unlock( &flows_mutex );

    if ((status = ask_server( handle, addr, &proxy, &proxy_len, &no_rules )))
    {
        WARN( "socket %p: status %#x\n", handle, (int)status );
        return status;
    }

    pthread_mutex_lock( &flows_mutex );
    if (no_rules)
    {
        forget_all();
        __atomic_store_n( &no_rules_until, now + NO_RULES_MS, __ATOMIC_RELAXED );
    }
    else if (!keep_flow( socket, addr, original_len, &proxy, proxy_len, now ))
        status = STATUS_NO_MEMORY;
    else if (proxy_len)
    {
        TRACE( "socket %p: a rule sends the flow to port %u to port %u\n", handle,
               ntohs( ((struct sockaddr_in *)addr)->sin_port ), ntohs( proxy.in.sin_port ) );
        memcpy( addr, &proxy, proxy_len );
        *len = proxy_len;
    }
    pthread_mutex_unlock( &flows_mutex );
    return status;
}

/* try_recv() and getpeername(): a reply from the proxy, or the proxy as
 * the peer, is the original destination, as the program sees it */
void wfp_redirect_source( HANDLE handle, struct sockaddr *addr, socklen_t len )
{
    ULONG_PTR socket = (ULONG_PTR)handle;
    struct udp_flow *flow, *found = NULL;
    UINT64 now;

    if (!__atomic_load_n( &redirected_count, __ATOMIC_RELAXED ) || !addr_len( addr, len )) return;
    now = now_ms();
    pthread_mutex_lock( &flows_mutex );
    LIST_FOR_EACH_ENTRY( flow, socket_bucket( socket ), struct udp_flow, entry )
    {
        if (flow->socket != socket || !flow->proxy.addr.sa_family || !addr_equal( &flow->proxy, addr )) continue;
        if (!flow->connected && now - flow->used_ms >= FLOW_IDLE_MS) continue;
        if (!found || flow->connected || flow->used_ms > found->used_ms) found = flow;
        if (found->connected) break;
    }
    if (found && addr_len( &found->original.addr, len ) == addr_len( addr, len ))
        memcpy( addr, &found->original, addr_len( addr, len ) );
    pthread_mutex_unlock( &flows_mutex );
}

/* getpeername() where the wineserver answers it (Wine 10.0 keeps the
 * address connect() was given): the original destination of a socket
 * that a rule connected to a proxy; FALSE for any other socket */
BOOL wfp_redirect_peer( HANDLE handle, struct sockaddr *addr, socklen_t *len )
{
    ULONG_PTR socket = (ULONG_PTR)handle;
    struct udp_flow *flow;
    BOOL ret = FALSE;

    if (!__atomic_load_n( &redirected_count, __ATOMIC_RELAXED )) return FALSE;
    pthread_mutex_lock( &flows_mutex );
    LIST_FOR_EACH_ENTRY( flow, socket_bucket( socket ), struct udp_flow, entry )
    {
        if (flow->socket != socket || !flow->connected || !flow->proxy.addr.sa_family) continue;
        *len = addr_len( &flow->original.addr, sizeof(flow->original) );
        memcpy( addr, &flow->original, *len );
        ret = TRUE;
        break;
    }
    pthread_mutex_unlock( &flows_mutex );
    return ret;
}

/* IOCTL_AFD_WINE_CONNECT of a UDP socket: params is ws2_32's own copy of
 * the address, which a rule may change to the proxy's in place (the same
 * family, and so the same size).  A failure fails the connect. */
NTSTATUS wfp_redirect_connect( HANDLE handle, int fd, void *in_buffer, UINT in_size )
{
    struct afd_connect_params *params = in_buffer;
    ULONG_PTR socket = (ULONG_PTR)handle;
    union flow_addr original, proxy;
    socklen_t original_len, proxy_len, type_len = sizeof(int);
    struct udp_flow *flow, *next;
    NTSTATUS status;
    BOOL no_rules;
    UINT64 now = now_ms();
    int type;

    if (now < __atomic_load_n( &no_rules_until, __ATOMIC_RELAXED ) && !redirected_count) return STATUS_SUCCESS;
    if (in_size < sizeof(*params) || params->addr_len < 0 || params->addr_len > in_size - sizeof(*params) ||
        getsockopt( fd, SOL_SOCKET, SO_TYPE, &type, &type_len ) || type != SOCK_DGRAM)
        return STATUS_SUCCESS;

    /* whatever it connected to before is over */
    pthread_mutex_lock( &flows_mutex );
    LIST_FOR_EACH_ENTRY_SAFE( flow, next, socket_bucket( socket ), struct udp_flow, entry )
        if (flow->socket == socket && flow->connected) free_flow( flow );
    pthread_mutex_unlock( &flows_mutex );

    if (now < __atomic_load_n( &no_rules_until, __ATOMIC_RELAXED ) ||
        !(original_len = addr_from_win( (BYTE *)(params + 1), params->addr_len, &original )))
        return STATUS_SUCCESS;
    if ((status = ask_server( handle, &original.addr, &proxy, &proxy_len, &no_rules ))) return status;

    pthread_mutex_lock( &flows_mutex );
    if (no_rules)
    {
        forget_all();
        __atomic_store_n( &no_rules_until, now + NO_RULES_MS, __ATOMIC_RELAXED );
    }
    else if (proxy_len)
    {
        if (!(flow = keep_flow( socket, &original.addr, original_len, &proxy, proxy_len, now )))
            status = STATUS_NO_MEMORY;
        else
        {
            BYTE win[28];

            TRACE( "socket %p: a rule connects it to port %u instead of %u\n", handle,
                   ntohs( proxy.in.sin_port ), ntohs( original.in.sin_port ) );
            flow->connected = TRUE;
            addr_to_win( &proxy.addr, win );
            memcpy( params + 1, win, min( params->addr_len, sizeof(win) ) );
        }
    }
    pthread_mutex_unlock( &flows_mutex );
    return status;
}

/* NtClose: a new socket may get the handle value */
void wfp_redirect_close_handle( HANDLE handle )
{
    ULONG_PTR socket = (ULONG_PTR)handle;
    struct udp_flow *flow, *next;

    if (!__atomic_load_n( &flow_count, __ATOMIC_RELAXED )) return;
    pthread_mutex_lock( &flows_mutex );
    LIST_FOR_EACH_ENTRY_SAFE( flow, next, socket_bucket( socket ), struct udp_flow, entry )
        if (flow->socket == socket) free_flow( flow );
    pthread_mutex_unlock( &flows_mutex );
}
