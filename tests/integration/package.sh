#!/usr/bin/env bash
# package.sh — the Debian package a Debian admin can trust (cmake/package.cmake,
# packaging/debian):
#  1. cpack builds recd_VERSION-1_ARCH.deb (+ recd-dbgsym .ddeb) whose dependencies are
#     Debian's runtime libraries; contents in FHS places; man pages and docs gzipped;
#     copyright and changelog.Debian.gz; binaries stripped, their symbols in the dbgsym
#     package by build id; the config a conffile shipped 0640; no -dirty in the version of a
#     package built from a clean tree; the installed recd validates the installed config;
#     the unit passes systemd-analyze verify
#  2. lintian (Debian's package checker): no errors; warnings listed
#  3. as root, with dpkg/apt: install -> edit the config -> reinstall -> upgrade to a newer
#     version whose default config changed -> remove -> purge, checking that the edited
#     config survives (mode 0640 root:recd) until purge and that purge removes config,
#     state and the enablement; the service user can read the config, others cannot.
#     What needs systemd as PID 1 (daemon-reload, start/stop of the service) is listed as
#     NOT RUN when systemd is not running. The machine's state is restored at the end (the
#     package purged, the recd user removed if this test created it).
source "$(dirname "$0")/lib.sh"
: "${RECD_BUILD_DIR:?}"
prefix="$(grep '^CMAKE_INSTALL_PREFIX:' "$RECD_BUILD_DIR/CMakeCache.txt" | cut -d= -f2)"
# CPACK_PACKAGING_INSTALL_PREFIX is /usr, so programs, schemas, man pages and the unit land
# there whatever the build's prefix; the config's absolute place follows the build's prefix
# (/etc for /usr, PREFIX/etc otherwise)
[ "$prefix" = "/usr" ] || echo "build configured with prefix $prefix: the config is packaged under $prefix/etc"
NOT_RUN=()
not_run() { NOT_RUN+=("$*"); echo "NOT RUN: $*"; }
# Everything that ran passed: exit 0, or 77 when parts could not run here (ctest then reports
# the test as skipped — SKIP_RETURN_CODE — instead of a pass that hides them).
finish() {
    if [ "${#NOT_RUN[@]}" -gt 0 ]; then
        echo "package: everything that ran passed; NOT RUN: ${#NOT_RUN[@]} part(s), listed above"
        exit 77
    fi
    echo "package: all passed"
    exit 0
}

# ---- 1. the package's contents ------------------------------------------------------------
(cd "$RECD_BUILD_DIR" && cpack -G DEB -B "$T/pkg" >"$T/cpack.log" 2>&1) || fail "cpack failed: $(tail -20 "$T/cpack.log")"
deb="$(ls "$T"/pkg/*.deb | head -1)"
[ -f "$deb" ] || fail "no .deb produced"
ddeb="$(ls "$T"/pkg/*.ddeb 2>/dev/null | head -1)"
[ -f "$ddeb" ] || fail "no dbgsym .ddeb produced"
dpkg-deb -I "$deb" > "$T/info.txt"
depends="$(grep '^ Depends:' "$T/info.txt")"
for dep in librdkafka librocksdb libavro libconfig libsystemd libmicrohttpd adduser init-system-helpers; do
    echo "$depends" | grep -q "$dep" || fail "Depends lacks $dep: $depends"
