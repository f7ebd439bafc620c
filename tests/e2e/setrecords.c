/*
 * setrecords: try SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS with a blob that
 * another process was given (read as hex from a file), as is or with one
 * byte altered, and print what Winsock answers.
 *
 * usage: setrecords.exe HEXFILE [--tamper BYTE | --wait] [--udp ADDRESS:PORT]
 *
 * --wait waits up to 60 seconds for HEXFILE to be written, so that this
 * process can be started before the records it tries exist.
 *
 * --udp sends one datagram to ADDRESS:PORT instead, with WSASendMsg and
 * the blob as an IP(V6)_WFP_REDIRECT_RECORDS control message, as a UDP
 * proxy forwards a flow's first datagram; the answer is printed the same
 * way ("error N" when WSASendMsg fails, and then nothing is sent).
 */
#include <stdio.h>
#include <stdlib.h>
#include "wfp_sdk.h"
#include <mswsock.h>
#include "records_view.h"

/* the datagram with the blob as its records message */
static int send_datagram( const char *target, const unsigned char *blob, unsigned int len )
{
    static char payload[] = "setrecords";
    GUID send_guid = WSAID_WSASENDMSG;
    LPFN_WSASENDMSG sendmsg_func = NULL;
    ULONG_PTR control[(4096 + 64) / sizeof(ULONG_PTR)];
    WSACMSGHDR *cmsg = (WSACMSGHDR *)control;
    struct addrinfo *info;
    DWORD size, sent;
    WSABUF buf;
    WSAMSG msg;
    SOCKET s;
    int ret;

    if (!(info = resolve( target, 0 )))
    {
        printf( "setrecords: not an address: %s\n", target );
        return -2;
    }
    s = socket( info->ai_family, SOCK_DGRAM, IPPROTO_UDP );
    if (WSAIoctl( s, SIO_GET_EXTENSION_FUNCTION_POINTER, &send_guid, sizeof(send_guid), &sendmsg_func,
                  sizeof(sendmsg_func), &size, NULL, NULL ))
    {
        printf( "setrecords: no WSASendMsg: %d\n", WSAGetLastError() );
        return -2;
    }
    memset( control, 0, sizeof(control) );
    cmsg->cmsg_len = WSA_CMSG_LEN( len );
    cmsg->cmsg_level = info->ai_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    cmsg->cmsg_type = info->ai_family == AF_INET ? IP_WFP_REDIRECT_RECORDS : IPV6_WFP_REDIRECT_RECORDS;
    memcpy( WSA_CMSG_DATA( cmsg ), blob, len );

    memset( &msg, 0, sizeof(msg) );
    buf.buf = payload;
    buf.len = sizeof(payload) - 1;
    msg.name = info->ai_addr;
    msg.namelen = info->ai_addrlen;
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    msg.Control.buf = (char *)control;
    msg.Control.len = WSA_CMSG_SPACE( len );
    ret = sendmsg_func( s, &msg, 0, &sent, NULL, NULL );
    if (ret) ret = WSAGetLastError();
    closesocket( s );
    freeaddrinfo( info );
    return ret;
}

int main( int argc, char **argv )
{
    unsigned char blob[4096];
    char hex[8193];
    const char *udp = NULL;
    unsigned int len, value;
    int tamper = -1, wait = 0, ret, i;
    DWORD size;
    WSADATA data;
    SOCKET s;
    FILE *file;

    if (argc < 2) return 2;
    for (i = 2; i < argc; i++)
    {
        if (!strcmp( argv[i], "--wait" )) wait = 1;
        else if (!strcmp( argv[i], "--tamper" ) && i + 1 < argc) tamper = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--udp" ) && i + 1 < argc) udp = argv[++i];
        else return 2;
    }
    if (wait)
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
    for (len = 0; len < sizeof(blob) && sscanf( hex + 2 * len, "%2x", &value ) == 1; len++) blob[len] = value;
    if (tamper >= 0 && (unsigned int)tamper < len) blob[tamper] ^= 0x01;

    WSAStartup( MAKEWORD(2, 2), &data );
    if (udp)
    {
        if ((ret = send_datagram( udp, blob, len )) == -2) return 2;
        printf( "setrecords: %u bytes%s, WSASendMsg to %s: %s %d\n", len, tamper >= 0 ? " (one byte altered)" : "",
                udp, ret ? "error" : "accepted", ret );
    }
    else
    {
        s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
        ret = WSAIoctl( s, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, blob, len, NULL, 0, &size, NULL, NULL );
        printf( "setrecords: %u bytes%s: %s %d\n", len, tamper >= 0 ? " (one byte altered)" : "",
                ret ? "error" : "accepted", ret ? WSAGetLastError() : 0 );
        closesocket( s );
    }
    WSACleanup();
    return 0;
}
