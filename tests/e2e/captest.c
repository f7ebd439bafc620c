/*
 * captest: the cap on one process's connections in flight with redirect
 * records.  The harness adds an in-Wine rule that sends ADDRESS:PORT to
 * 127.0.0.1:LISTEN_PORT, where this program listens and never accepts.
 *
 *   captest.exe fill ADDRESS:PORT LISTEN_PORT
 *       connects without blocking until connect() fails; prints how many
 *       went through and the error (the cap gives WSAENOBUFS), then
 *       "holding" and keeps them all in flight until it is killed
 *   captest.exe one ADDRESS:PORT LISTEN_PORT
 *       one redirected connection, accepted here: its records must be
 *       there although another process is at its cap
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wfp_sdk.h"

#define MAX_SOCKETS 8192

static SOCKET listen_on( int port )
{
    struct sockaddr_in addr;
    SOCKET s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );

    memset( &addr, 0, sizeof(addr) );
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    addr.sin_port = htons( port );
    if (bind( s, (SOCKADDR *)&addr, sizeof(addr) ) || listen( s, SOMAXCONN ))
    {
        printf( "captest: cannot listen on port %d (error %d)\n", port, WSAGetLastError() );
        exit( 2 );
    }
    return s;
}

static int fill( const struct sockaddr_in *target )
{
    static SOCKET sockets[MAX_SOCKETS];
    u_long nonblocking = 1;
    int count, error = 0;

    for (count = 0; count < MAX_SOCKETS; count++)
    {
        sockets[count] = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
        if (sockets[count] == INVALID_SOCKET)
        {
            error = WSAGetLastError();
            printf( "captest: socket() failed after %d connections (error %d)\n", count, error );
            return 1;
        }
        ioctlsocket( sockets[count], FIONBIO, &nonblocking );
        if (connect( sockets[count], (const SOCKADDR *)target, sizeof(*target) ) &&
            (error = WSAGetLastError()) != WSAEWOULDBLOCK)
            break;
        error = 0;
    }
    printf( "captest: %d connections in flight, then connect() failed with error %d\n", count, error );
    printf( "captest: holding\n" );
    Sleep( 120000 );
    return 0;
}

static int one( const struct sockaddr_in *target, SOCKET listener )
{
    char records[2048];
    DWORD size = 0;
    SOCKET c = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP ), a;

    if (connect( c, (const SOCKADDR *)target, sizeof(*target) ))
    {
        printf( "captest: connect failed (error %d)\n", WSAGetLastError() );
        return 1;
    }
    if ((a = accept( listener, NULL, NULL )) == INVALID_SOCKET)
    {
        printf( "captest: accept failed (error %d)\n", WSAGetLastError() );
        return 1;
    }
    if (WSAIoctl( a, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records), &size,
                  NULL, NULL ))
    {
        printf( "captest: the accepted connection has no records (error %#x)\n", WSAGetLastError() );
        return 1;
    }
    printf( "captest: the accepted connection has %lu bytes of records\n", size );
    return 0;
}

int main( int argc, char **argv )
{
    struct addrinfo hints, *info;
    struct sockaddr_in target;
    char host[64], *colon;
    WSADATA data;
    SOCKET listener;

    setvbuf( stdout, NULL, _IONBF, 0 );
    if (argc != 4 || (strcmp( argv[1], "fill" ) && strcmp( argv[1], "one" )))
    {
        fprintf( stderr, "usage: captest.exe fill|one ADDRESS:PORT LISTEN_PORT\n" );
        return 2;
    }
    snprintf( host, sizeof(host), "%s", argv[2] );
    if (!(colon = strrchr( host, ':' ))) return 2;
    *colon = 0;
    WSAStartup( MAKEWORD(2, 2), &data );
    memset( &hints, 0, sizeof(hints) );
    hints.ai_family = AF_INET;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo( host, colon + 1, &hints, &info )) return 2;
    memcpy( &target, info->ai_addr, sizeof(target) );
    freeaddrinfo( info );

    listener = listen_on( atoi( argv[3] ) );
    if (!strcmp( argv[1], "fill" )) return fill( &target );
    return one( &target, listener );
}
