/*
 * udpclient: UDP flows whose datagrams must come back exactly, through
 * however many proxies.  udporigin answers each datagram with "hops=HOPS|"
 * and its bytes; the client checks that each answer comes from the very
 * address and port it sent to (a transparent proxy answers from the
 * original destination), the bytes, and the hops against --expect.
 *
 * Each flow is a socket of its own, with its own source port: they all
 * stay open until the end, so no two flows share a port and none looks
 * like an older one to a proxy or to the origin.  Each datagram waits 5
 * seconds for its answer, without retries: UDP may lose datagrams, but
 * these tests run where nothing should.
 *
 * With --connect each flow's socket connect()s to the destination and
 * uses send(): its peer (getpeername) and every answer's source must still
 * be the destination.  With --also ADDRESS:PORT, a destination that the
 * same proxy serves, each flow's socket then sends there as well, which
 * must fail with WSAEADDRINUSE while the first flow lasts.
 *
 * usage: udpclient.exe ADDRESS:PORT [--flows F] [--count N] [--parallel P]
 *                      [--expect HOPS] [--size MAX] [--connect]
 *                      [--also ADDRESS:PORT]
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"
#include "records_view.h"

#define MAX_FLOWS   20000
#define MAX_REPORTS 10
#define REPLY_SIZE  (65536 + 512)

static struct addrinfo *target, *also;
static const char *expect;
static int flows = 1, count = 1, size = 1200, connect_mode;
static SOCKET *sockets;
static LONG next_flow, ok_count, lost_count, wrong_count, reports;
static CRITICAL_SECTION log_section;

/* the first few problems, in detail; the summary counts them all */
static void report( LONG *counter, LONG flow, int seq, const char *format, ... )
{
    va_list args;

    InterlockedIncrement( counter );
    if (InterlockedIncrement( &reports ) > MAX_REPORTS) return;
    EnterCriticalSection( &log_section );
    printf( "udpclient: flow %ld datagram %d: %s", flow, seq, counter == &wrong_count ? "WRONG: " : "" );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    LeaveCriticalSection( &log_section );
}

/* flow and sequence number, then pseudo-random bytes: 16 to size bytes */
static int make_payload( unsigned char *data, LONG flow, int seq )
{
    unsigned int seed = flow * 2654435761u + seq * 40503u + 1;
    int len, i;

    seed = seed * 1103515245 + 12345;
    len = 16 + (seed >> 8) % (size - 15);
    memcpy( data, &flow, 4 );
    memcpy( data + 4, &seq, 4 );
    for (i = 8; i < len; i++)
    {
        seed = seed * 1103515245 + 12345;
        data[i] = seed >> 16;
    }
    return len;
}

/* the address and port of the target exactly */
static BOOL from_target( const SOCKADDR_STORAGE *from )
{
    const SOCKADDR_STORAGE *to = (const SOCKADDR_STORAGE *)target->ai_addr;

    if (from->ss_family != to->ss_family) return FALSE;
    if (to->ss_family == AF_INET)
        return ((SOCKADDR_IN *)from)->sin_port == ((SOCKADDR_IN *)to)->sin_port &&
               ((SOCKADDR_IN *)from)->sin_addr.s_addr == ((SOCKADDR_IN *)to)->sin_addr.s_addr;
    return ((SOCKADDR_IN6 *)from)->sin6_port == ((SOCKADDR_IN6 *)to)->sin6_port &&
           !memcmp( &((SOCKADDR_IN6 *)from)->sin6_addr, &((SOCKADDR_IN6 *)to)->sin6_addr, 16 );
}

static const char *addr_string( const SOCKADDR_STORAGE *addr, int len, char *buffer, DWORD size )
{
    if (WSAAddressToStringA( (SOCKADDR *)addr, len, NULL, buffer, &size )) strcpy( buffer, "?" );
    return buffer;
}

