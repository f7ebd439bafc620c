/*
 * udporigin: the server a proxied UDP flow finally reaches.  Its sockets
 * turn IP(V6)_WFP_REDIRECT_RECORDS on, so the first datagram of a flow
 * comes with the flow's records as control data; for each peer (address
 * and port) it keeps the hops of the first datagram it saw from it (see
 * records_view.h; "none" without records, as origin.c says it) and answers
 * every datagram with "hops=HOPS|" and the datagram's bytes.
 *
 * usage: udporigin.exe ADDRESS:PORT...
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"
#include <mswsock.h>
#include "records_view.h"

#define BUFFER_SIZE  65536
#define CONTROL_SIZE 2048
#define BUCKETS      4096

struct peer
{
    struct peer *next;
    SOCKADDR_STORAGE addr;
    char hops[256];
};

static LPFN_WSARECVMSG recvmsg_func;
static CRITICAL_SECTION log_section;

static void say( const char *format, ... )
{
    va_list args;

    EnterCriticalSection( &log_section );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    LeaveCriticalSection( &log_section );
}

static unsigned int peer_hash( const SOCKADDR_STORAGE *addr )
{
    const BYTE *p = addr->ss_family == AF_INET ? (const BYTE *)&((SOCKADDR_IN *)addr)->sin_addr
                                               : (const BYTE *)&((SOCKADDR_IN6 *)addr)->sin6_addr;
    int i, len = addr->ss_family == AF_INET ? 4 : 16;
    unsigned int hash = ((SOCKADDR_IN *)addr)->sin_port;   /* sin6_port is at the same place */

    for (i = 0; i < len; i++) hash = hash * 31 + p[i];
    return hash % BUCKETS;
}

static BOOL same_peer( const SOCKADDR_STORAGE *a, const SOCKADDR_STORAGE *b )
{
    if (a->ss_family != b->ss_family) return FALSE;
    if (a->ss_family == AF_INET)
        return ((SOCKADDR_IN *)a)->sin_port == ((SOCKADDR_IN *)b)->sin_port &&
               ((SOCKADDR_IN *)a)->sin_addr.s_addr == ((SOCKADDR_IN *)b)->sin_addr.s_addr;
    return ((SOCKADDR_IN6 *)a)->sin6_port == ((SOCKADDR_IN6 *)b)->sin6_port &&
           !memcmp( &((SOCKADDR_IN6 *)a)->sin6_addr, &((SOCKADDR_IN6 *)b)->sin6_addr, 16 );
}

/* the hops of the records message in msg's control data; "none" without */
static void hops_of( WSAMSG *msg, char *text, size_t size )
{
    struct hop_view hops[16];
    WSACMSGHDR *cmsg;
    int count;

    snprintf( text, size, "none" );
    for (cmsg = WSA_CMSG_FIRSTHDR( msg ); cmsg; cmsg = WSA_CMSG_NXTHDR( msg, cmsg ))
    {
        if ((cmsg->cmsg_level != IPPROTO_IP && cmsg->cmsg_level != IPPROTO_IPV6) ||
            cmsg->cmsg_type != IP_WFP_REDIRECT_RECORDS)
            continue;
        /* a blob the view cannot read is not the same as no records */
        if ((count = records_view( WSA_CMSG_DATA( cmsg ), cmsg->cmsg_len - WSA_CMSG_LEN( 0 ), hops, 16 )) < 0)
            snprintf( text, size, "unreadable" );
        else
            hops_string( hops, count, text, size );
        return;
    }
}

