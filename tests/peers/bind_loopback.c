/*
 * LD_PRELOAD shim for filmd's tests: a bind() to the wildcard address (0.0.0.0 or ::)
 * binds the loopback address instead (127.0.0.1 or ::1), same port. Peers such as
 * Orthanc 1.10, DCMTK storescp and wlmscpfs always listen on every interface; with this
 * shim they listen only on loopback, as every server in the tests must.
 *
 * Build: cc -shared -fPIC -O2 -o libbind_loopback.so bind_loopback.c -ldl
 * Use:   LD_PRELOAD=/path/libbind_loopback.so storescp ...
 * BIND_LOOPBACK_LOG=1 prints one line on stderr per rewritten bind().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static bind_fn real_bind(void)
{
    static bind_fn next;
    if (next == NULL) {
        next = (bind_fn)dlsym(RTLD_NEXT, "bind");
    }
    return next;
}

static void note(const char *family, int port)
{
    const char *log = getenv("BIND_LOOPBACK_LOG");
    if (log != NULL && log[0] == '1') {
        fprintf(stderr, "bind_loopback: %s wildcard bind on port %d moved to loopback\n",
                family, port);
    }
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    bind_fn next = real_bind();
    if (next == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (addr != NULL && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in4;
        memcpy(&in4, addr, sizeof in4);
        if (in4.sin_addr.s_addr == htonl(INADDR_ANY)) {
            in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            note("IPv4", ntohs(in4.sin_port));
            return next(fd, (const struct sockaddr *)&in4, sizeof in4);
        }
    } else if (addr != NULL && addr->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, addr, sizeof in6);
        if (memcmp(&in6.sin6_addr, &in6addr_any, sizeof in6.sin6_addr) == 0) {
            in6.sin6_addr = in6addr_loopback;
            note("IPv6", ntohs(in6.sin6_port));
            return next(fd, (const struct sockaddr *)&in6, sizeof in6);
        }
    }
    return next(fd, addr, len);
}
