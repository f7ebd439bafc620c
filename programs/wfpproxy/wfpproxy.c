/*
 * wfpproxy: a transparent TCP proxy for WFP connection redirection
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
 * What a Windows content-inspection proxy does with a connection that a
 * WFP callout (on Linux: a netfilter rule or a wine-wfp rule) redirected
 * to it, with the documented Winsock API only:
 *
 *   1. accept the connection;
 *   2. SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS: the opaque records;
 *   3. SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT: where the client meant
 *      to go (the default context: SOCKADDR_STORAGE[2], destination then
 *      source), or getsockopt(SO_ORIGINAL_DST) if there is no context;
 *   4. a new socket, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS with the
 *      records, before connect(): so the connection to the real
 *      destination is not redirected back here;
 *   5. connect to the original destination and relay both ways.
 *
 * With --udp PORT it proxies UDP as Windows proxies do (the remarks of
 * SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, the IPPROTO_IP options page,
 * ebpf-for-windows' tests/libs/util/socket_helper.cpp):
 *
 *   1. a socket per family on the port, IP(V6)_WFP_REDIRECT_RECORDS and
 *      _CONTEXT on: the first datagram of a redirected flow comes with the
 *      records and the context as control data of WSARecvMsg, later ones
 *      with none;
 *   2. per client flow an outbound socket, and the flow's first datagram
 *      goes to the original destination (the context's first address) with
 *      WSASendMsg and the records as a control message: the outbound flow
 *      is not redirected back here, and the next hop sees the chain;
 *   3. replies go back to the client from the socket the client sent to,
 *      so that conntrack (or WFP) shows them as coming from the original
 *      destination.
 *
 * A flow ends after 60 seconds without a datagram either way (Windows'
 * UDP flow lifetime).  At most 1024 UDP flows at a time: the datagrams of
 * a new flow beyond that are dropped, with a log line.  --max counts TCP
 * connections only.
 *
 * It runs unchanged on Windows with a WFP callout that redirects to it.
 *
 * usage: wfpproxy.exe [--name NAME] [--quiet] [--dump-records FILE] [--dump-context FILE] [--max N]
 *                     [--udp PORT]... [PORT...]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>
#include <mswsock.h>

/* documented in the Windows SDK's mstcpip.h; mingw-w64 lacks them */
#ifndef SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS
#define SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS _WSAIOW(IOC_VENDOR, 220)
#define SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT _WSAIOW(IOC_VENDOR, 221)
#define SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS   _WSAIOW(IOC_VENDOR, 222)
#endif
#ifndef SOL_IPV6
#define SOL_IPV6 (SOL_SOCKET - 5)
#endif
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 0x300F
#endif
#ifndef IP_WFP_REDIRECT_RECORDS
#define IP_WFP_REDIRECT_RECORDS   60
#define IP_WFP_REDIRECT_CONTEXT   70
#endif
#ifndef IPV6_WFP_REDIRECT_RECORDS
#define IPV6_WFP_REDIRECT_RECORDS 60
#define IPV6_WFP_REDIRECT_CONTEXT 70
#endif

#define USAGE "usage: wfpproxy.exe [--name NAME] [--quiet] [--dump-records FILE] [--dump-context FILE] [--max N]\n" \
              "                    [--udp PORT]... [PORT...]\n"

static const char *name = "wfpproxy";
static int quiet;
static const char *dump_path, *dump_context_path;
static LONG connection_count, active_count;
static CRITICAL_SECTION log_section;

static void say( const char *format, ... )
{
    va_list args;

    if (quiet) return;
    EnterCriticalSection( &log_section );
    printf( "[%s] ", name );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    fflush( stdout );
    LeaveCriticalSection( &log_section );
}

static const char *addr_string( const SOCKADDR *addr, int len, char *buffer, DWORD size )
{
    if (WSAAddressToStringA( (SOCKADDR *)addr, len, NULL, buffer, &size )) strcpy( buffer, "?" );
    return buffer;
}

