# wg-ice: build and install like wireguard-tools.
#   make                      release build, Swift runtime linked statically
#   make install              PREFIX, DESTDIR, BINDIR, MANDIR, SYSTEMDUNITDIR, *COMPDIR honoured
#   make uninstall            removes exactly what install put there (but the wg-ice account, as packages do)
PREFIX ?= /usr
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo "$(PREFIX)/lib/systemd/system")
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DOCDIR ?= $(PREFIX)/share/doc/wg-ice

SWIFT ?= swift
SWIFT_BUILD_FLAGS ?= -c release --static-swift-stdlib
PROGRAMS := wg-ice-hook wg-ice-signal wg-ice-resolve
# Programs without completions: wg-ice-wireguard has wireguard-go's command line (one interface name).
DAEMONS := wg-ice-wireguard
MANPAGES := $(wildcard man/*.[1-8])
UNITS := $(wildcard systemd/*.service)
OUT := out
ACCOUNT := wg-ice

all: $(OUT)/bin.stamp completions

$(OUT)/bin.stamp: Package.swift $(shell find Sources -type f)
	for p in $(PROGRAMS) $(DAEMONS); do $(SWIFT) build $(SWIFT_BUILD_FLAGS) --product $$p || exit 1; done
	mkdir -p $(OUT)/bin
	bin=$$($(SWIFT) build $(SWIFT_BUILD_FLAGS) --show-bin-path) && \
		for p in $(PROGRAMS) $(DAEMONS); do install -m 0755 "$$bin/$$p" $(OUT)/bin/$$p; done
	touch $@

completions: $(OUT)/bin.stamp
	mkdir -p $(OUT)/completions/bash $(OUT)/completions/zsh $(OUT)/completions/fish
	for p in $(PROGRAMS); do \
		$(OUT)/bin/$$p --generate-completion-script bash | sed '1{/^#!/d}' > $(OUT)/completions/bash/$$p && \
		$(OUT)/bin/$$p --generate-completion-script zsh > $(OUT)/completions/zsh/_$$p && \
		$(OUT)/bin/$$p --generate-completion-script fish > $(OUT)/completions/fish/$$p.fish || exit 1; \
	done

install: all
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man8" \
		"$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)" "$(DESTDIR)$(DOCDIR)/examples"
	for p in $(PROGRAMS) $(DAEMONS); do install -m 0755 $(OUT)/bin/$$p "$(DESTDIR)$(BINDIR)/$$p"; done
	for m in $(MANPAGES); do install -m 0644 $$m "$(DESTDIR)$(MANDIR)/man$${m##*.}/"; done
	for p in $(PROGRAMS); do \
		install -m 0644 $(OUT)/completions/bash/$$p "$(DESTDIR)$(BASHCOMPDIR)/$$p" && \
		install -m 0644 $(OUT)/completions/zsh/_$$p "$(DESTDIR)$(ZSHCOMPDIR)/_$$p" && \
		install -m 0644 $(OUT)/completions/fish/$$p.fish "$(DESTDIR)$(FISHCOMPDIR)/$$p.fish" || exit 1; \
	done
	install -m 0644 examples/*.conf "$(DESTDIR)$(DOCDIR)/examples/"
	install -d "$(DESTDIR)$(DOCDIR)/examples/wg-quick@.service.d"
	install -m 0644 examples/wg-quick@.service.d/* "$(DESTDIR)$(DOCDIR)/examples/wg-quick@.service.d/"
	[ -z "$(UNITS)" ] || { install -d "$(DESTDIR)$(SYSTEMDUNITDIR)" && install -m 0644 $(UNITS) "$(DESTDIR)$(SYSTEMDUNITDIR)/"; }
	$(MAKE) --no-print-directory account

# The dedicated account sessions and wg-ice-wireguard drop to (wg-ice.conf(5) User, wg-ice-wireguard(8)):
# no other service runs as it, so none can signal them. Created on this system only: a DESTDIR is a staging
# tree, whose package creates it.
account:
	@if [ -n "$(DESTDIR)" ] || getent passwd $(ACCOUNT) >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
			--comment "wg-ice sessions" $(ACCOUNT) && echo "created the system account $(ACCOUNT)"; \
	else echo "warning: no account $(ACCOUNT) and not root: sessions will run as nobody until it exists" >&2; fi

uninstall:
	for p in $(PROGRAMS); do rm -f "$(DESTDIR)$(BINDIR)/$$p" "$(DESTDIR)$(BASHCOMPDIR)/$$p" \
		"$(DESTDIR)$(ZSHCOMPDIR)/_$$p" "$(DESTDIR)$(FISHCOMPDIR)/$$p.fish"; done
	for p in $(DAEMONS); do rm -f "$(DESTDIR)$(BINDIR)/$$p"; done
	for m in $(MANPAGES); do rm -f "$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}"; done
	for u in $(UNITS); do rm -f "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}"; done
	rm -rf "$(DESTDIR)$(DOCDIR)/examples"
	-rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null

clean:
	rm -rf $(OUT)

.PHONY: all completions install account uninstall clean
