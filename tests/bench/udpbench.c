/*
 * udpbench: datagrams per second through a UDP relay written as Windows
 * proxies are, with IP_WFP_REDIRECT_RECORDS and IP_WFP_REDIRECT_CONTEXT on
 * against the same relay without them, side by side in one run.
 *
 * This process is client, relay and echo at once, in one thread, so that
 * nothing but the calls themselves is measured.  One exchange: a client
 * socket sends a datagram to the relay's socket; the relay reads it with
 * WSARecvMsg and a 2048-byte control buffer (Envoy's and ebpf-for-windows'
 * size), looks at the control messages, and forwards the datagram with
 * WSASendMsg from its outbound socket to the echo; the echo sends it back,
 * the relay reads the reply on its outbound socket and sends it to the
 * client from the socket the client sent to; the client checks the bytes.
 * A rate counts the client's datagrams, each relayed both ways.
 *
 *   on        the relay's socket has both options on: Linux gives it
 *             IP_ORIGDSTADDR control data with every datagram, and ntdll
 *             asks the wineserver once per new flow
 *   off       the same relay, a socket without the options
 *   records   options on, and each client flow's first datagram comes
 *             with records (WSASendMsg, as a proxy before this one in a
 *             chain sends them); the relay gets them as control data and
 *             forwards them with the flow's first datagram, as wfpproxy
 *             does.  The records are a redirected TCP connection's,
 *             which needs WFP_TEST_REDIRECT (the redirect of bench.sh's
 *             network namespace, as for wfpbench); without it this case
 *             is left out.
 *
 * Two cases: FLOWS new client sockets each round, of ports that no
 * recent round used (so that every flow is new to the relay and its
 * per-flow cost is counted), COUNT datagrams each in turn; and one long flow of
 * LONG datagrams (on and off only).  Each round runs the variants back to
 * back, in alternating order, and a ratio is the median of the rounds'
 * ratios, which the machine's drift disturbs less.
 *
 * usage: udpbench.exe FLOWS COUNT LONG ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wfp_sdk.h"
#include <mswsock.h>

#define SIZE        256        /* bytes per datagram */
#define BUFFER_SIZE 65536      /* the relay reads any datagram whole */
#define CONTROL     2048
#define MAX_ROUNDS  64
/* the clients' ports, in turn: far more than the 256 flows per socket
 * that ntdll remembers */
#define CLIENT_PORT_BASE 20000
#define CLIENT_PORT_END  32768

enum variant { V_ON, V_OFF, V_RECORDS, V_COUNT };

struct relay
{
    SOCKET in, out;                /* the socket clients send to; the one to the echo */
    SOCKADDR_IN addr;              /* of in */
    LONG records_msgs, context_msgs;
};

static LPFN_WSARECVMSG recvmsg_func;
static LPFN_WSASENDMSG sendmsg_func;
static struct relay relays[V_COUNT];
static SOCKET echo;
static SOCKADDR_IN echo_addr;
static char records[2048];
static DWORD records_size;
static unsigned int next_port;
static char relay_buffer[BUFFER_SIZE];

static void fail( const char *what )
{
    printf( "udpbench: %s failed: %d\n", what, WSAGetLastError() );
    exit( 1 );
}

static void addr( SOCKADDR_IN *in, ULONG ip, unsigned short port )
{
    memset( in, 0, sizeof(*in) );
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl( ip );
    in->sin_port = htons( port );
}

/* a UDP socket bound to 127.0.0.1 and port (0: any), with a timeout:
 * nothing should be lost here, but a lost datagram must not hang the
 * bench.  INVALID_SOCKET if the port is taken. */
static SOCKET udp_socket( unsigned short port, SOCKADDR_IN *bound )
{
    DWORD timeout = 5000;
    BOOL off = FALSE;
    SOCKADDR_IN in;
    int len = sizeof(in);
    DWORD bytes;
    SOCKET s = socket( AF_INET, SOCK_DGRAM, IPPROTO_UDP );

    if (s == INVALID_SOCKET) fail( "socket" );
    addr( &in, INADDR_LOOPBACK, port );
    if (bind( s, (SOCKADDR *)&in, sizeof(in) ))
    {
        if (!port || WSAGetLastError() != WSAEADDRINUSE) fail( "bind" );
        closesocket( s );
        return INVALID_SOCKET;
    }
    if (bound && getsockname( s, (SOCKADDR *)bound, &len )) fail( "getsockname" );
    setsockopt( s, SOL_SOCKET, SO_RCVTIMEO, (char *)&timeout, sizeof(timeout) );
    WSAIoctl( s, SIO_UDP_CONNRESET, &off, sizeof(off), NULL, 0, &bytes, NULL, NULL );
    return s;
}

