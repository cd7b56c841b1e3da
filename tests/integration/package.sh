#!/usr/bin/env bash
# package.sh — CPack builds a .deb whose dependencies are Debian's runtime libraries; its
# contents land in FHS places; the installed recd validates the installed config; the unit
# passes systemd-analyze verify.
source "$(dirname "$0")/lib.sh"
: "${RECD_BUILD_DIR:?}"
prefix="$(grep '^CMAKE_INSTALL_PREFIX:' "$RECD_BUILD_DIR/CMakeCache.txt" | cut -d= -f2)"
# CPACK_PACKAGING_INSTALL_PREFIX is /usr, so programs, schemas, man pages and the unit land
# there whatever the build's prefix; the config's absolute place follows the build's prefix
# (/etc for /usr, PREFIX/etc otherwise)
[ "$prefix" = "/usr" ] || echo "build configured with prefix $prefix: the config is packaged under $prefix/etc"
(cd "$RECD_BUILD_DIR" && cpack -G DEB -B "$T/pkg" >"$T/cpack.log" 2>&1) || fail "cpack failed: $(tail -20 "$T/cpack.log")"
deb="$(ls "$T"/pkg/*.deb | head -1)"
[ -f "$deb" ] || fail "no .deb produced"
dpkg-deb -I "$deb" > "$T/info.txt"
depends="$(grep '^ Depends:' "$T/info.txt")"
for lib in librdkafka librocksdb libavro libconfig libsystemd libmicrohttpd; do
    echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib: $depends"
done
pass "$(basename "$deb"): $depends"
root="$T/root"
dpkg-deb -x "$deb" "$root"
p="$root/usr"
etc="$root/etc/recd/recd.conf"; [ "$prefix" = /usr ] || etc="$root$prefix/etc/recd/recd.conf"
for f in "$p/sbin/recd" "$p/bin/recctl" "$etc" "$p/share/recd/schemas/click.avsc" \
         "$p/share/man/man8/recd.8" "$p/share/man/man5/recd.conf.5" "$p/share/man/man1/recctl.1" \
         "$p/lib/systemd/system/recd.service"; do
    [ -e "$f" ] || fail "missing in package: ${f#$root}"
done
pass "binaries, config, schemas, man pages and unit are in FHS places"
"$p/sbin/recd" -t -c "$etc" || fail "installed recd rejects the installed config"
pass "installed recd -t accepts the installed config"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/unit"
    sed -e "s#/usr/sbin/recd#$p/sbin/recd#g" "$p/lib/systemd/system/recd.service" > "$T/unit/recd.service"
    MANPATH="$p/share/man" systemd-analyze verify --man=no "$T/unit/recd.service" 2>&1 | tee "$T/verify.txt"
    [ -s "$T/verify.txt" ] && fail "systemd-analyze verify is not clean"
    systemd-analyze security --offline=true "$T/unit/recd.service" 2>/dev/null | tail -1
    pass "systemd-analyze verify clean"
fi
echo "package: all passed"
