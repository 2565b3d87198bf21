#!/usr/bin/env bash
# Builds maison-test/busybox:latest, the tiny image the agent's Docker tests and
# benchmark use. The build machines cannot pull from a registry, so the image is
# made locally: Debian's statically linked busybox in an otherwise empty rootfs,
# loaded with `docker import`. Idempotent: does nothing when the image exists.
set -euo pipefail

IMAGE="${MAISON_TEST_IMAGE:-maison-test/busybox:latest}"

if ! command -v docker >/dev/null 2>&1; then
    echo "build-test-image: the docker CLI is not installed" >&2
    exit 1
fi

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "build-test-image: $IMAGE already present"
    exit 0
fi

is_static() {
    # A static busybox has no program interpreter; `file` may be missing, so
    # read the ELF program headers through busybox-independent means.
    [ -x "$1" ] || return 1
    if command -v readelf >/dev/null 2>&1; then
        ! readelf -l "$1" 2>/dev/null | grep -q "Requesting program interpreter"
    elif command -v file >/dev/null 2>&1; then
        file -L "$1" | grep -q "statically linked"
    else
        # Debian's busybox-static installs /bin/busybox; the dynamic package
        # does too, so without tools trust dpkg.
        dpkg -s busybox-static >/dev/null 2>&1
    fi
}

BUSYBOX="${BUSYBOX:-/bin/busybox}"
if ! is_static "$BUSYBOX"; then
    echo "build-test-image: installing Debian's busybox-static"
    if [ "$(id -u)" -ne 0 ]; then
        echo "build-test-image: need root to apt-get install busybox-static" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    BUSYBOX=/bin/busybox
fi
if ! is_static "$BUSYBOX"; then
    echo "build-test-image: $BUSYBOX is still not a static binary" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/rootfs"
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" \
    "$ROOT/home" "$ROOT/work" "$ROOT/data" "$ROOT/root"
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for tool in sh ash sleep cat echo ls id env true false touch mkdir rm test ps top kill \
    head tail wc grep sed stat date hostname uname printf; do
    ln -s busybox "$ROOT/bin/$tool"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"

tar -C "$ROOT" --numeric-owner --owner=0 --group=0 -cf "$WORK/rootfs.tar" .
docker import \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["/bin/sh"]' \
    --change 'LABEL org.opencontainers.image.title=maison-test-busybox' \
    "$WORK/rootfs.tar" "$IMAGE" >/dev/null
echo "build-test-image: built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