/* the records, into a buffer that grows as the call says it must */
static char *query_records( SOCKET s, DWORD *size )
{
    DWORD capacity = 2048;
    char *records;

    for (;;)
    {
        if (!(records = malloc( capacity ))) return NULL;
        if (!WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, capacity, size, NULL, NULL ))
            return records;
        free( records );
        if (WSAGetLastError() != WSAEFAULT || *size <= capacity || *size > 65536) return NULL;
        capacity = *size;
    }
}

static void dump_hex( const char *path, const void *data, DWORD size )
{
    const unsigned char *bytes = data;
    FILE *file;
    DWORD i;

    EnterCriticalSection( &log_section );
    if ((file = fopen( path, "a" )))
    {
        for (i = 0; i < size; i++) fprintf( file, "%02x", bytes[i] );
        fprintf( file, "\n" );
        fclose( file );
    }
    LeaveCriticalSection( &log_section );
}

/* Move what from has to to; at its end of file, pass the end on. */
static BOOL forward( SOCKET from, SOCKET to, BOOL *open, ULONGLONG *count )
{
    char buffer[16384];
    int len;

    if ((len = recv( from, buffer, sizeof(buffer), 0 )) > 0)
    {
        *count += len;
        return send( to, buffer, len, 0 ) == len;
    }
    if (len < 0) return FALSE;
    shutdown( to, SD_SEND );
    *open = FALSE;
    return TRUE;
}

/* relay until both directions are done */
static void relay( SOCKET a, SOCKET b, ULONGLONG *a_to_b, ULONGLONG *b_to_a )
{
    BOOL a_open = TRUE, b_open = TRUE;

    while (a_open || b_open)
    {
        fd_set set;

        FD_ZERO( &set );
        if (a_open) FD_SET( a, &set );
        if (b_open) FD_SET( b, &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) return;
        if (a_open && FD_ISSET( a, &set ) && !forward( a, b, &a_open, a_to_b )) return;
        if (b_open && FD_ISSET( b, &set ) && !forward( b, a, &b_open, b_to_a )) return;
    }
}

static DWORD WINAPI handle_connection( void *arg )
{
    SOCKET client = (SOCKET)(ULONG_PTR)arg, server = INVALID_SOCKET;
    SOCKADDR_STORAGE peer, context[2], dst;
    char a[80], b[80], *records = NULL;
    ULONGLONG up = 0, down = 0;
    DWORD records_size = 0, size, bytes;
    LONG id = InterlockedIncrement( &connection_count );
    int len = sizeof(peer);

    getpeername( client, (SOCKADDR *)&peer, &len );
    addr_string( (SOCKADDR *)&peer, len, a, sizeof(a) );

    if (!(records = query_records( client, &records_size )))
    {
        say( "#%ld from %s: not a redirected connection (error %#x); closing it\n", id, a, WSAGetLastError() );
        goto done;
    }

    /* the original destination: from the context, else SO_ORIGINAL_DST */
    if (!WSAIoctl( client, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context, sizeof(context),
                   &size, NULL, NULL ) && size >= sizeof(context[0]))
    {
        dst = context[0];
        if (dump_context_path) dump_hex( dump_context_path, context, size );
    }
    else
    {
        len = sizeof(dst);
        if (getsockopt( client, SOL_IPV6, SO_ORIGINAL_DST, (char *)&dst, &len ))
        {
            say( "#%ld from %s: no original destination (error %#x)\n", id, a, WSAGetLastError() );
            goto done;
        }
    }
    addr_string( (SOCKADDR *)&dst, dst.ss_family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6), b, sizeof(b) );
    say( "#%ld from %s: %lu bytes of redirect records, original destination %s\n", id, a, records_size, b );
    if (dump_path) dump_hex( dump_path, records, records_size );

    server = WSASocketW( dst.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0 );
    if (WSAIoctl( server, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0, &bytes,
                  NULL, NULL ))
    {
        say( "#%ld: cannot set the redirect records on the outbound socket (error %d); closing\n",
             id, WSAGetLastError() );
        goto done;
    }
    if (connect( server, (SOCKADDR *)&dst, dst.ss_family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6) ))
    {
        say( "#%ld: cannot connect to %s (error %d)\n", id, b, WSAGetLastError() );
        goto done;
    }
    say( "#%ld: connected to %s with the records set; relaying\n", id, b );
    relay( client, server, &up, &down );
    say( "#%ld: done, %I64u bytes to %s, %I64u bytes back\n", id, up, b, down );