/* A client socket of a port no recent round used, so that its flow is new
 * to the relay: ports in turn from below Linux's ephemeral range, where
 * nothing else takes them.  (A flow is the peer's address and port and
 * the local address; Wine binds a UDP socket given a local address to
 * the wildcard and the address's interface, so all clients send from
 * 127.0.0.1, and only the port tells them apart.) */
static SOCKET client_socket( void )
{
    SOCKET s;
    int tries;

    for (tries = 0; tries < CLIENT_PORT_END - CLIENT_PORT_BASE; tries++)
    {
        if (next_port < CLIENT_PORT_BASE || next_port >= CLIENT_PORT_END) next_port = CLIENT_PORT_BASE;
        if ((s = udp_socket( next_port++, NULL )) != INVALID_SOCKET) return s;
    }
    printf( "udpbench: no free port for a client between %u and %u\n", CLIENT_PORT_BASE, CLIENT_PORT_END );
    exit( 1 );
}

/* WSASendMsg with a records message, as a proxy sends a flow's first datagram */
static int send_with_records( SOCKET s, const char *data, DWORD len, const SOCKADDR_IN *to,
                              const char *blob, DWORD blob_size )
{
    ULONG_PTR control[(CONTROL + 64) / sizeof(ULONG_PTR)];
    WSACMSGHDR *cmsg = (WSACMSGHDR *)control;
    WSABUF buf;
    WSAMSG msg;
    DWORD sent;

    memset( control, 0, sizeof(control) );
    cmsg->cmsg_len = WSA_CMSG_LEN( blob_size );
    cmsg->cmsg_level = IPPROTO_IP;
    cmsg->cmsg_type = IP_WFP_REDIRECT_RECORDS;
    memcpy( WSA_CMSG_DATA( cmsg ), blob, blob_size );
    memset( &msg, 0, sizeof(msg) );
    buf.buf = (char *)data;
    buf.len = len;
    msg.name = (SOCKADDR *)to;
    msg.namelen = sizeof(*to);
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    msg.Control.buf = (char *)control;
    msg.Control.len = WSA_CMSG_SPACE( blob_size );
    return sendmsg_func( s, &msg, 0, &sent, NULL, NULL );
}

