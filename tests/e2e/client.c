/*
 * client: connections whose bytes must come back exactly, through however
 * many proxies.  The origin answers each with a line saying what records
 * it saw, then echoes; the client checks the echo byte for byte, the hops
 * against --expect, and that the records name this very connection (the
 * first hop's original source port is its own local port, or the port that
 * netfilter gave it, see nat_remapped()).
 *
 * usage: client.exe ADDRESS:PORT [--count N] [--parallel P] [--size BYTES]
 *                   [--expect HOPS] [--close-early] [--slow] [--retry]
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"
#include "records_view.h"

static struct addrinfo *target;
static int size = 4096, close_early, slow, retry;
static const char *expect;
static LONG next_index, count = 1, ok_count, fail_count, wrong_count, remapped_count;
static CRITICAL_SECTION log_section;

static void failed( LONG index, const char *format, ... )
{
    va_list args;

    InterlockedIncrement( &fail_count );
    EnterCriticalSection( &log_section );
    printf( "client: connection %ld: ", index );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    LeaveCriticalSection( &log_section );
}

/* A connection that came back with other bytes, or with records that are not
 * its own, rather than one cut short: the soak test allows none. */
static void wrong( LONG index, const char *format, ... )
{
    va_list args;

    InterlockedIncrement( &fail_count );
    InterlockedIncrement( &wrong_count );
    EnterCriticalSection( &log_section );
    printf( "client: connection %ld: WRONG: ", index );
    va_start( args, format );
    vprintf( format, args );
    va_end( args );
    LeaveCriticalSection( &log_section );
}

static void fill( unsigned char *data, int len, unsigned int seed )
{
    int i;
    for (i = 0; i < len; i++)
    {
        seed = seed * 1103515245 + 12345;
        data[i] = seed >> 16;
    }
}

/* Netfilter gives a redirected connection another source port when the
 * translated tuple clashes with a conntrack entry that is still there (an
 * older connection to the proxy's port from the same port): the proxy then
 * sees that port as the peer, and its records name it, as its context and
 * getpeername() do.  Conntrack's original tuple (our port, the port we
 * connected to) is the only place that links the two; /proc/net/nf_conntrack
 * is there under Wine's Z: and readable where nftables rules can be made. */
static BOOL nat_remapped( unsigned int local_port, unsigned int src_port )
{
    char line[512], original[64], reply[32];
    const char *p;
    BOOL found = FALSE;
    FILE *file;

    if (!(file = fopen( "Z:\\proc\\net\\nf_conntrack", "r" ))) return FALSE;
    snprintf( original, sizeof(original), " sport=%u dport=%u ", local_port,
              ntohs( ((SOCKADDR_IN *)target->ai_addr)->sin_port ) );
    snprintf( reply, sizeof(reply), " dport=%u ", src_port );
    while (!found && fgets( line, sizeof(line), file ))
        found = strstr( line, " tcp " ) && (p = strstr( line, original )) && strstr( p + strlen( original ), reply );
    fclose( file );
    return found;
}

