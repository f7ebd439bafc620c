/*
 * setupbench: how fast a transparent proxy sets up connections.
 *
 * In the network namespace that bench.sh makes, connections to
 * 127.0.0.2:8080 are redirected by nftables to 127.0.0.1:18080, unless the
 * socket carries mark 0x1000 (the default mark of a netfilter service);
 * 127.0.0.3:8080 is not redirected.  This process is client, proxy and
 * origin at once:
 *
 *   proxied  the client connects to 127.0.0.2:8080; the proxy accepts,
 *            queries the records and the context, sets the records on its
 *            outbound socket and connects to the original destination;
 *            the origin accepts
 *   plain    the same without WFP: the proxy accepts and connects to
 *            127.0.0.3:8080
 *   bare     a connect and an accept, nothing redirected
 *
 * redirectors: the proxied setup with two redirectors, side by side: an
 * in-Wine rule sends 127.0.0.6:8080 to the proxy, the sample callout
 * driver 127.0.0.7:8080 (bench.sh sets up both; this program gives the
 * driver its rule, with its own process id as localRedirectTargetPID, as
 * a product's service does).
 *
 * usage: setupbench.exe MODE ITERATIONS ROUNDS
 *        setupbench.exe compare ITERATIONS ROUNDS
 *        setupbench.exe redirectors ITERATIONS ROUNDS
 *        setupbench.exe levels ITERATIONS ROUNDS --levels A,B --cycles C [--plain] [--status FILE]
 *        setupbench.exe held ITERATIONS HELD [--plain]
 *
 * --levels A,B --cycles C measures the proxied setup rate while A, then B
 * proxied connections are held open, C times in turn, so that drift
 * affects both alike.  A held connection's outbound side goes to a
 * listener outside Wine (127.0.0.5:9000, see bench.sh), which keeps its end
 * open while the proxy keeps its accepted socket, with its records; the
 * proxy closes the client and outbound sockets, whose note the wineserver
 * keeps while the kernel knows the connection.  So the wineserver holds a
 * socket with records and a note per held connection, at one descriptor
 * each.  --plain holds plain connections instead.  With --status FILE
 * (the wineserver's /proc status file), VmRSS is reported at each level.
 *
 * held holds HELD redirected (or plain) connections open as levels does,
 * then makes ITERATIONS proxied setups and closes everything: for counting
 * the wineserver's instructions (bench.sh), where only the number of
 * setups differs between two runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wfp_sdk.h"
#include "wfpcallout.h"

enum mode { MODE_PROXIED, MODE_PLAIN, MODE_BARE };

/* the sample driver of service benchc: 127.0.0.7:8080 to the proxy */
static BOOL route_through_driver( void )
{
    static const unsigned char dst[4] = { 127, 0, 0, 7 }, proxy[4] = { 127, 0, 0, 1 };
    struct wfpcallout_rule rule;
    HANDLE device;
    DWORD size;
    BOOL ret;

    device = CreateFileA( "\\\\.\\benchc", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL );
    if (device == INVALID_HANDLE_VALUE) return FALSE;
    memset( &rule, 0, sizeof(rule) );
    rule.family = 4;
    rule.addr_len = 4;
    rule.port = 8080;
    memcpy( rule.addr, dst, 4 );
    memcpy( rule.proxy_addr, proxy, 4 );
    rule.proxy_port = 18080;
    /* its client is this process too: a target, not an exemption */
    rule.target_pid = GetCurrentProcessId();
    ret = DeviceIoControl( device, IOCTL_WFPCALLOUT_ADD_RULE, &rule, sizeof(rule), NULL, 0, &size, NULL );
    CloseHandle( device );
    return ret;
}

static SOCKET proxy_listener, origin_listener_redirected, origin_listener_plain;
static struct sockaddr_in redirected_dst, plain_dst, holder_dst;

static void addr( struct sockaddr_in *in, const char *ip, unsigned short port )
{
    memset( in, 0, sizeof(*in) );
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = inet_addr( ip );
    in->sin_port = htons( port );
}