/* One datagram from client through the relay to the echo and back. */
static void exchange( struct relay *relay, SOCKET client, unsigned int seq, BOOL first_with_records )
{
    ULONG_PTR control[CONTROL / sizeof(ULONG_PTR)];
    char data[SIZE], reply[SIZE + 1];
    const char *got_records = NULL;
    DWORD got_records_size = 0, bytes;
    SOCKADDR_STORAGE from, client_addr;
    WSACMSGHDR *cmsg;
    WSABUF buf;
    WSAMSG msg;
    int len, from_len, client_len;

    memset( data, 'x', SIZE );
    memcpy( data, &seq, sizeof(seq) );
    memcpy( data + 4, &client, sizeof(client) );

    /* the client */
    if (first_with_records)
    {
        if (send_with_records( client, data, SIZE, &relay->addr, records, records_size ))
            fail( "the client's WSASendMsg with records" );
    }
    else if (sendto( client, data, SIZE, 0, (SOCKADDR *)&relay->addr, sizeof(relay->addr) ) != SIZE)
        fail( "the client's sendto" );

    /* the relay */
    memset( &msg, 0, sizeof(msg) );
    buf.buf = relay_buffer;
    buf.len = BUFFER_SIZE;
    msg.name = (SOCKADDR *)&client_addr;
    msg.namelen = sizeof(client_addr);
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    msg.Control.buf = (char *)control;
    msg.Control.len = sizeof(control);
    if (recvmsg_func( relay->in, &msg, &bytes, NULL, NULL )) fail( "the relay's WSARecvMsg" );
    if (bytes != SIZE) fail( "the relay's WSARecvMsg (size)" );
    client_len = msg.namelen;
    for (cmsg = WSA_CMSG_FIRSTHDR( &msg ); cmsg; cmsg = WSA_CMSG_NXTHDR( &msg, cmsg ))
    {
        if (cmsg->cmsg_level != IPPROTO_IP) continue;
        if (cmsg->cmsg_type == IP_WFP_REDIRECT_RECORDS)
        {
            got_records = (const char *)WSA_CMSG_DATA( cmsg );
            got_records_size = cmsg->cmsg_len - WSA_CMSG_LEN( 0 );
            relay->records_msgs++;
        }
        else if (cmsg->cmsg_type == IP_WFP_REDIRECT_CONTEXT) relay->context_msgs++;
    }
    if (got_records)
    {
        if (send_with_records( relay->out, relay_buffer, bytes, &echo_addr, got_records, got_records_size ))
            fail( "the relay's WSASendMsg with records" );
    }
    else
    {
        memset( &msg, 0, sizeof(msg) );
        buf.len = bytes;
        msg.name = (SOCKADDR *)&echo_addr;
        msg.namelen = sizeof(echo_addr);
        msg.lpBuffers = &buf;
        msg.dwBufferCount = 1;
        if (sendmsg_func( relay->out, &msg, 0, &bytes, NULL, NULL )) fail( "the relay's WSASendMsg" );
    }

    /* the echo */
    from_len = sizeof(from);
    if ((len = recvfrom( echo, reply, SIZE + 1, 0, (SOCKADDR *)&from, &from_len )) != SIZE) fail( "the echo's recvfrom" );
    if (sendto( echo, reply, len, 0, (SOCKADDR *)&from, from_len ) != len) fail( "the echo's sendto" );

    /* the relay, the way back */
    from_len = sizeof(from);
    if ((len = recvfrom( relay->out, relay_buffer, BUFFER_SIZE, 0, (SOCKADDR *)&from, &from_len )) != SIZE)
        fail( "the relay's recvfrom" );
    if (sendto( relay->in, relay_buffer, len, 0, (SOCKADDR *)&client_addr, client_len ) != len)
        fail( "the relay's sendto" );

    /* the client */
    from_len = sizeof(from);
    if ((len = recvfrom( client, reply, SIZE + 1, 0, (SOCKADDR *)&from, &from_len )) != SIZE ||
        memcmp( reply, data, SIZE ))
    {
        printf( "udpbench: the client got %d bytes, not its %d back\n", len, SIZE );
        exit( 1 );
    }
}

/* datagrams per second: flows new clients, count datagrams each in turn */
static double run_flows( enum variant v, int flows, int count )
{
    LARGE_INTEGER freq, start, end;
    SOCKET *clients = malloc( flows * sizeof(*clients) );
    int i, seq;

    if (!clients) fail( "malloc" );
    for (i = 0; i < flows; i++) clients[i] = client_socket();
    QueryPerformanceFrequency( &freq );
    QueryPerformanceCounter( &start );
    for (seq = 0; seq < count; seq++)
        for (i = 0; i < flows; i++) exchange( &relays[v], clients[i], seq, v == V_RECORDS && !seq );
    QueryPerformanceCounter( &end );
    for (i = 0; i < flows; i++) closesocket( clients[i] );
    free( clients );
    return (double)flows * count * freq.QuadPart / (end.QuadPart - start.QuadPart);
}

/* datagrams per second of one flow that the relay knows already */
static double run_long( enum variant v, SOCKET client, int count )
{
    LARGE_INTEGER freq, start, end;
    int seq;

    QueryPerformanceFrequency( &freq );
    QueryPerformanceCounter( &start );
    for (seq = 0; seq < count; seq++) exchange( &relays[v], client, seq, FALSE );
    QueryPerformanceCounter( &end );
    return count * (double)freq.QuadPart / (end.QuadPart - start.QuadPart);
}

