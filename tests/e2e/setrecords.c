/*
 * setrecords: try SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS with a blob that
 * another process was given (read as hex from a file), as is or with one
 * byte altered, and print what Winsock answers.
 *
 * usage: setrecords.exe HEXFILE [--tamper BYTE | --wait]
 *
 * --wait waits up to 60 seconds for HEXFILE to be written, so that this
 * process can be started before the records it tries exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"

int main( int argc, char **argv )
{
    unsigned char blob[4096];
    char hex[8193];
    unsigned int len, value;
    int tamper = -1, ret;
    DWORD size;
    WSADATA data;
    SOCKET s;
    FILE *file;

    if (argc < 2) return 2;
    if (argc == 3 && !strcmp( argv[2], "--wait" ))
    {
        printf( "setrecords: process %#lx waits for %s\n", GetCurrentProcessId(), argv[1] );
        fflush( stdout );
        for (len = 0; len < 600 && !((file = fopen( argv[1], "r" )) && fgets( hex, sizeof(hex), file )); len++)
        {
            if (file) fclose( file );
            file = NULL;
            Sleep( 100 );
        }
        if (!file) return 2;
    }
    else if (!(file = fopen( argv[1], "r" )) || !fgets( hex, sizeof(hex), file )) return 2;
    fclose( file );
    if (argc == 4 && !strcmp( argv[2], "--tamper" )) tamper = atoi( argv[3] );
    for (len = 0; len < sizeof(blob) && sscanf( hex + 2 * len, "%2x", &value ) == 1; len++) blob[len] = value;
    if (tamper >= 0 && (unsigned int)tamper < len) blob[tamper] ^= 0x01;

    WSAStartup( MAKEWORD(2, 2), &data );
    s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    ret = WSAIoctl( s, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, blob, len, NULL, 0, &size, NULL, NULL );
    printf( "setrecords: %u bytes%s: %s %d\n", len, tamper >= 0 ? " (one byte altered)" : "",
            ret ? "error" : "accepted", ret ? WSAGetLastError() : 0 );
    closesocket( s );
    WSACleanup();
    return 0;
}
