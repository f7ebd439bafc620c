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
 * It runs unchanged on Windows with a WFP callout that redirects to it.
 *
 * usage: wfpproxy.exe [--name NAME] [--quiet] [--dump-records FILE] [--max N] PORT...
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>

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

static const char *name = "wfpproxy";
static int quiet;
static const char *dump_path;
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

static void dump_records( const char *records, DWORD size )
{
    FILE *file;
    DWORD i;

    EnterCriticalSection( &log_section );
    if ((file = fopen( dump_path, "a" )))
    {
        for (i = 0; i < size; i++) fprintf( file, "%02x", (unsigned char)records[i] );
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
        dst = context[0];
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
    if (dump_path) dump_records( records, records_size );

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

int main( int argc, char **argv )
{
    SOCKET listeners[16];
    int count = 0, i, max = -1;
    WSADATA data;

    InitializeCriticalSection( &log_section );
    WSAStartup( MAKEWORD(2, 2), &data );

    for (i = 1; i < argc; i++)
    {
        if (!strcmp( argv[i], "--name" ) && i + 1 < argc) name = argv[++i];
        else if (!strcmp( argv[i], "--quiet" )) quiet = 1;
        else if (!strcmp( argv[i], "--dump-records" ) && i + 1 < argc) dump_path = argv[++i];
        else if (!strcmp( argv[i], "--max" ) && i + 1 < argc) max = atoi( argv[++i] );
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
            fprintf( stderr, "usage: wfpproxy.exe [--name NAME] [--quiet] [--dump-records FILE] [--max N] PORT...\n" );
            return 2;
        }
    }
    if (!count)
    {
        fprintf( stderr, "usage: wfpproxy.exe [--name NAME] [--quiet] [--dump-records FILE] [--max N] PORT...\n" );
        return 2;
    }
    /* even with --quiet: the one line that says it is ready */
    printf( "[%s] listening on %d port(s)\n", name, count );
    fflush( stdout );

    while (max)
    {
        fd_set set;
        FD_ZERO( &set );
        for (i = 0; i < count; i++) FD_SET( listeners[i], &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) break;
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