done
pass "$(basename "$deb"): $depends"
version="$(dpkg-deb -f "$deb" Version)"
src_version="$(sed -n 's/^project(recd VERSION \([0-9.]*\).*/\1/p' "$RECD_SOURCE_DIR/CMakeLists.txt")"
[[ "$version" =~ ^${src_version//./\\.}-[0-9]+$ ]] || fail "package version $version is not $src_version-REVISION"
pass "package version $version"

root="$T/root"
dpkg-deb -x "$deb" "$root"
p="$root/usr"
etc_rel="etc/recd/recd.conf"; [ "$prefix" = /usr ] || etc_rel="${prefix#/}/etc/recd/recd.conf"
etc="$root/$etc_rel"
doc="$p/share/doc/recd"
for f in "$p/sbin/recd" "$p/bin/recctl" "$etc" "$p/share/recd/schemas/click.avsc" \
         "$p/share/man/man8/recd.8.gz" "$p/share/man/man5/recd.conf.5.gz" "$p/share/man/man1/recctl.1.gz" \
         "$p/lib/systemd/system/recd.service" "$doc/copyright" "$doc/changelog.Debian.gz" \
         "$doc/README.md.gz" "$doc/CONFIGURATION.md.gz" "$doc/OPERATIONS.md.gz" \
         "$doc/RELIABILITY.md.gz" "$doc/ARCHITECTURE.md.gz"; do
    [ -e "$f" ] || fail "missing in package: ${f#$root}"
done
for f in "$p"/share/man/man*/*.gz "$doc"/*.gz; do
    gzip -t "$f" || fail "not gzip: ${f#$root}"
done
[ -z "$(find "$p/share/man" -type f ! -name '*.gz')" ] || fail "uncompressed man pages: $(find "$p/share/man" -type f ! -name '*.gz')"
zcat "$doc/changelog.Debian.gz" | sed -n 1p | grep "^recd ($version)" >/dev/null \
    || fail "changelog.Debian.gz does not start with recd ($version)"
head -1 "$doc/copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
    || fail "copyright is not in the machine-readable format"
pass "binaries, config, schemas, gzipped man pages and docs, copyright, changelog.Debian.gz, unit in FHS places"

# the config: a conffile, shipped 0640 (postinst makes it root:recd)
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > "$T/conffiles"
grep -qx "/$etc_rel" "$T/conffiles" || fail "/$etc_rel is not a conffile: $(cat "$T/conffiles")"
dpkg-deb -c "$deb" > "$T/contents.txt"
grep -E " \./$etc_rel\$" "$T/contents.txt" | grep '^-rw-r----- root/root ' >/dev/null \
    || fail "config not shipped 0640 root:root: $(dpkg-deb -c "$deb" | grep "$etc_rel")"
for s in postinst prerm postrm; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -x "./$s" >/dev/null || fail "no $s maintainer script"
done
pass "/$etc_rel is a conffile, shipped 0640; postinst, prerm, postrm present"

# stripped binaries; their debug symbols in the dbgsym package under their build ids
dpkg-deb -x "$ddeb" "$T/dbg"
for b in "$p/sbin/recd" "$p/bin/recctl"; do
    readelf -S "$b" > "$T/sections.txt"
    grep -q '\.debug_info' "$T/sections.txt" && fail "${b#$root} is not stripped"
    id="$(readelf -n "$b" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')"
    [ -n "$id" ] || fail "${b#$root} has no build id"
    dbg="$T/dbg/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug"
    [ -f "$dbg" ] && readelf -S "$dbg" 2>/dev/null | grep '\.debug_info' >/dev/null || fail "no debug symbols for ${b#$root} (build id $id) in $(basename "$ddeb")"
done
pass "recd and recctl stripped; debug symbols in $(basename "$ddeb") by build id"

# the revision: no -dirty when the tree the package was built from is clean
rev="$("$p/sbin/recd" -V 2>&1 | head -1)"
if [ -z "$(git -C "$RECD_SOURCE_DIR" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    case "$rev" in *-dirty*|*unknown*) fail "package built from a clean tree reads '$rev'";; esac
    pass "version string of a clean tree: $rev"
else
    not_run "clean version string check: the source tree has uncommitted changes (recd -V: $rev)"
fi

"$p/sbin/recd" -t -c "$etc" || fail "installed recd rejects the installed config"
pass "installed recd -t accepts the installed config"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/unit"
    sed -e "s#/usr/sbin/recd#$p/sbin/recd#g" "$p/lib/systemd/system/recd.service" > "$T/unit/recd.service"
    MANPATH="$p/share/man" systemd-analyze verify --man=no "$T/unit/recd.service" 2>&1 | tee "$T/verify.txt"
    [ -s "$T/verify.txt" ] && fail "systemd-analyze verify is not clean"
    systemd-analyze security --offline=true "$T/unit/recd.service" 2>/dev/null | tail -1
    pass "systemd-analyze verify clean"
else
    not_run "systemd-analyze verify (systemd-analyze not installed)"
fi
grep -q '^DynamicUser=yes' "$p/lib/systemd/system/recd.service" && fail "the unit still uses DynamicUser"
grep -q '^User=recd$' "$p/lib/systemd/system/recd.service" || fail "the unit does not run as User=recd"

# ---- 2. lintian -----------------------------------------------------------------------------
command -v lintian >/dev/null || fail "lintian is not installed (scripts/install-deps.sh --test installs it)"
lintian --tag-display-limit 0 "$deb" "$ddeb" > "$T/lintian.txt" 2>&1 || true
grep -v 'running with root privileges' "$T/lintian.txt" | sed 's/^/  lintian: /'
grep -q '^E: ' "$T/lintian.txt" && fail "lintian reports errors"
pass "lintian: no errors, $(grep -c '^W: ' "$T/lintian.txt") warning(s)"

# ---- 3. install -> edit -> reinstall -> upgrade -> remove -> purge ---------------------------
if [ "$(id -u)" -ne 0 ]; then
    not_run "install/upgrade/remove/purge cycle: needs root (dpkg, apt)"
    finish
fi
if [ "$prefix" != /usr ]; then
    not_run "install/upgrade/remove/purge cycle: the build's prefix is $prefix, not /usr"
    finish
fi
if dpkg-query -W -f='${Status}' recd 2>/dev/null | grep -qv 'not-installed'; then
    fail "a recd package is already installed or has config files here ($(dpkg-query -W -f='${Status} ${Version}' recd)); not touching it — purge it first"
fi
[ -e /etc/recd ] && fail "/etc/recd exists although no recd package is installed; not touching it"
[ -e /var/lib/recd ] && fail "/var/lib/recd exists although no recd package is installed; not touching it"
had_user=0; getent passwd recd >/dev/null && had_user=1
had_group=0; getent group recd >/dev/null && had_group=1
systemd_pid1=0; [ -d /run/systemd/system ] && systemd_pid1=1
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q --no-install-recommends -o Dpkg::Use-Pty=0)

restore() {
    if dpkg-query -W -f='${Status}' recd 2>/dev/null | grep -qv 'not-installed'; then
        "${APT[@]}" purge recd >"$T/restore.log" 2>&1 || dpkg --purge recd >>"$T/restore.log" 2>&1 || true
    fi
    if [ "$had_user" = 0 ] && getent passwd recd >/dev/null; then deluser --system --quiet recd >/dev/null 2>&1 || true; fi
    if [ "$had_group" = 0 ] && getent group recd >/dev/null; then delgroup --system --quiet recd >/dev/null 2>&1 || true; fi
}
trap 'rc=$?; restore; cleanup "$rc"' EXIT
trap 'exit 130' INT TERM

conf=/etc/recd/recd.conf
wants=/etc/systemd/system/multi-user.target.wants/recd.service
mode_owner() { stat -c '%a %U:%G' "$1"; }
expect_conf() {   # expect_conf WHEN: the edited config is in place, 0640 root:recd
    [ -f "$conf" ] || fail "$1: $conf is gone"
    grep -q '^    brokers = "kafka-1.example:9092,kafka-2.example:9092";' "$conf" || fail "$1: the edited brokers are gone"
    grep -q '^# edited by package.sh' "$conf" || fail "$1: the admin's comment is gone"
    [ "$(mode_owner "$conf")" = "640 root:recd" ] || fail "$1: $conf is $(mode_owner "$conf"), not 640 root:recd"
}

"${APT[@]}" install "$deb" > "$T/install.log" 2>&1 || fail "apt install failed: $(tail -20 "$T/install.log")"
[ "$(dpkg-query -W -f='${Status} ${Version}' recd)" = "install ok installed $version" ] || fail "not installed: $(dpkg-query -W -f='${Status} ${Version}' recd)"
uid="$(getent passwd recd | cut -d: -f3)"
[ -n "$uid" ] || fail "postinst did not create the user recd"
[ "$uid" -lt 1000 ] || fail "recd is not a system user (uid $uid)"
[ "$(id -gn recd)" = recd ] || fail "the user recd's group is $(id -gn recd), not recd"
[ "$(mode_owner "$conf")" = "640 root:recd" ] || fail "after install $conf is $(mode_owner "$conf"), not 640 root:recd"
[ "$(mode_owner /var/lib/recd)" = "750 recd:recd" ] || fail "/var/lib/recd is $(mode_owner /var/lib/recd)"
dpkg-query -W -f='${Conffiles}\n' recd | grep "^ $conf " >/dev/null || fail "dpkg does not list $conf as a conffile"
runuser -u recd -- /usr/sbin/recd -t -c "$conf" >/dev/null 2>&1 || fail "the service user recd cannot validate $conf"
runuser -u nobody -- cat "$conf" >/dev/null 2>&1 && fail "$conf is readable by an unprivileged user"
[ -e "$wants" ] && fail "recd.service was enabled on a first install"
zcat /usr/share/doc/recd/OPERATIONS.md.gz | grep '^## Install' >/dev/null || fail "OPERATIONS.md not readable from /usr/share/doc/recd"
pass "apt install: user and group recd (uid $uid), $conf a conffile 640 root:recd readable by recd only, /var/lib/recd 750 recd:recd, service not enabled"

# the admin edits the config (brokers, a comment) and enables the service
sed -i 's|^    brokers = "127.0.0.1:9092";|    brokers = "kafka-1.example:9092,kafka-2.example:9092";|' "$conf"
echo "# edited by package.sh" >> "$conf"
expect_conf "after the edit"
/usr/sbin/recd -t -c "$conf" >/dev/null 2>&1 || fail "the edited config does not validate"
systemctl enable recd.service > "$T/enable.log" 2>&1 || fail "systemctl enable failed: $(cat "$T/enable.log")"
[ -L "$wants" ] || fail "systemctl enable made no $wants"

"${APT[@]}" install --reinstall "$deb" > "$T/reinstall.log" 2>&1 || fail "apt install --reinstall failed: $(tail -20 "$T/reinstall.log")"
expect_conf "after apt install --reinstall"
[ -L "$wants" ] || fail "the reinstall disabled the service"
pass "apt install --reinstall keeps the edited config (640 root:recd) and the enablement"

# an upgrade to a newer version whose default config changed: the admin's file is kept
# (--force-confold, what a non-interactive upgrade does), the new default is put beside it
up="$T/up"
dpkg-deb -R "$deb" "$up"
up_version="${version%-*}-$(( ${version##*-} + 1 ))"
sed -i "s/^Version: .*/Version: $up_version/" "$up/DEBIAN/control"
echo "# a default changed in $up_version" >> "$up/$etc_rel"
(cd "$up" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort | xargs -d '\n' md5sum > DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$up" "$T/recd_${up_version}.deb" > /dev/null || fail "could not build the upgrade package"
"${APT[@]}" -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install "$T/recd_${up_version}.deb" > "$T/upgrade.log" 2>&1 || fail "apt upgrade failed: $(tail -20 "$T/upgrade.log")"
[ "$(dpkg-query -W -f='${Version}' recd)" = "$up_version" ] || fail "upgrade did not install $up_version"
expect_conf "after the upgrade to $up_version"
grep -q "^# a default changed in $up_version" "$conf" && fail "the upgrade replaced the edited config"
grep -q "^# a default changed in $up_version" "$conf.dpkg-dist" || fail "the new default config is not in $conf.dpkg-dist"
[ -L "$wants" ] || fail "the upgrade disabled the service"
pass "upgrade $version -> $up_version keeps the edited config (640 root:recd, new default in recd.conf.dpkg-dist) and the enablement"

"${APT[@]}" remove recd > "$T/remove.log" 2>&1 || fail "apt remove failed: $(tail -20 "$T/remove.log")"
[ "$(dpkg-query -W -f='${Status}' recd)" = "deinstall ok config-files" ] || fail "after remove: $(dpkg-query -W -f='${Status}' recd)"
[ -e /usr/sbin/recd ] && fail "apt remove left /usr/sbin/recd"
[ -e /usr/lib/systemd/system/recd.service ] && fail "apt remove left the unit"
expect_conf "after apt remove"
[ -d /var/lib/recd ] || fail "apt remove deleted the state directory (only purge may)"
pass "apt remove: programs and unit gone; edited config (640 root:recd) and /var/lib/recd kept until purge"

"${APT[@]}" purge recd > "$T/purge.log" 2>&1 || fail "apt purge failed: $(tail -20 "$T/purge.log")"
dpkg-query -W -f='${Status}' recd 2>/dev/null | grep -qv 'not-installed' && fail "after purge: $(dpkg-query -W -f='${Status}' recd)"
[ -e /etc/recd ] && fail "apt purge left /etc/recd: $(ls -la /etc/recd)"
[ -e /var/lib/recd ] && fail "apt purge left /var/lib/recd"
[ -e "$wants" ] && fail "apt purge left $wants"
[ -e /etc/systemd/system/recd.service ] && fail "apt purge left a mask /etc/systemd/system/recd.service"
pass "apt purge: /etc/recd, /var/lib/recd and the enablement removed"

if [ "$systemd_pid1" = 1 ]; then
    # the service itself, with the packaged unit: install, the default config is not started,
    # start fails fast on a bad config (exit 78, no restart loop), remove stops and unloads
    "${APT[@]}" install "$deb" > "$T/install2.log" 2>&1 || fail "apt install (systemd) failed"
    [ "$(systemctl show -p LoadState --value recd)" = loaded ] || fail "daemon-reload: recd.service not loaded after install"
    [ "$(systemctl is-active recd)" = inactive ] || fail "recd.service was started on a first install"
    echo 'daemon = { no_such_key = 1; };' >> "$conf"
    systemctl start recd >/dev/null 2>&1 && fail "recd.service started with a bad config"
    systemctl reset-failed recd >/dev/null 2>&1 || true
    "${APT[@]}" purge recd > "$T/purge2.log" 2>&1 || fail "apt purge (systemd) failed"
    [ "$(systemctl show -p LoadState --value recd)" = not-found ] || fail "recd.service still loaded after purge"
    pass "systemd: unit loaded after install, not started, a bad config refused, unloaded after purge"
else
    not_run "systemd parts (systemd is not PID 1 here): daemon-reload loads the unit after install, the service stays inactive after a first install, a start with a bad config is refused, the unit is unloaded after purge"
fi
restore
getent passwd recd >/dev/null && [ "$had_user" = 0 ] && fail "could not remove the user recd this test created"
pass "machine restored: package purged$([ "$had_user" = 0 ] && echo ', user and group recd removed')"
finish
