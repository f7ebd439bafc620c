/*
 * repro: the wineserver crash of issue 11, in as few calls as it takes
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/*
 * With the rule "tcp 127.0.0.1:9999 -> 127.0.0.1:15001" in the prefix:
 *
 *     wine-wfp wfprules add repro tcp 127.0.0.1:9999 -\> 127.0.0.1:15001
 *     wine-wfp repro.exe
 *
 *   1. listen on 127.0.0.1:15001 and connect to 127.0.0.1:9999, which the
 *      rule sends to the listener;
 *   2. accept() the connection, which is already there, and query its
 *      records: this makes the wineserver answer later accepts on the
 *      port at accept time;
 *   3. a thread connects to 9999 again after one second, while the main
 *      thread is already blocked in accept(); the accept then completes
 *      from the wineserver's poll loop, outside any request;
 *   4. query the records of the second connection.
 * Both queries must succeed.  Wine-wfp 0.5's wineserver crashes in step 3
 * (SIGSEGV in init_hop(), which read current->process with current NULL).
 *
 * Exit status 0 when both connections carry their records.
 */

#include <stdio.h>
#include "wfp_sdk.h"

static struct sockaddr_in redirected;

static DWORD WINAPI late_connect( void *arg )
{
    SOCKET s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );

    Sleep( 1000 );
    if (connect( s, (SOCKADDR *)&redirected, sizeof(redirected) ))
        printf( "repro: the second connect failed: error %d\n", WSAGetLastError() );
    *(SOCKET *)arg = s;
    return 0;
}

static int query( SOCKET s, const char *which )
{
    BYTE records[2048];
    DWORD size = 0;

    if (WSAIoctl( s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records), &size,
                  NULL, NULL ))
    {
        printf( "repro: %s connection: records = error %d, %lu bytes\n", which, WSAGetLastError(), size );
        return 1;
    }
    printf( "repro: %s connection: records = 0, %lu bytes\n", which, size );
    return 0;
}

int main( void )
{
    struct sockaddr_in addr;
    SOCKET listener, client, late = INVALID_SOCKET, first, second;
    HANDLE thread;
    WSADATA data;
    int failures = 0;

    setvbuf( stdout, NULL, _IONBF, 0 );
    WSAStartup( MAKEWORD(2, 2), &data );
    memset( &addr, 0, sizeof(addr) );
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    addr.sin_port = htons( 15001 );
    redirected = addr;
    redirected.sin_port = htons( 9999 );

    listener = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (bind( listener, (SOCKADDR *)&addr, sizeof(addr) ) || listen( listener, SOMAXCONN ))
    {
        printf( "repro: cannot listen on 127.0.0.1:15001: error %d\n", WSAGetLastError() );
        return 2;
    }
    client = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (connect( client, (SOCKADDR *)&redirected, sizeof(redirected) ))
    {
        printf( "repro: connect to 127.0.0.1:9999 failed: error %d (is the rule there?)\n", WSAGetLastError() );
        return 2;
    }
    first = accept( listener, NULL, NULL );
    failures += query( first, "first" );

    thread = CreateThread( NULL, 0, late_connect, &late, 0, NULL );
    printf( "repro: blocked in accept() before the second connection comes\n" );
    second = accept( listener, NULL, NULL );
    if (second == INVALID_SOCKET)
    {
        printf( "repro: the second accept failed: error %d\n", WSAGetLastError() );
        return 1;
    }
    failures += query( second, "second" );
    WaitForSingleObject( thread, INFINITE );

    closesocket( second );
    closesocket( late );
    closesocket( first );
    closesocket( client );
    closesocket( listener );
    printf( "repro: %s\n", failures ? "FAILED" : "both connections carry their records" );
    return failures != 0;
}