static int compare( const void *a, const void *b )
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median( const double *values, int count )
{
    double sorted[MAX_ROUNDS];

    memcpy( sorted, values, count * sizeof(*values) );
    qsort( sorted, count, sizeof(*sorted), compare );
    return sorted[count / 2];
}

/* records of a connection that bench.sh's nftables rule redirected:
 * wfpbench's way.  FALSE without the redirect. */
static BOOL get_records( void )
{
    char text[256], v4[64], v6[64];
    unsigned int orig_port, proxy_port;
    SOCKADDR_IN orig, local;
    SOCKET listener, client, accepted;

    if (!GetEnvironmentVariableA( "WFP_TEST_REDIRECT", text, sizeof(text) ) ||
        sscanf( text, "%63s %63s %u %u", v4, v6, &orig_port, &proxy_port ) != 4)
        return FALSE;
    addr( &orig, ntohl( inet_addr( v4 ) ), orig_port );
    addr( &local, INADDR_LOOPBACK, proxy_port );
    listener = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (bind( listener, (SOCKADDR *)&local, sizeof(local) ) || listen( listener, 1 )) fail( "listen" );
    client = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (connect( client, (SOCKADDR *)&orig, sizeof(orig) )) fail( "connect" );
    if ((accepted = accept( listener, NULL, NULL )) == INVALID_SOCKET) fail( "accept" );
    if (WSAIoctl( accepted, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                  &records_size, NULL, NULL ))
    {
        printf( "udpbench: the redirected connection has no records (error %d)\n", WSAGetLastError() );
        records_size = 0;
    }
    closesocket( accepted );
    closesocket( client );
    closesocket( listener );
    return records_size != 0;
}

