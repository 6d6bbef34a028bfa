// Linux netlink, inotify and eventfd declarations that Swift's Glibc module does not export.
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <sys/inotify.h>
#include <sys/eventfd.h>