done:
    free( records );
    if (server != INVALID_SOCKET) closesocket( server );
    closesocket( client );
    InterlockedDecrement( &active_count );
    return 0;
}

/* ---- UDP ---------------------------------------------------------------- */

#define MAX_UDP_FLOWS  1024
#define UDP_IDLE_MS    60000
/* any datagram fits: nothing is cut short */
#define UDP_BUFFER     65536
/* Envoy's and ebpf-for-windows' size: the records (at most 1432 bytes) and
 * the context (256) with their headers */
#define UDP_CONTROL    2048
/* a thread per flow: keep their stacks small, for 32-bit processes */
#define UDP_STACK      (128 * 1024)

struct udp_listener
{
    SOCKET s;
    int family;
    unsigned short port;
};

struct udp_flow
{
    struct udp_flow *next;
    LONG refs;
    LONG id;
    struct udp_listener *listener;
    SOCKADDR_STORAGE client, dst;
    int client_len, dst_len;
    SOCKET out;
    volatile DWORD last;           /* GetTickCount() of the last datagram either way */
    volatile LONG up, down;        /* datagrams each way */
    char client_text[80], dst_text[80];
};

static LPFN_WSARECVMSG recvmsg_func;
static LPFN_WSASENDMSG sendmsg_func;
static CRITICAL_SECTION udp_section;
static struct udp_flow *udp_flows;
static int udp_flow_count;
static LONG udp_flow_ids;

static int addr_len( const SOCKADDR_STORAGE *addr )
{
    return addr->ss_family == AF_INET ? sizeof(SOCKADDR_IN) : sizeof(SOCKADDR_IN6);
}