static SOCKET listener( const char *ip, unsigned short port )
{
    struct sockaddr_in in;
    SOCKET s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );

    addr( &in, ip, port );
    if (bind( s, (SOCKADDR *)&in, sizeof(in) ) || listen( s, SOMAXCONN ))
    {
        printf( "setupbench: cannot listen on %s:%u: %d\n", ip, port, WSAGetLastError() );
        exit( 1 );
    }
    return s;
}

static void fail( const char *what )
{
    printf( "setupbench: %s failed: %d\n", what, WSAGetLastError() );
    exit( 1 );
}

/* One connection through the proxy; the sockets are returned open. */
static void connect_through( enum mode mode, SOCKET *client, SOCKET *accepted, SOCKET *outbound, SOCKET *origin,
                             const struct sockaddr_in *outbound_to )
{
    char records[2048];
    SOCKADDR_STORAGE context[2];
    DWORD size, context_size;
    const struct sockaddr_in *target = mode == MODE_BARE ? &plain_dst : &redirected_dst;

    *client = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (connect( *client, (const SOCKADDR *)target, sizeof(*target) )) fail( "connect" );
    if (mode == MODE_BARE)
    {
        if ((*origin = accept( origin_listener_plain, NULL, NULL )) == INVALID_SOCKET) fail( "accept" );
        *accepted = *outbound = INVALID_SOCKET;
        return;
    }
    if ((*accepted = accept( proxy_listener, NULL, NULL )) == INVALID_SOCKET) fail( "accept" );
    *outbound = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    if (mode == MODE_PROXIED)
    {
        if (WSAIoctl( *accepted, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                      &size, NULL, NULL )) fail( "QUERY_RECORDS" );
        if (WSAIoctl( *accepted, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, context, sizeof(context),
                      &context_size, NULL, NULL )) fail( "QUERY_CONTEXT" );
        if (WSAIoctl( *outbound, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, records, size, NULL, 0, &size,
                      NULL, NULL )) fail( "SET_RECORDS" );
        if (!outbound_to) outbound_to = (const struct sockaddr_in *)&context[0];
    }
    else if (!outbound_to) outbound_to = &plain_dst;
    if (connect( *outbound, (const SOCKADDR *)outbound_to, sizeof(*outbound_to) )) fail( "outbound connect" );
    if (outbound_to == &holder_dst) *origin = INVALID_SOCKET;
    else if ((*origin = accept( mode == MODE_PROXIED ? origin_listener_redirected : origin_listener_plain,
                                NULL, NULL )) == INVALID_SOCKET) fail( "origin accept" );
}

static void close_all( SOCKET *s, int count )
{
    int i;
    for (i = 0; i < count; i++) if (s[i] != INVALID_SOCKET) closesocket( s[i] );
}

/* connections per second for one round */
static double run_round( enum mode mode, int iterations )
{
    LARGE_INTEGER freq, start, end;
    SOCKET s[4];
    int i;

    QueryPerformanceFrequency( &freq );
    QueryPerformanceCounter( &start );
    for (i = 0; i < iterations; i++)
    {
        connect_through( mode, &s[0], &s[1], &s[2], &s[3], NULL );
        close_all( s, 4 );
    }
    QueryPerformanceCounter( &end );
    return iterations * (double)freq.QuadPart / (end.QuadPart - start.QuadPart);
}

static int compare( const void *a, const void *b )
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median( double *values, int count )
{
    qsort( values, count, sizeof(*values), compare );
    return values[count / 2];
}

static SOCKET *held;
static int held_count;

/* hold exactly count connections */
static void hold_connections( int count, int plain )
{
    SOCKET s[4];

    while (held_count > count) closesocket( held[--held_count] );
    while (held_count < count)
    {
        connect_through( plain ? MODE_PLAIN : MODE_PROXIED, &s[0], &s[1], &s[2], &s[3], &holder_dst );
        closesocket( s[0] );
        closesocket( s[2] );
        held[held_count++] = s[1];
    }
}