static DWORD WINAPI serve( void *arg )
{
    SOCKET s = (SOCKET)(ULONG_PTR)arg;
    ULONG_PTR control[CONTROL_SIZE / sizeof(ULONG_PTR)];
    char *data = malloc( BUFFER_SIZE ), *reply = malloc( BUFFER_SIZE + 300 ), peer_text[64];
    struct peer **peers = calloc( BUCKETS, sizeof(*peers) ), *peer;
    SOCKADDR_STORAGE from;
    WSABUF buf;
    WSAMSG msg;
    DWORD bytes, peer_size;
    int header_len, error;

    if (!data || !reply || !peers) return 1;
    for (;;)
    {
        memset( &msg, 0, sizeof(msg) );
        buf.buf = data;
        buf.len = BUFFER_SIZE;
        msg.name = (SOCKADDR *)&from;
        msg.namelen = sizeof(from);
        msg.lpBuffers = &buf;
        msg.dwBufferCount = 1;
        msg.Control.buf = (char *)control;
        msg.Control.len = sizeof(control);
        if (recvmsg_func( s, &msg, &bytes, NULL, NULL ))
        {
            /* WSAEMSGSIZE: the datagram came, its control data cut short */
            if ((error = WSAGetLastError()) != WSAEMSGSIZE)
            {
                if (error == WSAECONNRESET) continue;
                say( "udporigin: WSARecvMsg failed: %d\n", error );
                Sleep( 100 );
                continue;
            }
            msg.Control.len = 0;
        }

        for (peer = peers[peer_hash( &from )]; peer; peer = peer->next)
            if (same_peer( &peer->addr, &from )) break;
        if (!peer)
        {
            if (!(peer = calloc( 1, sizeof(*peer) ))) continue;
            peer->addr = from;
            hops_of( &msg, peer->hops, sizeof(peer->hops) );
            peer->next = peers[peer_hash( &from )];
            peers[peer_hash( &from )] = peer;

            peer_size = sizeof(peer_text);
            if (WSAAddressToStringA( (SOCKADDR *)&from, msg.namelen, NULL, peer_text, &peer_size ))
                strcpy( peer_text, "?" );
            say( "udporigin: flow from %s: hops=%s\n", peer_text, peer->hops );
        }

        header_len = snprintf( reply, 300, "hops=%s|", peer->hops );
        memcpy( reply + header_len, data, bytes );
        if (sendto( s, reply, header_len + bytes, 0, (SOCKADDR *)&from, msg.namelen ) < 0)
            say( "udporigin: cannot answer: %d\n", WSAGetLastError() );
    }
    return 0;
}

int main( int argc, char **argv )
{
    GUID recv_guid = WSAID_WSARECVMSG;
    SOCKET sockets[8];
    int count = 0, i;
    DWORD size, on = 1;
    BOOL off = FALSE;
    WSADATA data;
    HANDLE thread;

    setvbuf( stdout, NULL, _IONBF, 0 );
    InitializeCriticalSection( &log_section );
    WSAStartup( MAKEWORD(2, 2), &data );
    for (i = 1; i < argc; i++)
    {
        struct addrinfo *info;
        SOCKET s;

        if (count == 8 || !(info = resolve( argv[i], 1 )))
        {
            printf( "usage: udporigin.exe ADDRESS:PORT...\n" );
            return 2;
        }
        s = socket( info->ai_family, SOCK_DGRAM, IPPROTO_UDP );
        if (setsockopt( s, info->ai_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
                        info->ai_family == AF_INET ? IP_WFP_REDIRECT_RECORDS : IPV6_WFP_REDIRECT_RECORDS,
                        (char *)&on, sizeof(on) ) ||
            bind( s, info->ai_addr, info->ai_addrlen ))
        {
            printf( "udporigin: cannot listen on %s: %d\n", argv[i], WSAGetLastError() );
            return 1;
        }
        /* an ICMP error for an answer must not end up in the next receive */
        WSAIoctl( s, SIO_UDP_CONNRESET, &off, sizeof(off), NULL, 0, &size, NULL, NULL );
        freeaddrinfo( info );
        sockets[count++] = s;
    }
    if (!count)
    {
        printf( "usage: udporigin.exe ADDRESS:PORT...\n" );
        return 2;
    }
    if (WSAIoctl( sockets[0], SIO_GET_EXTENSION_FUNCTION_POINTER, &recv_guid, sizeof(recv_guid), &recvmsg_func,
                  sizeof(recvmsg_func), &size, NULL, NULL ))
    {
        printf( "udporigin: no WSARecvMsg: %d\n", WSAGetLastError() );
        return 1;
    }
    for (i = 0; i < count; i++)
    {
        if (!(thread = CreateThread( NULL, 0, serve, (void *)(ULONG_PTR)sockets[i], 0, NULL ))) return 1;
        CloseHandle( thread );
    }
    printf( "udporigin: listening\n" );
    for (;;) Sleep( INFINITE );
}