static void one_flow( LONG flow )
{
    unsigned char *data = malloc( size ), *reply = malloc( REPLY_SIZE );
    SOCKADDR_STORAGE any, from;
    DWORD timeout = 5000;
    int seq, len, got, from_len, late_seq;
    LONG late_flow;
    char text[80], text2[80];
    SOCKET s;

    s = socket( target->ai_family, SOCK_DGRAM, IPPROTO_UDP );
    memset( &any, 0, sizeof(any) );
    any.ss_family = target->ai_family;
    if (!data || !reply || s == INVALID_SOCKET || bind( s, (SOCKADDR *)&any, target->ai_addrlen ))
    {
        for (seq = 0; seq < count; seq++) report( &lost_count, flow, seq, "no socket: %d\n", WSAGetLastError() );
        goto done;
    }
    sockets[flow - 1] = s;
    setsockopt( s, SOL_SOCKET, SO_RCVTIMEO, (char *)&timeout, sizeof(timeout) );
    if (connect_mode)
    {
        from_len = sizeof(from);
        if (connect( s, target->ai_addr, target->ai_addrlen ))
        {
            for (seq = 0; seq < count; seq++) report( &lost_count, flow, seq, "connect: %d\n", WSAGetLastError() );
            goto done;
        }
        if (getpeername( s, (SOCKADDR *)&from, &from_len ) || !from_target( &from ))
            report( &wrong_count, flow, 0, "the peer is %s, not the destination\n",
                    addr_string( &from, from_len, text, sizeof(text) ) );
    }

    for (seq = 0; seq < count; seq++)
    {
        const unsigned char *bar;

        len = make_payload( data, flow, seq );
        if ((connect_mode ? send( s, (char *)data, len, 0 )
                          : sendto( s, (char *)data, len, 0, target->ai_addr, target->ai_addrlen )) != len)
        {
            report( &lost_count, flow, seq, "sending failed: %d\n", WSAGetLastError() );
            continue;
        }
        for (;;)
        {
            from_len = sizeof(from);
            if ((got = recvfrom( s, (char *)reply, REPLY_SIZE - 1, 0, (SOCKADDR *)&from, &from_len )) < 0)
            {
                report( &lost_count, flow, seq, "no answer to %d bytes (error %d)\n", len, WSAGetLastError() );
                break;
            }
            reply[got] = 0;
            if (!from_target( &from ))
            {
                report( &wrong_count, flow, seq, "the answer came from %s, not from %s\n",
                        addr_string( &from, from_len, text, sizeof(text) ),
                        addr_string( (SOCKADDR_STORAGE *)target->ai_addr, target->ai_addrlen, text2,
                                     sizeof(text2) ) );
                break;
            }
            if (got < 6 || memcmp( reply, "hops=", 5 ) || !(bar = memchr( reply, '|', got )))
            {
                report( &wrong_count, flow, seq, "not an answer of udporigin: %d bytes \"%.40s\"\n", got,
                        (char *)reply );
                break;
            }
            got -= bar + 1 - reply;
            /* the late answer to a datagram already counted as lost */
            if (got >= 8)
            {
                memcpy( &late_flow, bar + 1, 4 );
                memcpy( &late_seq, bar + 5, 4 );
                if (late_flow == flow && late_seq >= 0 && late_seq < seq) continue;
            }
            if (got != len || memcmp( bar + 1, data, len ))
            {
                report( &wrong_count, flow, seq, "sent %d bytes, %d different ones came back (%.*s)\n", len, got,
                        (int)(bar - reply), (char *)reply );
                break;
            }
            if (expect && ((int)strlen( expect ) != bar - reply - 5 || memcmp( reply + 5, expect, bar - reply - 5 )))
            {
                report( &wrong_count, flow, seq, "expected hops=%s, the origin saw %.*s\n", expect,
                        (int)(bar - reply), (char *)reply );
                break;
            }
            InterlockedIncrement( &ok_count );
            break;
        }
        if (also && !seq &&
            (sendto( s, (char *)data, len, 0, also->ai_addr, also->ai_addrlen ) != SOCKET_ERROR ||
             WSAGetLastError() != WSAEADDRINUSE))
            report( &wrong_count, flow, seq, "sending to a second destination of the proxy: error %d, not "
                    "WSAEADDRINUSE\n", WSAGetLastError() );
    }

done:
    free( data );
    free( reply );
}

static DWORD WINAPI worker( void *arg )
{
    LONG flow;

    (void)arg;
    while ((flow = InterlockedIncrement( &next_flow )) <= flows) one_flow( flow );
    return 0;
}

int main( int argc, char **argv )
{
    HANDLE threads[256];
    int parallel = 1, i;
    WSADATA data;

    setvbuf( stdout, NULL, _IONBF, 0 );
    InitializeCriticalSection( &log_section );
    WSAStartup( MAKEWORD(2, 2), &data );
    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--flows" ) && i + 1 < argc) flows = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--count" ) && i + 1 < argc) count = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--parallel" ) && i + 1 < argc) parallel = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--size" ) && i + 1 < argc) size = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--expect" ) && i + 1 < argc) expect = argv[++i];
        else if (!strcmp( argv[i], "--connect" )) connect_mode = 1;
        else if (!strcmp( argv[i], "--also" ) && i + 1 < argc && (also = resolve( argv[++i], 0 ))) ;
        else if (!target && (target = resolve( argv[i], 0 ))) ;
        else break;
    }
    if (i < argc || !target || flows < 1 || flows > MAX_FLOWS || count < 1 || parallel < 1 || parallel > 256 ||
        size < 16 || size > 65000)
    {
        printf( "usage: udpclient.exe ADDRESS:PORT [--flows F (1-%d)] [--count N] [--parallel P (1-256)] "
                "[--expect HOPS] [--size MAX (16-65000)] [--connect] [--also ADDRESS:PORT]\n", MAX_FLOWS );
        return 2;
    }
    if (!(sockets = malloc( flows * sizeof(*sockets) ))) return 1;
    for (i = 0; i < flows; i++) sockets[i] = INVALID_SOCKET;

    if (parallel > flows) parallel = flows;
    for (i = 0; i < parallel; i++) threads[i] = CreateThread( NULL, 0, worker, NULL, 0, NULL );
    /* at most MAXIMUM_WAIT_OBJECTS at a time */
    for (i = 0; i < parallel; i += MAXIMUM_WAIT_OBJECTS)
        WaitForMultipleObjects( min( parallel - i, MAXIMUM_WAIT_OBJECTS ), threads + i, TRUE, INFINITE );
    for (i = 0; i < flows; i++) if (sockets[i] != INVALID_SOCKET) closesocket( sockets[i] );

    printf( "udpclient: %ld of %ld datagrams over %d flows came back exactly", ok_count, (LONG)flows * count, flows );
    if (lost_count) printf( ", %ld lost", lost_count );
    printf( wrong_count ? ", %ld WRONG\n" : "\n", wrong_count );
    return ok_count != (LONG)flows * count || wrong_count;
}