/* the wineserver's /proc status file, opened before the descriptors run short */
static HANDLE status_file = INVALID_HANDLE_VALUE;

static long server_rss_kb( void )
{
    char buffer[4096], *line;
    DWORD size;
    long kb;

    if (status_file == INVALID_HANDLE_VALUE) return -1;
    SetFilePointer( status_file, 0, NULL, FILE_BEGIN );
    if (!ReadFile( status_file, buffer, sizeof(buffer) - 1, &size, NULL )) return -1;
    buffer[size] = 0;
    if (!(line = strstr( buffer, "VmRSS:" )) || sscanf( line, "VmRSS: %ld kB", &kb ) != 1) return -1;
    return kb;
}

int main( int argc, char **argv )
{
    static const char *names[] = { "proxied", "plain", "bare" };
    double rates[2][64], pair_ratios[64];
    int iterations, rounds, cycles = 1, levels[2] = { 0, 0 }, plain_hold = 0, i, r, c;
    const char *status = NULL;
    enum mode mode = MODE_PROXIED;
    int compare_modes = 0, level_modes = 0, held_mode = 0, redirector_modes = 0;
    long rss[2] = { -1, -1 };
    WSADATA data;

    setvbuf( stdout, NULL, _IONBF, 0 );
    if (argc < 4) return 2;
    if (!strcmp( argv[1], "compare" )) compare_modes = 1;
    else if (!strcmp( argv[1], "levels" )) level_modes = 1;
    else if (!strcmp( argv[1], "held" )) held_mode = 1;
    else if (!strcmp( argv[1], "redirectors" )) redirector_modes = 1;
    else if (!strcmp( argv[1], "plain" )) mode = MODE_PLAIN;
    else if (!strcmp( argv[1], "bare" )) mode = MODE_BARE;
    else if (strcmp( argv[1], "proxied" )) return 2;
    iterations = atoi( argv[2] );
    rounds = atoi( argv[3] );
    for (i = 4; i < argc; i++)
    {
        if (!strcmp( argv[i], "--levels" ) && i + 1 < argc) sscanf( argv[++i], "%d,%d", &levels[0], &levels[1] );
        else if (!strcmp( argv[i], "--cycles" ) && i + 1 < argc) cycles = atoi( argv[++i] );
        else if (!strcmp( argv[i], "--plain" )) plain_hold = 1;
        else if (!strcmp( argv[i], "--status" ) && i + 1 < argc) status = argv[++i];
        else return 2;
    }
    if (iterations < 1 || rounds < 1 || cycles < 1 || (!held_mode && rounds * cycles > 64)) return 2;

    if (status) status_file = CreateFileA( status, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                                           OPEN_EXISTING, 0, NULL );
    WSAStartup( MAKEWORD(2, 2), &data );
    addr( &redirected_dst, "127.0.0.2", 8080 );
    addr( &plain_dst, "127.0.0.3", 8080 );
    addr( &holder_dst, "127.0.0.5", 9000 );
    proxy_listener = listener( "127.0.0.1", 18080 );
    origin_listener_redirected = listener( "127.0.0.2", 8080 );
    origin_listener_plain = listener( "127.0.0.3", 8080 );

    if (redirector_modes)
    {
        struct sockaddr_in dst[2];
        SOCKET origin[2];
        double rule, driver;

        /* pairs in alternating order, as compare */
        addr( &dst[0], "127.0.0.6", 8080 );
        addr( &dst[1], "127.0.0.7", 8080 );
        origin[0] = listener( "127.0.0.6", 8080 );
        origin[1] = listener( "127.0.0.7", 8080 );
        if (!route_through_driver())
        {
            printf( "setupbench: the callout driver benchc took no rule (error %lu)\n", GetLastError() );
            return 1;
        }
        for (r = -1; r < rounds; r++)
            for (c = 0; c < 2; c++)
            {
                i = (r & 1) ? 1 - c : c;
                redirected_dst = dst[i];
                origin_listener_redirected = origin[i];
                if (r < 0) run_round( MODE_PROXIED, iterations / 10 + 1 );
                else rates[i][r] = run_round( MODE_PROXIED, iterations );
            }
        for (r = 0; r < rounds; r++) pair_ratios[r] = rates[1][r] / rates[0][r];
        rule = median( rates[0], rounds );
        driver = median( rates[1], rounds );
        printf( "setupbench: proxied through a callout driver %.0f connections/s, through a rule %.0f "
                "connections/s (medians); median ratio of %d pairs %.3f\n", driver, rule, rounds,
                median( pair_ratios, rounds ) );
        printf( "bench: rule_rate=%.0f driver_rate=%.0f driver_over_rule=%.3f\n", rule, driver,
                median( pair_ratios, rounds ) );
        return 0;
    }

    if (held_mode)
    {
        /* ROUNDS is the number of connections held */
        if (!(held = calloc( rounds + 1, sizeof(*held) ))) return 1;
        hold_connections( rounds, plain_hold );
        run_round( MODE_PROXIED, iterations );
        hold_connections( 0, 0 );
        return 0;
    }

    if (level_modes)
    {
        int max = levels[0] > levels[1] ? levels[0] : levels[1];

        if (!(held = calloc( max + 1, sizeof(*held) ))) return 1;
        run_round( MODE_PROXIED, iterations / 10 + 1 );
        for (c = 0; c < cycles; c++)
            for (i = 0; i < 2; i++)
            {
                hold_connections( levels[i], plain_hold );
                /* the first time only: a heap does not shrink back */
                if (!c) rss[i] = server_rss_kb();
                for (r = 0; r < rounds; r++) rates[i][c * rounds + r] = run_round( MODE_PROXIED, iterations );
            }
        hold_connections( 0, 0 );
        for (i = 0; i < 2; i++)
        {
            double rate = median( rates[i], rounds * cycles );
            printf( "setupbench: proxied %.0f connections/s with %d %s connections held, wineserver RSS %ld kB\n",
                    rate, levels[i], plain_hold ? "plain" : "redirected", rss[i] );
            printf( "bench: %s%d_rate=%.0f %s%d_rss_kb=%ld\n", plain_hold ? "plainhold" : "hold", levels[i], rate,
                    plain_hold ? "plainhold" : "hold", levels[i], rss[i] );
        }
        return 0;
    }

    /* warm up, then the rounds.  With compare, each round is a pair of
     * the two modes, run back to back in alternating order, and the ratio
     * is the median of the pairs' ratios: the machine's load drifts less
     * within a pair than over the whole run. */
    run_round( compare_modes ? MODE_PROXIED : mode, iterations / 10 + 1 );
    if (compare_modes) run_round( MODE_PLAIN, iterations / 10 + 1 );
    for (r = 0; r < rounds; r++)
    {
        if (compare_modes && r % 2) rates[1][r] = run_round( MODE_PLAIN, iterations );
        rates[0][r] = run_round( compare_modes ? MODE_PROXIED : mode, iterations );
        if (compare_modes && !(r % 2)) rates[1][r] = run_round( MODE_PLAIN, iterations );
        if (compare_modes) pair_ratios[r] = rates[0][r] / rates[1][r];
    }

    if (compare_modes)
    {
        double proxied = median( rates[0], rounds ), plain = median( rates[1], rounds );
        double ratio = median( pair_ratios, rounds );
        printf( "setupbench: proxied %.0f connections/s, plain %.0f connections/s (medians); "
                "median ratio of %d pairs %.3f\n", proxied, plain, rounds, ratio );
        printf( "bench: proxied_rate=%.0f plain_rate=%.0f proxied_over_plain=%.3f\n", proxied, plain, ratio );
    }
    else
    {
        printf( "setupbench: %s %.0f connections/s\n", names[mode], median( rates[0], rounds ) );
        printf( "bench: %s_rate=%.0f\n", names[mode], median( rates[0], rounds ) );
    }
    return 0;
}