int main( int argc, char **argv )
{
    GUID recv_guid = WSAID_WSARECVMSG, send_guid = WSAID_WSASENDMSG;
    double rates[2][V_COUNT][MAX_ROUNDS], ratios[2][V_COUNT][MAX_ROUNDS], m[V_COUNT];
    static const int order[2][V_COUNT] = { { V_ON, V_OFF, V_RECORDS }, { V_RECORDS, V_OFF, V_ON } };
    SOCKET long_clients[2];
    int flows, count, long_count, rounds, r, i, nvariants;
    DWORD on = 1, size;
    LONG flows_with_records;
    WSADATA data;
    int v;

    setvbuf( stdout, NULL, _IONBF, 0 );
    if (argc != 5) return 2;
    flows = atoi( argv[1] );
    count = atoi( argv[2] );
    long_count = atoi( argv[3] );
    rounds = atoi( argv[4] );
    if (flows < 1 || flows > 10000 || count < 1 || long_count < 1 || rounds < 1 || rounds > MAX_ROUNDS) return 2;

    WSAStartup( MAKEWORD(2, 2), &data );
    echo = udp_socket( 0, &echo_addr );
    if (WSAIoctl( echo, SIO_GET_EXTENSION_FUNCTION_POINTER, &recv_guid, sizeof(recv_guid), &recvmsg_func,
                  sizeof(recvmsg_func), &size, NULL, NULL ) ||
        WSAIoctl( echo, SIO_GET_EXTENSION_FUNCTION_POINTER, &send_guid, sizeof(send_guid), &sendmsg_func,
                  sizeof(sendmsg_func), &size, NULL, NULL ))
        fail( "SIO_GET_EXTENSION_FUNCTION_POINTER" );
    for (v = 0; v < V_COUNT; v++)
    {
        relays[v].in = udp_socket( 0, &relays[v].addr );
        relays[v].out = udp_socket( 0, NULL );
        if (v != V_OFF &&
            (setsockopt( relays[v].in, IPPROTO_IP, IP_WFP_REDIRECT_RECORDS, (char *)&on, sizeof(on) ) ||
             setsockopt( relays[v].in, IPPROTO_IP, IP_WFP_REDIRECT_CONTEXT, (char *)&on, sizeof(on) )))
            fail( "setsockopt(IP_WFP_REDIRECT_RECORDS, IP_WFP_REDIRECT_CONTEXT)" );
    }
    nvariants = get_records() ? V_COUNT : V_RECORDS;
    if (nvariants < V_COUNT)
        printf( "udpbench: no records (WFP_TEST_REDIRECT unset or not redirected): the records case is left out\n" );

    /* warm up; the long flows become known to their relays here */
    for (v = 0; v < nvariants; v++) run_flows( v, flows / 10 + 1, 2 );
    for (i = 0; i < 2; i++)
    {
        long_clients[i] = client_socket();
        run_long( i, long_clients[i], long_count / 10 + 1 );
    }
    if (nvariants == V_COUNT && relays[V_RECORDS].records_msgs != flows / 10 + 1)
    {
        printf( "udpbench: the relay got records with %ld of %d new flows: the records case is left out\n",
                relays[V_RECORDS].records_msgs, flows / 10 + 1 );
        nvariants = V_RECORDS;
    }
    relays[V_RECORDS].records_msgs = 0;

    for (r = 0; r < rounds; r++)
    {
        for (i = 0; i < V_COUNT; i++)
            if ((v = order[r % 2][i]) < nvariants) rates[0][v][r] = run_flows( v, flows, count );
        for (i = 0; i < V_COUNT; i++)
            if ((v = order[r % 2][i]) < V_RECORDS) rates[1][v][r] = run_long( v, long_clients[v], long_count );
        for (v = 0; v < nvariants; v++) ratios[0][v][r] = rates[0][v][r] / rates[0][V_OFF][r];
        ratios[1][V_ON][r] = rates[1][V_ON][r] / rates[1][V_OFF][r];
    }
    for (i = 0; i < 2; i++) closesocket( long_clients[i] );

    /* what the relay saw: no WFP message without records; in the records
     * case one records message per flow, with its first datagram */
    flows_with_records = relays[V_RECORDS].records_msgs;
    if (relays[V_ON].records_msgs || relays[V_ON].context_msgs || relays[V_OFF].records_msgs ||
        relays[V_OFF].context_msgs || relays[V_RECORDS].context_msgs ||
        (nvariants == V_COUNT && flows_with_records != (LONG)flows * rounds))
    {
        printf( "udpbench: WRONG control messages: on %ld records %ld context, off %ld %ld, records case %ld %ld"
                " (expected 0 0, 0 0, %d 0)\n", relays[V_ON].records_msgs, relays[V_ON].context_msgs,
                relays[V_OFF].records_msgs, relays[V_OFF].context_msgs, flows_with_records,
                relays[V_RECORDS].context_msgs, nvariants == V_COUNT ? flows * rounds : 0 );
        return 1;
    }

    for (v = 0; v < nvariants; v++) m[v] = median( rates[0][v], rounds );
    printf( "udpbench: %d new flows x %d datagrams, %d rounds: options on %.0f datagrams/s, off %.0f (medians);"
            " median ratio on/off %.3f\n", flows, count, rounds, m[V_ON], m[V_OFF], median( ratios[0][V_ON], rounds ) );
    if (nvariants == V_COUNT)
        printf( "udpbench: the same with records on each flow's first datagram (%lu bytes, forwarded):"
                " %.0f datagrams/s; median ratio records/off %.3f\n", records_size, m[V_RECORDS],
                median( ratios[0][V_RECORDS], rounds ) );
    printf( "bench: udp_flows_on_rate=%.0f udp_flows_off_rate=%.0f udp_flows_on_over_off=%.3f\n",
            m[V_ON], m[V_OFF], median( ratios[0][V_ON], rounds ) );
    if (nvariants == V_COUNT)
        printf( "bench: udp_flows_records_rate=%.0f udp_flows_records_over_off=%.3f\n", m[V_RECORDS],
                median( ratios[0][V_RECORDS], rounds ) );
    for (v = 0; v < V_RECORDS; v++) m[v] = median( rates[1][v], rounds );
    printf( "udpbench: 1 flow x %d datagrams, %d rounds: options on %.0f datagrams/s, off %.0f (medians);"
            " median ratio on/off %.3f\n", long_count, rounds, m[V_ON], m[V_OFF], median( ratios[1][V_ON], rounds ) );
    printf( "bench: udp_long_on_rate=%.0f udp_long_off_rate=%.0f udp_long_on_over_off=%.3f\n",
            m[V_ON], m[V_OFF], median( ratios[1][V_ON], rounds ) );
    WSACleanup();
    return 0;
}
