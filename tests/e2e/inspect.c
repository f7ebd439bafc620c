/*
 * inspect: accept connections and print what a transparent proxy learns
 * about each through the documented Winsock API: the redirect records,
 * the redirect context and SO_ORIGINAL_DST.  Each client gets that as a
 * one-line answer.
 *
 * usage: inspect.exe listen PORT COUNT
 *        inspect.exe connect ADDRESS PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"

static const char *addr_string( const SOCKADDR *addr, int len, char *buf, DWORD size )
{
    if (WSAAddressToStringA( (SOCKADDR *)addr, len, NULL, buf, &size )) strcpy( buf, "?" );
    return buf;
}

static int serve( unsigned short port, int count )
{
    struct sockaddr_in6 any;
    SOCKET listener, s;
    DWORD v6only = 0;

    memset( &any, 0, sizeof(any) );
    any.sin6_family = AF_INET6;
    any.sin6_port = htons( port );
    listener = socket( AF_INET6, SOCK_STREAM, IPPROTO_TCP );
    setsockopt( listener, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&v6only, sizeof(v6only) );
    if (bind( listener, (struct sockaddr *)&any, sizeof(any) ) || listen( listener, 8 ))
    {
        printf( "inspect: cannot listen on port %u: %d\n", port, WSAGetLastError() );
        return 1;
    }
    printf( "inspect: listening on port %u\n", port );
    fflush( stdout );

    while (count--)
    {
        SOCKADDR_STORAGE peer, dst, ctx[2];
        char records[2048], line[512], a[64], b[64];
        DWORD size, i;
        int len = sizeof(peer);

        if ((s = accept( listener, (SOCKADDR *)&peer, &len )) == INVALID_SOCKET) return 1;
        printf( "inspect: accepted a connection from %s\n", addr_string( (SOCKADDR *)&peer, len, a, sizeof(a) ) );

        if (WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                      &size, NULL, NULL ))
            printf( "inspect:   redirect records: none (error %#x)\n", WSAGetLastError() );
        else
        {
            printf( "inspect:   redirect records: %lu bytes:", size );
            for (i = 0; i < size && i < 16; i++) printf( " %02x", (unsigned char)records[i] );
            printf( " ...\n" );
        }

        if (WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, ctx, sizeof(ctx), &size, NULL, NULL ))
            printf( "inspect:   redirect context: none (error %#x)\n", WSAGetLastError() );
        else
            printf( "inspect:   redirect context: %lu bytes: original destination %s, original source %s\n", size,
                    addr_string( (SOCKADDR *)&ctx[0], sizeof(ctx[0]), a, sizeof(a) ),
                    addr_string( (SOCKADDR *)&ctx[1], sizeof(ctx[1]), b, sizeof(b) ) );

        len = sizeof(dst);
        if (getsockopt( s, SOL_IPV6, IP6T_SO_ORIGINAL_DST, (char *)&dst, &len ))
        {
            printf( "inspect:   SO_ORIGINAL_DST: none (error %#x)\n", WSAGetLastError() );
            strcpy( a, "none" );
        }
        else printf( "inspect:   SO_ORIGINAL_DST: %s\n", addr_string( (SOCKADDR *)&dst, len, a, sizeof(a) ) );

        snprintf( line, sizeof(line), "you meant to reach %s\n", a );
        send( s, line, strlen( line ), 0 );
        closesocket( s );
        fflush( stdout );
    }
    closesocket( listener );
    return 0;
}

static int client( const char *host, const char *port )
{
    struct addrinfo hints, *info;
    char line[512];
    SOCKET s;
    int len;

    memset( &hints, 0, sizeof(hints) );
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo( host, port, &hints, &info )) return 1;
    s = socket( info->ai_family, SOCK_STREAM, IPPROTO_TCP );
    if (connect( s, info->ai_addr, info->ai_addrlen ))
    {
        printf( "client: cannot connect to %s port %s: %d\n", host, port, WSAGetLastError() );
        return 1;
    }
    len = recv( s, line, sizeof(line) - 1, 0 );
    line[len > 0 ? len : 0] = 0;
    printf( "client: connected to %s port %s, the server says: %s", host, port, line );
    closesocket( s );
    freeaddrinfo( info );
    return 0;
}

int main( int argc, char **argv )
{
    WSADATA data;

    setvbuf( stdout, NULL, _IONBF, 0 );
    WSAStartup( MAKEWORD(2, 2), &data );
    if (argc == 4 && !strcmp( argv[1], "listen" )) return serve( atoi( argv[2] ), atoi( argv[3] ) );
    if (argc == 4 && !strcmp( argv[1], "connect" )) return client( argv[2], argv[3] );
    printf( "usage: inspect.exe listen PORT COUNT | connect ADDRESS PORT\n" );
    return 2;
}