static void one_connection( LONG index )
{
    unsigned char *data = malloc( size ), *back = malloc( size + 1024 );
    char header[512], *newline, expected_line[256];
    SOCKADDR_STORAGE local;
    int len = sizeof(local), got = 0, ret, sent = 0, header_len, attempts = 0;
    unsigned int local_port, src_port;
    SOCKET s;

    s = socket( target->ai_family, SOCK_STREAM, IPPROTO_TCP );
    /* --retry: a proxy being restarted refuses for a moment, as a real
     * client would find; try again rather than count it */
    while (connect( s, target->ai_addr, target->ai_addrlen ))
    {
        if (!retry || WSAGetLastError() != WSAECONNREFUSED || ++attempts > 100)
        {
            failed( index, "connect failed: %d\n", WSAGetLastError() );
            goto done;
        }
        closesocket( s );
        Sleep( 100 );
        s = socket( target->ai_family, SOCK_STREAM, IPPROTO_TCP );
    }
    getsockname( s, (SOCKADDR *)&local, &len );
    local_port = ntohs( ((SOCKADDR_IN *)&local)->sin_port );
    fill( data, size, index * 2654435761u + local_port );

    while (sent < size)
    {
        int chunk = slow ? 512 : size - sent;
        if (chunk > size - sent) chunk = size - sent;
        if ((ret = send( s, (char *)data + sent, chunk, 0 )) <= 0)
        {
            failed( index, "send failed: %d\n", WSAGetLastError() );
            goto done;
        }
        sent += ret;
        if (slow) Sleep( 20 );
    }
    if (close_early)
    {
        InterlockedIncrement( &ok_count );
        goto done;
    }
    shutdown( s, SD_SEND );

    while ((ret = recv( s, (char *)back + got, size + 1024 - got, 0 )) > 0) got += ret;
    if (!(newline = memchr( back, '\n', got )))
    {
        failed( index, "no answer from the origin (%d bytes, error %d)\n", got, ret < 0 ? WSAGetLastError() : 0 );
        goto done;
    }
    header_len = newline - (char *)back + 1;
    snprintf( header, sizeof(header), "%.*s", header_len - 1, (char *)back );
    if (got - header_len < size && !memcmp( back + header_len, data, got - header_len ))
    {
        failed( index, "cut short: sent %d bytes, got %d back (error %d)\n", size, got - header_len,
                ret < 0 ? WSAGetLastError() : 0 );
        goto done;
    }
    if (got - header_len != size || memcmp( back + header_len, data, size ))
    {
        wrong( index, "the echo differs: sent %d bytes, got %d back (%s)\n", size, got - header_len, header );
        goto done;
    }
    if (expect)
    {
        snprintf( expected_line, sizeof(expected_line), "hops=%s ", expect );
        if (strncmp( header, expected_line, strlen( expected_line ) ))
        {
            wrong( index, "expected %s, the origin saw %s\n", expect, header );
            goto done;
        }
        if (strcmp( expect, "none" ) && (sscanf( strstr( header, "src_port=" ), "src_port=%u", &src_port ) != 1 ||
                                         src_port != local_port))
        {
            if (!nat_remapped( local_port, src_port ))
            {
                wrong( index, "the records name another connection: %s, local port %u\n", header, local_port );
                goto done;
            }
            InterlockedIncrement( &remapped_count );
            EnterCriticalSection( &log_section );
            printf( "client: connection %ld: netfilter gave local port %u the source port %u (conntrack), "
                    "which the records name\n", index, local_port, src_port );
            LeaveCriticalSection( &log_section );
        }
    }
    InterlockedIncrement( &ok_count );

done:
    closesocket( s );
    free( data );
    free( back );
}

static DWORD WINAPI worker( void *arg )
{
    LONG index;

    (void)arg;
    while ((index = InterlockedIncrement( &next_index )) <= count) one_connection( index );
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
        if (!strcmp( argv[i], "--count" ) && i + 1 < argc) count = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--parallel" ) && i + 1 < argc) parallel = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--size" ) && i + 1 < argc) size = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--expect" ) && i + 1 < argc) expect = argv[++i];
        else if (!strcmp( argv[i], "--close-early" )) close_early = 1;
        else if (!strcmp( argv[i], "--slow" )) slow = 1;
        else if (!strcmp( argv[i], "--retry" )) retry = 1;
        else if (!target && (target = resolve( argv[i], 0 ))) ;
        else
        {
            printf( "usage: client.exe ADDRESS:PORT [--count N] [--parallel P] [--size BYTES] [--expect HOPS] "
                    "[--close-early] [--slow] [--retry]\n" );
            return 2;
        }
    }
    if (!target || parallel < 1 || parallel > 256 || size < 1) return 2;

    for (i = 0; i < parallel; i++) threads[i] = CreateThread( NULL, 0, worker, NULL, 0, NULL );
    /* at most MAXIMUM_WAIT_OBJECTS at a time */
    for (i = 0; i < parallel; i += MAXIMUM_WAIT_OBJECTS)
        WaitForMultipleObjects( min( parallel - i, MAXIMUM_WAIT_OBJECTS ), threads + i, TRUE, INFINITE );
    printf( "client: %ld connections, %ld ok, %ld failed", count, ok_count, fail_count );
    if (remapped_count) printf( ", %ld source port(s) remapped by netfilter", remapped_count );
    printf( wrong_count ? " (%ld of them WRONG)\n" : "\n", wrong_count );
    return fail_count || ok_count != count;
}
