/*
 * origin: the server a proxied connection finally reaches.  For each
 * connection it reports, in a first line to the client and in its log,
 * what it learned about the connection: the hops of its redirect records
 * (see records_view.h) and the original source of the first hop; then it
 * echoes everything the client sends.
 *
 * usage: origin.exe [--accept-delay MS] [--count N] ADDRESS:PORT...
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"
#include "records_view.h"

static int accept_delay;
static CRITICAL_SECTION log_section;

static DWORD WINAPI serve( void *arg )
{
    SOCKET s = (SOCKET)(ULONG_PTR)arg;
    unsigned char records[2048];
    struct hop_view hops[16];
    char text[256], line[512], buffer[16384], peer_text[64];
    SOCKADDR_STORAGE peer;
    DWORD size, peer_size = sizeof(peer_text);
    int count = 0, len = sizeof(peer);

    getpeername( s, (SOCKADDR *)&peer, &len );
    if (WSAAddressToStringA( (SOCKADDR *)&peer, len, NULL, peer_text, &peer_size )) strcpy( peer_text, "?" );
    if (!WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records), &size, NULL, NULL ))
        count = records_view( records, size, hops, 16 );
    hops_string( hops, count > 0 ? count : 0, text, sizeof(text) );
    snprintf( line, sizeof(line), "hops=%s src_port=%u\n", text, count > 0 ? hops[0].src_port : 0 );
    send( s, line, strlen( line ), 0 );

    EnterCriticalSection( &log_section );
    printf( "origin: connection from %s: %s", peer_text, line );
    fflush( stdout );
    LeaveCriticalSection( &log_section );

    while ((len = recv( s, buffer, sizeof(buffer), 0 )) > 0)
        if (send( s, buffer, len, 0 ) != len) break;
    shutdown( s, SD_SEND );
    closesocket( s );
    return 0;
}

int main( int argc, char **argv )
{
    SOCKET listeners[8];
    int count = 0, i, max = -1;
    WSADATA data;

    setvbuf( stdout, NULL, _IONBF, 0 );
    InitializeCriticalSection( &log_section );
    WSAStartup( MAKEWORD(2, 2), &data );
    for (i = 1; i < argc; i++)
    {
        struct addrinfo *info;

        if (!strcmp( argv[i], "--accept-delay" ) && i + 1 < argc) { accept_delay = atoi( argv[++i] ); continue; }
        if (!strcmp( argv[i], "--count" ) && i + 1 < argc) { max = atoi( argv[++i] ); continue; }
        if (count == 8 || !(info = resolve( argv[i], 1 )))
        {
            printf( "usage: origin.exe [--accept-delay MS] [--count N] ADDRESS:PORT...\n" );
            return 2;
        }
        listeners[count] = socket( info->ai_family, SOCK_STREAM, IPPROTO_TCP );
        if (bind( listeners[count], info->ai_addr, info->ai_addrlen ) || listen( listeners[count], SOMAXCONN ))
        {
            printf( "origin: cannot listen on %s: %d\n", argv[i], WSAGetLastError() );
            return 1;
        }
        freeaddrinfo( info );
        count++;
    }
    printf( "origin: listening\n" );

    while (max)
    {
        fd_set set;
        FD_ZERO( &set );
        for (i = 0; i < count; i++) FD_SET( listeners[i], &set );
        if (select( 0, &set, NULL, NULL, NULL ) <= 0) break;
        if (accept_delay) Sleep( accept_delay );
        for (i = 0; i < count && max; i++)
        {
            u_long nonblocking = 1;
            SOCKET s;
            HANDLE thread;

            if (!FD_ISSET( listeners[i], &set )) continue;
            /* take every connection that is waiting */
            ioctlsocket( listeners[i], FIONBIO, &nonblocking );
            while (max && (s = accept( listeners[i], NULL, NULL )) != INVALID_SOCKET)
            {
                nonblocking = 0;
                ioctlsocket( s, FIONBIO, &nonblocking );
                if ((thread = CreateThread( NULL, 0, serve, (void *)(ULONG_PTR)s, 0, NULL ))) CloseHandle( thread );
                else closesocket( s );
                if (max > 0) max--;
            }
        }
    }
    Sleep( 1000 );
    return 0;
}
