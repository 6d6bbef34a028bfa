#include "ctun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int wgd_tun_open(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int mtu_ioctl(const char *name, unsigned long request, int *mtu) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_mtu = *mtu;
    int r = ioctl(s, request, &ifr) < 0 ? -errno : 0;
    *mtu = ifr.ifr_mtu;
    close(s);
    return r;
}

int wgd_set_mtu(const char *name, int mtu) { return mtu_ioctl(name, SIOCSIFMTU, &mtu); }

int wgd_get_mtu(const char *name) {
    int mtu = 0;
    int r = mtu_ioctl(name, SIOCGIFMTU, &mtu);
    return r < 0 ? r : mtu;
}
