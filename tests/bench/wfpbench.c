/*
 * wfpbench: what the WFP redirect ioctls cost, measured against an existing
 * socket option that also takes a round trip to the wineserver
 * (getsockopt(SO_RCVBUF)), side by side in one run.  The queries are
 * measured twice: on a socket accepted before anybody asked on its port,
 * which the wineserver answers, and on one accepted after, which ws2_32
 * answers from what it got with the accept.
 *
 * usage: wfpbench.exe [ITERATIONS]
 * WFP_TEST_REDIRECT names the redirector, as for the conformance tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wfp_sdk.h"

#define ROUNDS 7

enum { OP_RCVBUF, OP_QUERY_RECORDS, OP_QUERY_CONTEXT, OP_SET, OP_ENDPOINT, OP_ANSWERED_RECORDS,
       OP_ANSWERED_CONTEXT, OP_COUNT };
static const char *op_names[OP_COUNT] =
{
    "getsockopt(SO_RCVBUF)", "QUERY_RECORDS", "QUERY_CONTEXT", "SET_RECORDS", "QUERY_ALE_ENDPOINT_HANDLE",
    "QUERY_RECORDS by ws2_32", "QUERY_CONTEXT by ws2_32",
};
static const char *op_keys[OP_COUNT] =
{
    "rcvbuf", "query_records", "query_context", "set_records", "endpoint", "answered_records", "answered_context",
};

static SOCKET accepted, answered, outbound;
static char records[2048];
static DWORD records_size;

static int run_op( int op )
{
    char buffer[2048];
    DWORD size;
    int value, len;

    switch (op)
    {
    case OP_RCVBUF:
        len = sizeof(value);
        return getsockopt( accepted, SOL_SOCKET, SO_RCVBUF, (char *)&value, &len );
    case OP_QUERY_RECORDS:
        return WSAIoctl( accepted, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, buffer, sizeof(buffer),
                         &size, NULL, NULL );
    case OP_QUERY_CONTEXT:
        return WSAIoctl( accepted, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, buffer, sizeof(buffer),
                         &size, NULL, NULL );
    case OP_SET:
        return WSAIoctl( outbound, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, records_size, NULL, 0,
                         &size, NULL, NULL );
    case OP_ENDPOINT:
        return WSAIoctl( accepted, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, buffer, 8, &size, NULL, NULL );
    case OP_ANSWERED_RECORDS:
        return WSAIoctl( answered, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, buffer, sizeof(buffer),
                         &size, NULL, NULL );
    case OP_ANSWERED_CONTEXT:
        return WSAIoctl( answered, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, buffer, sizeof(buffer),
                         &size, NULL, NULL );
    }
    return -1;
}

static int compare( const void *a, const void *b )
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main( int argc, char **argv )
{
    int iterations = argc > 1 ? atoi( argv[1] ) : 20000;
    char text[256], v4[64], v6[64];
    struct sockaddr_in orig, local;
    unsigned int orig_port, proxy_port;
    double ns[OP_COUNT][ROUNDS], median[OP_COUNT];
    LARGE_INTEGER freq, start, end;
    SOCKET listener, client, client2;
    WSADATA data;
    int op, round, i;

    WSAStartup( MAKEWORD(2, 2), &data );
    if (!GetEnvironmentVariableA( "WFP_TEST_REDIRECT", text, sizeof(text) ) ||
        sscanf( text, "%63s %63s %u %u", v4, v6, &orig_port, &proxy_port ) != 4)
    {
        printf( "wfpbench: WFP_TEST_REDIRECT is not set; a redirected connection is needed\n" );
        return 2;
    }
    memset( &orig, 0, sizeof(orig) );
    orig.sin_family = AF_INET;
    orig.sin_addr.s_addr = inet_addr( v4 );
    orig.sin_port = htons( orig_port );
    memset( &local, 0, sizeof(local) );
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    local.sin_port = htons( proxy_port );

    listener = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (bind( listener, (struct sockaddr *)&local, sizeof(local) ) || listen( listener, 1 )) return 1;
    client = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (connect( client, (struct sockaddr *)&orig, sizeof(orig) )) return 1;
    accepted = accept( listener, NULL, NULL );
    if (WSAIoctl( accepted, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                  &records_size, NULL, NULL ))
    {
        printf( "wfpbench: the connection has no records (error %d)\n", WSAGetLastError() );
        return 1;
    }
    /* the port has been asked about now */
    client2 = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (connect( client2, (struct sockaddr *)&orig, sizeof(orig) )) return 1;
    answered = accept( listener, NULL, NULL );
    outbound = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );

    for (op = 0; op < OP_COUNT; op++)
        if (run_op( op ))
        {
            printf( "wfpbench: %s fails with %d\n", op_names[op], WSAGetLastError() );
            return 1;
        }

    QueryPerformanceFrequency( &freq );
    for (round = 0; round < ROUNDS; round++)
    {
        for (op = 0; op < OP_COUNT; op++)
        {
            QueryPerformanceCounter( &start );
            for (i = 0; i < iterations; i++) run_op( op );
            QueryPerformanceCounter( &end );
            ns[op][round] = (double)(end.QuadPart - start.QuadPart) * 1e9 / freq.QuadPart / iterations;
        }
    }

    printf( "wfpbench: %d iterations x %d rounds, median ns per call, records of %lu bytes\n",
            iterations, ROUNDS, records_size );
    for (op = 0; op < OP_COUNT; op++)
    {
        qsort( ns[op], ROUNDS, sizeof(double), compare );
        median[op] = ns[op][ROUNDS / 2];
    }
    for (op = 0; op < OP_COUNT; op++)
        printf( "  %-28s %8.0f ns   %.4fx getsockopt(SO_RCVBUF)\n", op_names[op], median[op],
                median[op] / median[OP_RCVBUF] );
    for (op = 0; op < OP_COUNT; op++)
        printf( "bench: %s_ns=%.0f %s_ratio=%.4f\n", op_keys[op], median[op], op_keys[op],
                median[op] / median[OP_RCVBUF] );

    closesocket( client );
    closesocket( client2 );
    closesocket( accepted );
    closesocket( answered );
    closesocket( listener );
    closesocket( outbound );
    WSACleanup();
    return 0;
}