/* the same peer: family, port and address */
static BOOL same_peer( const SOCKADDR_STORAGE *a, const SOCKADDR_STORAGE *b )
{
    if (a->ss_family != b->ss_family) return FALSE;
    if (a->ss_family == AF_INET)
    {
        const SOCKADDR_IN *x = (const SOCKADDR_IN *)a, *y = (const SOCKADDR_IN *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    else
    {
        const SOCKADDR_IN6 *x = (const SOCKADDR_IN6 *)a, *y = (const SOCKADDR_IN6 *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               !memcmp( &x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr) );
    }
}

/* An IPv6 socket is IPv6-only by default on Windows: a v4-mapped original
 * destination is reached through an IPv4 socket. */
static void unmap_v4( SOCKADDR_STORAGE *addr )
{
    static const BYTE prefix[12] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };
    SOCKADDR_IN6 *in6 = (SOCKADDR_IN6 *)addr;
    SOCKADDR_IN in;

    if (addr->ss_family != AF_INET6 || memcmp( &in6->sin6_addr, prefix, sizeof(prefix) )) return;
    memset( &in, 0, sizeof(in) );
    in.sin_family = AF_INET;
    in.sin_port = in6->sin6_port;
    memcpy( &in.sin_addr, (BYTE *)&in6->sin6_addr + 12, 4 );
    memset( addr, 0, sizeof(*addr) );
    memcpy( addr, &in, sizeof(in) );
}

/* Windows reports an ICMP port unreachable for a datagram sent from a UDP
 * socket as WSAECONNRESET from its next receive; a proxy does not want one
 * client's or destination's error on a socket it shares. */
static void no_connreset( SOCKET s )
{
    BOOL off = FALSE;
    DWORD bytes;

    WSAIoctl( s, SIO_UDP_CONNRESET, &off, sizeof(off), NULL, 0, &bytes, NULL, NULL );
}

static void release_flow( struct udp_flow *flow )
{
    if (InterlockedDecrement( &flow->refs )) return;
    closesocket( flow->out );
    free( flow );
}

/* the flow of this client on this listener, with a reference, or NULL */
static struct udp_flow *find_flow( struct udp_listener *listener, const SOCKADDR_STORAGE *client )
{
    struct udp_flow *flow;

    EnterCriticalSection( &udp_section );
    for (flow = udp_flows; flow; flow = flow->next)
        if (flow->listener == listener && same_peer( &flow->client, client )) break;
    if (flow) InterlockedIncrement( &flow->refs );
    LeaveCriticalSection( &udp_section );
    return flow;
}

static void unlink_flow( struct udp_flow *flow )
{
    struct udp_flow **p;

    EnterCriticalSection( &udp_section );
    for (p = &udp_flows; *p; p = &(*p)->next)
        if (*p == flow)
        {
            *p = flow->next;
            udp_flow_count--;
            break;
        }
    LeaveCriticalSection( &udp_section );
}

/* The datagram to the flow's destination; with WSASendMsg and a records
 * message when there are records, so the outbound flow carries them. */
static int send_to_destination( struct udp_flow *flow, const char *data, DWORD len,
                                const char *records, DWORD records_size )
{
    ULONG_PTR control[(UDP_CONTROL + 64) / sizeof(ULONG_PTR)];
    WSACMSGHDR *cmsg = (WSACMSGHDR *)control;
    WSABUF buf;
    WSAMSG msg;
    DWORD sent;

    if (!records)
        return sendto( flow->out, data, len, 0, (SOCKADDR *)&flow->dst, flow->dst_len ) == (int)len ? 0 : -1;

    memset( control, 0, sizeof(control) );
    cmsg->cmsg_len = WSA_CMSG_LEN( records_size );
    cmsg->cmsg_level = flow->dst.ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    cmsg->cmsg_type = flow->dst.ss_family == AF_INET ? IP_WFP_REDIRECT_RECORDS : IPV6_WFP_REDIRECT_RECORDS;
    memcpy( WSA_CMSG_DATA( cmsg ), records, records_size );

    memset( &msg, 0, sizeof(msg) );
    buf.buf = (char *)data;
    buf.len = len;
    msg.name = (SOCKADDR *)&flow->dst;
    msg.namelen = flow->dst_len;
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    msg.Control.buf = (char *)control;
    msg.Control.len = WSA_CMSG_SPACE( records_size );
    return sendmsg_func( flow->out, &msg, 0, &sent, NULL, NULL );
}

/* The replies of the destination, back to the client from the listening
 * socket, until the flow has been idle for UDP_IDLE_MS. */
static DWORD WINAPI udp_replies( void *arg )
{
    struct udp_flow *flow = arg;
    char *buffer = malloc( UDP_BUFFER );
    SOCKADDR_STORAGE from;
    DWORD timeout = UDP_IDLE_MS, idle;
    int len, from_len, error;

    setsockopt( flow->out, SOL_SOCKET, SO_RCVTIMEO, (char *)&timeout, sizeof(timeout) );
    while (buffer)
    {
        from_len = sizeof(from);
        if ((len = recvfrom( flow->out, buffer, UDP_BUFFER, 0, (SOCKADDR *)&from, &from_len )) >= 0)
        {
            /* Any source: a next proxy in a chain answers for the
             * destination, and conntrack or WFP makes its replies look as
             * if they came from there. */
            flow->last = GetTickCount();
            InterlockedIncrement( &flow->down );
            if (sendto( flow->listener->s, buffer, len, 0, (SOCKADDR *)&flow->client, flow->client_len ) != len)
                say( "udp #%ld: cannot send a reply to %s: error %d\n", flow->id, flow->client_text,
                     WSAGetLastError() );
            continue;
        }
        error = WSAGetLastError();
        if (error == WSAECONNRESET || error == WSAEMSGSIZE) continue;
        if (error != WSAETIMEDOUT) break;
        /* the client may have sent while no reply came: wait for the rest */
        if ((idle = GetTickCount() - flow->last) >= UDP_IDLE_MS) break;
        timeout = UDP_IDLE_MS - idle;
        setsockopt( flow->out, SOL_SOCKET, SO_RCVTIMEO, (char *)&timeout, sizeof(timeout) );
    }
    unlink_flow( flow );
    say( "udp #%ld: done, %ld datagram(s) to %s, %ld back\n", flow->id, flow->up, flow->dst_text, flow->down );
    free( buffer );
    release_flow( flow );
    return 0;
}

/* A new flow: an outbound socket, the first datagram with the records, and
 * the thread that takes the replies. */
static void new_flow( struct udp_listener *listener, const SOCKADDR_STORAGE *client, int client_len,
                      const char *client_text, const SOCKADDR_STORAGE *dst, const char *data, DWORD len,
                      const char *records, DWORD records_size )
{
    struct udp_flow *flow;
    SOCKADDR_STORAGE any;
    HANDLE thread;
    BOOL full;

    EnterCriticalSection( &udp_section );
    if (!(full = udp_flow_count >= MAX_UDP_FLOWS)) udp_flow_count++;
    LeaveCriticalSection( &udp_section );
    if (full)
    {
        say( "udp: %d flows already, the flow from %s dropped\n", MAX_UDP_FLOWS, client_text );
        return;
    }
    if (!(flow = calloc( 1, sizeof(*flow) ))) goto failed;
    flow->out = INVALID_SOCKET;
    flow->listener = listener;
    flow->client = *client;
    flow->client_len = client_len;
    flow->dst = *dst;
    unmap_v4( &flow->dst );
    flow->dst_len = addr_len( &flow->dst );
    flow->last = GetTickCount();
    strcpy( flow->client_text, client_text );
    addr_string( (SOCKADDR *)&flow->dst, flow->dst_len, flow->dst_text, sizeof(flow->dst_text) );

    /* the wildcard and a port of its own: the destination's flow is this
     * socket's, not the client's */
    memset( &any, 0, sizeof(any) );
    any.ss_family = flow->dst.ss_family;
    flow->out = socket( flow->dst.ss_family, SOCK_DGRAM, IPPROTO_UDP );
    if (flow->out == INVALID_SOCKET || bind( flow->out, (SOCKADDR *)&any, flow->dst_len ))
    {
        say( "udp: no outbound socket for the flow from %s: error %d\n", client_text, WSAGetLastError() );
        goto failed;
    }
    no_connreset( flow->out );

    flow->id = InterlockedIncrement( &udp_flow_ids );
    say( "udp #%ld from %s: %lu bytes of redirect records, original destination %s\n", flow->id,
         client_text, records_size, flow->dst_text );
    if (records && dump_path) dump_hex( dump_path, records, records_size );

    if (send_to_destination( flow, data, len, records, records_size ))
    {
        say( "udp: cannot send the first datagram with its redirect records: error %d\n", WSAGetLastError() );
        goto failed;
    }
    flow->up = 1;

    flow->refs = 2;   /* the list's and the thread's */
    EnterCriticalSection( &udp_section );
    flow->next = udp_flows;
    udp_flows = flow;
    LeaveCriticalSection( &udp_section );
    if (!(thread = CreateThread( NULL, UDP_STACK, udp_replies, flow, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL )))
    {
        say( "udp #%ld: no thread for the replies (error %lu); flow dropped\n", flow->id, GetLastError() );
        unlink_flow( flow );   /* counts it out */
        release_flow( flow );
        release_flow( flow );
        return;
    }
    CloseHandle( thread );
    return;

failed:
    if (flow)
    {
        if (flow->out != INVALID_SOCKET) closesocket( flow->out );
        free( flow );
    }
    EnterCriticalSection( &udp_section );
    udp_flow_count--;
    LeaveCriticalSection( &udp_section );
}

static void handle_datagram( struct udp_listener *listener, WSAMSG *msg, const char *data, DWORD len )
{
    const SOCKADDR_STORAGE *client = (SOCKADDR_STORAGE *)msg->name;
    const char *records = NULL;
    SOCKADDR_STORAGE context[2];
    struct udp_flow *flow;
    WSACMSGHDR *cmsg;
    DWORD records_size = 0;
    BOOL has_context = FALSE;
    char text[80];

    /* Windows puts an IPv4 flow's messages at IPPROTO_IP, even on an IPv6
     * socket; take either level */
    for (cmsg = WSA_CMSG_FIRSTHDR( msg ); cmsg; cmsg = WSA_CMSG_NXTHDR( msg, cmsg ))
    {
        DWORD size = cmsg->cmsg_len - WSA_CMSG_LEN( 0 );

        if (cmsg->cmsg_level != IPPROTO_IP && cmsg->cmsg_level != IPPROTO_IPV6) continue;
        if (cmsg->cmsg_type == IP_WFP_REDIRECT_RECORDS && size)
        {
            records = (const char *)WSA_CMSG_DATA( cmsg );
            records_size = size;
        }
        else if (cmsg->cmsg_type == IP_WFP_REDIRECT_CONTEXT && size >= sizeof(context[0]))
        {
            memset( context, 0, sizeof(context) );
            memcpy( context, WSA_CMSG_DATA( cmsg ), min( size, sizeof(context) ) );
            has_context = TRUE;
        }
    }

    if ((flow = find_flow( listener, client )))
    {
        /* A known flow that comes with records again is new to the
         * redirector (it was idle for its lifetime): so may ours be to the
         * next hop, which must see the records again. */
        flow->last = GetTickCount();
        InterlockedIncrement( &flow->up );
        if (send_to_destination( flow, data, len, records, records_size ))
            say( "udp #%ld: cannot send to %s: error %d\n", flow->id, flow->dst_text, WSAGetLastError() );
        release_flow( flow );
        return;
    }

    addr_string( msg->name, msg->namelen, text, sizeof(text) );
    if (!has_context)
    {
        say( "udp: flow from %s has no redirect context, dropped\n", text );
        return;
    }
    new_flow( listener, client, msg->namelen, text, &context[0], data, len, records, records_size );
}

/* One listening socket: an overlapped WSARecvMsg with an event, as
 * ebpf-for-windows' socket_helper.cpp reads the context. */
static DWORD WINAPI udp_listen( void *arg )
{
    struct udp_listener *listener = arg;
    ULONG_PTR control[UDP_CONTROL / sizeof(ULONG_PTR)];
    char *data = malloc( UDP_BUFFER );
    SOCKADDR_STORAGE from;
    OVERLAPPED ovl;
    WSABUF buf;
    WSAMSG msg;
    DWORD bytes, flags;
    int error;

    memset( &ovl, 0, sizeof(ovl) );
    if (!data || !(ovl.hEvent = CreateEventW( NULL, TRUE, FALSE, NULL )))
    {
        fprintf( stderr, "[%s] out of memory\n", name );
        exit( 1 );
    }
    for (;;)
    {
        memset( &msg, 0, sizeof(msg) );
        buf.buf = data;
        buf.len = UDP_BUFFER;
        msg.name = (SOCKADDR *)&from;
        msg.namelen = sizeof(from);
        msg.lpBuffers = &buf;
        msg.dwBufferCount = 1;
        msg.Control.buf = (char *)control;
        msg.Control.len = sizeof(control);
        ResetEvent( ovl.hEvent );

        /* WSAEMSGSIZE: the datagram came, its control data cut short */
        if (recvmsg_func( listener->s, &msg, NULL, &ovl, NULL ) &&
            (error = WSAGetLastError()) != WSA_IO_PENDING && error != WSAEMSGSIZE)
        {
            if (error == WSAECONNRESET) continue;
            say( "udp: receiving on port %u failed: error %d\n", listener->port, error );
            Sleep( 100 );
            continue;
        }
        WaitForSingleObject( ovl.hEvent, INFINITE );
        flags = 0;
        if (!WSAGetOverlappedResult( listener->s, &ovl, &bytes, FALSE, &flags ))
        {
            error = WSAGetLastError();
            if (error == WSAECONNRESET) continue;
            if (error == WSAEMSGSIZE)
            {
                /* records we cannot forward whole: forwarding the datagram
                 * without them would have it redirected again */
                char text[80];
                say( "udp: the control data from %s did not fit in %u bytes, datagram dropped\n",
                     addr_string( msg.name, msg.namelen, text, sizeof(text) ), UDP_CONTROL );
                continue;
            }
            say( "udp: receiving on port %u failed: error %d\n", listener->port, error );
            Sleep( 100 );
            continue;
        }
        if (msg.Control.len > sizeof(control)) msg.Control.len = 0;
        handle_datagram( listener, &msg, data, bytes );
    }
    return 0;
}

/* A socket of family on port, both WFP options on at its family's level,
 * and its thread; FALSE if it cannot listen. */
static BOOL udp_listen_on( int family, unsigned short port )
{
    struct udp_listener *listener = calloc( 1, sizeof(*listener) );
    int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    SOCKADDR_STORAGE any;
    DWORD on = 1;
    HANDLE thread;

    if (!listener) return FALSE;
    listener->family = family;
    listener->port = port;
    memset( &any, 0, sizeof(any) );
    any.ss_family = family;
    ((SOCKADDR_IN *)&any)->sin_port = htons( port );   /* sin6_port is at the same place */
    listener->s = WSASocketW( family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED );
    if (listener->s == INVALID_SOCKET) return FALSE;
    /* two sockets, one per family: each family's messages at its own level */
    if (family == AF_INET6 && setsockopt( listener->s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&on, sizeof(on) ))
        return FALSE;
    if (setsockopt( listener->s, level, family == AF_INET ? IP_WFP_REDIRECT_RECORDS : IPV6_WFP_REDIRECT_RECORDS,
                    (char *)&on, sizeof(on) ) ||
        setsockopt( listener->s, level, family == AF_INET ? IP_WFP_REDIRECT_CONTEXT : IPV6_WFP_REDIRECT_CONTEXT,
                    (char *)&on, sizeof(on) ))
        return FALSE;
    if (bind( listener->s, (SOCKADDR *)&any, addr_len( &any ) )) return FALSE;
    no_connreset( listener->s );
    if (!(thread = CreateThread( NULL, 0, udp_listen, listener, 0, NULL ))) return FALSE;
    CloseHandle( thread );
    return TRUE;
}

static void get_msg_functions(void)
{
    GUID recv_guid = WSAID_WSARECVMSG, send_guid = WSAID_WSASENDMSG;
    SOCKET s = socket( AF_INET, SOCK_DGRAM, IPPROTO_UDP );
    DWORD size;

    WSAIoctl( s, SIO_GET_EXTENSION_FUNCTION_POINTER, &recv_guid, sizeof(recv_guid), &recvmsg_func,
              sizeof(recvmsg_func), &size, NULL, NULL );
    WSAIoctl( s, SIO_GET_EXTENSION_FUNCTION_POINTER, &send_guid, sizeof(send_guid), &sendmsg_func,
              sizeof(sendmsg_func), &size, NULL, NULL );
    closesocket( s );
}

int main( int argc, char **argv )
{
    SOCKET listeners[16];
    int count = 0, udp_count = 0, i, max = -1, select_failures = 0;
    WSADATA data;

    InitializeCriticalSection( &log_section );
    InitializeCriticalSection( &udp_section );
    WSAStartup( MAKEWORD(2, 2), &data );
    get_msg_functions();

    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" ) && i + 1 < argc) name = argv[++i];
        else if (!strcmp( argv[i], "--quiet" )) quiet = 1;
        else if (!strcmp( argv[i], "--dump-records" ) && i + 1 < argc) dump_path = argv[++i];
        else if (!strcmp( argv[i], "--dump-context" ) && i + 1 < argc) dump_context_path = argv[++i];
        else if (!strcmp( argv[i], "--max" ) && i + 1 < argc) max = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--udp" ) && i + 1 < argc && atoi( argv[i + 1] ) > 0 &&
                 atoi( argv[i + 1] ) < 65536 && udp_count < 16)
        {
            unsigned short port = atoi( argv[++i] );

            if (!recvmsg_func || !sendmsg_func)
            {
                fprintf( stderr, "[%s] no WSARecvMsg or WSASendMsg: error %d\n", name, WSAGetLastError() );
                return 1;
            }
            if (!udp_listen_on( AF_INET, port ) || !udp_listen_on( AF_INET6, port ))
            {
                fprintf( stderr, "[%s] cannot listen on UDP port %u: error %d\n", name, port, WSAGetLastError() );
                return 1;
            }
            udp_count++;
        }
        else if (atoi( argv[i] ) > 0 && count < 16)
        {
            struct sockaddr_in6 any;
            DWORD no = 0;
            SOCKET s = socket( AF_INET6, SOCK_STREAM, IPPROTO_TCP );

            memset( &any, 0, sizeof(any) );
            any.sin6_family = AF_INET6;
            any.sin6_port = htons( atoi( argv[i] ) );
            /* one dual-stack listener takes IPv4 and IPv6 */
            setsockopt( s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&no, sizeof(no) );
            if (bind( s, (SOCKADDR *)&any, sizeof(any) ) || listen( s, SOMAXCONN ))
            {
                fprintf( stderr, "[%s] cannot listen on port %s: error %d\n", name, argv[i], WSAGetLastError() );
                return 1;
            }
            listeners[count++] = s;
        }
        else
        {
            fprintf( stderr, USAGE );
            return 2;
        }
    }
    if (!count && !udp_count)
    {
        fprintf( stderr, USAGE );
        return 2;
    }
    /* even with --quiet: the lines that say it is ready, once every
     * socket is bound */
    /* the process id, for a driver's localRedirectTargetPID */
    if (count) printf( "[%s] listening on %d port(s), process %lu\n", name, count, GetCurrentProcessId() );
    if (udp_count) printf( "[%s] listening on %d UDP port(s)\n", name, udp_count );
    fflush( stdout );

    /* UDP only: its threads do the work */
    if (!count) for (;;) Sleep( INFINITE );

    while (max)
    {
        fd_set set;
        FD_ZERO( &set );
        for (i = 0; i < count; i++) FD_SET( listeners[i], &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0)
        {
            /* say so, and keep serving: a proxy that went quietly would
             * look like a refused connection to its clients */
            fprintf( stderr, "[%s] select failed: error %d\n", name, WSAGetLastError() );
            if (++select_failures >= 100) break;
            Sleep( 100 );
            continue;
        }
        select_failures = 0;
        for (i = 0; i < count && max; i++)
        {
            SOCKET client;
            HANDLE thread;

            if (!FD_ISSET( listeners[i], &set )) continue;
            if ((client = accept( listeners[i], NULL, NULL )) == INVALID_SOCKET) continue;
            InterlockedIncrement( &active_count );
            if (!(thread = CreateThread( NULL, 0, handle_connection, (void *)(ULONG_PTR)client, 0, NULL )))
            {
                InterlockedDecrement( &active_count );
                closesocket( client );
                continue;
            }
            CloseHandle( thread );
            if (max > 0) max--;
        }
    }
    /* with --max, let the last connections finish */
    while (active_count) Sleep( 50 );
    return 0;
}
